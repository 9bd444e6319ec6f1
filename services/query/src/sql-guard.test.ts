// The SQL guard with DuckDB's real parser: what is accepted, what is refused, and that every refusal says
// why in words an analyst can act on. No lake is needed: parsing reads no data.
import { CitycheckError } from '@citycheck/errors';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkQuery, leadingKeyword } from './sql-guard.js';

const documented = {
  views: new Set(['observations', 'observations_current', 'rollups']),
  macros: new Set(['observations_as_of']),
};

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
});
afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

const refusal = async (sql: string): Promise<CitycheckError> => {
  try {
    await checkQuery(connection, sql, documented);
  } catch (error) {
    if (error instanceof CitycheckError) return error;
    throw error;
  }
  throw new Error(`accepted: ${sql}`);
};

describe('accepted queries', () => {
  it.each([
    ['a plain select', 'SELECT * FROM rollups', ['rollups']],
    ['FROM-first syntax', 'FROM observations_current SELECT unit_code', ['observations_current']],
    [
      'a join',
      'SELECT * FROM observations o JOIN rollups r ON o.city_code = r.area_code',
      ['observations', 'rollups'],
    ],
    [
      'a CTE that shadows a view',
      'WITH rollups AS (SELECT * FROM observations) SELECT * FROM rollups',
      ['observations'],
    ],
    [
      'a recursive CTE',
      'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t',
      [],
    ],
    [
      'a union',
      'SELECT area_code FROM rollups UNION SELECT city_code FROM observations',
      ['observations', 'rollups'],
    ],
    ['a scalar subquery', 'SELECT (SELECT count(*) FROM observations) AS n', ['observations']],
    ['mixed case', 'SeLeCt * FrOm "ROLLUPS"', ['rollups']],
    ['VALUES and no FROM', 'SELECT 1 AS one, * FROM (VALUES (1), (2)) v(x)', []],
    ['a pivot', "PIVOT observations ON indicator_code IN ('C01', 'B02') USING sum(value)", ['observations']],
  ])('%s', async (_what, sql, views) => {
    const checked = await checkQuery(connection, sql, documented);
    expect(checked.views).toEqual(views);
  });

  it('a documented table macro, whose arguments are checked too', async () => {
    const checked = await checkQuery(
      connection,
      "SELECT * FROM observations_as_of(TIMESTAMP '2024-11-30 00:00:00') JOIN rollups USING (cycle)",
      documented,
    );
    expect(checked).toMatchObject({ views: ['rollups'], macros: ['observations_as_of'] });
    const error = await refusal(
      "SELECT * FROM observations_as_of((SELECT max(x) FROM read_parquet('s3://b/x.parquet')))",
    );
    expect(error.message).toMatch(/read_parquet\(\)/);
    expect(
      (await refusal("SELECT * FROM lake_full.observations_as_of(TIMESTAMP '2024-01-01')")).message,
    ).toMatch(/table functions are not accepted \(observations_as_of\(\)\)/);
  });

  it('runs the statement regenerated from the parse tree: comments and the trailing semicolon are gone', async () => {
    const checked = await checkQuery(
      connection,
      'SELECT unit_code /* note */ FROM rollups -- ; DROP VIEW rollups\n;',
      documented,
    );
    expect(checked.sql).toBe('SELECT unit_code FROM rollups');
  });
});

describe('refused statement kinds', () => {
  it.each([
    ['INSTALL httpfs', /INSTALL is not accepted/],
    ['LOAD httpfs', /LOAD is not accepted/],
    ["ATTACH 'other.duckdb' AS other", /ATTACH is not accepted/],
    ['DETACH other', /DETACH is not accepted/],
    ['USE other', /USE is not accepted/],
    ["COPY rollups TO '/tmp/out.csv'", /COPY is not accepted: no file access/],
    ["COPY (SELECT 1) TO 's3://bucket/x.parquet'", /COPY is not accepted/],
    ["EXPORT DATABASE '/tmp/export'", /EXPORT is not accepted/],
    ["IMPORT DATABASE '/tmp/export'", /IMPORT is not accepted/],
    ['SET enable_external_access = true', /SET is not accepted/],
    ['RESET memory_limit', /RESET is not accepted/],
    ['PRAGMA database_list', /PRAGMA is not accepted/],
    ["CALL pragma_table_info('rollups')", /CALL is not accepted/],
    ['CREATE TABLE t AS SELECT * FROM rollups', /CREATE is not accepted: the lake is read-only/],
    ["CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')", /CREATE is not accepted/],
    ['CREATE OR REPLACE TEMP VIEW rollups AS SELECT 1', /CREATE is not accepted/],
    ['INSERT INTO rollups VALUES (1)', /INSERT is not accepted/],
    ['UPDATE rollups SET value = 0', /UPDATE is not accepted/],
    ['DELETE FROM rollups', /DELETE is not accepted/],
    ['DROP VIEW rollups', /DROP is not accepted/],
    ['ALTER VIEW rollups RENAME TO r', /ALTER is not accepted/],
    ['EXPLAIN SELECT * FROM rollups', /EXPLAIN is not accepted/],
    ['DESCRIBE rollups', /DESCRIBE is not accepted.*GET \/v1\/tables/],
    ['SHOW TABLES', /not accepted.*GET \/v1\/tables/],
    ['SUMMARIZE rollups', /not accepted.*GET \/v1\/tables/],
    ['BEGIN TRANSACTION', /BEGIN is not accepted/],
    ['CHECKPOINT', /CHECKPOINT is not accepted/],
    ['VACUUM', /VACUUM is not accepted/],
    ['/* hidden */ INSTALL httpfs', /INSTALL is not accepted/],
  ])('%s', async (sql, message) => {
    const error = await refusal(sql);
    expect(error.code).toBe('query_not_allowed');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });

  it.each([
    ['SELECT 1; SELECT 2', /one statement per request; this SQL holds 2/],
    ['SELECT * FROM rollups; SELECT * FROM lake_full.rollups', /one statement per request; this SQL holds 2/],
    [
      'SELECT * FROM rollups; DROP VIEW rollups',
      /one SELECT per request; this SQL also holds a statement that is not a SELECT/,
    ],
    ['SELECT * FROM rollups; INSTALL httpfs', /one SELECT per request/],
    ['DROP VIEW rollups; SELECT * FROM rollups', /DROP is not accepted/],
  ])('refuses more than one statement: %s', async (sql, message) => {
    const error = await refusal(sql);
    expect(error.code).toBe('query_not_allowed');
    expect(error.message).toMatch(message);
  });
});

describe('refused table references', () => {
  it.each([
    [
      "SELECT * FROM read_parquet('s3://citycheck-lake/observations/**/*.parquet')",
      /table functions are not accepted \(read_parquet\(\)\)/,
    ],
    ["SELECT * FROM read_csv('/etc/passwd')", /read_csv\(\)/],
    ["SELECT * FROM glob('/etc/*')", /glob\(\)/],
    ["SELECT * FROM query_table('rollups')", /query_table\(\)/],
    ["SELECT * FROM query('SELECT 1')", /query\(\)/],
    ['SELECT * FROM duckdb_views()', /duckdb_views\(\)/],
    ['SELECT * FROM duckdb_settings()', /duckdb_settings\(\)/],
    ["SELECT * FROM pragma_table_info('rollups')", /pragma_table_info\(\)/],
    ['SELECT * FROM range(10)', /range\(\)/],
    ["SELECT * FROM rollups r, (SELECT * FROM read_parquet('x')) t", /read_parquet\(\)/],
    ["SELECT (SELECT count(*) FROM read_parquet('x'))", /read_parquet\(\)/],
    ["SELECT * FROM 's3://citycheck-lake/observations/x.parquet'", /file and URL access is not accepted/],
    ["SELECT * FROM '/etc/passwd'", /file and URL access is not accepted/],
    ['SELECT * FROM "data.csv"', /file and URL access is not accepted/],
    ['SELECT * FROM lake_full.rollups', /without a schema or database: write rollups, not lake_full.rollups/],
    ['SELECT * FROM memory.lake_full.rollups', /without a schema or database/],
    ['SELECT * FROM main.rollups', /without a schema or database/],
    ['SELECT * FROM temp.main.rollups', /without a schema or database/],
    ['SELECT * FROM information_schema.tables', /without a schema or database/],
    ['SELECT * FROM duckdb_views', /there is no view duckdb_views/],
    ['SELECT * FROM sqlite_master', /there is no view sqlite_master/],
    [
      'SELECT * FROM secrets',
      /there is no view secrets: the documented views are observations, observations_current, rollups/,
    ],
    // CTE scoping: a name that is a CTE only later, or only inside its own non-recursive body, is no CTE.
    [
      'WITH x AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) SELECT * FROM x',
      /there is no view duckdb_views/,
    ],
    [
      'WITH duckdb_views AS (SELECT * FROM duckdb_views) SELECT * FROM duckdb_views',
      /name common table expressions with letters, digits and _ only, not like a file or a catalogue view/,
    ],
    ['SELECT * FROM (WITH t AS (SELECT 1) SELECT * FROM t), t', /there is no view t/],
    // DuckDB binds a recursive CTE's first member before the CTE exists.
    [
      'WITH RECURSIVE secrets AS (SELECT * FROM secrets UNION ALL SELECT * FROM secrets) SELECT * FROM secrets',
      /there is no view secrets/,
    ],
    [
      'WITH RECURSIVE "s3://b/x.parquet" AS (SELECT 1 UNION ALL SELECT 1 FROM "s3://b/x.parquet") SELECT 1',
      /name common table expressions with letters, digits and _ only/,
    ],
    // DuckDB folds identifiers in ASCII only: a KELVIN SIGN is not a k, so this CTE does not shadow the name.
    [
      'WITH "duc\u212Adb_views" AS (SELECT 1) SELECT * FROM duckdb_views',
      /not like a file or a catalogue view/,
    ],
    ['WITH "t\u212A" AS (SELECT 1) SELECT * FROM tk', /name common table expressions/],
    ['SELECT * FROM "observations\u212A"', /there is no view observations\u212A/],
  ])('%s', async (sql, message) => {
    const error = await refusal(sql);
    expect(error.code).toBe('query_not_allowed');
    expect(error.message).toMatch(message);
  });

  it.each([
    ["SELECT current_setting('s3_secret_access_key')", /current_setting\(\) is not accepted/],
    ["SELECT getvariable('x')", /getvariable\(\) is not accepted/],
    ['SELECT pg_get_viewdef(unnest(generate_series(1, 5000)))', /pg_get_viewdef\(\) is not accepted/],
    ["SELECT which_secret('s3://b/x', 's3')", /which_secret\(\) is not accepted/],
    ['SELECT current_database()', /current_database\(\) is not accepted/],
    ['SELECT duckdb_version()', /duckdb_version\(\) is not accepted/],
  ])('refuses functions that read configuration: %s', async (sql, message) => {
    expect((await refusal(sql)).message).toMatch(message);
  });

  it.each([
    [
      "SELECT length(repeat('x', 3000000000))",
      /repeat\(\) is accepted only with a size given as a number up to 1,000,000/,
    ],
    ["SELECT length(repeat('x', n)) FROM rollups", /repeat\(\)/],
    ["SELECT lpad('x', 2000000, 'y')", /lpad\(\)/],
    ['SELECT range(0, 10000000000)', /range\(\)/],
    ['SELECT list_resize([1], 1e12)', /list_resize\(\)/],
  ])('refuses functions whose result grows with a number, not the data: %s', async (sql, message) => {
    expect((await refusal(sql)).message).toMatch(message);
  });

  it('accepts those functions with a small literal size', async () => {
    expect(
      (await checkQuery(connection, "SELECT repeat('-', 20), lpad('7', 3, '0')", documented)).views,
    ).toEqual([]);
  });

  it('says when the SQL does not parse', async () => {
    const error = await refusal('SELEC * FROM rollups');
    expect(error.code).toBe('query_invalid');
    expect(error.message).toMatch(/does not parse/);
    expect((await refusal('   ')).code).toBe('query_invalid');
  });
});

describe('leadingKeyword', () => {
  it('skips comments and parentheses', () => {
    expect(leadingKeyword('-- a\n/* b */ ( install httpfs')).toBe('INSTALL');
    expect(leadingKeyword('')).toBe('');
  });
});
