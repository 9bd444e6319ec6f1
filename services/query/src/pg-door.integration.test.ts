// The PostgreSQL door against the real object store and DuckDB: a provincial analyst connects with Debian's
// psql and with the `pg` driver, signing in with the credential as password, and gets the same rows and the
// same refusals as POST /v1/query, typed with PostgreSQL's OIDs, and never another province's rows. Expected
// values are worked out from the rows the fixture wrote.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { createLogger } from '@citycheck/logging';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueQueryCredentials,
  postQuery,
  startQueryService,
  type TestQueryService,
} from '../test/query-fixture.js';
import { currentObservations } from '../test/test-lake.js';
import { createPgDoor, type PgDoor } from './pg-door.js';

const run = promisify(execFile);
const psqlPath = process.env.CITYCHECK_PSQL ?? '/usr/bin/psql';
const logger = createLogger({ service: 'pg-door-test', level: 'silent' });

const { store: authenticator, guangdong, ministry, city } = issueQueryCredentials();

let service: TestQueryService;
let door: PgDoor;
let port: number;

beforeAll(async () => {
  if (!existsSync(psqlPath))
    throw new Error(
      `the PostgreSQL door test needs psql at ${psqlPath}: run bash infra/psql.sh (or set CITYCHECK_PSQL)`,
    );
  service = await startQueryService({ name: 'pgdoor', authenticator, unitsPerCity: 12 });
  door = createPgDoor({ engine: service.engine, authenticator, logger });
  port = (await door.listen({ host: '127.0.0.1', port: 0 })).port;
}, 120_000);

afterAll(async () => {
  await door?.close();
  await service?.close();
});

const connect = async (password: string, user = 'analyst'): Promise<pg.Client> => {
  const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: 'citycheck' });
  await client.connect();
  return client;
};

/** POST /v1/query as JSON: the rows the HTTP door answers, or its error. */
const overHttp = async (token: string, sql: string) => {
  const response = await postQuery(service.app, token, sql);
  return response.statusCode === 200
    ? { rows: response.json<{ rows: unknown[][] }>().rows }
    : { error: response.json<{ error: { code: string; message: string } }>().error };
};

const psql = async (token: string, sql: string) => {
  try {
    const { stdout } = await run(
      psqlPath,
      [
        '-X',
        '-q',
        '-A',
        '-t',
        '-F',
        '|',
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'analyst',
        '-d',
        'citycheck',
        '-c',
        sql,
      ],
      { env: { ...process.env, PGPASSWORD: token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' } },
    );
    return { lines: stdout.split('\n').filter((line) => line !== '') };
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    return { exitCode: failed.code, stderr: failed.stderr ?? '' };
  }
};

const gd = (row: { province_code: string }): boolean => row.province_code === '440000';

describe('the pg driver as a Guangdong analyst', () => {
  it('gets the same rows as POST /v1/query, and only Guangdong', async () => {
    const client = await connect(guangdong);
    try {
      const sql =
        'SELECT city_code, count(*) AS observations FROM observations GROUP BY city_code ORDER BY city_code';
      const result = await client.query(sql);
      // Worked out from the fixture: every Guangdong observation, history included.
      const expected = ['440100', '440300'].map((code) => ({
        city_code: code,
        observations: String(
          service.lake.observations.filter((row) => gd(row) && row.city_code === code).length,
        ),
      }));
      expect(result.rows).toEqual(expected);
      expect(result.fields.map((field) => field.dataTypeID)).toEqual([25, 20]);
      const http = await overHttp(guangdong, sql);
      expect(http.rows?.map(([code, count]) => ({ city_code: code, observations: String(count) }))).toEqual(
        expected,
      );

      // Asking for another province's rows finds none.
      const other = await client.query(
        "SELECT count(*) AS n FROM observations WHERE province_code = '110000'",
      );
      expect(other.rows).toEqual([{ n: '0' }]);
      const rollups = await client.query(
        'SELECT DISTINCT province_code FROM rollups WHERE province_code IS NOT NULL',
      );
      expect(rollups.rows).toEqual([{ province_code: '440000' }]);
    } finally {
      await client.end();
    }
  });

  it('binds parameters through the extended protocol, under the same scope', async () => {
    const client = await connect(guangdong, 'whoever');
    try {
      const result = await client.query(
        'SELECT unit_code, value FROM observations_current WHERE city_code = $1 AND indicator_code = $2 ORDER BY unit_code',
        ['440300', 'C01'],
      );
      const expected = currentObservations(service.lake.observations)
        .filter((row) => row.city_code === '440300' && row.indicator_code === 'C01')
        .sort((a, b) => a.unit_code.localeCompare(b.unit_code))
        .map((row) => ({ unit_code: row.unit_code, value: row.value }));
      expect(expected.length).toBe(12);
      expect(result.rows).toEqual(expected);
      // A parameter is a value, never SQL: a quote in it does not end the string.
      const hostile = await client.query('SELECT count(*) AS n FROM observations WHERE city_code = $1', [
        "110100' OR province_code <> '",
      ]);
      expect(hostile.rows).toEqual([{ n: '0' }]);
      const beijing = await client.query('SELECT count(*) AS n FROM observations WHERE city_code = $1', [
        '110100',
      ]);
      expect(beijing.rows).toEqual([{ n: '0' }]);
    } finally {
      await client.end();
    }
  });

  it('types every column with its PostgreSQL OID, and values in PostgreSQL text form', async () => {
    const client = await connect(guangdong);
    try {
      const result = await client.query(
        "SELECT true AS b, 7::SMALLINT AS s, 42::INTEGER AS i, 9007199254740993::BIGINT AS big, 12.345::DECIMAL(10,3) AS n, 0.5::FLOAT AS f4, 0.1::DOUBLE AS f8, DATE '2024-06-01' AS d, TIMESTAMP '2024-06-01 08:00:00.25' AS ts, '银川市' AS t, NULL::INTEGER AS nothing",
      );
      expect(result.fields.map((field) => [field.name, field.dataTypeID])).toEqual([
        ['b', 16],
        ['s', 21],
        ['i', 23],
        ['big', 20],
        ['n', 1700],
        ['f4', 700],
        ['f8', 701],
        ['d', 1082],
        ['ts', 1114],
        ['t', 25],
        ['nothing', 23],
      ]);
      const [row] = result.rows as Record<string, unknown>[];
      expect(row).toMatchObject({
        b: true,
        s: 7,
        i: 42,
        big: '9007199254740993',
        n: '12.345',
        f4: 0.5,
        f8: 0.1,
        t: '银川市',
        nothing: null,
      });
      // pg reads date and timestamp without a zone as local time: compare their parts.
      const d = row?.d as Date;
      expect([d.getFullYear(), d.getMonth() + 1, d.getDate()]).toEqual([2024, 6, 1]);
      const ts = row?.ts as Date;
      expect([ts.getHours(), ts.getMinutes(), ts.getMilliseconds()]).toEqual([8, 0, 250]);
    } finally {
      await client.end();
    }
  });

  it('refuses what POST /v1/query refuses, with the same message and a SQLSTATE', async () => {
    const client = await connect(guangdong);
    try {
      const cases: [string, string, string][] = [
        ['INSTALL httpfs', 'query_not_allowed', '42501'],
        [
          "SELECT * FROM read_parquet('s3://citycheck-lake/observations/*/*/*/*.parquet')",
          'query_not_allowed',
          '42501',
        ],
        ['SELECT * FROM credentials', 'query_not_allowed', '42501'],
        ["COPY (SELECT 1) TO '/tmp/x.csv'", 'query_not_allowed', '42501'],
        ['SELECT no_such_column FROM rollups', 'query_invalid', '42703'],
        ['SELEC 1', 'query_invalid', '42601'],
      ];
      for (const [sql, code, state] of cases) {
        const http = await overHttp(guangdong, sql);
        expect(http.error?.code, sql).toBe(code);
        const refused = await client.query(sql).then(
          () => undefined,
          (error: pg.DatabaseError) => error,
        );
        expect(refused, sql).toBeDefined();
        expect(refused?.code, sql).toBe(state);
        expect(refused?.message, sql).toBe(http.error?.message);
        expect(refused?.detail, sql).toBe(`citycheck error ${code}`);
        // The connection goes on after a refusal.
        expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      }
    } finally {
      await client.end();
    }
  });

  it('refuses a wrong password and a revoked-looking token at sign-in', async () => {
    const wrong = await connect(`${guangdong.slice(0, -4)}abcd`).then(
      () => undefined,
      (error: pg.DatabaseError) => error,
    );
    expect(wrong?.code).toBe('28P01');
    const garbage = await connect('not-a-token').then(
      () => undefined,
      (error: pg.DatabaseError) => error,
    );
    expect(garbage?.code).toBe('28P01');
  });

  it('lets a city sign in and see its own city only', async () => {
    const client = await connect(city);
    try {
      const result = await client.query(
        'SELECT city_code, count(*)::INTEGER AS n FROM observations_current GROUP BY ALL',
      );
      // 440100's communities each report C01 and B02; its one correction supersedes an earlier C01.
      const own = currentObservations(service.lake.observations).filter((row) => row.city_code === '440100');
      expect(result.rows).toEqual([{ city_code: '440100', n: own.length }]);
    } finally {
      await client.end();
    }
  });

  it('answers the probes BI tools send on connecting', async () => {
    const client = await connect(ministry);
    try {
      expect((await client.query('SELECT pg_catalog.version()')).rows[0]?.version).toMatch(
        /^PostgreSQL 16\.0 /,
      );
      expect((await client.query('SHOW standard_conforming_strings')).rows).toEqual([
        { standard_conforming_strings: 'on' },
      ]);
      expect((await client.query('SHOW TRANSACTION ISOLATION LEVEL')).rows).toEqual([
        { transaction_isolation: 'read committed' },
      ]);
      expect((await client.query('SELECT current_schema()')).rows).toEqual([{ current_schema: 'main' }]);
      await client.query('SET application_name = $$notebook$$');
      await client.query('BEGIN');
      await client.query('ROLLBACK');
      // The ministry sees every province.
      const provinces = await client.query('SELECT DISTINCT province_code FROM observations ORDER BY 1');
      expect(provinces.rows.map((row) => row.province_code)).toEqual(['110000', '320000', '440000']);
    } finally {
      await client.end();
    }
  });
});

describe('psql as a Guangdong analyst', () => {
  it('gets the same rows as POST /v1/query, and only Guangdong', async () => {
    const sql =
      'SELECT province_code, city_code, count(*) FROM observations_current GROUP BY ALL ORDER BY city_code';
    const answer = await psql(guangdong, sql);
    const current = currentObservations(service.lake.observations);
    const expected = ['440100', '440300'].map(
      (code) => `440000|${code}|${current.filter((row) => row.city_code === code).length}`,
    );
    expect(answer.lines).toEqual(expected);
    const http = await overHttp(guangdong, sql);
    expect(http.rows?.map((row) => row.join('|'))).toEqual(expected);
    expect(
      (await psql(guangdong, "SELECT count(*) FROM observations WHERE city_code = '320100'")).lines,
    ).toEqual(['0']);
  });

  it('shows the refusal POST /v1/query gives, and exits non-zero', async () => {
    const sql = "SELECT * FROM read_csv('/etc/passwd')";
    const http = await overHttp(guangdong, sql);
    expect(http.error?.code).toBe('query_not_allowed');
    const answer = await psql(guangdong, sql);
    expect(answer.exitCode).toBe(1);
    expect(answer.stderr).toContain(`ERROR:  ${http.error?.message}`);
    expect(answer.stderr).toContain('citycheck error query_not_allowed');
  });

  it('refuses a wrong password', async () => {
    const answer = await psql(`${guangdong.slice(0, -4)}abcd`, 'SELECT 1');
    expect(answer.exitCode).toBe(2);
    expect(answer.stderr).toContain('the credential is not known');
  });
});
