// The query service against the real object store and DuckDB httpfs: a provincial analyst sees only that
// province's rows whatever the query's shape, forbidden statements are refused with a clear message, the
// limits (timeout, memory, row cap) stop a query with their own error, and every result format parses back
// to the same rows. Expected values are worked out from the rows the fixture wrote, not from the service.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LakeDatabase, lakeViews } from '@citycheck/lake';
import { bearer, expectClosedWhenIdle } from '@citycheck/testkit';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueQueryCredentials,
  openTestLakeApps,
  postQuery,
  type QueryApp,
  type TestLakeApps,
} from '../test/query-fixture.js';
import { currentObservations, type TestLake } from '../test/test-lake.js';
import type { QueryAppOptions } from './app.js';
import type { QueryEngine, QueryLimits } from './query-engine.js';

/** Credentials made directly in the store the app authenticates against; tokens as the admin CLI prints them. */
const { store: authenticator, guangdong, ministry, city } = issueQueryCredentials();

let opened: TestLakeApps;
let writer: LakeDatabase;
let lake: TestLake;
let scratch: string;

const startApp = async (
  limits: Partial<QueryLimits> = {},
  options: Pick<QueryAppOptions, 'credentialsCurrent' | 'idleTimeoutMs'> = {},
): Promise<QueryApp> => (await opened.start({ limits }, options)).app;
let app: QueryApp;
/** The engine of `app`. */
let engine: QueryEngine;

beforeAll(async () => {
  opened = await openTestLakeApps('query', 40, authenticator);
  ({ writer, lake, scratch } = opened);
  ({ app, engine } = await opened.start());
});

afterAll(async () => {
  await app?.close();
  await opened?.close();
});

interface JsonResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  rowCount: number;
  complete: boolean;
  error?: { code: string; message: string };
}

const post = (token: string, sql: string, accept = 'application/json', target = app) =>
  postQuery(target, token, sql, accept);

/** Rows of a JSON answer as objects (column name -> value); fails the test on an error answer. */
const rowsOf = async (token: string, sql: string): Promise<Record<string, unknown>[]> => {
  const response = await post(token, sql);
  expect(response.statusCode, response.body).toBe(200);
  const body = response.json<JsonResult>();
  expect(body.complete).toBe(true);
  return body.rows.map((row) =>
    Object.fromEntries(body.columns.map((column, index) => [column.name, row[index]])),
  );
};

const count = (
  predicate: (row: TestLake['observations'][number]) => boolean,
  rows = lake.observations,
): number => rows.filter(predicate).length;

describe('a provincial analyst sees only that province, whatever the query', () => {
  const gd = (row: { province_code: string }) => row.province_code === '440000';

  it('plain select over history and current observations', async () => {
    const history = await rowsOf(guangdong, 'SELECT province_code FROM observations');
    expect(history).toHaveLength(count(gd));
    expect(new Set(history.map((row) => row.province_code))).toEqual(new Set(['440000']));
    const current = await rowsOf(guangdong, 'SELECT province_code FROM observations_current');
    expect(current).toHaveLength(count(gd, currentObservations(lake.observations)));
  });

  it('a WHERE that names another province, or is always true, finds nothing more', async () => {
    expect(await rowsOf(guangdong, "SELECT * FROM observations WHERE province_code = '110000'")).toEqual([]);
    expect(
      await rowsOf(guangdong, "SELECT * FROM observations WHERE province_code <> '440000' OR 1 = 1"),
    ).toHaveLength(count(gd));
  });

  it('joins (self, cross, between views) stay inside the province', async () => {
    const [joined] = await rowsOf(
      guangdong,
      'SELECT count(*) AS n, count(DISTINCT a.province_code) AS pa, count(DISTINCT b.province_code) AS pb, ' +
        'max(a.province_code) AS maxa, max(b.province_code) AS maxb ' +
        'FROM observations a JOIN observations_current b ON a.unit_code <> b.unit_code OR true',
    );
    const expected = count(gd) * count(gd, currentObservations(lake.observations));
    expect(joined).toEqual({ n: expected, pa: 1, pb: 1, maxa: '440000', maxb: '440000' });
    const areas = await rowsOf(
      guangdong,
      'SELECT DISTINCT r.area_code FROM observations o RIGHT JOIN rollups r ON o.city_code = r.area_code ORDER BY 1',
    );
    expect(areas.map((row) => row.area_code)).toEqual(['440000', '440100', '440300']);
  });

  it('subqueries (FROM, scalar, EXISTS, IN, lateral) see the same scoped rows', async () => {
    const [row] = await rowsOf(
      guangdong,
      `SELECT
         (SELECT count(*) FROM (SELECT * FROM observations) t WHERE province_code <> '440000') AS others,
         (SELECT count(*) FROM observations WHERE province_code = '110000') AS beijing,
         EXISTS (SELECT 1 FROM observations_current WHERE city_code = '320100') AS jiangsu,
         (SELECT count(*) FROM rollups WHERE area_code IN (SELECT '000000' UNION SELECT '110000')) AS elsewhere,
         (SELECT count(*) FROM (SELECT 1) x, LATERAL (SELECT * FROM observations WHERE city_code LIKE '11%')) AS lateral_rows`,
    );
    expect(row).toEqual({ others: 0, beijing: 0, jiangsu: false, elsewhere: 0, lateral_rows: 0 });
  });

  it('CTEs, including one named like a view and a recursive one', async () => {
    const [row] = await rowsOf(
      guangdong,
      `WITH everything AS (SELECT * FROM observations),
            observations_current AS (SELECT * FROM everything WHERE province_code <> '440000')
       SELECT (SELECT count(*) FROM everything) AS n, (SELECT count(*) FROM observations_current) AS shadowed`,
    );
    expect(row).toEqual({ n: count(gd), shadowed: 0 });
    const [recursive] = await rowsOf(
      guangdong,
      `WITH RECURSIVE walk(code, depth) AS (
         SELECT province_code, 1 FROM observations
         UNION ALL SELECT code, depth + 1 FROM walk WHERE depth < 2)
       SELECT count(*) AS n, max(code) AS code FROM walk`,
    );
    expect(recursive).toEqual({ n: 2 * count(gd), code: '440000' });
  });

  it('UNION, INTERSECT and EXCEPT combine only scoped rows', async () => {
    const codes = await rowsOf(
      guangdong,
      'SELECT province_code AS code FROM observations UNION SELECT area_code FROM rollups ' +
        'UNION SELECT city_code FROM observations_current ORDER BY code',
    );
    expect(codes.map((row) => row.code)).toEqual(['440000', '440100', '440300']);
    const [row] = await rowsOf(
      guangdong,
      "SELECT (SELECT count(*) FROM (SELECT '110000' EXCEPT SELECT province_code FROM observations)) AS missing",
    );
    expect(row).toEqual({ missing: 1 });
  });

  it('rollups show the province and its areas, never the nation or another province', async () => {
    const rows = await rowsOf(
      guangdong,
      'SELECT level, area_code, value FROM rollups ORDER BY level, area_code',
    );
    const expected = lake.rollups
      .filter((row) => row.level !== 'nation' && row.area_code.startsWith('44'))
      .map(({ level, area_code, value }) => ({ level, area_code, value }))
      .sort((a, b) => a.level.localeCompare(b.level) || a.area_code.localeCompare(b.area_code));
    expect(rows).toEqual(expected);
  });

  it('PIVOT, window functions and GROUP BY ALL only see the province', async () => {
    const pivot = await rowsOf(
      guangdong,
      "PIVOT observations ON province_code IN ('440000', '110000') USING count(*) GROUP BY cycle",
    );
    expect(pivot).toEqual([{ cycle: 2024, '440000': count(gd), '110000': 0 }]);
    const dynamic = await post(guangdong, 'PIVOT observations ON province_code USING count(*)');
    expect(dynamic.json().error.message).toMatch(/PIVOT without an IN list is not accepted/);
    const ranked = await rowsOf(
      guangdong,
      'SELECT DISTINCT city_code, dense_rank() OVER (ORDER BY city_code) AS r FROM observations ORDER BY r',
    );
    expect(ranked).toEqual([
      { city_code: '440100', r: 1 },
      { city_code: '440300', r: 2 },
    ]);
  });

  it('comments cannot hide or append anything', async () => {
    const rows = await rowsOf(
      guangdong,
      "SELECT province_code FROM observations -- WHERE province_code = '440000'\n",
    );
    expect(rows).toHaveLength(count(gd));
    const hidden = await post(guangdong, 'SELECT 1 /* ; */; SELECT * FROM lake_full.observations -- */');
    expect(hidden.statusCode).toBe(400);
    expect(hidden.json().error.code).toBe('query_not_allowed');
  });

  it.each([
    ['the full views by schema', 'SELECT * FROM lake_full.observations'],
    ['the full views by database and schema', 'SELECT * FROM memory.lake_full.observations'],
    ['case tricks on a schema name', 'SELECT * FROM "LAKE_FULL"."Observations"'],
    ['a table function over the lake', "SELECT * FROM read_parquet('s3://bucket/observations/**/*.parquet')"],
    ['a lake object named as a table', "SELECT * FROM 's3://bucket/observations/cycle=2024/x.parquet'"],
    ['query_table()', "SELECT * FROM query_table('lake_full.observations')"],
    ['the catalog', 'SELECT sql FROM duckdb_views()'],
    ['information_schema', 'SELECT * FROM information_schema.tables'],
    ['a second statement', 'SELECT 1; SELECT * FROM lake_full.observations'],
    [
      'a forward CTE reference',
      'WITH x AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) SELECT * FROM x',
    ],
  ])('refuses %s', async (_what, sql) => {
    const response = await post(guangdong, sql);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('query_not_allowed');
  });

  it('the table macros are scoped too: observations as of a moment, and the lineage of a national rollup', async () => {
    const asOf = await rowsOf(
      guangdong,
      "SELECT DISTINCT province_code FROM observations_as_of(TIMESTAMP '2099-01-01 00:00:00')",
    );
    expect(asOf).toEqual([{ province_code: '440000' }]);
    const early = await rowsOf(
      guangdong,
      "SELECT count(*) AS n FROM observations_as_of(TIMESTAMP '2024-11-20 09:10:00')",
    );
    // Before the corrections arrived (09:30), each Guangdong unit had its first two values only.
    expect(early).toEqual([{ n: count((row) => gd(row) && row.received_at < '2024-11-20T09:10:00') }]);
    const lineage = await rowsOf(
      guangdong,
      "SELECT count(*) AS n, count(DISTINCT left(unit_code, 2)) AS provinces FROM rollup_lineage(2024, 'C01', 'nation', '000000')",
    );
    const current = currentObservations(lake.observations).filter((row) => row.indicator_code === 'C01');
    expect(lineage).toEqual([{ n: count(gd, current), provinces: 1 }]);
  });

  it('mixed case names reach the same scoped views', async () => {
    const rows = await rowsOf(guangdong, 'SeLeCt PROVINCE_CODE FrOm "OBSERVATIONS" WhErE 1 = 1');
    expect(rows).toHaveLength(count(gd));
  });

  it('a ministry analyst sees every province', async () => {
    const rows = await rowsOf(
      ministry,
      'SELECT province_code, count(*) AS n FROM observations GROUP BY 1 ORDER BY 1',
    );
    expect(rows).toEqual(
      ['110000', '320000', '440000'].map((code) => ({
        province_code: code,
        n: count((row) => row.province_code === code),
      })),
    );
    const nation = await rowsOf(ministry, "SELECT value FROM rollups WHERE level = 'nation'");
    expect(nation).toEqual([{ value: lake.rollups.find((row) => row.level === 'nation')?.value }]);
  });
});

describe('the database itself, behind the guard', () => {
  it('reads no file, no other bucket and changes no setting, even for SQL the guard never saw', async () => {
    const refused = async (sql: string) =>
      engine.internalRows({ kind: 'ministry' }, [], sql).then(
        () => 'ran',
        (error: Error) => error.message,
      );
    expect(await refused("SELECT * FROM read_csv('/etc/passwd')")).toMatch(/file or setting/);
    expect(await refused("SELECT * FROM read_parquet('s3://another-bucket/x.parquet')")).toMatch(
      /file or setting/,
    );
    expect(await refused('SET enable_external_access = true')).toMatch(/configuration has been locked/);
    expect(await refused("SET memory_limit = '100GB'")).toMatch(/configuration has been locked/);
  });

  it('scopes the views of a provincial connection whatever SQL runs in it', async () => {
    const rows = await engine.internalRows(
      { kind: 'province', provinceCode: '11' },
      ['observations', 'rollups'],
      'SELECT DISTINCT province_code AS code FROM observations UNION SELECT DISTINCT area_code FROM rollups ORDER BY 1',
    );
    expect(rows.map((row) => row.code)).toEqual(['110000', '110100']);
  });
});

describe('who may query', () => {
  it('needs an analyst or city credential, and keeps a city to its own rows', async () => {
    const none = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'SELECT 1' } });
    expect(none.statusCode).toBe(401);
    const forged = await post(`${ministry.slice(0, -3)}xyz`, 'SELECT 1');
    expect(forged.statusCode).toBe(401);
    const cityAnswer = await post(city, 'SELECT DISTINCT city_code FROM observations');
    expect(cityAnswer.statusCode).toBe(200);
    expect(cityAnswer.json().rows).toEqual([['440100']]);
  });

  it('lists the documented views with their columns, and the table macros', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/v1/tables',
      headers: bearer(guangdong),
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{
      tables: {
        name: string;
        provinceColumn?: string;
        columns: { name: string; type: string; doc?: string }[];
      }[];
      macros: { name: string; parameters: string[] }[];
    }>();
    expect(body.tables.map((table) => table.name)).toEqual(lakeViews.map((view) => view.name));
    const current = body.tables.find((table) => table.name === 'observations_current');
    expect(current?.provinceColumn).toBe('province_code');
    expect(current?.columns.find((column) => column.name === 'province_code')).toEqual({
      name: 'province_code',
      type: 'VARCHAR',
      doc: lakeViews[0]?.columns.find((column) => column.name === 'province_code')?.doc,
    });
    expect(body.macros.map(({ name, parameters }) => ({ name, parameters }))).toEqual([
      { name: 'observations_as_of', parameters: ['moment'] },
      { name: 'rollup_lineage', parameters: ['for_cycle', 'for_indicator', 'for_level', 'for_area'] },
      { name: 'reviews_as_of', parameters: ['moment'] },
    ]);
  });

  it('refuses forbidden statements over HTTP with the reason', async () => {
    const response = await post(ministry, 'INSTALL httpfs');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: {
        code: 'query_not_allowed',
        reason: 'bad_input',
        retriable: false,
        message: "INSTALL is not accepted: the query service's extensions are fixed",
      },
    });
    const copy = await post(ministry, "COPY (SELECT * FROM observations) TO '/tmp/x.csv'");
    expect(copy.json().error.message).toMatch(/COPY is not accepted: no file access/);
  });

  it('says which columns do not exist', async () => {
    const response = await post(ministry, 'SELECT no_such_column FROM rollups');
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('query_invalid');
    expect(response.json().error.message).toMatch(/no_such_column/);
  });

  it('answers 406 for a format it cannot produce', async () => {
    const response = await post(ministry, 'SELECT 1', 'application/xml');
    expect(response.statusCode).toBe(406);
    expect(response.json().error.message).toMatch(/text\/csv/);
  });
});

describe('limits', () => {
  it.each([
    {
      what: 'a runaway query at the timeout',
      limits: { timeoutMs: 300 },
      sql: 'SELECT sum(a.value * b.value * c.value * d.value) FROM observations a, observations b, observations c, observations d',
      code: 'query_timeout',
      message: /ran longer than 300 ms and was stopped/,
    },
    {
      what: 'a query that needs more memory than allowed',
      limits: { memoryLimit: '100MB' },
      sql: "SELECT string_agg(a.unit_code || b.unit_code || c.unit_code, ',') FROM observations a, observations b, observations c",
      code: 'query_memory_exceeded',
      message: /more than the 100MB/,
    },
  ])('stops $what', async ({ limits, sql, code, message }) => {
    const limited = await startApp(limits);
    try {
      const response = await post(ministry, sql, 'application/json', limited);
      expect(response.statusCode).toBe(422);
      expect(response.json().error.code).toBe(code);
      expect(response.json().error.message).toMatch(message);
    } finally {
      await limited.close();
    }
  });

  it('refuses a result past the row cap, before sending rows and as Parquet', async () => {
    const limited = await startApp({ rowCap: 5 });
    try {
      for (const accept of ['application/json', 'text/csv', 'application/vnd.apache.parquet']) {
        const response = await post(ministry, 'SELECT * FROM observations', accept, limited);
        expect(response.statusCode).toBe(422);
        expect(response.json().error.code).toBe('query_row_cap_exceeded');
        expect(response.json().error.message).toMatch(/more than 5 rows/);
      }
      expect(
        (await post(ministry, 'SELECT * FROM observations LIMIT 5', 'application/json', limited)).statusCode,
      ).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('result formats parse back to the same rows', () => {
  const sql =
    'SELECT unit_code, indicator_code, value, numerator, meets, received_at, source_offset, cycle ' +
    "FROM observations WHERE city_code = '440100' ORDER BY source_offset";
  /** The expected rows, from the fixture, in the normal form every format is compared in. */
  const expected = () =>
    lake.observations
      .filter((row) => row.city_code === '440100')
      .sort((a, b) => a.source_offset - b.source_offset)
      .map((row) => ({
        unit_code: row.unit_code,
        indicator_code: row.indicator_code,
        value: row.value,
        numerator: row.numerator,
        meets: row.meets,
        received_at: row.received_at.replace('Z', '000'),
        source_offset: row.source_offset,
        cycle: row.cycle,
      }));
  /** ISO text with microseconds, no zone: how the service writes a TIMESTAMP. */
  const micros = (epochMs: number): string => new Date(epochMs).toISOString().replace('Z', '000');

  it('JSON', async () => {
    expect(await rowsOf(ministry, sql)).toEqual(expected());
  });

  it('CSV, read back by DuckDB', async () => {
    const response = await post(ministry, sql, 'text/csv');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    const file = join(scratch, 'result.csv');
    await writeFile(file, response.rawPayload);
    const rows = (
      await writer.connection.runAndReadAll(
        `SELECT * FROM read_csv('${file}', header = true, types = {'unit_code': 'VARCHAR', 'received_at': 'VARCHAR', 'numerator': 'DOUBLE', 'meets': 'BOOLEAN', 'cycle': 'INTEGER'})`,
      )
    ).getRowObjectsJS();
    expect(rows.map((row) => ({ ...row, source_offset: Number(row.source_offset) }))).toEqual(expected());
  });

  it('Arrow IPC stream, read back by apache-arrow', async () => {
    const response = await post(ministry, sql, 'application/vnd.apache.arrow.stream');
    expect(response.statusCode).toBe(200);
    const table = tableFromIPC(response.rawPayload);
    expect(table.schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual([
      'unit_code:Utf8',
      'indicator_code:Utf8',
      'value:Float64',
      'numerator:Float64',
      'meets:Bool',
      'received_at:Timestamp<MICROSECOND>',
      'source_offset:Int64',
      'cycle:Int32',
    ]);
    const rows = table.toArray().map((row) => {
      const value = row.toJSON() as Record<string, unknown>;
      return {
        ...value,
        received_at: micros(Number(value.received_at)),
        source_offset: Number(value.source_offset),
      };
    });
    expect(rows).toEqual(expected());
  });

  it('Parquet, read back by DuckDB', async () => {
    const response = await post(ministry, sql, 'application/vnd.apache.parquet');
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-citycheck-rows']).toBe(String(expected().length));
    const file = join(scratch, 'result.parquet');
    await writeFile(file, response.rawPayload);
    const rows = (
      await writer.connection.runAndReadAll(
        `SELECT * REPLACE (strftime(received_at, '%Y-%m-%dT%H:%M:%S.%f') AS received_at) FROM read_parquet('${file}')`,
      )
    ).getRowObjectsJS();
    expect(rows.map((row) => ({ ...row, source_offset: Number(row.source_offset) }))).toEqual(expected());
  });

  it('a result of many chunks arrives whole and the same in JSON, CSV and Arrow', async () => {
    const many =
      'SELECT a.unit_code AS a, b.unit_code AS b, a.value * b.value AS product FROM observations a, observations b ' +
      "WHERE a.city_code = '440100' AND b.city_code = '440100' ORDER BY a.source_offset, b.source_offset";
    const inCity = lake.observations
      .filter((row) => row.city_code === '440100')
      .sort((x, y) => x.source_offset - y.source_offset);
    const expectedRows = inCity.flatMap((x) =>
      inCity.map((y) => [x.unit_code, y.unit_code, x.value * y.value]),
    );
    expect(expectedRows.length).toBeGreaterThan(3 * 2048);
    const json = (await post(ministry, many)).json<JsonResult>();
    expect(json.rows).toEqual(expectedRows);
    const csv = (await post(ministry, many, 'text/csv')).body.trimEnd().split('\r\n');
    expect(csv).toEqual(['a,b,product', ...expectedRows.map((row) => row.join(','))]);
    const arrow = tableFromIPC(
      (await post(ministry, many, 'application/vnd.apache.arrow.stream')).rawPayload,
    );
    expect(arrow.batches.length).toBeGreaterThan(1);
    expect(arrow.toArray().map((row) => [row.a, row.b, row.product])).toEqual(expectedRows);
  });

  it('a row cap crossed after rows were sent ends JSON with the error, and aborts CSV', async () => {
    const limited = await startApp({ rowCap: 3_000 });
    try {
      const many =
        "SELECT a.unit_code FROM observations a, observations b WHERE a.city_code = '440100' AND b.city_code = '440100'";
      const json = await post(ministry, many, 'application/json', limited);
      expect(json.statusCode).toBe(200);
      const body = json.json<JsonResult>();
      expect(body.complete).toBe(false);
      expect(body.error?.code).toBe('query_row_cap_exceeded');
      expect(body.rowCount).toBe(body.rows.length);
      expect(body.rows.length).toBeLessThanOrEqual(3_000);
      // Over a real connection: the client must see a broken transfer, not a short CSV that looks whole.
      const address = await limited.listen({ host: '127.0.0.1', port: 0 });
      const response = await fetch(`${address}/v1/query`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${ministry}`,
          accept: 'text/csv',
          'content-type': 'application/json',
        },
        body: JSON.stringify({ sql: many }),
      });
      expect(response.status).toBe(200);
      await expect(response.text()).rejects.toThrow();
    } finally {
      await limited.close();
    }
  });

  it('an empty result is still a valid document in every format', async () => {
    const none = 'SELECT unit_code, value FROM observations WHERE false';
    expect((await post(ministry, none)).json()).toEqual({
      columns: [
        { name: 'unit_code', type: 'VARCHAR' },
        { name: 'value', type: 'DOUBLE' },
      ],
      rows: [],
      rowCount: 0,
      complete: true,
    });
    expect((await post(ministry, none, 'text/csv')).body).toBe('unit_code,value\r\n');
    expect(
      tableFromIPC((await post(ministry, none, 'application/vnd.apache.arrow.stream')).rawPayload).numRows,
    ).toBe(0);
  });
});

describe('credentials view and connections', () => {
  it('answers 503 not_ready with Retry-After while its credentials are not known to be current', async () => {
    const stale = await startApp({}, { credentialsCurrent: () => false });
    try {
      const response = await post(ministry, 'SELECT 1 AS one', 'application/json', stale);
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json().error.code).toBe('not_ready');
      const tables = await stale.inject({
        method: 'GET',
        url: '/v1/tables',
        headers: bearer(ministry),
      });
      expect(tables.statusCode).toBe(503);
    } finally {
      await stale.close();
    }
  });

  it('closes a connection whose body stops short of its Content-Length once it has been silent for the idle timeout', async () => {
    const slow = await startApp({}, { idleTimeoutMs: 500 });
    try {
      await slow.listen({ host: '127.0.0.1', port: 0 });
      await expectClosedWhenIdle(slow.server, '/v1/query', ministry, 500);
    } finally {
      await slow.close();
    }
  });
});
