// NDJSON bulk uploads against the real broker: a per-line summary where malformed lines get precise problems
// and good lines around them are still accepted; gzip; batches of sends with receipts that match the topic;
// resends that store nothing twice; dry runs that store nothing; and uploads that stop part way.
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { decodeJson } from '@citycheck/kafka';
import { createRuleContext } from '@citycheck/rules';
import { readTopic } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import { openapiProblems, submission, useIngestApp } from '../test/ingest-fixture.js';
import { rulesAtTheDoor } from './submission-checks.js';

const ingest = useIngestApp({ beijing: '110100' }, { bodyLimitBytes: 4096, bulkBatchSize: 500 });

const ndjson = (lines: (string | object | Buffer)[]) =>
  Buffer.concat(
    lines.map((line) =>
      Buffer.concat([
        Buffer.isBuffer(line) ? line : Buffer.from(typeof line === 'string' ? line : JSON.stringify(line)),
        Buffer.from('\n'),
      ]),
    ),
  );

const upload = (body: Buffer, { gzip = false, dryRun = false, to = ingest.app } = {}) =>
  to.inject({
    method: 'POST',
    url: `/v1/submissions${dryRun ? '?dryRun=true' : ''}`,
    headers: {
      authorization: `Bearer ${ingest.tokens.beijing}`,
      'content-type': 'application/x-ndjson',
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
    },
    payload: gzip ? gzipSync(body) : body,
  });

const storedIds = async () =>
  (await readTopic(ingest.fixture.kafka, ingest.fixture.topics.received)).map(
    (m) => (decodeJson(m.value) as { submission: { submissionId: string } }).submission.submissionId,
  );

describe('POST /v1/submissions (NDJSON)', () => {
  it('answers a mixed upload line by line, accepting the good lines and naming what is wrong with the others', async () => {
    const good = submission();
    const alsoGood = submission({ unit: { level: 'community', code: '110101001002' } });
    const before = await storedIds();
    const body = ndjson([
      good, // 1
      '', // 2: blank, skipped but counted
      '{"submissionId": "abc", "cycle": 20', // 3: truncated
      submission({ cycle: '2024' }), // 4: wrong type
      submission({ cityCode: '120100', unit: { level: 'community', code: '120101001001' } }), // 5: other city
      good, // 6: repeat of line 1
      { ...good, observations: [{ indicator: 'C01', value: 5 }] }, // 7: same id, other content
      alsoGood, // 8
      `{"submissionId": "${randomUUID()}", "__proto__": {"polluted": true}}`, // 9
      Buffer.concat([Buffer.from('{"name": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), // 10: invalid UTF-8
      JSON.stringify(
        submission({ unit: { level: 'community', code: '110101001001', name: 'x'.repeat(50) } }),
      ).replace('"x', `"${'y'.repeat(5000)}`), // 11: longer than a single body may be
      // 12: 1e400 overflows to infinity
      `{"submissionId":"${randomUUID()}","cycle":2024,"catalogueVersion":"2024.1","cityCode":"110100","unit":{"level":"community","code":"110101001001"},"observations":[{"indicator":"C01","value":1e400}]}`,
    ]);
    const response = await upload(body);
    expect(response.statusCode).toBe(202);
    const summary = response.json();
    expect(openapiProblems('BulkSummary', summary)).toEqual([]);
    expect(summary).toMatchObject({ dryRun: false, received: 11, accepted: 2, rejected: 8, duplicates: 1 });
    const byLine = Object.fromEntries(summary.lines.map((l: { line: number }) => [l.line, l]));
    expect(Object.keys(byLine).map(Number)).toEqual([1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(byLine[1]).toEqual({ line: 1, submissionId: good.submissionId, status: 'accepted' });
    expect(byLine[3]).toMatchObject({
      submissionId: null,
      status: 'rejected',
      problems: [
        { pointer: '/', rule: 'json_syntax', message: expect.stringContaining('line 1, column 36') },
      ],
    });
    expect(byLine[4].problems).toEqual([
      { pointer: '/cycle', rule: 'schema.type', message: 'must be integer', value: '2024' },
    ]);
    expect(byLine[5].problems).toMatchObject([{ pointer: '/cityCode', rule: 'credential_scope' }]);
    expect(byLine[6]).toEqual({ line: 6, submissionId: good.submissionId, status: 'duplicate' });
    expect(byLine[7].problems).toMatchObject([{ pointer: '/submissionId', rule: 'submission_conflict' }]);
    expect(byLine[8]).toEqual({ line: 8, submissionId: alsoGood.submissionId, status: 'accepted' });
    expect(byLine[9].problems).toEqual([
      {
        pointer: '/__proto__',
        rule: 'json_forbidden_key',
        message: 'the key __proto__ is not allowed (prototype poisoning guard); remove it',
      },
    ]);
    expect(byLine[10].problems).toMatchObject([
      { rule: 'utf8', message: expect.stringContaining('byte 0xff at byte offset 10') },
    ]);
    expect(byLine[11].problems).toMatchObject([
      { rule: 'line_too_long', message: expect.stringContaining('at most 4096 bytes') },
    ]);
    expect(byLine[12].problems).toMatchObject([{ pointer: '/observations/0/value', rule: 'finite_number' }]);

    const after = await storedIds();
    expect(after.slice(before.length).sort()).toEqual([good.submissionId, alsoGood.submissionId].sort());
  });

  it('takes a gzip upload of 1,234 lines in batches, with receipts that match the topic, and stores a resend no twice', async () => {
    const lines = Array.from({ length: 1234 }, (_, i) =>
      submission({ observations: [{ indicator: 'C01', value: i % 500 }] }),
    );
    const before = (await storedIds()).length;
    const response = await upload(ndjson(lines), { gzip: true });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ received: 1234, accepted: 1234, rejected: 0, duplicates: 0 });

    const messages = await readTopic(ingest.fixture.kafka, ingest.fixture.topics.received);
    expect(messages.length - before).toBe(1234);
    for (const message of messages.slice(before)) {
      const id = message.headers?.['submission-id']?.toString() as string;
      const receipt = ingest.fixture.index.get(id)?.receipt;
      expect(receipt?.partition).toBe(message.partition);
      expect(receipt?.offset).toBe(message.offset);
    }

    const resend = await upload(ndjson(lines), { gzip: true });
    expect(resend.statusCode).toBe(200);
    expect(resend.json()).toMatchObject({ received: 1234, accepted: 0, duplicates: 1234 });
    expect((await storedIds()).length - before).toBe(1234);
  });

  it('reports a dry run line by line and stores nothing', async () => {
    const good = submission();
    const before = (await storedIds()).length;
    const response = await upload(
      ndjson([good, good, { ...good, cycle: 2025 }, submission({ cycle: 1900 })]),
      { dryRun: true },
    );
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      dryRun: true,
      received: 4,
      accepted: 1,
      duplicates: 1,
      rejected: 2,
      lines: [
        { line: 1, status: 'accepted' },
        { line: 2, status: 'duplicate' },
        { line: 3, status: 'rejected', problems: [{ rule: 'submission_conflict' }] },
        { line: 4, status: 'rejected', problems: [{ pointer: '/cycle', rule: 'schema.minimum' }] },
      ],
    });
    expect((await storedIds()).length).toBe(before);
  });

  it('refuses an upload announced larger than the bulk limit with 413 before reading it', async () => {
    const small = ingest.fixture.build({ bodyLimitBytes: 4096, bulkLimitBytes: 64 * 1024 });
    const response = await upload(ndjson(Array.from({ length: 1000 }, () => submission())), { to: small });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: { code: 'payload_too_large' }, summary: { received: 0 } });
  });

  it('stops an upload that decompresses past the bulk limit with 413, reporting and keeping the lines before it', async () => {
    const small = ingest.fixture.build({
      bodyLimitBytes: 4096,
      bulkLimitBytes: 64 * 1024,
      bulkBatchSize: 10,
    });
    const lines = Array.from({ length: 1000 }, () => submission());
    const response = await upload(ndjson(lines), { to: small, gzip: true });
    expect(response.statusCode).toBe(413);
    const body = response.json();
    expect(openapiProblems('Error', body)).toEqual([]);
    expect(body.error).toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining('decompresses to more than 65536 bytes'),
    });
    const accepted = body.summary.lines.filter((l: { status: string }) => l.status === 'accepted');
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length).toBeLessThan(1000);
    expect(body.summary.lines.map((l: { submissionId: string }) => l.submissionId)).toEqual(
      lines.slice(0, body.summary.received).map((l) => l.submissionId),
    );
    const stored = new Set(await storedIds());
    for (const line of accepted) expect(stored.has(line.submissionId)).toBe(true);
    expect(lines.slice(body.summary.received).some((l) => stored.has(l.submissionId))).toBe(false);
  });

  it('refuses gzip that breaks part way with 400 invalid_encoding, keeping the lines read before the break', async () => {
    const good = submission();
    const compressed = gzipSync(ndjson([good, ...Array.from({ length: 200 }, () => submission())]));
    const broken = Buffer.concat([compressed.subarray(0, compressed.length - 40), Buffer.from('garbage!')]);
    const response = await ingest.app.inject({
      method: 'POST',
      url: '/v1/submissions',
      headers: {
        authorization: `Bearer ${ingest.tokens.beijing}`,
        'content-type': 'application/x-ndjson',
        'content-encoding': 'gzip',
      },
      payload: broken,
    });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error.code).toBe('invalid_encoding');
    expect(body.summary.lines[0]).toEqual({ line: 1, submissionId: good.submissionId, status: 'accepted' });
    const stored = new Set(await storedIds());
    // What inflate made of the damaged tail may form lines too, rejected as such: the contract is that the
    // lines reported accepted are stored and no other line is.
    for (const line of body.summary.lines as { submissionId: string | null; status: string }[]) {
      expect(line.submissionId !== null && stored.has(line.submissionId)).toBe(line.status === 'accepted');
    }
    const follow = await upload(ndjson([submission()]));
    expect(follow.statusCode).toBe(202);
  });

  it('answers over a real socket when it stops reading part way, and the connection still works after', async () => {
    const server = ingest.fixture.build({ bodyLimitBytes: 4096, bulkLimitBytes: 64 * 1024 });
    await server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.server.address() as AddressInfo;
    // Streams the body in pieces, without Content-Length, as a client sending a large file does.
    const send = (pieces: Buffer[], headers: Record<string, string>) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path: '/v1/submissions', method: 'POST', agent: false },
          (res) => {
            let text = '';
            res.on('data', (part: Buffer) => {
              text += part.toString();
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.setHeader('authorization', `Bearer ${ingest.tokens.beijing}`);
        // One piece goes with its length, several as chunks.
        if (pieces.length === 1) req.setHeader('content-length', String((pieces[0] as Buffer).length));
        else req.setHeader('transfer-encoding', 'chunked');
        for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
        req.on('error', reject);
        let next = 0;
        const write = (): void => {
          while (next < pieces.length) {
            if (!req.write(pieces[next++] as Buffer)) {
              req.once('drain', write);
              return;
            }
          }
          req.end();
        };
        write();
      });
    const lines = (count: number) =>
      Array.from({ length: count }, () => Buffer.from(`${JSON.stringify(submission())}\n`));
    try {
      const tooLarge = await send(lines(2000), { 'content-type': 'application/x-ndjson' });
      expect(tooLarge.status).toBe(413);
      expect((tooLarge.body.summary as { accepted: number }).accepted).toBeGreaterThan(0);
      const compressed = gzipSync(Buffer.concat(lines(300)));
      const broken = await send([compressed.subarray(0, compressed.length - 40), Buffer.from('garbage!')], {
        'content-type': 'application/x-ndjson',
        'content-encoding': 'gzip',
      });
      expect(broken.status).toBe(400);
      const brokenWhole = await send(
        [Buffer.concat([compressed.subarray(0, compressed.length - 40), Buffer.from('garbage!')])],
        {
          'content-type': 'application/x-ndjson',
          'content-encoding': 'gzip',
        },
      );
      expect(brokenWhole.status).toBe(400);
      const bomb = await send([gzipSync(Buffer.alloc(16 * 1_048_576, 0x20))], {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      });
      expect(bomb.status).toBe(413);
      expect((await send(lines(1), { 'content-type': 'application/x-ndjson' })).status).toBe(202);
    } finally {
      await server.close();
    }
  });
  it('refuses at the door, in Chinese unless asked for English, each line that breaks a rule of the catalogue, and stores the others', async () => {
    // The rules of a running deployment, as main.ts plugs them in.
    const withRules = ingest.fixture.build(rulesAtTheDoor(createRuleContext()));
    // Catalogue 2024.1: C01 is a count from 0 to 500 (个), so 501 is out of range and 500 is the largest allowed.
    const good = submission({ observations: [{ indicator: 'C01', value: 500 }] });
    const outOfRange = submission({ observations: [{ indicator: 'C01', value: 501 }] });
    const alsoGood = submission({ observations: [{ indicator: 'C01', value: 0 }] });
    const before = (await storedIds()).length;
    const chinese = await upload(ndjson([good, outOfRange, alsoGood]), { to: withRules });
    expect(chinese.statusCode).toBe(202);
    expect(chinese.json()).toMatchObject({ received: 3, accepted: 2, rejected: 1, duplicates: 0 });
    expect(chinese.json().lines[1]).toEqual({
      line: 2,
      submissionId: outOfRange.submissionId,
      status: 'rejected',
      problems: [
        {
          pointer: '/observations/0/value',
          rule: 'range',
          message:
            '指标 C01（未达标配建养老服务设施的小区数量）的数值（value）应在 0 至 500（个）之间，实为 501',
          indicator: 'C01',
          value: 501,
        },
      ],
    });
    const stored = (await storedIds()).slice(before);
    expect(stored.sort()).toEqual([good.submissionId, alsoGood.submissionId].sort());

    // The same line in English, and once more refused: a refused line is not stored, so it is not a duplicate.
    const english = await withRules.inject({
      method: 'POST',
      url: '/v1/submissions',
      headers: {
        authorization: `Bearer ${ingest.tokens.beijing}`,
        'content-type': 'application/x-ndjson',
        'accept-language': 'en',
      },
      payload: ndjson([outOfRange]),
    });
    expect(english.json()).toMatchObject({ received: 1, accepted: 0, rejected: 1, duplicates: 0 });
    expect(english.json().lines[0].problems).toEqual([
      {
        pointer: '/observations/0/value',
        rule: 'range',
        message: 'value of C01 must be from 0 to 500',
        indicator: 'C01',
        value: 501,
      },
    ]);
    expect((await storedIds()).length).toBe(before + 2);
  });
});
