// A province's own database, behind the guard: SQL that was never checked runs in it and still reaches
// nothing but the province's rows, against the real object store and DuckDB. The lake views are defined the
// way the engine defines them, over a lake written by the shared fixture.
import type { DuckDBConnection, LakeDatabase, ObjectStore } from '@citycheck/lake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestLake, type TestLakeStore } from '../test/query-fixture.js';
import type { TestLake } from '../test/test-lake.js';
import { documentedViews } from './lake-model.js';
import { createLakeViewDefiner } from './lake-views.js';
import { buildScopeDatabase, type ScopeDatabase } from './scope-database.js';

let opened: TestLakeStore;
let store: ObjectStore;
let lakeDb: LakeDatabase;
let lake: TestLake;
let scope: ScopeDatabase;
let connection: DuckDBConnection;

beforeAll(async () => {
  opened = await openTestLake('scope', 4);
  ({ store, writer: lakeDb, lake } = opened);
  await createLakeViewDefiner(store)(lakeDb.connection, 'lake_full');
  scope = await buildScopeDatabase({
    lake: lakeDb.connection,
    fullSchema: 'lake_full',
    scope: { kind: 'province', provinceCode: '44' },
    generation: 1,
    directory: opened.scratch,
    views: documentedViews,
    threads: 1,
    memoryLimit: '256MB',
  });
  connection = await scope.connect();
});

afterAll(async () => {
  connection?.closeSync();
  await scope?.close();
  await opened?.close();
});

const run = async (sql: string): Promise<string> => {
  try {
    return JSON.stringify((await connection.runAndReadAll(sql)).getRowObjectsJS(), (_key, value) =>
      typeof value === 'bigint' ? Number(value) : value,
    );
  } catch (error) {
    return `refused: ${(error as Error).message.split('\n')[0]}`;
  }
};

describe("a province's database", () => {
  it('holds the province’s rows of every view, the derived view and the macros over them', async () => {
    expect(await run('SELECT DISTINCT province_code FROM observations')).toBe('[{"province_code":"440000"}]');
    const history = lake.observations.filter((row) => row.province_code === '440000').length;
    // Each of Guangdong's two cities sent one correction, which supersedes one earlier row.
    expect(await run('SELECT count(*) AS n FROM observations_current')).toBe(`[{"n":${history - 2}}]`);
    expect(
      await run("SELECT count(*) AS n FROM rollups WHERE level = 'nation' OR province_code <> '440000'"),
    ).toBe('[{"n":0}]');
    expect(
      await run(
        "SELECT count(DISTINCT left(unit_code, 2)) AS n FROM rollup_lineage(2024, 'C01', 'nation', '000000')",
      ),
    ).toBe('[{"n":1}]');
  });

  it.each([
    ["SELECT * FROM read_csv('/etc/passwd')", /refused: Permission Error/],
    ["SELECT * FROM read_parquet('s3://BUCKET/rollups/cycle=2024/indicator_rollups.parquet')", /refused/],
    ["SELECT * FROM 's3://BUCKET/rollups/cycle=2024/indicator_rollups.parquet'", /refused/],
    ["ATTACH 's3://BUCKET/x.duckdb' AS x", /refused/],
    ['SET enable_external_access = true', /refused: .*configuration has been locked/],
    ['LOAD httpfs', /refused/],
    ['CREATE TABLE x AS SELECT 1', /refused: .*read-only/],
  ])('refuses %s', async (template, expected) => {
    expect(await run(template.replaceAll('BUCKET', store.bucket))).toMatch(expected);
  });

  it('has no secret, no extension loaded, no view of the lake and no setting naming the bucket', async () => {
    // Listing secrets would read the secret directory, which is a file access like any other.
    expect(await run('SELECT count(*) AS n FROM duckdb_secrets()')).toMatch(
      /^(\[\{"n":0\}\]|refused: Permission Error)/,
    );
    expect(
      await run("SELECT count(*) AS n FROM duckdb_extensions() WHERE loaded AND extension_name = 'httpfs'"),
    ).toMatch(/^(\[\{"n":0\}\]|refused: Permission Error)/);
    expect(await run("SELECT count(*) AS n FROM read_text('/etc/hostname')")).toMatch(
      /refused: Permission Error/,
    );
    const everything = [
      await run('SELECT * FROM duckdb_settings()'),
      await run('SELECT sql FROM duckdb_views() WHERE NOT internal'),
      await run('SELECT sql FROM duckdb_tables()'),
      await run('SELECT macro_definition FROM duckdb_functions() WHERE NOT internal'),
    ].join('\n');
    for (const mark of ['s3://', store.bucket, 'lake_full', '110000', '320000', 'read_parquet'])
      expect(everything).not.toContain(mark);
  });
});
