// The documented model analysts query: every view's name, columns and meaning, and how each is bound to
// the lake's objects. The aggregate service computes what these views read; the query service and any
// DuckDB, Spark or Trino client read the same objects.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ObjectStore } from './object-store.js';

export interface ColumnDoc {
  readonly name: string;
  readonly type: string;
  readonly doc: string;
}

export interface ViewDoc {
  readonly name: string;
  readonly doc: string;
  /** Where the rows live, relative to the bucket. */
  readonly objects: string;
  readonly columns: readonly ColumnDoc[];
  /** The column holding the six-digit province code, used to keep a provincial analyst to their province. */
  readonly provinceColumn?: string;
}

const c = (name: string, type: string, doc: string): ColumnDoc => ({ name, type, doc });

const unitColumns = [
  c('cycle', 'INTEGER', 'examination cycle (year examined)'),
  c('province_code', 'VARCHAR', 'six-digit GB/T 2260 province code'),
  c('city_code', 'VARCHAR', 'six-digit city-level code'),
  c('district_code', 'VARCHAR', 'six-digit district/county code (null for city-level units)'),
  c('street_code', 'VARCHAR', 'nine-digit street/township code (null above street level)'),
  c('unit_level', 'VARCHAR', 'housing, community, block, district or city'),
  c(
    'unit_code',
    'VARCHAR',
    'the unit: 12-digit community code, 6-digit district/city code, or street code + local id',
  ),
];

/** On every derived row: how fresh it is (see derivationFreshness in services/aggregate/src/derive.ts). */
const freshnessColumns = [
  c(
    'derived_at',
    'TIMESTAMP',
    'as of when the row was derived (UTC): the time of lake_commit, or of a later change to the cycle settings',
  ),
  c(
    'lake_commit',
    'VARCHAR',
    'the last lake commit (<topic>+<partition>+<startOffset> of its batch) holding observations of the cycle or the one before it: the row covers it and every commit before it',
  ),
];

const observationColumns = [
  ...unitColumns,
  c('catalogue_version', 'VARCHAR', 'indicator catalogue version the observation refers to'),
  c('indicator_code', 'VARCHAR', 'indicator code in the catalogue'),
  c(
    'value',
    'DOUBLE',
    'unit value: the count or length, numerator/denominator, quantity/population, 1/0 for a share',
  ),
  c('numerator', 'DOUBLE', 'rate numerator as reported'),
  c('denominator', 'DOUBLE', 'rate denominator as reported'),
  c('quantity', 'DOUBLE', 'per-capita quantity as reported'),
  c('population', 'DOUBLE', 'per-capita population as reported'),
  c('weight', 'DOUBLE', 'declared weight of a score or mean'),
  c('meets', 'BOOLEAN', 'whether the unit meets the standard (share indicators)'),
  c('submission_id', 'VARCHAR', 'the submission the value came in'),
  c('content_hash', 'VARCHAR', 'SHA-256 of the submission as received'),
  c('submitted_at', 'TIMESTAMP', "when the city's system produced the submission (UTC)"),
  c('received_at', 'TIMESTAMP', 'when the ingest endpoint accepted it (UTC)'),
  c('validated_at', 'TIMESTAMP', 'when it passed validation (UTC)'),
  c('source_topic', 'VARCHAR', 'Kafka topic of the validated record'),
  c('source_partition', 'INTEGER', 'its partition'),
  c('source_offset', 'BIGINT', 'its offset'),
  c('lake_object', 'VARCHAR', 'the Parquet object holding the row'),
];

export const lakeViews: readonly ViewDoc[] = [
  {
    name: 'observations',
    doc: 'Every observation ever stored, corrections included (history). A later submission for the same cycle, unit and indicator supersedes an earlier one in observations_current; both stay here.',
    objects: 'observations/cycle=*/province_code=*/city_code=*/*.parquet (committed objects only)',
    columns: observationColumns,
    provinceColumn: 'province_code',
  },
  {
    name: 'observations_current',
    doc: 'The latest value per cycle, unit and indicator. observations_as_of(TIMESTAMP) gives the same view as it was at that moment; rollup_lineage(cycle, indicator, level, area) lists the rows, submissions and lake objects a rollup row was computed from.',
    objects: 'as observations',
    columns: observationColumns,
    provinceColumn: 'province_code',
  },
  {
    name: 'rollups',
    doc: 'Each indicator rolled up per cycle at street, district, city, province and nation level, with the rule the catalogue declares (sum; sum(numerator)/sum(denominator); sum(quantity)/sum(population); units meeting / units reported; weighted mean), units covered and expected, and the change from the previous cycle.',
    objects: 'rollups/cycle=*/indicator_rollups.parquet',
    columns: [
      c('cycle', 'INTEGER', 'examination cycle'),
      c('catalogue_version', 'VARCHAR', 'catalogue version of the observations'),
      c('indicator_code', 'VARCHAR', 'indicator code'),
      c('aggregation', 'VARCHAR', 'sum, ratio, perCapita, share or weightedMean'),
      c('level', 'VARCHAR', 'street, district, city, province or nation'),
      c('area_code', 'VARCHAR', 'code of the street/district/city/province; 000000 for the nation'),
      c('province_code', 'VARCHAR', 'province of the area (null for the nation)'),
      c('value', 'DOUBLE', 'the rolled-up value in stored units (fractions for percentages)'),
      c('numerator_sum', 'DOUBLE', 'sum of numerators (rates)'),
      c('denominator_sum', 'DOUBLE', 'sum of denominators (rates)'),
      c('quantity_sum', 'DOUBLE', 'sum of quantities (per-capita)'),
      c('population_sum', 'DOUBLE', 'sum of populations (per-capita)'),
      c('units_meeting', 'BIGINT', 'units meeting the standard (shares)'),
      c('units_reported', 'BIGINT', 'units whose current value is included'),
      c(
        'units_expected',
        'BIGINT',
        'units the division registry expects at this level (null where there is no registry, e.g. blocks)',
      ),
      c('previous_value', 'DOUBLE', 'the value in the previous cycle, when there was one'),
      c('change', 'DOUBLE', 'value - previous_value'),
      c(
        'value_source',
        'VARCHAR',
        'city rows: city when the row shows the figure the city reported for itself, units when it is rolled up from the units below the city (null at other levels)',
      ),
      c(
        'below_value',
        'DOUBLE',
        'city rows: the figure rolled up from the units below the city (its districts ...), shown beside the city’s own figure; equals value when value_source is units',
      ),
      c('below_units', 'BIGINT', 'city rows: how many units below the city below_value covers'),
      ...freshnessColumns,
    ],
    provinceColumn: 'province_code',
  },
  {
    name: 'completeness',
    doc: 'Who reported: expected, reported and on-time cities and communities per city, province and the nation (DHIS2 reporting rate and reporting rate on time). A city with cities_reported = 0 has not reported.',
    objects: 'rollups/cycle=*/completeness.parquet',
    columns: [
      c('cycle', 'INTEGER', 'examination cycle'),
      c('level', 'VARCHAR', 'city, province or nation'),
      c('area_code', 'VARCHAR', 'city or province code; 000000 for the nation'),
      c('province_code', 'VARCHAR', 'province of the area (null for the nation)'),
      c('deadline', 'TIMESTAMP', "the cycle's reporting deadline (UTC)"),
      c('cities_expected', 'BIGINT', 'cities expected to report'),
      c('cities_reported', 'BIGINT', 'cities with at least one valid submission'),
      c('cities_on_time', 'BIGINT', 'cities whose first valid submission arrived by the deadline'),
      c('communities_expected', 'BIGINT', 'urban communities in the division registry'),
      c('communities_reported', 'BIGINT', 'communities with at least one valid submission'),
      c('communities_on_time', 'BIGINT', 'communities first reported by the deadline'),
      c('reporting_rate', 'DOUBLE', 'cities_reported / cities_expected'),
      c('reporting_rate_on_time', 'DOUBLE', 'cities_on_time / cities_expected'),
      c('first_received_at', 'TIMESTAMP', 'first valid submission received'),
      c('last_received_at', 'TIMESTAMP', 'last valid submission received'),
      ...freshnessColumns,
    ],
    provinceColumn: 'province_code',
  },
  {
    name: 'shortfall_ledger',
    doc: 'The problem ledger (问题台账): each unit and indicator that misses its standard in a cycle (status new or persisting, with the cycle it has missed since) and each that missed it in the previous cycle and no longer does (resolved).',
    objects: 'rollups/cycle=*/shortfall_ledger.parquet',
    columns: [
      ...unitColumns,
      c('indicator_code', 'VARCHAR', 'indicator code'),
      c('value', 'DOUBLE', 'unit value this cycle'),
      c('standard_operator', 'VARCHAR', '<=, >= or =='),
      c('standard_value', 'DOUBLE', 'the standard the value is held to'),
      c('gap', 'DOUBLE', 'distance from the standard (0 when resolved)'),
      c('since_cycle', 'INTEGER', 'first cycle of the unbroken run of misses (null when resolved)'),
      c('status', 'VARCHAR', 'new, persisting or resolved compared with the previous cycle'),
      c('submission_id', 'VARCHAR', 'the submission of the current value'),
      ...freshnessColumns,
    ],
    provinceColumn: 'province_code',
  },
  {
    name: 'quality_flags',
    doc: 'Valid but suspicious values for analysts to check (not rejected): robust z-scores (median and MAD) against the same indicator nationally and in the province, jumps from the previous cycle, and a city figure that disagrees with the figure of the units below the city (more than 20% apart; for a sum, the units adding up to more than the city).',
    objects: 'rollups/cycle=*/quality_flags.parquet',
    columns: [
      ...unitColumns,
      c('indicator_code', 'VARCHAR', 'indicator code'),
      c('value', 'DOUBLE', 'unit value'),
      c(
        'flag',
        'VARCHAR',
        'national_outlier, provincial_outlier, year_over_year_jump or city_units_disagree',
      ),
      c(
        'score',
        'DOUBLE',
        'robust z-score: (x - median) / (1.4826 MAD); for city_units_disagree (x - units) / |units|',
      ),
      c(
        'reference',
        'DOUBLE',
        'the median compared with (the previous value for a jump, the units’ figure for city_units_disagree)',
      ),
      c('submission_id', 'VARCHAR', 'the submission of the value'),
      ...freshnessColumns,
    ],
    provinceColumn: 'province_code',
  },
  {
    name: 'indicators',
    doc: 'The indicator catalogue, every version: names, unit, kind, aggregation rule, direction, range, standard.',
    objects: 'reference/indicators.parquet',
    columns: [
      c('catalogue_version', 'VARCHAR', 'catalogue version'),
      c('cycle', 'INTEGER', 'cycle the version is for'),
      c('code', 'VARCHAR', 'indicator code'),
      c('name_zh', 'VARCHAR', 'Chinese name'),
      c('name_en', 'VARCHAR', 'English name'),
      c('dimension', 'VARCHAR', 'housing, community, block or city'),
      c('kind', 'VARCHAR', 'count, length, rate, perCapita, share, score or mean'),
      c('aggregation', 'VARCHAR', 'sum, ratio, perCapita, share or weightedMean'),
      c('direction', 'VARCHAR', 'higherIsBetter or lowerIsBetter'),
      c('unit_zh', 'VARCHAR', 'unit (Chinese)'),
      c('unit_en', 'VARCHAR', 'unit (English)'),
      c('unit_scale', 'DOUBLE', 'multiply a stored value by this to show it in the unit (100 for %)'),
      c('range_min', 'DOUBLE', 'smallest valid unit value'),
      c('range_max', 'DOUBLE', 'largest valid unit value'),
      c('standard_operator', 'VARCHAR', '<=, >= or == (null when there is no standard)'),
      c('standard_value', 'DOUBLE', 'the standard'),
      c(
        'unit_levels',
        'VARCHAR[]',
        'unit levels the indicator is reported on; the first is the one units_expected counts',
      ),
      c('status', 'VARCHAR', 'active or retired'),
    ],
  },
  {
    name: 'divisions',
    doc: 'The GB/T 2260 / statistical division registry: provinces, cities, districts, streets and urban communities.',
    objects: 'reference/divisions.parquet',
    columns: [
      c('code', 'VARCHAR', 'division code (6 digits down to district, 9 for streets, 12 for communities)'),
      c('level', 'VARCHAR', 'province, city, district, street or community'),
      c(
        'kind',
        'VARCHAR',
        'what the unit is: province; municipality, prefectureLevelCity, autonomousPrefecture, region or league (cities); countyLevelCity, district or county (districts); street; community',
      ),
      c('name', 'VARCHAR', 'name (a municipality’s city is named after it: 110100 北京市)'),
      c('parent_code', 'VARCHAR', 'the division it lies in'),
      c('street_code', 'VARCHAR', 'its street (communities)'),
      c('district_code', 'VARCHAR', 'its district (streets and communities)'),
      c(
        'city_code',
        'VARCHAR',
        'its city-level unit (null for the county-level units a province administers directly, e.g. 419001 济源市)',
      ),
      c('province_code', 'VARCHAR', 'its province'),
    ],
    provinceColumn: 'province_code',
  },
  {
    name: 'cycles',
    doc: 'The examination cycles in force: the shipped settings (schemas/cycles/) with every cycle an operator opened, amended, closed or reopened over them, and which one is current (designated by the operator with admin cycles current; before any designation, the latest cycle opened).',
    objects: 'reference/cycles.parquet',
    columns: [
      c('cycle', 'INTEGER', 'examination cycle (year examined)'),
      c('catalogue_version', 'VARCHAR', 'indicator catalogue version submissions for it use'),
      c('opens_at', 'TIMESTAMP', 'from when submissions are accepted (UTC)'),
      c(
        'deadline',
        'TIMESTAMP',
        'reporting deadline (UTC): submissions after it are accepted and marked late',
      ),
      c('closes_at', 'TIMESTAMP', 'closing (UTC): submissions after it are refused (null: never closes)'),
      c(
        'expected_cities',
        'VARCHAR[]',
        'city codes expected to report (null: the registry default, the prefecture-level cities and municipalities plus county_level_cities)',
      ),
      c(
        'county_level_cities',
        'VARCHAR[]',
        'county-level cities the cycle examines, each a reporting city of its own directly under its province',
      ),
      c('source', 'VARCHAR', 'file (the shipped default) or operator (a record on cycles.v1)'),
      c('is_current', 'BOOLEAN', 'whether this is the current cycle'),
      c('last_action', 'VARCHAR', "the operator's last action on the cycle: open, amend, close or reopen"),
      c('last_action_by', 'VARCHAR', 'who took it'),
      c('last_action_at', 'TIMESTAMP', 'when (UTC)'),
      c('last_action_reason', 'VARCHAR', 'why, as the operator gave it'),
    ],
  },
  {
    name: 'cycle_actions',
    doc: "The audit trail of operators' actions on cycles: every open, amend, close, reopen (with its reason) and designation of the current cycle, oldest first.",
    objects: 'reference/cycle_actions.parquet',
    columns: [
      c('cycle', 'INTEGER', 'the cycle acted on'),
      c('action', 'VARCHAR', 'open, amend, close, reopen or designate'),
      c('actor', 'VARCHAR', 'who'),
      c('acted_at', 'TIMESTAMP', 'when (UTC)'),
      c('reason', 'VARCHAR', 'why (required for a reopen)'),
      c('closes_at', 'TIMESTAMP', 'the closing the action left (null: none)'),
    ],
  },
];

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** The empty relation with a view's columns, for views whose objects do not exist yet. */
const emptyRelation = (view: ViewDoc): string =>
  `SELECT ${view.columns.map((column) => `NULL::${column.type} AS ${column.name}`).join(', ')} WHERE false`;

export interface LakeViewSource {
  readonly store: ObjectStore;
  /** Committed observation objects (keys), from the commit log. */
  readonly observationObjects: readonly string[];
  /** Schema to create the views in; `main` unless given. */
  readonly schema?: string;
}

const derivedObjects: Record<string, string> = {
  rollups: 'indicator_rollups.parquet',
  completeness: 'completeness.parquet',
  shortfall_ledger: 'shortfall_ledger.parquet',
  quality_flags: 'quality_flags.parquet',
};

/** Creates (or replaces) every documented view over the lake's current objects. */
export const defineLakeViews = async (
  connection: DuckDBConnection,
  { store, observationObjects, schema = 'main' }: LakeViewSource,
): Promise<void> => {
  const url = (key: string): string => quote(`s3://${store.bucket}/${key}`);
  const view = (name: string): ViewDoc => {
    const found = lakeViews.find((candidate) => candidate.name === name);
    if (found === undefined) throw new Error(`no view ${name}`);
    return found;
  };
  const columnsOf = (name: string): string =>
    view(name)
      .columns.map((column) => column.name)
      .join(', ');

  const observations =
    observationObjects.length === 0
      ? emptyRelation(view('observations'))
      : `SELECT ${columnsOf('observations').replace('lake_object', 'filename AS lake_object')} FROM read_parquet([${[
          ...observationObjects,
        ]
          .sort()
          .map(url)
          .join(', ')}], hive_partitioning = true, filename = true,
          hive_types = {'cycle': INTEGER, 'province_code': VARCHAR, 'city_code': VARCHAR})`;
  await connection.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await connection.run(`CREATE OR REPLACE VIEW ${schema}.observations AS ${observations}`);
  // A later submission for the same cycle, unit and indicator supersedes the earlier one. A unit always
  // reports through its city's key, so its submissions share a partition and the offset breaks ties. A unit
  // lies in one province and city, so naming them in the window changes nothing but lets DuckDB push a
  // province or city filter below it (a provincial analyst's drill-down: 5.2 s -> 0.25 s on one cycle).
  const latest = `QUALIFY row_number() OVER (
      PARTITION BY cycle, province_code, city_code, unit_level, unit_code, indicator_code
      ORDER BY received_at DESC, source_partition DESC, source_offset DESC) = 1`;
  await connection.run(
    `CREATE OR REPLACE VIEW ${schema}.observations_current AS SELECT * FROM ${schema}.observations ${latest}`,
  );
  await connection.run(
    `CREATE OR REPLACE MACRO ${schema}.observations_as_of(moment) AS TABLE
       SELECT * FROM ${schema}.observations WHERE received_at <= moment ${latest}`,
  );
  // Lineage: the current observations (with their submissions and lake objects) a rollup row was computed
  // from. The area column matching a level is the one the rollup grouped by. From the city up, a city that
  // reports the indicator for itself contributes that figure only, not its units' (README, "What the numbers
  // mean").
  await connection.run(
    `CREATE OR REPLACE MACRO ${schema}.rollup_lineage(for_cycle, for_indicator, for_level, for_area) AS TABLE
       SELECT cycle, province_code, city_code, indicator_code, unit_level, unit_code, value, submission_id, received_at, lake_object,
              source_topic, source_partition, source_offset
       FROM ${schema}.observations_current o
       WHERE cycle = for_cycle AND indicator_code = for_indicator AND CASE for_level
         WHEN 'street' THEN street_code = for_area
         WHEN 'district' THEN district_code = for_area
         WHEN 'city' THEN city_code = for_area
         WHEN 'province' THEN province_code = for_area
         WHEN 'nation' THEN true
         ELSE false END
         AND (for_level IN ('street', 'district') OR unit_level = 'city' OR NOT EXISTS (
           SELECT 1 FROM ${schema}.observations_current c
           WHERE c.cycle = for_cycle AND c.indicator_code = for_indicator AND c.unit_level = 'city'
             AND c.city_code = o.city_code))
       ORDER BY unit_code`,
  );

  const keys = new Set(await store.list('rollups/'));
  const referenceKeys = new Set(await store.list('reference/'));
  for (const [name, file] of Object.entries(derivedObjects)) {
    const present = [...keys].some((key) => key.endsWith(`/${file}`));
    const relation = present
      ? `SELECT ${columnsOf(name)} FROM read_parquet(${url(`rollups/cycle=*/${file}`)}, hive_partitioning = true, hive_types = {'cycle': INTEGER})`
      : emptyRelation(view(name));
    await connection.run(`CREATE OR REPLACE VIEW ${schema}.${name} AS ${relation}`);
  }
  for (const name of ['indicators', 'divisions', 'cycles', 'cycle_actions']) {
    const key = `reference/${name}.parquet`;
    const relation = referenceKeys.has(key)
      ? `SELECT ${columnsOf(name)} FROM read_parquet(${url(key)})`
      : emptyRelation(view(name));
    await connection.run(`CREATE OR REPLACE VIEW ${schema}.${name} AS ${relation}`);
  }
};
