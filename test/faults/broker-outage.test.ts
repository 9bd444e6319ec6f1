// The Kafka broker stopped and restarted in the middle of ingest. While it is down the endpoint answers
// 503 with Retry-After and never 202 (nothing is acknowledged that the broker did not take); the city
// clients retry, and once the broker is back everything arrives: every acknowledged submission is in the
// lake exactly once, no rejected one is, and the rollups equal the ones worked out independently.
import { request } from 'node:http';
import { createTally } from '@citycheck/generator';
import { sleep } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import {
  assertExactlyOnce,
  assertStoredButTheDeliberateErrors,
  pushCycle,
  usePipeline,
  waitForCompleteLake,
} from './support/pipeline.js';

const cities = ['110100', '310100', '440100', '510100'];

interface Answer {
  readonly sentAt: number;
  readonly answeredAt: number;
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

const post = (url: string, token: string, contentType: string, body: string): Promise<Answer> =>
  new Promise((resolve) => {
    const sentAt = Date.now();
    const req = request(
      `${url}/v1/submissions`,
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            sentAt,
            answeredAt: Date.now(),
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', () =>
      resolve({ sentAt, answeredAt: Date.now(), status: 0, retryAfter: undefined, body: '' }),
    );
    req.end(body);
  });

describe('the Kafka broker stopped during ingest', () => {
  const fixture = usePipeline({ name: 'broker-outage', cities, seed: 12, communitiesPerCity: 30 });

  it('answers 503 with Retry-After, never 202, while it is down, and loses nothing', async () => {
    const { pipeline, cycle } = fixture;
    const tally = createTally();
    // The last lines of the last city are held back from the first pushes: they are sent during the outage.
    const heldBack = cycle.lines('510100').slice(-12);
    const push = (cityCodes: readonly string[], paceMs: number, all = false) =>
      pushCycle(fixture, {
        cities: cityCodes,
        lines: (cityCode) =>
          all || cityCode !== '510100' ? cycle.lines(cityCode) : cycle.lines(cityCode).slice(0, -12),
        concurrency: 2,
        mode: 'bulk',
        linesPerRequest: 5,
        paceMs,
        maxRetryDelayMs: 1_000,
        tally,
      });

    // Half the cities get through before the outage; the other half are being sent when the broker stops.
    await push(cities.slice(0, 2), 0);
    const during = push(cities.slice(2), 250);
    await sleep(1_000);
    await pipeline.infra.down('kafka');
    const downAt = Date.now();

    // While it is down: single submissions and a bulk upload of lines that were never sent.
    const token = pipeline.tokens.get('510100') as string;
    const answers: Answer[] = [];
    for (const line of heldBack.slice(0, 6))
      answers.push(await post(pipeline.ingestUrl, token, 'application/json', line));
    answers.push(
      await post(pipeline.ingestUrl, token, 'application/x-ndjson', `${heldBack.slice(6).join('\n')}\n`),
    );
    // Ingest answers 503 at once once its view of Kafka is stale, so those seven answers take moments: the
    // outage lasts a few seconds more for the background clients (retrying every 1 to 2 s) to see it too.
    await sleep(5_000);
    const upFrom = Date.now();
    await pipeline.infra.up('kafka');

    const outage = answers.filter((answer) => answer.sentAt >= downAt && answer.answeredAt <= upFrom);
    expect(outage.length).toBe(answers.length);
    for (const answer of outage) {
      expect(answer.status).toBe(503);
      expect(Number(answer.retryAfter)).toBeGreaterThan(0);
    }
    // The background clients saw the outage too, and were never told 202 for anything sent while it lasted.
    const clientOutage = tally.requests.filter((r) => r.startedAt >= downAt && r.endedAt <= upFrom);
    expect(clientOutage.every((r) => r.status !== 202 && r.status !== 200)).toBe(true);
    expect(clientOutage.some((r) => r.status === 503)).toBe(true);

    await during;
    // Everything is sent again after the outage (the already stored lines come back as duplicates).
    await push(cities, 0, true);
    assertStoredButTheDeliberateErrors(cycle, tally);

    const reading = await waitForCompleteLake(pipeline, cycle);
    assertExactlyOnce(cycle, tally, reading);
    for (const name of ['ingest', 'validate', 'aggregate'])
      expect(pipeline.instances.get(name)?.running).toBe(true);
  }, 600_000);
});
