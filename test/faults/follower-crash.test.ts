// The followers of credentials.v1 and of the submission index, in ingest and query, crashed the way kafkajs
// stops a consumer for good: a non-retriable "Failed to find group coordinator" (injected through
// FOLLOWER_FAULT_FILE: while the file exists every batch and every start attempt of a follower fails so).
// While a follower is down /readyz says not ready on both services; a credential revoked after the crash is
// refused on both doors within 10 s (503 while the view is stale, 401 once it is read again); once the fault
// clears, a credential issued after the crash works within 10 s.
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, issueCredential, revokeCredential } from '@citycheck/credentials';
import { createKafka, createReliableProducer, type Producer, topics } from '@citycheck/kafka';
import { freePort, sleep } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Pipeline, startPipeline } from './support/pipeline.js';

const boundMs = 10_000;

/** Polls `probe` every 100 ms until it returns true; answers how long that took, or throws after `timeoutMs`. */
const within = async (what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<number> => {
  const started = Date.now();
  for (;;) {
    if (await probe().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
};

describe('followers crashed by a non-retriable coordinator error', () => {
  let pipeline: Pipeline;
  let queryUrl: string;
  let producer: Producer;
  const faultFile = join(tmpdir(), `citycheck-follower-fault-${randomUUID()}`);
  const admin = new CredentialStore();

  beforeAll(async () => {
    pipeline = await startPipeline({ name: 'follower-crash', cities: [], startServices: false });
    const queryPort = await freePort();
    queryUrl = `http://127.0.0.1:${queryPort}`;
    const env = {
      FOLLOWER_FAULT_FILE: faultFile,
      STATUS_METRICS_TARGETS: `ingest=${pipeline.ingestUrl}/metrics`,
    };
    await pipeline.start('ingest', { env });
    await pipeline.start('query', { env: { ...env, QUERY_PORT: String(queryPort), QUERY_PG_PORT: '0' } });
    producer = createReliableProducer(
      createKafka({ brokers: [pipeline.infra.kafkaBrokers], clientId: 'follower-crash-test' }),
    );
    await producer.connect();
  }, 240_000);

  afterAll(async () => {
    rmSync(faultFile, { force: true });
    await producer?.disconnect();
    await pipeline?.destroy();
  }, 120_000);

  const issue = (role: 'city' | 'analyst:ministry') =>
    issueCredential(
      { producer, store: admin },
      role === 'city' ? { role, cityCode: '110100', name: 'city test' } : { role, name: 'analyst test' },
    );
  // Ingest: an authenticated city asking for a submission nobody sent gets 404; query: an analyst gets the tables.
  const ingestStatus = async (token: string): Promise<number> =>
    (
      await fetch(`${pipeline.ingestUrl}/v1/submissions/${randomUUID()}`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;
  const queryStatus = async (token: string): Promise<number> =>
    (await fetch(`${queryUrl}/v1/tables`, { headers: { authorization: `Bearer ${token}` } })).status;
  const ready = async (url: string): Promise<number> => (await fetch(`${url}/readyz`)).status;

  it('is not ready while a follower is down, refuses a credential revoked after the crash and accepts one issued after it', async () => {
    const cityBefore = await issue('city');
    const analystBefore = await issue('analyst:ministry');
    await within(
      'credentials issued before the crash work',
      boundMs,
      async () =>
        (await ingestStatus(cityBefore.token)) === 404 && (await queryStatus(analystBefore.token)) === 200,
    );
    expect(await ready(pipeline.ingestUrl)).toBe(200);
    expect(await ready(queryUrl)).toBe(200);

    // The fault, then a record on each followed topic so every follower's next batch meets it.
    writeFileSync(faultFile, 'coordinator withheld');
    await issue('city');
    await producer.send({
      topic: topics.submissionsReceived,
      messages: [{ key: '110100', value: '{"not":"a submission"}' }],
    });
    await within('ingest not ready', boundMs, async () => (await ready(pipeline.ingestUrl)) === 503);
    await within('query not ready', boundMs, async () => (await ready(queryUrl)) === 503);
    const readiness = (await (await fetch(`${queryUrl}/readyz`)).json()) as {
      checks: Record<string, boolean>;
    };
    expect(readiness.checks.credentials).toBe(false);

    // Revoked after the crash, while the followers are still down: refused on both doors within the bound.
    await revokeCredential({ producer, store: admin }, cityBefore.record.id);
    await revokeCredential({ producer, store: admin }, analystBefore.record.id);
    const cityAfter = await issue('city');
    const analystAfter = await issue('analyst:ministry');
    const refusedIngest = await within('revoked city credential refused on ingest', boundMs, async () =>
      [401, 503].includes(await ingestStatus(cityBefore.token)),
    );
    const refusedQuery = await within('revoked analyst credential refused on query', boundMs, async () =>
      [401, 503].includes(await queryStatus(analystBefore.token)),
    );
    process.stdout.write(
      `follower-crash: revoked refused while down after ${refusedIngest} ms (ingest), ${refusedQuery} ms (query)\n`,
    );
    // Still down a while later: still not ready, still refusing.
    await sleep(2_000);
    expect(await ready(pipeline.ingestUrl)).toBe(503);
    expect(await ready(queryUrl)).toBe(503);
    expect([401, 503]).toContain(await ingestStatus(cityBefore.token));
    expect([401, 503]).toContain(await queryStatus(analystBefore.token));

    // The coordinator is back: the followers start again by themselves.
    rmSync(faultFile);
    const recovered = await within(
      'followers back: new credentials work, revoked ones are 401',
      boundMs,
      async () =>
        (await ingestStatus(cityAfter.token)) === 404 &&
        (await queryStatus(analystAfter.token)) === 200 &&
        (await ingestStatus(cityBefore.token)) === 401 &&
        (await queryStatus(analystBefore.token)) === 401,
    );
    process.stdout.write(`follower-crash: recovered ${recovered} ms after the fault cleared\n`);
    await within(
      'both ready again',
      boundMs,
      async () => (await ready(pipeline.ingestUrl)) === 200 && (await ready(queryUrl)) === 200,
    );

    // A revocation after the restart reaches both doors too.
    await revokeCredential({ producer, store: admin }, cityAfter.record.id);
    await revokeCredential({ producer, store: admin }, analystAfter.record.id);
    await within(
      'revoked after the restart refused',
      boundMs,
      async () =>
        (await ingestStatus(cityAfter.token)) === 401 && (await queryStatus(analystAfter.token)) === 401,
    );
    for (const name of ['ingest', 'query']) expect(pipeline.instances.get(name)?.running).toBe(true);
  }, 300_000);
});
