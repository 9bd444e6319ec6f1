// Group commit against the real broker: concurrent single submissions share produce requests, yet each is
// answered only after the broker acknowledged its own record, and stored exactly once; a produce request that
// fails answers 503 to every request in it and stores none of them; a bulk upload whose send fails stores
// nothing after it and reports exactly the lines that were stored.
import { contentHash } from '@citycheck/contracts';
import { decodeJson, type Producer } from '@citycheck/kafka';
import { readTopic, waitFor } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestFixture, startIngestFixture, submission } from '../test/ingest-fixture.js';

let fixture: IngestFixture;
let beijing: string;
let tianjin: string;

type ProducerRecord = Parameters<Producer['send']>[0];

const idsOf = (record: ProducerRecord): string[] =>
  record.messages.map((message) => String(message.headers?.['submission-id']));

/**
 * The fixture's producer, watched: every produce request is recorded, with the ids it carried and whether the
 * broker acknowledged it; `before` may hold a request back or fail it (by throwing), by its 1-based number.
 */
const watchedProducer = (
  before: (call: number, record: ProducerRecord) => Promise<void> = async () => {},
) => {
  const sends: { ids: string[]; acknowledged: boolean }[] = [];
  const producer: Producer = {
    ...fixture.producer,
    send: async (record) => {
      const entry = { ids: idsOf(record), acknowledged: false };
      sends.push(entry);
      await before(sends.length, record);
      const metadata = await fixture.producer.send(record);
      entry.acknowledged = true;
      return metadata;
    },
  };
  const acknowledged = (id: string) => sends.some((send) => send.acknowledged && send.ids.includes(id));
  return { producer, sends, acknowledged };
};

const received = async () =>
  (await readTopic(fixture.kafka, fixture.topics.received)).map((message) => ({
    id: message.headers?.['submission-id']?.toString(),
    value: decodeJson(message.value) as { submission: unknown; contentHash: string; credentialId: string },
  }));

const countIn = (records: { id: string | undefined }[], id: string) =>
  records.filter((record) => record.id === id).length;

const tianjinSubmission = () =>
  submission({ cityCode: '120100', unit: { level: 'community', code: '120101001001' } });

beforeAll(async () => {
  fixture = await startIngestFixture();
  beijing = (await fixture.issue('110100')).token;
  tianjin = (await fixture.issue('120100')).token;
});

afterAll(async () => {
  await fixture.close();
});

describe('group commit of single submissions', () => {
  it('sends concurrent submissions together, answers each only after its own record was acknowledged, and stores each once', async () => {
    const watched = watchedProducer();
    const app = fixture.build({ producer: watched.producer });
    const bodies = Array.from({ length: 120 }, (_, i) =>
      i % 4 === 0 ? { token: tianjin, body: tianjinSubmission() } : { token: beijing, body: submission() },
    );
    const answers = await Promise.all(
      bodies.map(async ({ token, body }) => {
        const response = await app.inject({
          method: 'POST',
          url: '/v1/submissions',
          headers: { authorization: `Bearer ${token}` },
          payload: body,
        });
        // Checked the moment the answer exists, not after all of them.
        return { status: response.statusCode, acknowledged: watched.acknowledged(body.submissionId) };
      }),
    );
    expect(answers).toEqual(bodies.map(() => ({ status: 202, acknowledged: true })));
    // Fewer produce requests than submissions: they were grouped, every record in exactly one request.
    expect(watched.sends.length).toBeLessThan(bodies.length);
    expect(watched.sends.flatMap((send) => send.ids).sort()).toEqual(
      bodies.map(({ body }) => body.submissionId).sort(),
    );

    const records = await received();
    for (const { body } of bodies) {
      expect(countIn(records, body.submissionId)).toBe(1);
      const record = records.find((r) => r.id === body.submissionId);
      // The record carries the submission as sent (as a JSON value) and its content hash.
      expect(record?.value.submission).toEqual(body);
      expect(record?.value.contentHash).toBe(contentHash(body));
    }
  });

  it('answers 503 with Retry-After to every request of a failed produce request, stores none, and takes them again after', async () => {
    let releaseFirst: () => void = () => undefined;
    const firstHeld = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const watched = watchedProducer(async (call) => {
      if (call === 1) await firstHeld;
      if (call === 2) throw new Error('the broker went away');
    });
    const app = fixture.build({ producer: watched.producer });
    const post = (body: object, dryRun = false) =>
      app.inject({
        method: 'POST',
        url: `/v1/submissions${dryRun ? '?dryRun=true' : ''}`,
        headers: { authorization: `Bearer ${beijing}` },
        payload: body,
      });

    // The first request's send is held at the broker, so the next ones queue behind it as one batch.
    const first = submission();
    const firstAnswer = post(first);
    await waitFor(() => (watched.sends.length === 1 ? true : undefined), { what: 'the first send' });
    const queued = Array.from({ length: 10 }, () => submission());
    const queuedAnswers = Promise.all(queued.map((body) => post(body)));
    // Each is queued once a dry run calls it a duplicate of a send in flight.
    await waitFor(
      async () => {
        const reports = await Promise.all(queued.map((body) => post(body, true)));
        return reports.every((report) => report.json().idempotency === 'duplicate') ? true : undefined;
      },
      { what: 'the ten submissions to queue behind the first send' },
    );
    releaseFirst();

    expect((await firstAnswer).statusCode).toBe(202);
    const answers = await queuedAnswers;
    expect(watched.sends[1]?.ids.sort()).toEqual(queued.map((body) => body.submissionId).sort());
    for (const answer of answers) {
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after']).toBe('5');
      expect(answer.json().error).toMatchObject({ code: 'broker_unavailable', retriable: true });
    }
    let records = await received();
    for (const body of queued) expect(countIn(records, body.submissionId)).toBe(0);

    // Nothing of the failed batch was recorded: the same ids go through when sent again, once each.
    const again = await Promise.all(queued.map((body) => post(body)));
    expect(again.map((answer) => answer.statusCode)).toEqual(queued.map(() => 202));
    records = await received();
    for (const body of [first, ...queued]) expect(countIn(records, body.submissionId)).toBe(1);
  });
});

describe('bulk uploads while a batch is in flight', () => {
  it('after a failed send stores nothing more, and reports exactly the lines that were stored', async () => {
    const watched = watchedProducer(async (call) => {
      if (call === 2) throw new Error('the broker went away');
    });
    const app = fixture.build({ producer: watched.producer, bulkBatchSize: 10 });
    const fresh = Array.from({ length: 35 }, () => submission());
    // Line 23 repeats line 13, which is in the batch that fails: it must not be called a duplicate.
    const lines = [...fresh.slice(0, 22), fresh[12] as object, ...fresh.slice(22)];
    const response = await app.inject({
      method: 'POST',
      url: '/v1/submissions',
      headers: { authorization: `Bearer ${beijing}`, 'content-type': 'application/x-ndjson' },
      payload: `${lines.map((body) => JSON.stringify(body)).join('\n')}\n`,
    });
    expect(response.statusCode).toBe(503);
    const { error, summary } = response.json();
    expect(error).toMatchObject({ code: 'broker_unavailable', retriable: true });

    // The first batch was stored; the second failed; the third was read while the second was in flight and
    // never sent; nothing after it was read.
    const records = await received();
    const stored = fresh.filter((body) => countIn(records, body.submissionId) === 1);
    expect(stored).toEqual(fresh.slice(0, 10));
    for (const body of fresh.slice(10)) expect(countIn(records, body.submissionId)).toBe(0);
    expect(summary).toMatchObject({ accepted: 10, duplicates: 0 });
    expect(summary.received).toBeLessThan(lines.length);
    expect(summary.rejected).toBe(summary.received - 10);
    const accepted = summary.lines
      .filter((line: { status: string }) => line.status === 'accepted')
      .map((line: { submissionId: string }) => line.submissionId);
    expect(accepted).toEqual(stored.map((body) => body.submissionId));
    for (const line of summary.lines.slice(10)) {
      expect(line).toMatchObject({ status: 'rejected', problems: [{ rule: 'not_stored' }] });
    }
    expect(summary.lines[22]).toMatchObject({ line: 23, submissionId: fresh[12]?.submissionId });
    expect(watched.sends.map((send) => send.ids.length)).toEqual([10, 10]);
  });
});
