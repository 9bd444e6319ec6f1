// `citycheck submit` against ingest running in-process on a real port, with the real Kafka broker behind it:
// files and directories, rejections reported by file and line, resuming after an interruption without
// sending anything twice, and retries on 429, 503 and network errors.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type RateLimit, SubmissionIndex } from '@citycheck/ingest';
import { type IngestFixture, startIngestFixture } from '@citycheck/ingest/test-fixture';
import { decodeJson } from '@citycheck/kafka';
import { readTopic, testSubmission as submission } from '@citycheck/testkit';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttp, RetriesExhausted } from './http.js';
import { statePathFor } from './resume-state.js';
import { runSubmit, SubmitFailed } from './submit.js';

let fixture: IngestFixture;
let token: string;
const servers: { close: () => Promise<unknown> }[] = [];

/** Ingest listening on 127.0.0.1 on a free port, with an index of its own; its URL. */
const startIngest = (rateLimit?: RateLimit): Promise<string> =>
  fixture.serve({ index: new SubmissionIndex(), ...(rateLimit === undefined ? {} : { rateLimit }) });

const storedIds = async () =>
  (await readTopic(fixture.kafka, fixture.topics.received)).map(
    (m) => (decodeJson(m.value) as { submission: { submissionId: string } }).submission.submissionId,
  );

const workdir = () => mkdtemp(join(tmpdir(), 'citycheck-submit-'));
const ndjson = (lines: unknown[]) =>
  `${lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n')}\n`;

const captured = () => {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
};

beforeAll(async () => {
  fixture = await startIngestFixture();
  token = (await fixture.issue('110100')).token;
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await fixture?.close();
  await closeHttp();
});

describe('citycheck submit', () => {
  it('uploads a directory of .json and .ndjson files and reports each rejection by file and line', async () => {
    const url = await startIngest();
    const dir = await workdir();
    const single = submission();
    const array = [submission(), submission({ cycle: 'x' }), submission()];
    const bulk = Array.from({ length: 2500 }, () => submission());
    const lines: unknown[] = [...bulk];
    lines[6] = submission({ observations: [{ indicator: 'C01', value: '2' }] });
    lines[1999] = '{"submissionId": "cut-off';
    lines.splice(100, 0, ''); // a blank line: counted in line numbers, not sent
    await writeFile(join(dir, 'a-single.json'), JSON.stringify(single));
    await writeFile(join(dir, 'b-array.json'), JSON.stringify(array));
    await writeFile(join(dir, 'c-bulk.ndjson'), ndjson(lines));
    const before = await storedIds();

    const report = await runSubmit({ paths: [dir], url, token, chunkLines: 1000, progress: false });
    expect(report).toMatchObject({
      files: 3,
      sent: 2504,
      accepted: 2501,
      duplicates: 0,
      rejected: 3,
      resumedChunks: 0,
    });
    expect(
      report.rejections.map((r) => [r.file.slice(dir.length + 1), r.unit, r.at, r.problems[0]?.rule]),
    ).toEqual([
      ['b-array.json', 'item', 2, 'schema.type'],
      ['c-bulk.ndjson', 'line', 7, 'schema.type'],
      ['c-bulk.ndjson', 'line', 2001, 'json_syntax'],
    ]);

    const stored = (await storedIds()).slice(before.length);
    const expected = [single, array[0], array[2], ...bulk.filter((_, i) => i !== 6 && i !== 1999)].map(
      (s) => (s as { submissionId: string }).submissionId,
    );
    expect(stored.sort()).toEqual(expected.sort());
  });

  it('resumes after an interruption without sending an acknowledged chunk again', async () => {
    const url = await startIngest();
    const dir = await workdir();
    const file = join(dir, 'beijing.ndjson');
    const lines = Array.from({ length: 3000 }, () => submission());
    await writeFile(file, ndjson(lines));
    const before = (await storedIds()).length;

    const stop = new AbortController();
    await expect(
      runSubmit({
        paths: [file],
        url,
        token,
        chunkLines: 500,
        parallel: 1,
        signal: stop.signal,
        progress: false,
        onChunkAcknowledged: (_file, chunk) => {
          if (chunk === 1) stop.abort();
        },
      }),
    ).rejects.toThrow();
    const state = JSON.parse(await readFile(statePathFor(file), 'utf8'));
    expect(Object.keys(state.chunks).sort()).toEqual(['0', '1']);
    expect((await storedIds()).length - before).toBe(1000);

    const resumed = await runSubmit({ paths: [file], url, token, chunkLines: 500, progress: false });
    // Nothing came back as a duplicate: the two acknowledged chunks were not sent again.
    expect(resumed).toMatchObject({
      sent: 3000,
      accepted: 3000,
      duplicates: 0,
      rejected: 0,
      resumedChunks: 2,
    });
    const stored = (await storedIds()).slice(before);
    expect(stored.length).toBe(3000);
    expect(new Set(stored)).toEqual(new Set(lines.map((l) => l.submissionId)));

    const again = await runSubmit({ paths: [file], url, token, chunkLines: 500, progress: false });
    expect(again).toMatchObject({ accepted: 3000, resumedChunks: 6 });
    const restarted = await runSubmit({
      paths: [file],
      url,
      token,
      chunkLines: 500,
      restart: true,
      progress: false,
    });
    expect(restarted).toMatchObject({ accepted: 0, duplicates: 3000, resumedChunks: 0 });
    expect((await storedIds()).length - before).toBe(3000);
  });

  it('shows progress in acknowledged lines: a bar on a terminal, one line per file in a log', async () => {
    const url = await startIngest();
    const dir = await workdir();
    await writeFile(join(dir, 'yinchuan.ndjson'), ndjson(Array.from({ length: 264 }, () => submission())));
    await writeFile(join(dir, 'z-one.json'), JSON.stringify(submission()));
    // A clock that moves a second each time it is read, so every answer redraws the bar.
    let at = 0;
    const now = () => {
      at += 1_000;
      return at;
    };
    const terminal = Object.assign(captured(), {});
    Object.assign(terminal.stream, { isTTY: true, columns: 200 });
    await runSubmit({ paths: [dir], url, token, chunkLines: 5, parallel: 1, progress: terminal.stream, now });
    const bars = terminal
      .text()
      .split('\r')
      .filter((bar) => bar !== '');
    // The first answer covers 5 of the 265 lines: 1%, not the share of the file read by then.
    expect(bars[0]).toMatch(/^\[-{24}\] {3}1% {2}5\/265 行 {2}已接收 5，重复 0，拒绝 0/);
    expect(bars.at(-1)).toMatch(
      /100% {2}265\/265 行 {2}已接收 265，重复 0，拒绝 0 {2}\d+ 行\/秒 {2}剩余约 0 秒 {2}.*z-one\.json/,
    );

    const log = captured();
    await runSubmit({
      paths: [dir],
      url,
      token,
      chunkLines: 5,
      restart: true,
      progress: log.stream,
      language: 'en',
    });
    const lines = log.text().trimEnd().split('\n');
    expect(
      lines.map((line) => line.replace(/[\d.]+ s\b/g, 'T s').replace(/[\d,]+ lines\/s/, 'R lines/s')),
    ).toEqual([
      `${join(dir, 'yinchuan.ndjson')}: 264 lines, 0 accepted, 264 duplicates, 0 rejected (T s)`,
      `${join(dir, 'z-one.json')}: 1 line, 0 accepted, 1 duplicates, 0 rejected (T s)`,
      'total: 2 file(s), 265 of 265 lines, 0 accepted, 265 duplicates, 0 rejected, in T s (R lines/s)',
    ]);
  });

  it('waits out 429 answers as Retry-After says and gets everything in', async () => {
    const url = await startIngest({ max: 2, windowMs: 1_000 });
    const dir = await workdir();
    const lines = Array.from({ length: 50 }, () => submission());
    await writeFile(join(dir, 'limited.ndjson'), ndjson(lines));
    const notes = captured();
    const report = await runSubmit({
      paths: [dir],
      url,
      token,
      chunkLines: 10,
      parallel: 1,
      progress: notes.stream,
    });
    expect(report).toMatchObject({ sent: 50, accepted: 50, rejected: 0 });
    expect(notes.text()).toMatch(/第 \d 块：HTTP 429，1\.0 秒后重试/);
    const stored = new Set(await storedIds());
    for (const line of lines) expect(stored.has(line.submissionId)).toBe(true);
  });

  it('retries through 503 answers, then succeeds', async () => {
    const url = await startIngest();
    let refusals = 2;
    // An HTTP front that answers 503 twice, as ingest does while Kafka is away, then passes requests through.
    const front: Server = createServer((incoming, outgoing) => {
      const parts: Buffer[] = [];
      incoming.on('data', (part: Buffer) => parts.push(part));
      incoming.on('end', () => {
        if (refusals > 0) {
          refusals -= 1;
          outgoing.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
          outgoing.end(
            JSON.stringify({
              error: {
                code: 'broker_unavailable',
                message: 'down',
                reason: 'infrastructure',
                retriable: true,
              },
            }),
          );
          return;
        }
        void request(`${url}${incoming.url}`, {
          method: 'POST',
          headers: incoming.headers as Record<string, string>,
          body: Buffer.concat(parts),
        }).then(async (answer) => {
          outgoing.writeHead(answer.statusCode, { 'content-type': 'application/json' });
          outgoing.end(await answer.body.text());
        });
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise((resolve) => front.close(resolve)) });
    const dir = await workdir();
    const body = submission();
    await writeFile(join(dir, 'one.json'), JSON.stringify(body));
    const notes = captured();
    const report = await runSubmit({
      paths: [dir],
      url: `http://127.0.0.1:${(front.address() as AddressInfo).port}`,
      token,
      progress: notes.stream,
    });
    expect(report).toMatchObject({ sent: 1, accepted: 1 });
    expect(notes.text().match(/HTTP 503/g)).toHaveLength(2);
    expect(await storedIds()).toContain(body.submissionId);
  });

  it('gives up after its attempts when ingest cannot be reached, and stops at once on a refused credential', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const dir = await workdir();
    await writeFile(join(dir, 'one.json'), JSON.stringify(submission()));
    await expect(
      runSubmit({
        paths: [dir],
        url: `http://127.0.0.1:${port}`,
        token,
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
        progress: false,
      }),
    ).rejects.toThrow(RetriesExhausted);

    const url = await startIngest();
    await expect(
      runSubmit({ paths: [dir], url, token: `cc_0123456789abcdef_${'A'.repeat(43)}`, progress: false }),
    ).rejects.toThrow(SubmitFailed);
  });
});
