// Test fixture (not shipped: excluded from the build): every shape of SQL an attacker would send to escape a
// scope (a province's or a city's), with the marks of the machine and the lake no answer may hold.
import { expect } from 'vitest';

/** Marks of the lake's objects, the full schema and the machine that no scoped answer may hold. */
export const infrastructureMarks = (bucket: string, directories: readonly string[]): string[] => [
  's3://',
  bucket,
  '_manifests',
  'lake_full',
  ...directories,
  'ministry-export-secret',
  '/root',
  '/etc',
  'root:x',
  'allowed_directories',
  'extension_directory',
  'temp_directory',
  'secret_directory',
  'citycheck-local-secret',
  'read_parquet',
];

/**
 * Each shape is sent as the scoped caller. A refusal (4xx) passes when its message repeats nothing the sender
 * did not write; rows pass when they hold no foreign mark. Fill them with `fillShape`.
 */
export const hostileShapes = (): [string, string][] => [
  [
    'a recursive CTE named after a rollups object, read in its first member',
    `WITH RECURSIVE "ROLLUPS" AS (SELECT * FROM "ROLLUPS" UNION ALL SELECT * FROM "ROLLUPS" WHERE false) SELECT level, area_code, province_code FROM "ROLLUPS"`,
  ],
  [
    'a recursive CTE named after the observation objects',
    `WITH RECURSIVE "OBSERVATIONS" AS (SELECT province_code FROM "OBSERVATIONS" UNION SELECT province_code FROM "OBSERVATIONS" WHERE false) SELECT DISTINCT province_code FROM "OBSERVATIONS"`,
  ],
  [
    'a recursive CTE named after the commit log',
    `WITH RECURSIVE "s3://${'BUCKET'}/_manifests/observations/*/*/*.json" AS (SELECT * FROM "s3://${'BUCKET'}/_manifests/observations/*/*/*.json" UNION ALL SELECT * FROM "s3://${'BUCKET'}/_manifests/observations/*/*/*.json" WHERE false) SELECT * FROM "s3://${'BUCKET'}/_manifests/observations/*/*/*.json"`,
  ],
  [
    'a recursive CTE named after the export directory',
    `WITH RECURSIVE "${'EXPORTS'}/*.parquet" AS (SELECT * FROM "${'EXPORTS'}/*.parquet" UNION ALL SELECT * FROM "${'EXPORTS'}/*.parquet" WHERE false) SELECT * FROM "${'EXPORTS'}/*.parquet"`,
  ],
  [
    'a CTE with a Kelvin sign shadowing duckdb_views',
    'WITH "duc\u212Adb_views" AS (SELECT 1 AS sql) SELECT sql FROM duckdb_views',
  ],
  [
    'a CTE with a Kelvin sign shadowing duckdb_settings',
    'WITH "duc\u212Adb_settings" AS (SELECT 1 AS value) SELECT * FROM duckdb_settings',
  ],
  ['a Kelvin-sign view name', 'SELECT * FROM "observations\u212A"'],
  ['pg_get_viewdef over every oid', 'SELECT pg_get_viewdef(unnest(generate_series(1, 5000))) AS definition'],
  ['pg_views', 'SELECT * FROM pg_views'],
  ['pg_settings', 'SELECT name, setting FROM pg_settings'],
  ['duckdb_views as a relation', 'SELECT sql FROM duckdb_views'],
  ['duckdb_views()', 'SELECT sql FROM duckdb_views()'],
  ['duckdb_settings()', 'SELECT * FROM duckdb_settings()'],
  ['duckdb_secrets()', 'SELECT * FROM duckdb_secrets()'],
  ['duckdb_extensions()', 'SELECT * FROM duckdb_extensions()'],
  ['duckdb_databases()', 'SELECT * FROM duckdb_databases()'],
  ['duckdb_tables as a relation', 'SELECT * FROM duckdb_tables'],
  ['information_schema.views', 'SELECT view_definition FROM information_schema.views'],
  ['sqlite_master', 'SELECT * FROM sqlite_master'],
  ['current_setting', "SELECT current_setting('allowed_directories')"],
  ['which_secret', `SELECT which_secret('s3://${'BUCKET'}/x', 's3')`],
  ['glob()', `SELECT * FROM glob('s3://${'BUCKET'}/**')`],
  ['read_parquet over the bucket', `SELECT * FROM read_parquet('${'OBSERVATIONS'}')`],
  ['read_csv of /etc/passwd', "SELECT * FROM read_csv('/etc/passwd')"],
  ['read_text of /etc/passwd', "SELECT * FROM read_text('/etc/passwd')"],
  ['a file named as a table', "SELECT * FROM '/etc/passwd'"],
  ['the export directory named as a table', `SELECT * FROM '${'EXPORTS'}/in-flight.parquet'`],
  ['a bucket object named as a table', `SELECT * FROM '${'ROLLUPS'}'`],
  ['the full schema', 'SELECT * FROM lake_full.observations'],
  ['the full schema quoted in upper case', 'SELECT * FROM "LAKE_FULL"."OBSERVATIONS"'],
  ['query_table()', "SELECT * FROM query_table('lake_full.rollups')"],
  ['a macro from another schema', "SELECT * FROM lake_full.observations_as_of(TIMESTAMP '2099-01-01')"],
  ['a comment hiding a second statement', 'SELECT 1 /* ; */; SELECT * FROM lake_full.observations -- */'],
  ['a line comment before the name', 'SELECT * FROM --\n lake_full.rollups'],
  [
    'a forward CTE reference',
    'WITH x AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) SELECT * FROM x',
  ],
  [
    'a nested CTE shadowing a view, read outside it',
    "SELECT (WITH rollups AS (SELECT 1 AS level) SELECT count(*) FROM rollups) AS n, (SELECT count(*) FROM rollups WHERE level = 'nation') AS nation",
  ],
  [
    'a recursive CTE shadowing a view',
    "WITH RECURSIVE rollups AS (SELECT level, area_code FROM rollups UNION SELECT level, area_code FROM rollups WHERE false) SELECT * FROM rollups WHERE area_code NOT LIKE '44%'",
  ],
  [
    'a PIVOT over rollups by level',
    "PIVOT rollups ON level IN ('nation', 'province', 'city') USING count(*)",
  ],
  [
    'the macros over the nation',
    "SELECT DISTINCT left(unit_code, 2) AS p FROM rollup_lineage(2024, 'C01', 'nation', '000000')",
  ],
  [
    'observations as of the end of time',
    "SELECT DISTINCT province_code FROM observations_as_of(TIMESTAMP '2999-01-01 00:00:00')",
  ],
  ['nation rows of rollups', "SELECT * FROM rollups WHERE level = 'nation' OR province_code IS NULL"],
  [
    'nation and other areas of rectification_rates',
    "SELECT level, area_code, province_code, items FROM rectification_rates WHERE level = 'nation' OR province_code IS NULL OR true",
  ],
  ['the rectification of the full schema', 'SELECT * FROM lake_full.rectification'],
  [
    'query_table() over the rectification trail',
    "SELECT * FROM query_table('lake_full.rectification_actions')",
  ],
  [
    'a recursive CTE shadowing rectification',
    'WITH RECURSIVE rectification AS (SELECT province_code, city_code, unit_code FROM rectification UNION SELECT province_code, city_code, unit_code FROM rectification WHERE false) SELECT * FROM rectification',
  ],
  [
    "rectification joined to every cycle's ledger and the next cycle's figures",
    'SELECT r.city_code, r.unit_code, r.next_cycle_value, l.city_code AS ledger_city FROM rectification r FULL JOIN shortfall_ledger l ON l.cycle = r.cycle + 1',
  ],
  [
    'a PIVOT over rectification_rates by level',
    "PIVOT rectification_rates ON level IN ('nation', 'province', 'city') USING sum(items)",
  ],
  [
    'the rectification records object named as a table',
    `SELECT * FROM 's3://${'BUCKET'}/reference/rectification.parquet'`,
  ],
  ['the evidence objects', `SELECT * FROM glob('s3://${'BUCKET'}/evidence/**')`],
  ['the evidence keys of the trail', 'SELECT city_code, evidence_object_key FROM rectification_actions'],
  ['nation and other provinces of completeness', 'SELECT level, area_code FROM completeness'],
  ['lake_object of observations', 'SELECT lake_object FROM observations'],
  ['ATTACH', `ATTACH 's3://${'BUCKET'}/x.duckdb' AS x`],
  ['SET', 'SET enable_external_access = true'],
  ['COPY', "COPY (SELECT 1) TO '/tmp/x.csv'"],
  ['a prepared statement', 'PREPARE p AS SELECT * FROM lake_full.rollups'],
  ['CREATE MACRO', 'CREATE MACRO m() AS TABLE SELECT * FROM lake_full.rollups'],
  ['getenv', "SELECT getenv('HOME')"],
];

/** A shape with the bucket's objects and the export directory named. */
export const fillShape = (sql: string, bucket: string, exportDirectory: string): string =>
  sql
    .replaceAll('BUCKET', bucket)
    .replaceAll('EXPORTS', exportDirectory)
    .replaceAll('OBSERVATIONS', `s3://${bucket}/observations/*/*/*/*.parquet`)
    .replaceAll('ROLLUPS', `s3://${bucket}/rollups/cycle=2024/indicator_rollups.parquet`);

export interface ScopedAnswerCheck {
  readonly bucket: string;
  /** The city codes, as a regular expression, whose observation objects are the sender's own lineage. */
  readonly ownCities: string;
  /** The foreign marks a text holds. */
  readonly leaks: (text: string) => string[];
}

/**
 * Passes when the answer to a filled shape holds nothing outside the sender's scope: an accepted statement's
 * rows (column names only repeat what the sender wrote) hold no foreign mark once the sender's own objects are
 * set aside, and a refusal is the sender's fault (4xx) and repeats no foreign mark the sender did not write.
 */
export const expectNothingOutsideScope = (
  response: { readonly statusCode: number; json(): unknown },
  sql: string,
  { bucket, ownCities, leaks }: ScopedAnswerCheck,
): void => {
  if (response.statusCode === 200) {
    const rows = JSON.stringify((response.json() as { rows: unknown[] }).rows).replace(
      new RegExp(
        `s3://${bucket}/observations/cycle=\\d+/province_code=440000/city_code=${ownCities}/[^"]+`,
        'g',
      ),
      'own-object',
    );
    expect(leaks(rows)).toEqual([]);
  } else {
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    const message = (response.json() as { error: { message: string } }).error.message;
    expect(leaks(message).filter((mark) => !sql.includes(mark))).toEqual([]);
  }
};
