// Both doors, ingest and query, answer a missing or malformed credential the same way (status,
// WWW-Authenticate, body shape and message), and both read the `Bearer` scheme case-insensitively.
import { type IngestFixture, startIngestFixture } from '@citycheck/ingest/test-fixture';
import { type QueryApp, startQueryService, type TestQueryService } from '@citycheck/query/test-fixture';
import { createTestCredentials, testSubmission as submission } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const credentials = createTestCredentials();
const city = credentials.issue('00000000000000c1', 'city', { cityCode: '110100' });
const ministry = credentials.issue('00000000000000a1', 'analyst:ministry');

let ingestFixture: IngestFixture;
let queryService: TestQueryService;
let ingest: ReturnType<IngestFixture['build']>;
let query: QueryApp;

beforeAll(async () => {
  ingestFixture = await startIngestFixture();
  // Both doors authenticate against the same credentials.
  ingest = ingestFixture.build({ authenticator: credentials.store });
  queryService = await startQueryService({
    name: 'http-credentials',
    authenticator: credentials.store,
    unitsPerCity: 0,
    limits: { memoryLimit: '512MB', rowCap: 1_000, concurrency: 1, queueLimit: 2, threads: 1 },
  });
  query = queryService.app;
  await ingest.ready();
});

afterAll(async () => {
  await ingestFixture?.close();
  await queryService?.close();
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
      refusal(
        'this endpoint needs an analyst or city credential: send Authorization: Bearer cc_<id>_<secret>',
      ),
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
