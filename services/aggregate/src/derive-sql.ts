// The SQL that turns the lake's observations into what the ministry reads. Derivation keeps two tables
// between runs in a DuckDB database file of its own (see derive.ts): the current observation of each
// (cycle, unit, indicator) and each unit's receipt times; each load of newly committed objects merges into
// them. From them it keeps, per cycle and city, what depends on one city alone (street sums, shortfall
// ledger rows, city disagreement flags), redone only for cities that changed. The statements below read them through the temp view `current_obs` (joined to the catalogue
// rules), the temp table `receipts`, `reference_indicators`, `reference_divisions` and `cycle_settings`, and
// each is parameterised by the target cycle only, so the same lake always gives the same rows. Sums run in
// DECIMAL(38, 6): exact, so the result does not depend on the order DuckDB's threads add things up in, nor on
// whether a sum is taken in one step or two. (38 and not 18 digits: the submission schema admits values up
// to 1e15, and value * weight beyond that; DECIMAL(18, 6) stops at 1e12. Measured on a national cycle, the
// narrower type saved nothing once the rollups pre-aggregate by street.)
import { observationColumns, observationPartitionTypes, reportedFieldTypes } from '@citycheck/lake';

/** `alias`'s city is one of `cities` (every city: undefined). */
const inCities = (alias: string, cities: readonly string[] | undefined): string =>
  cities === undefined
    ? 'true'
    : cities.length === 0
      ? 'false'
      : `${alias}.city_code IN (${cities.map((city) => `'${city.replaceAll("'", "''")}'`).join(', ')})`;

const lakeColumnTypes = { ...observationPartitionTypes, ...observationColumns };

/** The columns derivation keeps of each observation (fewer than the lake holds: less to keep in memory). */
export const keptColumns = Object.fromEntries(
  (
    [
      'cycle',
      'province_code',
      'city_code',
      'district_code',
      'street_code',
      'unit_level',
      'unit_code',
      'catalogue_version',
      'indicator_code',
      ...(Object.keys(reportedFieldTypes) as (keyof typeof reportedFieldTypes)[]),
      'submission_id',
      'received_at',
      'source_partition',
      'source_offset',
    ] as const
  ).map((name) => [name, lakeColumnTypes[name]]),
);

const keptList = Object.keys(keptColumns).join(', ');

/** The state derivation keeps in database `db` between runs. */
export const stateTablesSql = (db: string): string[] => [
  `CREATE TABLE ${db}.current_observations (${Object.entries(keptColumns)
    .map(([name, type]) => `${name} ${type}`)
    .join(', ')})`,
  // One row per unit and load (a partial aggregate); completeness takes min and max over them.
  `CREATE TABLE ${db}.receipts (cycle INTEGER, city_code VARCHAR, unit_level VARCHAR, unit_code VARCHAR,
     first_received_at TIMESTAMP, last_received_at TIMESTAMP)`,
];

/** Stages a batch of observation objects (`urls`, s3:// addresses) as temp table `incoming`. */
export const stageSql = (urls: readonly string[]): string =>
  `CREATE OR REPLACE TEMP TABLE incoming AS ${readObjectsSql(urls)}`;

/** The kept columns of observation objects `urls` (s3:// addresses). */
const readObjectsSql = (urls: readonly string[]): string =>
  `SELECT ${keptList} FROM read_parquet([${urls.join(', ')}],
     hive_partitioning = true, hive_types = {'cycle': INTEGER, 'province_code': VARCHAR, 'city_code': VARCHAR})`;

/** How many (cycle, unit, indicator) keys occur more than once in `incoming` (corrections within a batch). */
export const repeatedKeysSql = `SELECT count(*) AS n FROM (
  SELECT 1 FROM incoming GROUP BY cycle, unit_level, unit_code, indicator_code HAVING count(*) > 1)`;

/** Keeps only the latest observation of each key in `incoming`; needed only when repeatedKeysSql finds some. */
export const latestIncomingSql = `CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM incoming
  QUALIFY row_number() OVER (
    PARTITION BY cycle, unit_level, unit_code, indicator_code
    ORDER BY received_at DESC, source_partition DESC, source_offset DESC) = 1`;

/**
 * Merges staged `incoming` into the state in `db`: receipt times are appended (before latestIncomingSql,
 * which drops superseded rows), and each observation replaces the current one of its (cycle, unit,
 * indicator) when it is later (received_at, then Kafka partition and offset: the order the lake's
 * observations_current view uses), so the table always holds the latest of everything loaded, whatever
 * order the batches come in. Each statement is idempotent: a merge that fails half-way is simply run again.
 */
export const mergeReceiptsSql = (db: string): string =>
  `INSERT INTO ${db}.receipts
   SELECT cycle, city_code, unit_level, unit_code, min(received_at), max(received_at) FROM incoming GROUP BY ALL`;

/** The (cycle, city) pairs whose observations a merge of `incoming` may change (street sums to redo). */
export const changedCitiesSql = `SELECT DISTINCT cycle, city_code FROM incoming
  UNION SELECT DISTINCT cycle, previous_city_code FROM existing WHERE later`;

export const mergeCurrentSql = (db: string): { existing: string; supersede: string; add: string } => {
  const key = (a: string, b: string) =>
    `${a}.cycle = ${b}.cycle AND ${a}.unit_level = ${b}.unit_level AND ${a}.unit_code = ${b}.unit_code AND ${a}.indicator_code = ${b}.indicator_code`;
  return {
    // The incoming keys the state holds already, and whether the incoming row is the later one. An inner
    // join, so DuckDB hashes the small batch and streams the state past it (an anti join against the state
    // would hash the whole state on every batch).
    existing: `CREATE OR REPLACE TEMP TABLE existing AS
      SELECT n.cycle, n.unit_level, n.unit_code, n.indicator_code, c.city_code AS previous_city_code,
        n.received_at > c.received_at OR (n.received_at = c.received_at AND
          (n.source_partition > c.source_partition OR (n.source_partition = c.source_partition AND n.source_offset > c.source_offset))) AS later
      FROM incoming n JOIN ${db}.current_observations c ON ${key('c', 'n')}`,
    // Run only when some incoming row is later than the state's.
    supersede: `DELETE FROM ${db}.current_observations c USING existing e WHERE ${key('c', 'e')} AND e.later`,
    add: `INSERT INTO ${db}.current_observations
      SELECT n.* FROM incoming n ANTI JOIN (SELECT * FROM existing WHERE NOT later) e ON ${key('e', 'n')}`,
  };
};

/**
 * Loads `urls` into an empty state in one pass (a start, a past cycle), instead of merging batch by batch:
 * every row goes in as read, the receipts are taken from it, and only the rows of units submitted more than
 * once in a cycle are ranked, to drop those a later one supersedes (the same order as mergeCurrentSql). A
 * key repeats only across submissions (validate's rule indicator_unique), so a unit with one submission id
 * has nothing to drop.
 */
export const bulkLoadSql = (db: string, urls: readonly string[]): string[] => [
  `INSERT INTO ${db}.current_observations ${readObjectsSql(urls)}`,
  `CREATE OR REPLACE TEMP TABLE loaded_units AS
   SELECT cycle, city_code, unit_level, unit_code, min(received_at) AS first_received_at,
     max(received_at) AS last_received_at, min(submission_id) <> max(submission_id) AS resubmitted
   FROM ${db}.current_observations GROUP BY ALL`,
  `INSERT INTO ${db}.receipts
   SELECT cycle, city_code, unit_level, unit_code, first_received_at, last_received_at FROM loaded_units`,
  `CREATE OR REPLACE TEMP TABLE superseded AS
   SELECT cycle, unit_level, unit_code, indicator_code, source_partition, source_offset
   FROM ${db}.current_observations o
   SEMI JOIN (SELECT * FROM loaded_units WHERE resubmitted) u
     ON u.cycle = o.cycle AND u.unit_level = o.unit_level AND u.unit_code = o.unit_code
   QUALIFY row_number() OVER (
     PARTITION BY cycle, unit_level, unit_code, indicator_code
     ORDER BY received_at DESC, source_partition DESC, source_offset DESC) > 1`,
  `DELETE FROM ${db}.current_observations c USING superseded s
   WHERE c.cycle = s.cycle AND c.unit_level = s.unit_level AND c.unit_code = s.unit_code
     AND c.indicator_code = s.indicator_code AND c.source_partition = s.source_partition
     AND c.source_offset = s.source_offset`,
  'DROP TABLE loaded_units; DROP TABLE superseded',
];

/** Per run: the catalogue rules and the registry's divisions, read once from the lake's reference objects. */
export const referenceSql = (
  indicatorsUrl: string | undefined,
  divisionsUrl: string | undefined,
): string[] => [
  `CREATE OR REPLACE TEMP TABLE reference_indicators AS ${
    indicatorsUrl === undefined
      ? 'SELECT NULL::VARCHAR AS catalogue_version, NULL::VARCHAR AS code, NULL::VARCHAR AS aggregation, NULL::VARCHAR AS standard_operator, NULL::DOUBLE AS standard_value, NULL::VARCHAR AS primary_level WHERE false'
      : `SELECT catalogue_version, code, aggregation, standard_operator, standard_value, unit_levels[1] AS primary_level FROM read_parquet(${indicatorsUrl})`
  }`,
  `CREATE OR REPLACE TEMP TABLE reference_divisions AS ${
    divisionsUrl === undefined
      ? 'SELECT NULL::VARCHAR AS code, NULL::VARCHAR AS level, NULL::VARCHAR AS kind, NULL::VARCHAR AS street_code, NULL::VARCHAR AS district_code, NULL::VARCHAR AS city_code, NULL::VARCHAR AS province_code WHERE false'
      : `SELECT code, level, kind, street_code, district_code, city_code, province_code FROM read_parquet(${divisionsUrl}) WHERE level IN ('city', 'district', 'community')`
  }`,
];

/** The current observations joined to their catalogue rules (aggregation, standard, the level units_expected counts). */
export const currentViewSql = (db: string): string =>
  `CREATE OR REPLACE TEMP VIEW current_obs AS
   SELECT o.*, i.aggregation, i.standard_operator, i.standard_value, i.primary_level
   FROM ${db}.current_observations o
   JOIN reference_indicators i ON i.catalogue_version = o.catalogue_version AND i.code = o.indicator_code`;

/** Each unit's first and last receipt in each cycle, over every observation loaded (superseded ones too). */
export const receiptsViewSql = (db: string): string =>
  `CREATE OR REPLACE TEMP VIEW receipts AS SELECT * FROM ${db}.receipts`;

/** Current observations of the target and the previous cycle (a view over current_obs). */
export const scopedSql = (cycle: number): string =>
  `SELECT * FROM current_obs WHERE cycle IN (${cycle}, ${cycle - 1})`;

/**
 * The units a cycle expects, placed as the cycle places them (temp table `cycle_divisions`): the units of
 * its expected cities only, each in the city it reports through. Expected cities are the cycle's list, or
 * by default the prefecture-level cities and municipalities, plus always the county-level cities the cycle
 * names. A named county-level city is a city (unit level city) directly under its province with no
 * districts: its units carry it as city_code and no district_code, and leave the prefecture that holds it in
 * the registry. Needs `reference_divisions` and `cycle_settings`.
 */
export const cycleDivisionsSql = (cycle: number): string => `
WITH settings AS (SELECT * FROM cycle_settings WHERE cycle = ${cycle}),
placed AS (
  SELECT d.level, d.kind, d.code, d.street_code, d.city_code, d.province_code,
    coalesce(d.district_code, CASE WHEN d.level = 'district' THEN d.code END) AS county_code,
    coalesce(list_contains(s.county_level_cities, coalesce(d.district_code, CASE WHEN d.level = 'district' THEN d.code END)), false) AS in_named_city
  FROM reference_divisions d, settings s
),
units AS (
  SELECT
    CASE WHEN in_named_city AND level = 'district' THEN 'city' ELSE level END AS unit_level,
    kind, code, street_code,
    CASE WHEN in_named_city THEN NULL ELSE county_code END AS district_code,
    CASE WHEN in_named_city THEN county_code ELSE city_code END AS city_code,
    province_code
  FROM placed
),
expected AS (
  SELECT u.code AS city_code
  FROM units u, settings s
  WHERE u.unit_level = 'city' AND (
    (s.expected_city_codes IS NULL AND u.kind IN ('prefectureLevelCity', 'municipality'))
    OR list_contains(s.expected_city_codes, u.code)
    OR coalesce(list_contains(s.county_level_cities, u.code), false))
)
SELECT u.* FROM units u SEMI JOIN expected e ON e.city_code = u.city_code`;

/**
 * How many units the cycle expects of each unit level in each area (communities, districts, cities), from
 * `divisions` (default `cycle_divisions`; the accepted scope's `accepted_divisions`).
 */
export const expectedUnitsSql = (divisions = 'cycle_divisions'): string => `
  WITH units AS (
    SELECT unit_level, street_code, district_code, city_code, province_code FROM ${divisions}
  )
  SELECT unit_level,
    CASE WHEN GROUPING(street_code) = 0 THEN 'street' WHEN GROUPING(district_code) = 0 THEN 'district'
         WHEN GROUPING(city_code) = 0 THEN 'city' WHEN GROUPING(province_code) = 0 THEN 'province' ELSE 'nation' END AS level,
    CASE WHEN GROUPING(street_code) = 0 THEN street_code WHEN GROUPING(district_code) = 0 THEN district_code
         WHEN GROUPING(city_code) = 0 THEN city_code WHEN GROUPING(province_code) = 0 THEN province_code ELSE '000000' END AS area_code,
    count(*) AS units_expected
  FROM units
  GROUP BY GROUPING SETS ((unit_level, street_code), (unit_level, district_code), (unit_level, city_code), (unit_level, province_code), (unit_level))`;

/**
 * The one rule for units at several levels: no area's rollup contains the same people, land or units twice.
 * A city's row shows the figure the city reported for itself (a unit of level city) when there is one, and
 * otherwise the figure rolled up from its units below (districts, streets, communities ...); the other is
 * shown beside it (below_value, below_units). The province rolls up one figure per city, the one its city
 * row shows, and the nation one per province. Districts and streets roll up their own units.
 */
const rollupValue = (prefix = '', units = 'units_reported') => `CASE aggregation
      WHEN 'sum' THEN ${prefix}value_sum::DOUBLE
      WHEN 'ratio' THEN ${prefix}numerator_sum::DOUBLE / nullif(${prefix}denominator_sum, 0)::DOUBLE
      WHEN 'perCapita' THEN ${prefix}quantity_sum::DOUBLE / nullif(${prefix}population_sum, 0)::DOUBLE
      WHEN 'share' THEN ${prefix}units_meeting::DOUBLE / ${units}::DOUBLE
      WHEN 'weightedMean' THEN ${prefix}weighted_sum::DOUBLE / nullif(${prefix}weight_sum, 0)::DOUBLE
    END`;

/** Adds up partial sums of a finer level (exact in DECIMAL). */
const partialSums = `sum(units_reported)::BIGINT AS units_reported, sum(value_sum) AS value_sum,
    sum(numerator_sum) AS numerator_sum, sum(denominator_sum) AS denominator_sum,
    sum(quantity_sum) AS quantity_sum, sum(population_sum) AS population_sum,
    sum(weighted_sum) AS weighted_sum, sum(weight_sum) AS weight_sum,
    sum(units_meeting)::BIGINT AS units_meeting`;

const keyColumns = 'cycle, catalogue_version, indicator_code, aggregation, primary_level';

/**
 * Indicator rollups of the target cycle at every level, with units covered and expected and the change from
 * the previous cycle. Needs the view `kept_street_sums` (the state's street sums of both cycles, streetSumsSql)
 * and `expected_units` (expectedUnitsSql).
 */
/**
 * One pass over the current observations `where` holds to the finest area (street, and a city's own
 * figure apart): the partial sums the levels above add up (exact in DECIMAL), which is several times
 * cheaper than grouping every observation once per level. Each row lies in one city, so the sums of a
 * cycle are kept between runs (table street_sums of the state) and only the cities with changed
 * observations are summed again. Needs the view `current_obs`.
 */
export const streetSumsSql = (cycle: number, cities: readonly string[] | undefined): string => `
  SELECT
    cycle, catalogue_version, indicator_code, city_code, district_code, street_code,
    unit_level = 'city' AS own,
    -- Determined by the grouping (a city lies in one province; the rules by catalogue and indicator), so
    -- carried rather than hashed.
    any_value(province_code) AS province_code,
    any_value(aggregation) AS aggregation,
    any_value(primary_level) AS primary_level,
    count(*) AS units_reported,
    sum(value::DECIMAL(38, 6)) AS value_sum,
    sum(numerator::DECIMAL(38, 6)) AS numerator_sum,
    sum(denominator::DECIMAL(38, 6)) AS denominator_sum,
    sum(quantity::DECIMAL(38, 6)) AS quantity_sum,
    sum(population::DECIMAL(38, 6)) AS population_sum,
    count_if(meets) AS units_meeting,
    sum((value * weight)::DECIMAL(38, 6)) AS weighted_sum,
    sum(weight::DECIMAL(38, 6)) AS weight_sum
  FROM current_obs o
  WHERE o.cycle = ${cycle} AND ${inCities('o', cities)}
  GROUP BY cycle, catalogue_version, indicator_code, city_code, district_code, street_code, own`;

/**
 * The relations a rollup reads: the street sums and the expected units of everything (the rollups view), or
 * of the accepted cities alone (rollups_accepted: acceptedScopeSql).
 */
export interface RollupScope {
  readonly sums: string;
  readonly expected: string;
}

export const fullScope: RollupScope = { sums: 'kept_street_sums', expected: 'expected_units' };
export const acceptedScope: RollupScope = {
  sums: 'accepted_street_sums',
  expected: 'accepted_expected_units',
};

/**
 * The accepted scope of a cycle (and the one before, whose figures the change compares with): the street
 * sums, divisions and expected units of the cities whose review stands accepted in `cycle_reviews`, so the
 * same rollup SQL over them gives every level's figures over accepted data only. Needs `kept_street_sums`,
 * `cycle_divisions` and `cycle_reviews`.
 */
export const acceptedScopeSql = (cycle: number): string[] => [
  `CREATE OR REPLACE TEMP TABLE accepted_cities AS
   SELECT cycle, city_code FROM cycle_reviews WHERE state = 'accepted' AND cycle IN (${cycle}, ${cycle - 1})`,
  `CREATE OR REPLACE TEMP VIEW accepted_street_sums AS
   SELECT s.* FROM kept_street_sums s SEMI JOIN accepted_cities a ON a.cycle = s.cycle AND a.city_code = s.city_code`,
  `CREATE OR REPLACE TEMP TABLE accepted_divisions AS
   SELECT d.* FROM cycle_divisions d SEMI JOIN accepted_cities a ON a.cycle = ${cycle} AND a.city_code = d.city_code`,
  `CREATE OR REPLACE TEMP TABLE accepted_expected_units AS ${expectedUnitsSql('accepted_divisions')}`,
];

export const indicatorRollupsSql = (cycle: number, scope: RollupScope = fullScope): string => `
WITH by_street AS (
  -- The street sums of the target and the previous cycle (streetSumsSql), kept between runs.
  SELECT * FROM ${scope.sums} WHERE cycle IN (${cycle}, ${cycle - 1})
),
districts AS (
  SELECT ${keyColumns}, 'district' AS level, district_code AS area_code,
    ${partialSums}
  FROM by_street
  WHERE district_code IS NOT NULL AND NOT own
  GROUP BY ${keyColumns}, district_code
),
below_city AS (
  SELECT ${keyColumns}, city_code, any_value(province_code) AS province_code,
    ${partialSums}
  FROM by_street
  WHERE NOT own
  GROUP BY ${keyColumns}, city_code
),
own_city AS (
  SELECT * EXCLUDE (own, district_code, street_code) FROM by_street WHERE own
),
cities AS (
  SELECT
    coalesce(o.cycle, b.cycle) AS cycle,
    coalesce(o.catalogue_version, b.catalogue_version) AS catalogue_version,
    coalesce(o.indicator_code, b.indicator_code) AS indicator_code,
    coalesce(o.aggregation, b.aggregation) AS aggregation,
    coalesce(o.primary_level, b.primary_level) AS primary_level,
    'city' AS level,
    coalesce(o.city_code, b.city_code) AS area_code,
    coalesce(o.province_code, b.province_code) AS province_code,
    CASE WHEN o.city_code IS NOT NULL THEN o.units_reported ELSE b.units_reported END AS units_reported,
    CASE WHEN o.city_code IS NOT NULL THEN o.value_sum ELSE b.value_sum END AS value_sum,
    CASE WHEN o.city_code IS NOT NULL THEN o.numerator_sum ELSE b.numerator_sum END AS numerator_sum,
    CASE WHEN o.city_code IS NOT NULL THEN o.denominator_sum ELSE b.denominator_sum END AS denominator_sum,
    CASE WHEN o.city_code IS NOT NULL THEN o.quantity_sum ELSE b.quantity_sum END AS quantity_sum,
    CASE WHEN o.city_code IS NOT NULL THEN o.population_sum ELSE b.population_sum END AS population_sum,
    CASE WHEN o.city_code IS NOT NULL THEN o.weighted_sum ELSE b.weighted_sum END AS weighted_sum,
    CASE WHEN o.city_code IS NOT NULL THEN o.weight_sum ELSE b.weight_sum END AS weight_sum,
    CASE WHEN o.city_code IS NOT NULL THEN o.units_meeting ELSE b.units_meeting END AS units_meeting,
    CASE WHEN o.city_code IS NOT NULL THEN 'city' ELSE 'units' END AS value_source,
    b.value_sum AS below_value_sum, b.numerator_sum AS below_numerator_sum,
    b.denominator_sum AS below_denominator_sum, b.quantity_sum AS below_quantity_sum,
    b.population_sum AS below_population_sum, b.units_meeting AS below_units_meeting,
    b.weighted_sum AS below_weighted_sum, b.weight_sum AS below_weight_sum,
    b.units_reported AS below_units
  FROM own_city o
  FULL OUTER JOIN below_city b
    ON b.cycle = o.cycle AND b.catalogue_version = o.catalogue_version AND b.indicator_code = o.indicator_code
      AND b.city_code = o.city_code
),
provinces AS (
  SELECT ${keyColumns}, 'province' AS level, province_code AS area_code,
    ${partialSums}
  FROM cities
  GROUP BY ${keyColumns}, province_code
),
grouped AS (
  -- A street lies in one district and city, so the street pass's rows are the street level as they are.
  SELECT ${keyColumns}, 'street' AS level, street_code AS area_code,
    units_reported::BIGINT AS units_reported, value_sum, numerator_sum, denominator_sum, quantity_sum, population_sum, weighted_sum, weight_sum, units_meeting::BIGINT AS units_meeting,
    NULL::VARCHAR AS value_source, NULL::DOUBLE AS below_value, NULL::BIGINT AS below_units
  FROM by_street
  WHERE street_code IS NOT NULL
  UNION ALL BY NAME
  SELECT *, NULL::VARCHAR AS value_source, NULL::DOUBLE AS below_value, NULL::BIGINT AS below_units FROM districts
  UNION ALL BY NAME
  SELECT * EXCLUDE (province_code, below_value_sum, below_numerator_sum, below_denominator_sum,
      below_quantity_sum, below_population_sum, below_units_meeting, below_weighted_sum, below_weight_sum),
    ${rollupValue('below_', 'below_units')} AS below_value
  FROM cities
  UNION ALL BY NAME
  SELECT *, NULL::VARCHAR AS value_source, NULL::DOUBLE AS below_value, NULL::BIGINT AS below_units FROM provinces
  UNION ALL BY NAME
  SELECT ${keyColumns}, 'nation' AS level, '000000' AS area_code,
    ${partialSums},
    NULL::VARCHAR AS value_source, NULL::DOUBLE AS below_value, NULL::BIGINT AS below_units
  FROM provinces
  GROUP BY ${keyColumns}
),
valued AS (
  SELECT *, ${rollupValue()} AS value
  FROM grouped
  WHERE area_code IS NOT NULL
)
SELECT
  v.cycle, v.catalogue_version, v.indicator_code, v.aggregation, v.level, v.area_code,
  CASE WHEN v.level = 'nation' THEN NULL ELSE left(v.area_code, 2) || '0000' END AS province_code,
  v.value,
  v.numerator_sum::DOUBLE AS numerator_sum,
  v.denominator_sum::DOUBLE AS denominator_sum,
  v.quantity_sum::DOUBLE AS quantity_sum,
  v.population_sum::DOUBLE AS population_sum,
  v.units_meeting::BIGINT AS units_meeting,
  v.units_reported::BIGINT AS units_reported,
  e.units_expected,
  p.value AS previous_value,
  v.value - p.value AS change,
  v.value_source,
  v.below_value,
  v.below_units::BIGINT AS below_units,
  CASE WHEN v.level = 'city' THEN coalesce(r.state, 'draft') END AS review_state
FROM valued v
LEFT JOIN valued p
  ON p.cycle = v.cycle - 1 AND p.indicator_code = v.indicator_code AND p.level = v.level AND p.area_code = v.area_code
LEFT JOIN ${scope.expected} e
  ON e.unit_level = v.primary_level AND e.level = v.level AND e.area_code = v.area_code
LEFT JOIN cycle_reviews r
  ON v.level = 'city' AND r.cycle = v.cycle AND r.city_code = v.area_code
WHERE v.cycle = ${cycle}
ORDER BY v.indicator_code, v.level, v.area_code`;

/** The review states a city's data pass through after draft, each counted in completeness (cities_<state>). */
export const reviewStates = ['submitted', 'returned', 'approved', 'accepted', 'reopened'] as const;

/**
 * Completeness of the target cycle: expected, reported and on-time cities and communities per city,
 * province and nation, and how many cities stand in each review state (a city row: its own state). Needs
 * temp tables `cycle_settings(cycle, deadline, ...)`, `cycle_divisions` (the cycle's expected cities and
 * their units, cycleDivisionsSql) and `cycle_reviews(cycle, city_code, state)`.
 */
export const completenessSql = (cycle: number): string => `
WITH settings AS (SELECT * FROM cycle_settings WHERE cycle = ${cycle}),
expected_cities AS (
  SELECT city_code, province_code FROM cycle_divisions WHERE unit_level = 'city'
),
reported_units AS (
  SELECT city_code, unit_level, unit_code, min(first_received_at) AS first_received_at, max(last_received_at) AS last_received_at
  FROM receipts WHERE cycle = ${cycle}
  GROUP BY ALL
),
per_city AS (
  SELECT
    e.city_code, e.province_code,
    min(u.first_received_at) AS first_received_at,
    max(u.last_received_at) AS last_received_at,
    count(DISTINCT u.unit_code) FILTER (WHERE u.unit_level = 'community') AS communities_reported,
    count(DISTINCT u.unit_code) FILTER (WHERE u.unit_level = 'community' AND u.first_received_at <= s.deadline) AS communities_on_time
  FROM expected_cities e
  CROSS JOIN settings s
  LEFT JOIN reported_units u ON u.city_code = e.city_code
  GROUP BY e.city_code, e.province_code
),
community_counts AS (
  SELECT city_code, count(*) AS n FROM cycle_divisions WHERE unit_level = 'community' GROUP BY city_code
),
city_rows AS (
  SELECT
    p.city_code, p.province_code,
    1 AS cities_expected,
    CASE WHEN p.first_received_at IS NULL THEN 0 ELSE 1 END AS cities_reported,
    CASE WHEN p.first_received_at <= s.deadline THEN 1 ELSE 0 END AS cities_on_time,
    coalesce(c.n, 0) AS communities_expected,
    p.communities_reported, p.communities_on_time, p.first_received_at, p.last_received_at,
    coalesce(r.state, 'draft') AS review_state
  FROM per_city p CROSS JOIN settings s LEFT JOIN community_counts c ON c.city_code = p.city_code
  LEFT JOIN cycle_reviews r ON r.cycle = ${cycle} AND r.city_code = p.city_code
)
SELECT
  ${cycle} AS cycle,
  CASE WHEN GROUPING(city_code) = 0 THEN 'city' WHEN GROUPING(province_code) = 0 THEN 'province' ELSE 'nation' END AS level,
  CASE WHEN GROUPING(city_code) = 0 THEN city_code WHEN GROUPING(province_code) = 0 THEN province_code ELSE '000000' END AS area_code,
  CASE WHEN GROUPING(province_code) = 0 THEN province_code END AS province_code,
  (SELECT deadline FROM settings) AS deadline,
  sum(cities_expected)::BIGINT AS cities_expected,
  sum(cities_reported)::BIGINT AS cities_reported,
  sum(cities_on_time)::BIGINT AS cities_on_time,
  sum(communities_expected)::BIGINT AS communities_expected,
  sum(communities_reported)::BIGINT AS communities_reported,
  sum(communities_on_time)::BIGINT AS communities_on_time,
  sum(cities_reported)::DOUBLE / sum(cities_expected)::DOUBLE AS reporting_rate,
  sum(cities_on_time)::DOUBLE / sum(cities_expected)::DOUBLE AS reporting_rate_on_time,
  min(first_received_at) AS first_received_at,
  max(last_received_at) AS last_received_at,
  CASE WHEN GROUPING(city_code) = 0 THEN any_value(review_state) END AS review_state,
  ${reviewStates.map((state) => `count(*) FILTER (WHERE review_state = '${state}') AS cities_${state}`).join(',\n  ')}
FROM city_rows
GROUP BY GROUPING SETS ((province_code, city_code), (province_code), ())
ORDER BY level, area_code`;

const missed = (o: string): string => `CASE ${o}.standard_operator
      WHEN '<=' THEN ${o}.value > ${o}.standard_value
      WHEN '>=' THEN ${o}.value < ${o}.standard_value
      WHEN '==' THEN ${o}.value <> ${o}.standard_value
    END`;

const sameKey = (a: string, b: string): string =>
  `${a}.unit_level = ${b}.unit_level AND ${a}.unit_code = ${b}.unit_code AND ${a}.indicator_code = ${b}.indicator_code`;

/**
 * The shortfall ledger rows of the target cycle's units in `cities` (every city: undefined), kept per city
 * because a unit's rows depend on its own history alone: units missing a standard (new or persisting, with the first
 * cycle of their unbroken run of misses) and units that missed it in the previous cycle and no longer do.
 * Only the target cycle's rows are carried whole; earlier cycles contribute the keys of their misses.
 */
export const shortfallLedgerRowsSql = (cycle: number, cities: readonly string[] | undefined): string => `
WITH present AS (
  SELECT o.cycle, o.province_code, o.city_code, o.district_code, o.street_code, o.unit_level, o.unit_code,
    o.indicator_code, o.value, o.submission_id, o.standard_operator, o.standard_value, ${missed('o')} AS missed
  FROM current_obs o
  WHERE o.cycle = ${cycle} AND o.standard_operator IS NOT NULL AND ${inCities('o', cities)}
),
prior AS (
  SELECT o.unit_level, o.unit_code, o.indicator_code, ${missed('o')} AS missed
  FROM current_obs o
  WHERE o.cycle = ${cycle - 1} AND o.standard_operator IS NOT NULL
),
-- Every cycle up to the target in which a unit missing the standard now missed it too.
misses AS (
  SELECT o.unit_level, o.unit_code, o.indicator_code, o.cycle
  FROM current_obs o
  SEMI JOIN (SELECT * FROM present WHERE missed) p ON ${sameKey('p', 'o')}
  WHERE o.cycle <= ${cycle} AND o.standard_operator IS NOT NULL AND ${missed('o')}
),
runs AS (
  SELECT unit_level, unit_code, indicator_code, cycle,
    cycle - row_number() OVER (PARTITION BY unit_level, unit_code, indicator_code ORDER BY cycle) AS run
  FROM misses
),
since AS (
  SELECT unit_level, unit_code, indicator_code, cycle,
    min(cycle) OVER (PARTITION BY unit_level, unit_code, indicator_code, run) AS since_cycle
  FROM runs
)
SELECT
  present.cycle, present.province_code, present.city_code, present.district_code, present.street_code, present.unit_level, present.unit_code,
  present.indicator_code, present.value, present.standard_operator, present.standard_value,
  CASE WHEN present.missed THEN abs(present.value - present.standard_value) ELSE 0 END AS gap,
  CASE WHEN present.missed THEN s.since_cycle END AS since_cycle,
  CASE WHEN NOT present.missed THEN 'resolved' WHEN coalesce(prior.missed, false) THEN 'persisting' ELSE 'new' END AS status,
  present.submission_id
FROM present
LEFT JOIN prior ON ${sameKey('prior', 'present')}
LEFT JOIN since s ON s.cycle = present.cycle AND ${sameKey('s', 'present')}
WHERE present.missed OR coalesce(prior.missed, false)`;

/** The shortfall ledger of the target cycle, from the rows kept per city (temp view `kept_shortfall_ledger`). */
export const shortfallLedgerSql = (cycle: number): string =>
  `SELECT * FROM kept_shortfall_ledger WHERE cycle = ${cycle}
   ORDER BY province_code, city_code, unit_code, unit_level, indicator_code`;

/** Robust z-score threshold: |x - median| / (1.4826 MAD) above this is flagged. */
export const outlierThreshold = 3.5;
/** A provincial distribution needs this many units before an outlier in it means anything. */
export const minimumGroupSize = 10;

/**
 * A city's own figure and its units' figure for the same indicator disagree when the rate, per-capita
 * value, share or mean differs by more than this fraction of the units' figure; for a sum, when the units
 * add up to more than the city's own total (they cannot: they lie in the city).
 */
export const disagreementThreshold = 0.2;

/**
 * Two CTEs over `source` (a relation and its alias): `medianName`, the median of `column` per group of
 * `keys` and the group's size, and `spreadName`, that median with the median absolute deviation around it.
 */
const medianAndMad = (
  medianName: string,
  spreadName: string,
  source: string,
  column: string,
  keys: readonly string[],
): string => {
  const [relation, alias] = source.split(' ');
  return `${medianName} AS (
  SELECT ${keys.join(', ')}, median(${column}) AS med, count(*) AS n FROM ${relation} GROUP BY ALL
),
${spreadName} AS (
  SELECT ${keys.map((key) => `${alias}.${key}`).join(', ')}, m.med, median(abs(${alias}.${column} - m.med)) AS mad, any_value(m.n) AS n
  FROM ${source} JOIN ${medianName} m USING (${keys.join(', ')}) GROUP BY ALL
)`;
};

/**
 * Quality flags of the target cycle: values far from the indicator's national or provincial median by a
 * robust z-score, changes from the previous cycle far from the indicator's typical change, and a city's own
 * figure that disagrees with the figure of its units below (city_units_disagree: score is
 * (own - units) / |units|, reference the units' figure). A group whose median absolute deviation is 0
 * flags no outlier (there is no spread to be far from).
 */
export const qualityFlagsSql = (cycle: number): string => `
WITH base AS MATERIALIZED (
  -- Only what the statistics read: base is read several times. The flagged rows (few) take the rest of
  -- their columns from the observation afterwards.
  SELECT unit_level, unit_code, indicator_code, province_code, value FROM scoped WHERE cycle = ${cycle}
),
changes AS MATERIALIZED (
  SELECT b.unit_level, b.unit_code, b.indicator_code, b.value - p.value AS delta, p.value AS previous_value
  FROM base b
  JOIN (SELECT unit_level, unit_code, indicator_code, value FROM scoped WHERE cycle = ${cycle - 1}) p
    ON ${sameKey('p', 'b')}
),
${medianAndMad('national_median', 'national', 'base b', 'value', ['indicator_code', 'unit_level'])},
${medianAndMad('provincial_median', 'provincial', 'base b', 'value', ['indicator_code', 'unit_level', 'province_code'])},
${medianAndMad('change_median', 'change_spread', 'changes c', 'delta', ['indicator_code', 'unit_level'])},
flags AS (
  SELECT b.unit_level, b.unit_code, b.indicator_code, 'national_outlier' AS flag, (b.value - s.med) / (1.4826 * s.mad) AS score, s.med AS reference
  FROM base b JOIN national s USING (indicator_code, unit_level)
  WHERE s.mad > 0 AND s.n >= ${minimumGroupSize}
  UNION ALL
  SELECT b.unit_level, b.unit_code, b.indicator_code, 'provincial_outlier', (b.value - s.med) / (1.4826 * s.mad), s.med
  FROM base b JOIN provincial s USING (indicator_code, unit_level, province_code)
  WHERE s.mad > 0 AND s.n >= ${minimumGroupSize}
  UNION ALL
  SELECT c.unit_level, c.unit_code, c.indicator_code, 'year_over_year_jump', (c.delta - s.med) / (1.4826 * s.mad), c.previous_value
  FROM changes c JOIN change_spread s USING (indicator_code, unit_level)
  WHERE s.mad > 0 AND s.n >= ${minimumGroupSize}
),
outliers AS (
  SELECT o.cycle, o.province_code, o.city_code, o.district_code, o.street_code, o.unit_level, o.unit_code,
    o.indicator_code, o.value, f.flag, f.score, f.reference, o.submission_id
  FROM (SELECT * FROM flags WHERE abs(score) > ${outlierThreshold}) f
  JOIN scoped o ON o.cycle = ${cycle} AND ${sameKey('o', 'f')}
)
SELECT cycle, province_code, city_code, district_code, street_code, unit_level, unit_code, indicator_code, value,
  flag, score, reference, submission_id
FROM (
  SELECT * FROM outliers
  UNION ALL BY NAME
  SELECT * FROM kept_city_disagreements WHERE cycle = ${cycle}
)
ORDER BY indicator_code, flag, unit_code, unit_level`;

/**
 * The city_units_disagree flags of the target cycle's cities in `cities` (every city: undefined): a city's
 * own figure that disagrees with the figure of its units below. A city's depend on its own rows alone, so
 * they are kept per city (temp view `kept_city_disagreements`) and redone only for cities that changed.
 */
export const cityDisagreementsSql = (cycle: number, cities: readonly string[] | undefined): string => `
WITH base AS (
  SELECT cycle, province_code, city_code, district_code, street_code, unit_level, unit_code, indicator_code, value, submission_id
  FROM current_obs o WHERE o.cycle = ${cycle} AND o.unit_level = 'city' AND ${inCities('o', cities)}
),
below_city AS (
  -- Each city's units below it (districts ...), rolled up by the indicator's rule, where the city also
  -- reports the indicator for itself. Sums in DECIMAL, as the rollups: a DOUBLE sum depends on the order
  -- DuckDB's threads add in, and so would the flag's score and reference.
  SELECT city_code, indicator_code, CASE any_value(aggregation)
      WHEN 'sum' THEN sum(value::DECIMAL(38, 6))::DOUBLE
      WHEN 'ratio' THEN sum(numerator::DECIMAL(38, 6))::DOUBLE / nullif(sum(denominator::DECIMAL(38, 6)), 0)::DOUBLE
      WHEN 'perCapita' THEN sum(quantity::DECIMAL(38, 6))::DOUBLE / nullif(sum(population::DECIMAL(38, 6)), 0)::DOUBLE
      WHEN 'share' THEN sum(CASE WHEN meets THEN 1 ELSE 0 END)::DOUBLE / count(*)::DOUBLE
      WHEN 'weightedMean' THEN sum((value * weight)::DECIMAL(38, 6))::DOUBLE / nullif(sum(weight::DECIMAL(38, 6)), 0)::DOUBLE
    END AS below, any_value(aggregation) AS aggregation
  FROM current_obs o
  WHERE o.cycle = ${cycle} AND o.unit_level <> 'city' AND ${inCities('o', cities)}
    AND EXISTS (SELECT 1 FROM base c WHERE c.unit_level = 'city' AND c.city_code = o.city_code AND c.indicator_code = o.indicator_code)
  GROUP BY city_code, indicator_code
),
disagreements AS (
  SELECT b.*, 'city_units_disagree' AS flag, (b.value - u.below) / nullif(abs(u.below), 0) AS score, u.below AS reference
  FROM base b JOIN below_city u USING (city_code, indicator_code)
  WHERE b.unit_level = 'city' AND u.below IS NOT NULL AND CASE u.aggregation
      WHEN 'sum' THEN u.below > b.value
      ELSE abs(b.value - u.below) > ${disagreementThreshold} * abs(u.below)
    END
)
SELECT * FROM disagreements`;
