// Both doors, ingest and query, answer a missing or malformed credential the same way (status,
// WWW-Authenticate, body shape and message), and both read the `Bearer` scheme case-insensitively.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, formatToken, hashSecret, type RoleName } from '@citycheck/credentials';
import { buildIngestApp, SubmissionIndex } from '@citycheck/ingest';
import { createReliableProducer, type Producer } from '@citycheck/kafka';
import type { ObjectStore } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import { createMetricsRegistry } from '@citycheck/metrics';
import { buildQueryApp, createLakeViewDefiner, createQueryEngine, type QueryEngine } from '@citycheck/query';
import {
  createTestStore,
  createTestTopics,
  testExtensionDirectory,
  testKafka,
  uniqueName,
  waitFor,
} from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const logger = createLogger({ service: 'http-credentials-test', level: 'silent' });
const credentials = new CredentialStore();
const issue = (id: string, role: RoleName, cityCode?: string): string => {
  const secret = id.padEnd(43, 'x');
  credentials.apply(id, {
    id,
    name: role,
    role,
    ...(cityCode === undefined ? {} : { cityCode }),
    secretSha256: hashSecret(secret),
    status: 'active',
    createdAt: new Date().toISOString(),
  });
  return formatToken(id, secret);
};
const city = issue('00000000000000c1', 'city', '110100');
const ministry = issue('00000000000000a1', 'analyst:ministry');

let producer: Producer;
let store: ObjectStore;
let engine: QueryEngine;
let scratch: string;
let ingest: ReturnType<typeof buildIngestApp>;
let query: ReturnType<typeof buildQueryApp>;

beforeAll(async () => {
  const kafka = testKafka();
  const topic = uniqueName('received');
  await waitFor(
    async () => {
      await createTestTopics(kafka, [topic]);
      return true;
    },
    { what: 'test topic' },
  );
  producer = createReliableProducer(kafka);
  await producer.connect();
  ingest = buildIngestApp({
    producer,
    logger,
    authenticator: credentials,
    index: new SubmissionIndex(),
    receivedTopic: topic,
  });
  scratch = await mkdtemp(join(tmpdir(), 'citycheck-http-credentials-'));
  store = await createTestStore('http-credentials');
  engine = await createQueryEngine({
    extensionDirectory: testExtensionDirectory(),
    s3: store.config,
    defineViews: createLakeViewDefiner(store),
    limits: {
      timeoutMs: 30_000,
      memoryLimit: '512MB',
      rowCap: 1_000,
      concurrency: 1,
      queueLimit: 2,
      threads: 1,
    },
    exportDirectory: scratch,
    logger,
  });
  query = buildQueryApp({
    engine,
    authenticator: credentials,
    logger,
    registry: createMetricsRegistry({ service: 'http-credentials-test', processMetrics: false }),
  });
  await Promise.all([ingest.ready(), query.ready()]);
});

afterAll(async () => {
  await ingest?.close();
  await query?.close();
  await engine?.close();
  await producer?.disconnect();
  store?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

const submission = () => ({
  submissionId: randomUUID(),
  cycle: 2024,
  catalogueVersion: '2024.1',
  cityCode: '110100',
  unit: { level: 'community', code: '110101001001' },
  observations: [{ indicator: 'C01', value: 2 }],
});

const toIngest = (headers: Record<string, string>) =>
  ingest.inject({ method: 'POST', url: '/v1/submissions', headers, payload: submission() });
const toQuery = (headers: Record<string, string>) =>
  query.inject({ method: 'POST', url: '/v1/query', headers, payload: { sql: 'SELECT 1 AS one' } });

const refusal = (message: string) => ({
  statusCode: 401,
  wwwAuthenticate: 'Bearer realm="citycheck"',
  body: { error: { code: 'unauthenticated', reason: 'unauthenticated', retriable: false, message } },
});

const answerOf = (response: Awaited<ReturnType<typeof toIngest>>) => ({
  statusCode: response.statusCode,
  wwwAuthenticate: response.headers['www-authenticate'],
  body: response.json(),
});

describe('a refused credential, at ingest and at query', () => {
  it('without a credential: 401, WWW-Authenticate, and which credential the door needs', async () => {
    expect(answerOf(await toIngest({}))).toEqual(
      refusal('this endpoint needs a city credential: send Authorization: Bearer cc_<id>_<secret>'),
    );
    expect(answerOf(await toQuery({}))).toEqual(
      refusal('this endpoint needs an analyst credential: send Authorization: Bearer cc_<id>_<secret>'),
    );
    expect(answerOf(await toQuery({ authorization: '  ' }))).toEqual(answerOf(await toQuery({})));
  });

  it('with a malformed header or token: the same answer from both', async () => {
    const cases: [string, string][] = [
      [
        `Basic ${Buffer.from('user:pass').toString('base64')}`,
        'the Authorization header must be "Bearer cc_<id>_<secret>"',
      ],
      [city, 'the Authorization header must be "Bearer cc_<id>_<secret>"'],
      ['Bearer', 'the Authorization header must be "Bearer cc_<id>_<secret>"'],
      ['Bearer not-a-token', 'the bearer token is not a citycheck credential (cc_<id>_<secret>)'],
      ['bearer not-a-token', 'the bearer token is not a citycheck credential (cc_<id>_<secret>)'],
      [
        `bearer ${ministry.slice(0, -4)}AAAA`,
        'the credential is not known: check the token, or ask for a new one if it was rotated',
      ],
    ];
    for (const [authorization, message] of cases) {
      const atIngest = answerOf(await toIngest({ authorization }));
      const atQuery = answerOf(await toQuery({ authorization }));
      expect({ authorization, ...atIngest }).toEqual({ authorization, ...refusal(message) });
      expect({ authorization, ...atQuery }).toEqual({ authorization, ...refusal(message) });
    }
  });

  it('reads a lower-case or upper-case bearer scheme as Bearer at both', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      expect((await toIngest({ authorization: `${scheme} ${city}` })).statusCode).toBe(202);
      const answered = await toQuery({ authorization: `${scheme} ${ministry}`, accept: 'application/json' });
      expect(answered.statusCode).toBe(200);
      expect(answered.json().rows).toEqual([[1]]);
    }
  });
});
