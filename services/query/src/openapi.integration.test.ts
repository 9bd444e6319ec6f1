// The query service's OpenAPI document, generated from its route schemas: the checked-in copy is what the
// routes give and is served at /openapi.json, and real answers (rows, the catalogue, the status, refusals)
// match the schemas it declares for them.
import { readFileSync } from 'node:fs';
import { openApiValidator } from '@citycheck/http';
import { bearer, createTestCredentials } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueryApp, startQueryService, type TestQueryService } from '../test/query-fixture.js';
import { fixedStatus, statusReport } from '../test/status-report.js';
import { queryOpenApiDocument } from './openapi-document.js';

const checkedIn = JSON.parse(
  readFileSync(new URL('../../../schemas/openapi/query.openapi.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const problemsOf = openApiValidator(checkedIn);

const credentials = createTestCredentials();
const ministry = credentials.issue('00000000000000a2', 'analyst:ministry');
const guangdong = credentials.issue('0000000000000442', 'analyst:province:44');
const city = credentials.issue('00000000000000c2', 'city', { cityCode: '440100' });
const operator = credentials.issue('00000000000000b2', 'operator');

let service: TestQueryService;
let app: QueryApp;

beforeAll(async () => {
  service = await startQueryService({
    name: 'query-openapi',
    authenticator: credentials.store,
    unitsPerCity: 2,
    limits: { memoryLimit: '512MB', rowCap: 1_000, concurrency: 1, queueLimit: 2, threads: 1 },
    app: { status: fixedStatus(statusReport) },
  });
  ({ app } = service);
});

afterAll(() => service?.close());

describe('the query OpenAPI document', () => {
  it('is checked in as generated (node services/ingest/scripts/generate-openapi.mjs) and served without a credential', async () => {
    expect(checkedIn).toEqual(await queryOpenApiDocument());
    const served = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(served.statusCode).toBe(200);
    expect(served.json()).toEqual(checkedIn);
    expect(Object.keys(checkedIn.paths as object).sort()).toEqual([
      '/console',
      '/healthz',
      '/openapi.json',
      '/readyz',
      '/status',
      '/v1/export',
      '/v1/query',
      '/v1/status',
      '/v1/tables',
    ]);
  });

  it('describes the rows of a JSON answer', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/query',
      headers: { ...bearer(ministry), accept: 'application/json' },
      payload: { sql: 'SELECT city_code, count(*) AS n FROM observations GROUP BY ALL ORDER BY city_code' },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    // testCities: 440100, 440300, 110100, 320100 with 2 communities each, C01 and B02, plus one correction.
    expect(body.rows.map((row: unknown[]) => row[0])).toEqual(['110100', '320100', '440100', '440300']);
    expect(problemsOf('QueryResult', body)).toEqual([]);
  });

  it('describes the catalogue and the status, for an operator, the ministry and a province', async () => {
    const tables = await app.inject({ method: 'GET', url: '/v1/tables', headers: bearer(guangdong) });
    expect(tables.statusCode).toBe(200);
    expect(tables.json().tables.length).toBeGreaterThan(3);
    expect(problemsOf('TableCatalogue', tables.json())).toEqual([]);
    for (const token of [operator, ministry, guangdong]) {
      const status = await app.inject({ method: 'GET', url: '/v1/status', headers: bearer(token) });
      expect(status.statusCode).toBe(200);
      expect(problemsOf('PipelineStatus', status.json())).toEqual([]);
    }
  });

  it('describes every refusal with the one error body', async () => {
    const refusals = [
      await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'SELECT 1' } }),
      await app.inject({ method: 'GET', url: '/v1/status', headers: bearer(city) }),
      await app.inject({
        method: 'POST',
        url: '/v1/query',
        headers: bearer(ministry),
        payload: { query: 'SELECT 1' },
      }),
      await app.inject({
        method: 'POST',
        url: '/v1/query',
        headers: bearer(ministry),
        payload: { sql: 'INSTALL x' },
      }),
      await app.inject({ method: 'GET', url: '/v1/nothing' }),
    ];
    expect(refusals.map((response) => [response.statusCode, response.json().error.code])).toEqual([
      [401, 'unauthenticated'],
      [403, 'forbidden'],
      [400, 'invalid_request'],
      [400, 'query_not_allowed'],
      [404, 'not_found'],
    ]);
    expect(refusals[2]?.json().error.problems).toEqual([
      { pointer: '/sql', rule: 'schema.required', message: 'is required' },
      {
        pointer: '/query',
        rule: 'schema.additionalProperties',
        message: 'is not allowed here',
        value: 'SELECT 1',
      },
    ]);
    for (const response of refusals) expect(problemsOf('Error', response.json())).toEqual([]);
  });
});
