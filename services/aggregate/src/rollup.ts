// National rollups from the lake with DuckDB. The contract: given the committed observation objects and the
// catalogue's aggregation rules, the rollup of every indicator at every level (street, district, city,
// province, nation) per cycle, with the rule the domain demands: counts and lengths sum; rates are
// sum(numerators) / sum(denominators), never a mean of rates; per-capita values sum(quantity) /
// sum(population); shares are units meeting / units reported; means are weighted by their declared weight.
// Sums run in DECIMAL, so the result does not depend on the order DuckDB's threads add things up in.
import {
  type DuckDBConnection,
  datasets,
  type ManifestEntry,
  type ObjectStore,
  rollupObjectKey,
  s3Url,
} from '@citycheck/lake';
import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { observationPartitionTypes } from './lake-rows.js';

export interface IndicatorRule {
  readonly catalogueVersion: string;
  readonly code: string;
  readonly aggregation: 'sum' | 'ratio' | 'perCapita' | 'share' | 'weightedMean';
}

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** Makes `observations` (every committed row) and `observations_current` (latest per key) views. */
export const defineObservationViews = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  entries: readonly ManifestEntry[],
): Promise<number> => {
  const urls = entries.flatMap((entry) => entry.objects.map((object) => s3Url(store.bucket, object.key))).sort();
  const hiveTypes = Object.entries(observationPartitionTypes)
    .map(([name, type]) => `${quote(name)}: ${type}`)
    .join(', ');
  const source =
    urls.length === 0
      ? // No data yet: an empty relation with the same columns keeps every query valid.
        `(SELECT NULL::INTEGER AS cycle, NULL::VARCHAR AS province_code, NULL::VARCHAR AS city_code, NULL::VARCHAR AS catalogue_version,
          NULL::VARCHAR AS district_code, NULL::VARCHAR AS street_code, NULL::VARCHAR AS unit_level, NULL::VARCHAR AS unit_code,
          NULL::VARCHAR AS indicator_code, NULL::DOUBLE AS value, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator,
          NULL::DOUBLE AS quantity, NULL::DOUBLE AS population, NULL::DOUBLE AS weight, NULL::BOOLEAN AS meets,
          NULL::VARCHAR AS submission_id, NULL::VARCHAR AS content_hash, NULL::TIMESTAMP AS submitted_at,
          NULL::TIMESTAMP AS received_at, NULL::TIMESTAMP AS validated_at, NULL::VARCHAR AS source_topic,
          NULL::INTEGER AS source_partition, NULL::BIGINT AS source_offset WHERE false)`
      : `read_parquet([${urls.map(quote).join(', ')}], hive_partitioning = true, hive_types = {${hiveTypes}})`;
  await duckdb.run(`CREATE OR REPLACE VIEW observations AS SELECT * FROM ${source}`);
  // A later submission for the same cycle, unit and indicator supersedes the earlier one. A unit always
  // reports through its city's key, so its submissions share a partition and the offset orders them.
  await duckdb.run(`CREATE OR REPLACE VIEW observations_current AS
    SELECT * FROM observations
    QUALIFY row_number() OVER (
      PARTITION BY cycle, unit_level, unit_code, indicator_code
      ORDER BY received_at DESC, source_partition DESC, source_offset DESC) = 1`);
  return urls.length;
};

export const loadIndicatorRules = async (duckdb: DuckDBConnection, rules: readonly IndicatorRule[]): Promise<void> => {
  await duckdb.run(
    'CREATE OR REPLACE TABLE indicator_rules (catalogue_version VARCHAR, code VARCHAR, aggregation VARCHAR)',
  );
  if (rules.length === 0) return;
  const values = rules
    .map((rule) => `(${quote(rule.catalogueVersion)}, ${quote(rule.code)}, ${quote(rule.aggregation)})`)
    .join(', ');
  await duckdb.run(`INSERT INTO indicator_rules VALUES ${values}`);
};

/** The rollup query over `observations_current` and `indicator_rules`; one row per cycle, indicator, level, area. */
export const rollupSql = `
WITH scoped AS (
  SELECT o.*, r.aggregation
  FROM observations_current o
  JOIN indicator_rules r ON r.catalogue_version = o.catalogue_version AND r.code = o.indicator_code
),
grouped AS (
  SELECT
    cycle, catalogue_version, indicator_code, aggregation,
    CASE
      WHEN GROUPING(street_code) = 0 THEN 'street'
      WHEN GROUPING(district_code) = 0 THEN 'district'
      WHEN GROUPING(city_code) = 0 THEN 'city'
      WHEN GROUPING(province_code) = 0 THEN 'province'
      ELSE 'nation'
    END AS level,
    CASE
      WHEN GROUPING(street_code) = 0 THEN street_code
      WHEN GROUPING(district_code) = 0 THEN district_code
      WHEN GROUPING(city_code) = 0 THEN city_code
      WHEN GROUPING(province_code) = 0 THEN province_code
      ELSE '000000'
    END AS area_code,
    count(*) AS units_reported,
    sum(value::DECIMAL(38, 6)) AS value_sum,
    sum(numerator::DECIMAL(38, 6)) AS numerator_sum,
    sum(denominator::DECIMAL(38, 6)) AS denominator_sum,
    sum(quantity::DECIMAL(38, 6)) AS quantity_sum,
    sum(population::DECIMAL(38, 6)) AS population_sum,
    count_if(meets) AS units_meeting,
    sum((value * weight)::DECIMAL(38, 6)) AS weighted_sum,
    sum(weight::DECIMAL(38, 6)) AS weight_sum
  FROM scoped
  GROUP BY GROUPING SETS (
    (cycle, catalogue_version, indicator_code, aggregation, street_code),
    (cycle, catalogue_version, indicator_code, aggregation, district_code),
    (cycle, catalogue_version, indicator_code, aggregation, city_code),
    (cycle, catalogue_version, indicator_code, aggregation, province_code),
    (cycle, catalogue_version, indicator_code, aggregation)
  )
)
SELECT
  cycle, catalogue_version, indicator_code, aggregation, level, area_code, units_reported,
  CASE aggregation
    WHEN 'sum' THEN value_sum::DOUBLE
    WHEN 'ratio' THEN numerator_sum::DOUBLE / nullif(denominator_sum, 0)::DOUBLE
    WHEN 'perCapita' THEN quantity_sum::DOUBLE / nullif(population_sum, 0)::DOUBLE
    WHEN 'share' THEN units_meeting::DOUBLE / units_reported::DOUBLE
    WHEN 'weightedMean' THEN weighted_sum::DOUBLE / nullif(weight_sum, 0)::DOUBLE
  END AS value,
  numerator_sum::DOUBLE AS numerator_sum,
  denominator_sum::DOUBLE AS denominator_sum,
  quantity_sum::DOUBLE AS quantity_sum,
  population_sum::DOUBLE AS population_sum,
  units_meeting
FROM grouped
WHERE area_code IS NOT NULL
ORDER BY cycle, indicator_code, level, area_code`;

export interface RollupResult {
  readonly objects: readonly string[];
  readonly rows: number;
  readonly inputObjects: number;
}

/** Computes the rollups of every cycle in the lake and writes one Parquet object per cycle. */
export const computeRollups = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  entries: readonly ManifestEntry[],
  rules: readonly IndicatorRule[],
): Promise<RollupResult> => {
  const inputObjects = await defineObservationViews(duckdb, store, entries);
  await loadIndicatorRules(duckdb, rules);
  await duckdb.run(`CREATE OR REPLACE TEMP TABLE rollup_result AS ${rollupSql}`);
  const cycles = (await duckdb.runAndReadAll('SELECT DISTINCT cycle FROM rollup_result ORDER BY cycle'))
    .getRowObjectsJS()
    .map((row) => Number(row.cycle));
  const dir = await mkdtemp(join(tmpdir(), 'citycheck-rollup-'));
  const objects: string[] = [];
  let rows = 0;
  try {
    for (const cycle of cycles) {
      const file = join(dir, `${cycle}.parquet`);
      await duckdb.run(
        `COPY (SELECT * EXCLUDE (cycle) FROM rollup_result WHERE cycle = ${cycle} ORDER BY indicator_code, level, area_code) ` +
          `TO ${quote(file)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const key = rollupObjectKey(cycle, 'indicator_rollups');
      await store.put(key, new Uint8Array(await readFile(file)), 'application/vnd.apache.parquet', {
        maxElapsedMs: Number.POSITIVE_INFINITY,
      });
      objects.push(key);
    }
    const count = await duckdb.runAndReadAll('SELECT count(*) AS n FROM rollup_result');
    rows = Number(count.getRowObjectsJS()[0]?.n ?? 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { objects, rows, inputObjects };
};

export const rollupDataset = datasets.rollups;
