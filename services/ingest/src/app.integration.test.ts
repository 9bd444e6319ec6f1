// The ingest endpoint against the real Kafka broker, one submission per request: what gets a 202 is in the
// topic; credentials are checked (401), scoped to their city (403) and rate limited (429); a resubmission
// returns the original receipt and other content under the same id is a 409, also after a restart; dry runs
// store nothing; GET /v1/submissions/{id} follows the pipeline's topics; no token ever reaches a log.
import { randomUUID } from 'node:crypto';
import { contentHash, type Submission } from '@citycheck/contracts';
import { createKafka, createReliableProducer, decodeJson } from '@citycheck/kafka';
import { createRuleContext } from '@citycheck/rules';
import { bearer, expectClosedWhenIdle, readTopic, waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import {
  captureLogs,
  type IngestSuite,
  openapiProblems,
  submission,
  useIngestApp,
} from '../test/ingest-fixture.js';
import { ingestOpenApiDocument } from './openapi-document.js';
import { rulesAtTheDoor } from './submission-checks.js';

const ingest = useIngestApp({ beijing: '110100', tianjin: '120100' }, { bodyLimitBytes: 64 * 1024 });

/** POSTs `body` to `url` of `to` with Beijing's credential (or the headers given). */
const postTo = (
  to: IngestSuite<string>['app'],
  body: unknown,
  url = '/v1/submissions',
  headers: Record<string, string> = bearer(ingest.tokens.beijing),
) => to.inject({ method: 'POST', url, headers, payload: body as Record<string, unknown> });
const post = (body: unknown, token = ingest.tokens.beijing, url = '/v1/submissions') =>
  postTo(ingest.app, body, url, bearer(token));
const recordsOf = async (submissionId: string) =>
  (await readTopic(ingest.fixture.kafka, ingest.fixture.topics.received)).filter(
    (m) => m.headers?.['submission-id']?.toString() === submissionId,
  );

describe('POST /v1/submissions (JSON)', () => {
  it('accepts a submission with 202 only after the broker stored it, keyed by city, with the credential id', async () => {
    const body = submission();
    const response = await post(body);
    expect(response.statusCode).toBe(202);
    const receipt = response.json();
    expect(openapiProblems('Receipt', receipt)).toEqual([]);
    expect(receipt).toMatchObject({
      submissionId: body.submissionId,
      status: 'accepted',
      contentHash: contentHash(body),
    });

    const [stored, ...more] = await recordsOf(body.submissionId);
    expect(more).toEqual([]);
    expect(stored?.partition).toBe(receipt.partition);
    expect(stored?.offset).toBe(receipt.offset);
    expect(stored?.key?.toString()).toBe('110100');
    const value = decodeJson(stored?.value ?? null) as Record<string, unknown>;
    expect(value.submission).toEqual(body);
    expect(value.credentialId).toBe(
      ingest.fixture.credentials.list().find((c) => c.cityCode === '110100')?.id,
    );
    expect(value.receivedAt).toBe(receipt.receivedAt);
  });

  it('returns the original receipt with 200 for the same content, whatever its key order, and sends nothing', async () => {
    const body = submission();
    const first = await post(body);
    expect(first.statusCode).toBe(202);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await post(reordered);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await recordsOf(body.submissionId)).toHaveLength(1);
  });

  it('refuses other content under a used id with 409 submission_conflict, naming the pointer', async () => {
    const body = submission();
    expect((await post(body)).statusCode).toBe(202);
    const changed = await post({ ...body, observations: [{ indicator: 'C01', value: 3 }] });
    expect(changed.statusCode).toBe(409);
    expect(openapiProblems('Error', changed.json())).toEqual([]);
    expect(changed.json().error).toMatchObject({
      code: 'submission_conflict',
      reason: 'conflict',
      retriable: false,
      problems: [{ pointer: '/submissionId', rule: 'submission_conflict', value: body.submissionId }],
    });
    expect(changed.json().error.problems[0].message).toContain(contentHash(body));
    expect(await recordsOf(body.submissionId)).toHaveLength(1);
  });

  it('sends a submission resent concurrently exactly once, and answers every copy with its receipt', async () => {
    const body = submission();
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(body)));
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 202]);
    const receipts = responses.map((r) => r.json());
    for (const receipt of receipts) expect(receipt).toEqual(receipts[0]);
    expect(await recordsOf(body.submissionId)).toHaveLength(1);
  });

  it('gives every one of many concurrent submissions of several cities the place of its own record', async () => {
    const bodies = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? {
            token: ingest.tokens.tianjin,
            body: submission({ cityCode: '120100', unit: { level: 'community', code: '120101001001' } }),
          }
        : { token: ingest.tokens.beijing, body: submission() },
    );
    const responses = await Promise.all(bodies.map(({ token, body }) => post(body, token)));
    expect(responses.map((r) => r.statusCode)).toEqual(bodies.map(() => 202));
    const messages = await readTopic(ingest.fixture.kafka, ingest.fixture.topics.received);
    const byPlace = new Map(messages.map((m) => [`${m.partition}/${m.offset}`, m]));
    responses.forEach((response, i) => {
      const receipt = response.json();
      const record = byPlace.get(`${receipt.partition}/${receipt.offset}`);
      expect(record?.headers?.['submission-id']?.toString()).toBe(bodies[i]?.body.submissionId);
      expect(record?.key?.toString()).toBe(bodies[i]?.body.cityCode);
    });
  });

  it("refuses a submission for another city's code with 403, and sends nothing", async () => {
    const body = submission({ cityCode: '120100', unit: { level: 'community', code: '120101001001' } });
    const response = await post(body, ingest.tokens.beijing);
    expect(response.statusCode).toBe(403);
    expect(response.json().error).toMatchObject({
      code: 'forbidden',
      problems: [
        {
          pointer: '/cityCode',
          rule: 'credential_scope',
          message: 'this credential submits for city 110100 only, not for 120100',
          value: '120100',
        },
      ],
    });
    expect(await recordsOf(body.submissionId)).toEqual([]);
    expect((await post(body, ingest.tokens.tianjin)).statusCode).toBe(202);
  });

  it('refuses schema violations with 400 and every problem by pointer', async () => {
    const response = await post(submission({ cycle: 'twenty-twenty-four', cityCode: '1101' }));
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('invalid_request');
    expect(response.json().error.problems).toEqual([
      { pointer: '/cycle', rule: 'schema.type', message: 'must be integer', value: 'twenty-twenty-four' },
      {
        pointer: '/cityCode',
        rule: 'schema.pattern',
        message: 'must match pattern "^[1-9][0-9](0[1-9]|[1-9][0-9])[0-9]{2}$"',
        value: '1101',
      },
    ]);
  });

  it('escapes "/" and "~" in the pointers of its problems (RFC 6901)', async () => {
    const body = submission({ unit: { level: 'community', code: '110101001001', 'a/b': 1, '~x': true } });
    const response = await post(body);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.problems).toEqual([
      {
        pointer: '/unit/a~1b',
        rule: 'schema.additionalProperties',
        message: 'is not allowed here',
        value: 1,
      },
      {
        pointer: '/unit/~0x',
        rule: 'schema.additionalProperties',
        message: 'is not allowed here',
        value: true,
      },
    ]);
  });

  it('refuses an id that is not a canonical UUID (urn:uuid:, upper case) with 400, and stores nothing', async () => {
    const id = randomUUID();
    const message =
      'must be a UUID in canonical form: 8-4-4-4-12 lowercase hex digits, without "urn:uuid:", braces or upper case';
    for (const spelling of [`urn:uuid:${id}`, id.toUpperCase()]) {
      const response = await post(submission({ submissionId: spelling }));
      expect(response.statusCode).toBe(400);
      expect(response.json().error.problems).toEqual([
        { pointer: '/submissionId', rule: 'schema.pattern', message, value: spelling },
      ]);
      const asked = await ingest.app.inject({
        method: 'GET',
        url: `/v1/submissions/${encodeURIComponent(spelling)}`,
        headers: bearer(ingest.tokens.beijing),
      });
      expect(asked.statusCode).toBe(400);
      expect(asked.json().error.problems).toEqual([
        { pointer: '/', rule: 'path.submissionId', message, value: spelling },
      ]);
    }
    // The canonical spelling is a new submission: nothing was stored under either of the others.
    expect((await post(submission({ submissionId: id }))).statusCode).toBe(202);
    const records = await readTopic(ingest.fixture.kafka, ingest.fixture.topics.received);
    const ids = records.map((m) => m.headers?.['submission-id']?.toString() ?? '');
    expect(ids.filter((stored) => stored.toLowerCase().includes(id))).toEqual([id]);
  });

  it('answers 503 with Retry-After, never 202, when the broker cannot be reached', async () => {
    // Nothing listens on port 1: every attempt fails fast, as during a broker outage.
    const unreachable = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'ingest-test-down',
      retries: 1,
      connectionTimeoutMs: 300,
    });
    const downApp = ingest.fixture.build({ producer: createReliableProducer(unreachable) });
    const body = submission();
    const response = await postTo(downApp, body);
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json().error).toMatchObject({ code: 'broker_unavailable', retriable: true });
    await downApp.close();
    // Nothing was recorded: the same id goes through once the broker is back.
    expect((await post(body)).statusCode).toBe(202);
  });
});

describe('credentials', () => {
  it('refuses a request without a credential, or with a malformed, unknown or wrong one, with 401', async () => {
    const body = submission();
    const cases: [Record<string, string>, string][] = [
      [{}, 'this endpoint needs a city credential: send Authorization: Bearer cc_<id>_<secret>'],
      [{ authorization: 'Basic dXNlcjpwYXNz' }, 'the Authorization header must be "Bearer cc_<id>_<secret>"'],
      [
        { authorization: 'Bearer not-a-token' },
        'the bearer token is not a citycheck credential (cc_<id>_<secret>)',
      ],
      [
        { authorization: `Bearer cc_0123456789abcdef_${'A'.repeat(43)}` },
        'the credential is not known: check the token, or ask for a new one if it was rotated',
      ],
      [
        { authorization: `Bearer ${ingest.tokens.beijing.slice(0, -4)}AAAA` },
        'the credential is not known: check the token, or ask for a new one if it was rotated',
      ],
    ];
    for (const [headers, message] of cases) {
      const response = await ingest.app.inject({
        method: 'POST',
        url: '/v1/submissions',
        headers,
        payload: body,
      });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="citycheck"');
      expect(response.json().error).toMatchObject({ code: 'unauthenticated', message });
    }
    expect(await recordsOf(body.submissionId)).toEqual([]);
  });

  it('refuses a credential with 401 within moments of its revocation', async () => {
    const issued = await ingest.fixture.issue('110100');
    expect((await post(submission(), issued.token)).statusCode).toBe(202);
    await ingest.fixture.revoke(issued.record.id);
    const response = await waitFor(
      async () => {
        const attempt = await post(submission(), issued.token);
        return attempt.statusCode === 401 ? attempt : undefined;
      },
      { what: 'the revocation to reach ingest', timeoutMs: 10_000 },
    );
    expect(response.json().error.message).toBe(
      'the credential was revoked: ask the operations team for a new one',
    );
  });

  it('limits each credential on its own: 429 with Retry-After past the limit, others unaffected', async () => {
    const limited = ingest.fixture.build({ rateLimit: { max: 3, windowMs: 60_000 } });
    const send = (token: string, cityCode = '110100') =>
      limited.inject({
        method: 'POST',
        url: '/v1/submissions',
        headers: bearer(token),
        payload: submission({
          cityCode,
          unit: { level: 'community', code: `${cityCode.slice(0, 4)}01001001` },
        }),
      });
    for (let i = 0; i < 3; i += 1) expect((await send(ingest.tokens.beijing)).statusCode).toBe(202);
    const refused = await send(ingest.tokens.beijing);
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.json().error).toMatchObject({
      code: 'rate_limited',
      reason: 'rate_limited',
      retriable: true,
    });
    expect(openapiProblems('Error', refused.json())).toEqual([]);
    expect((await send(ingest.tokens.tianjin, '120100')).statusCode).toBe(202);
  });

  it('never writes a token or secret to the log, whatever happens to the request', async () => {
    const logs = captureLogs();
    const issued = await ingest.fixture.issue('110100');
    const logged = ingest.fixture.build({ logger: logs.logger, rateLimit: { max: 2, windowMs: 60_000 } });
    const send = (authorization: string, payload: unknown = submission()) =>
      logged.inject({
        method: 'POST',
        url: '/v1/submissions',
        headers: { authorization },
        payload: payload as object,
      });
    expect((await send(`Bearer ${issued.token}`)).statusCode).toBe(202);
    expect((await send(`Bearer ${issued.token}`, submission({ cycle: 'x' }))).statusCode).toBe(400);
    expect((await send(`Bearer ${issued.token}`)).statusCode).toBe(429);
    expect((await send(`Bearer ${issued.token.slice(0, -1)}x`)).statusCode).toBe(401);
    expect((await send(issued.token)).statusCode).toBe(401);
    await ingest.fixture.revoke(issued.record.id);
    await waitFor(
      async () => ((await send(`Bearer ${issued.token}`)).statusCode === 401 ? true : undefined),
      {
        what: 'revocation',
      },
    );
    const text = logs.text();
    const secret = issued.token.slice(`cc_${issued.record.id}_`.length);
    expect(text).toContain(issued.record.id);
    expect(text).toContain('authentication failed');
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(0, 16));
    expect(text).not.toContain(issued.record.secretSha256);
  });
});

describe('dry run', () => {
  it('reports a valid submission as new and sends nothing', async () => {
    const body = submission();
    const response = await post(body, ingest.tokens.beijing, '/v1/submissions?dryRun=true');
    expect(response.statusCode).toBe(200);
    expect(openapiProblems('DryRunReport', response.json())).toEqual([]);
    expect(response.json()).toEqual({
      dryRun: true,
      submissionId: body.submissionId,
      outcome: 'valid',
      idempotency: 'new',
      checks: ['schema', 'credential_scope', 'idempotency'],
      problems: [],
    });
    expect(await recordsOf(body.submissionId)).toEqual([]);
    expect(ingest.fixture.index.get(body.submissionId)).toBeUndefined();
  });

  it('reports schema problems, a foreign city and a conflict, each with its pointer', async () => {
    const schemaBad = await post(
      submission({ observations: [] }),
      ingest.tokens.beijing,
      '/v1/submissions?dryRun=true',
    );
    expect(schemaBad.json()).toMatchObject({
      outcome: 'rejected',
      idempotency: 'unknown',
      problems: [{ pointer: '/observations', rule: 'schema.minItems' }],
    });

    const stored = submission();
    expect((await post(stored)).statusCode).toBe(202);
    expect((await post(stored, ingest.tokens.beijing, '/v1/submissions?dryRun=1')).json()).toMatchObject({
      outcome: 'valid',
      idempotency: 'duplicate',
    });
    const changed = { ...stored, cityCode: '120100' };
    const report = (await post(changed, ingest.tokens.beijing, '/v1/submissions?dryRun=true')).json();
    expect(report.outcome).toBe('rejected');
    expect(report.idempotency).toBe('conflict');
    expect(report.problems.map((p: { rule: string }) => p.rule)).toEqual([
      'credential_scope',
      'submission_conflict',
    ]);
    expect(await recordsOf(stored.submissionId)).toHaveLength(1);
  });

  it('applies the full rules when they are plugged in', async () => {
    const withRules = ingest.fixture.build({
      // The app runs the semantic check only on a submission that passed the schema check.
      semanticCheck: ({ submission: checked }) =>
        (checked as Submission).observations[0]?.value === 900
          ? [
              {
                pointer: '/observations/0/value',
                rule: 'range',
                message: 'value of C01 must be from 0 to 500',
                indicator: 'C01',
                value: 900,
              },
            ]
          : [],
    });
    const body = submission({ observations: [{ indicator: 'C01', value: 900 }] });
    const response = await postTo(withRules, body, '/v1/submissions?dryRun=true');
    expect(response.json()).toMatchObject({
      outcome: 'rejected',
      checks: ['schema', 'credential_scope', 'idempotency', 'rules'],
      problems: [{ pointer: '/observations/0/value', rule: 'range', indicator: 'C01', value: 900 }],
    });
  });

  it('refuses at once, with every problem, a submission that breaks rules of the catalogue, in Chinese unless asked for English', async () => {
    // The rules of a running deployment, as main.ts plugs them in.
    const withRules = ingest.fixture.build(rulesAtTheDoor(createRuleContext()));
    // Catalogue 2024.1: C01 is a count from 0 to 500 (个); C16 is a score, reported with value and weight.
    const body = submission({
      observations: [
        { indicator: 'C01', value: 501 },
        { indicator: 'C16', value: 80 },
      ],
    });
    const send = (headers: Record<string, string> = {}) =>
      withRules.inject({
        method: 'POST',
        url: '/v1/submissions',
        headers: { ...bearer(ingest.tokens.beijing), ...headers },
        payload: body,
      });

    const chinese = await send();
    expect(chinese.statusCode).toBe(422);
    expect(chinese.json().error).toMatchObject({
      code: 'submission_invalid',
      message: `报送 ${body.submissionId} 有 2 处不符合规则，未被接收`,
    });
    expect(chinese.json().error.problems).toEqual([
      {
        pointer: '/observations/0/value',
        rule: 'range',
        message:
          '指标 C01（未达标配建养老服务设施的小区数量）的数值（value）应在 0 至 500（个）之间，实为 501',
        indicator: 'C01',
        value: 501,
      },
      {
        pointer: '/observations/1/weight',
        rule: 'kind_fields',
        message: '指标 C16（社区居民满意度评分）须填报 value 和 weight，缺少 weight',
        indicator: 'C16',
      },
    ]);

    const english = await send({ 'accept-language': 'en' });
    expect(english.statusCode).toBe(422);
    expect(english.json().error.message).toBe(
      `submission ${body.submissionId} breaks 2 rule(s) and was not accepted`,
    );
    expect(english.json().error.problems).toEqual([
      {
        pointer: '/observations/0/value',
        rule: 'range',
        message: 'value of C01 must be from 0 to 500',
        indicator: 'C01',
        value: 501,
      },
      {
        pointer: '/observations/1/weight',
        rule: 'kind_fields',
        message: 'indicator C16 is a score and is reported with value and weight',
        indicator: 'C16',
      },
    ]);

    // Exactly the problems the dry run reports (the same rules, the same pointers), and nothing stored.
    const dry = await postTo(withRules, body, '/v1/submissions?dryRun=true');
    expect(dry.json().problems.map(({ message: _, ...rest }: { message: string }) => rest)).toEqual(
      english.json().error.problems.map(({ message: _, ...rest }: { message: string }) => rest),
    );
    expect(ingest.fixture.index.get(body.submissionId)).toBeUndefined();
    expect(await recordsOf(body.submissionId)).toEqual([]);

    // The same rules let a valid submission through with its receipt.
    const valid = submission({
      observations: [
        { indicator: 'C01', value: 500 },
        { indicator: 'C16', value: 80, weight: 1 },
      ],
    });
    const accepted = await postTo(withRules, valid);
    expect(accepted.statusCode).toBe(202);
    expect(await recordsOf(valid.submissionId)).toHaveLength(1);
  });

  it('refuses a dryRun that is neither true nor false', async () => {
    const response = await post(submission(), ingest.tokens.beijing, '/v1/submissions?dryRun=maybe');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.problems[0]).toMatchObject({ rule: 'query.dryRun', value: 'maybe' });
  });
});

describe('GET /v1/submissions/{id}', () => {
  const get = (id: string, token = ingest.tokens.beijing) =>
    ingest.app.inject({ method: 'GET', url: `/v1/submissions/${id}`, headers: bearer(token) });

  it('follows a submission from accepted to valid to stored, as validate and aggregate report it', async () => {
    const body = submission();
    const receipt = (await post(body)).json();
    expect((await get(body.submissionId)).json()).toEqual({
      submissionId: body.submissionId,
      cityCode: '110100',
      cycle: 2024,
      unit: { level: 'community', code: '110101001001' },
      status: 'accepted',
      contentHash: receipt.contentHash,
      receipt,
    });
    await ingest.fixture.produce(ingest.fixture.topics.validated, '110100', {
      submissionId: body.submissionId,
      cityCode: '110100',
      contentHash: receipt.contentHash,
    });
    await waitFor(async () => ((await get(body.submissionId)).json().status === 'valid' ? true : undefined), {
      what: 'status valid',
    });
    await ingest.fixture.produce(ingest.fixture.topics.committed, '0', {
      submissionIds: [randomUUID(), body.submissionId],
      objects: ['lake/observations/cycle=2024/part-0-0.parquet'],
      topic: 'submissions.validated.v1',
      partition: 0,
      startOffset: '0',
      endOffset: '1',
    });
    const stored = await waitFor(
      async () => {
        const state = (await get(body.submissionId)).json();
        return state.status === 'stored' ? state : undefined;
      },
      { what: 'status stored' },
    );
    expect(openapiProblems('SubmissionState', stored)).toEqual([]);
    expect(stored.receipt).toEqual(receipt);
  });

  it('shows every problem of a rejected submission', async () => {
    const body = submission({
      observations: [
        { indicator: 'C01', value: 900 },
        { indicator: 'Z99', value: 1 },
      ],
    });
    const receipt = (await post(body)).json();
    const problems = [
      {
        pointer: '/observations/0/value',
        rule: 'range',
        message: 'value of C01 must be from 0 to 500',
        indicator: 'C01',
        value: 900,
      },
      {
        pointer: '/observations/1/indicator',
        rule: 'indicator_known',
        message: 'catalogue 2024.1 has no indicator Z99',
        indicator: 'Z99',
        value: 'Z99',
      },
    ];
    await ingest.fixture.produce(ingest.fixture.topics.rejected, '110100', {
      submissionId: body.submissionId,
      cityCode: '110100',
      contentHash: receipt.contentHash,
      receivedAt: receipt.receivedAt,
      rejectedAt: new Date().toISOString(),
      problems,
    });
    const state = await waitFor(
      async () => {
        const current = (await get(body.submissionId)).json();
        return current.status === 'rejected' ? current : undefined;
      },
      { what: 'status rejected' },
    );
    expect(state.problems).toEqual(problems);
  });

  it("answers 403 for another city's submission, 404 for an unknown id, 400 for a non-UUID", async () => {
    const body = submission();
    expect((await post(body)).statusCode).toBe(202);
    expect((await get(body.submissionId, ingest.tokens.tianjin)).statusCode).toBe(403);
    expect((await get(randomUUID())).statusCode).toBe(404);
    expect((await get('not-a-uuid')).statusCode).toBe(400);
    expect(
      (await ingest.app.inject({ method: 'GET', url: `/v1/submissions/${body.submissionId}` })).statusCode,
    ).toBe(401);
  });
});

describe('connections', () => {
  it('closes a connection whose body stops short of its Content-Length once it has been silent for the idle timeout', async () => {
    const slow = ingest.fixture.build({ idleTimeoutMs: 500 });
    await slow.listen({ host: '127.0.0.1', port: 0 });
    // Without a timeout the server waits for the other 998 bytes for as long as the client keeps quiet.
    await expectClosedWhenIdle(slow.server, '/v1/submissions', ingest.tokens.beijing, 500);
  });
});

describe('service routes', () => {
  it('serves the OpenAPI document without a credential', async () => {
    const response = await ingest.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(await ingestOpenApiDocument());
  });

  it('answers /v1 with 503 not_ready and Retry-After until credentials and the index are loaded', async () => {
    const starting = ingest.fixture.build({ stateReady: () => false });
    const response = await postTo(starting, submission());
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('2');
    expect(response.json().error).toMatchObject({ code: 'not_ready', retriable: true });
    const ready = await starting.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: 'not_ready', checks: { broker: true, state: false } });
  });
});

describe('after a restart, or on another instance', () => {
  it('rebuilds the index from Kafka: the same receipt for a resubmission, 409 for other content, the same status', async () => {
    const body = submission();
    const receipt = (await post(body)).json();
    const other = await ingest.fixture.followAgain();
    try {
      expect(other.index.get(body.submissionId)?.receipt).toEqual(receipt);
      const restarted = ingest.fixture.build({ authenticator: other.credentials, index: other.index });
      const again = await postTo(restarted, body);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toEqual(receipt);
      const changed = await postTo(restarted, { ...body, cycle: 2025 });
      expect(changed.statusCode).toBe(409);
      await restarted.close();
      expect(await recordsOf(body.submissionId)).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });
});

describe('credentials of reporting cities', () => {
  it('lets a county-level city (灵武市 640181) submit for its own community, keyed by its own code', async () => {
    const lingwu = (await ingest.fixture.issue('640181')).token;
    const body = submission({
      cycle: 2025,
      catalogueVersion: '2025.1',
      cityCode: '640181',
      unit: { level: 'community', code: '640181001001' },
    });
    const response = await post(body, lingwu);
    expect(response.statusCode, response.body).toBe(202);
    const [stored] = await recordsOf(body.submissionId);
    expect(stored?.key?.toString()).toBe('640181');
  });

  it('issues none for a code the registry does not know as a reporting city', async () => {
    await expect(ingest.fixture.issue('999900')).rejects.toThrow(
      /^there is no division 999900 in the registry/,
    );
    await expect(ingest.fixture.issue('652800')).rejects.toThrow(
      '652800 巴音郭楞蒙古自治州 is of kind autonomousPrefecture, not a city that reports',
    );
  });
});
