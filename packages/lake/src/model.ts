// The documented model analysts query (schemas/lake/views.v1.json) and how each view is bound to the lake's
// objects, which the aggregate service writes and the query service and any DuckDB, Spark or Trino client read.
import { readFileSync } from 'node:fs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString as quote } from './duckdb.js';
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

/** The model as schemas/lake/views.v1.json writes it: columns as [name, type, doc] or "@group". */
interface ModelFile {
  readonly columnGroups: Record<string, readonly ColumnEntry[]>;
  readonly views: readonly (Omit<ViewDoc, 'columns'> & { readonly columns: readonly ColumnEntry[] })[];
}
type ColumnEntry = string | readonly [name: string, type: string, doc: string];

const modelFile = JSON.parse(
  readFileSync(new URL('../../../schemas/lake/views.v1.json', import.meta.url), 'utf8'),
) as ModelFile;

/** Spells out a column list, replacing each `@group` by that group's columns. */
const expandColumns = (entries: readonly ColumnEntry[]): ColumnDoc[] =>
  entries.flatMap((entry) => {
    if (typeof entry !== 'string') return [{ name: entry[0], type: entry[1], doc: entry[2] }];
    const group = modelFile.columnGroups[entry.slice(1)];
    if (!entry.startsWith('@') || group === undefined)
      throw new Error(`views.v1.json: no column group ${entry}`);
    return expandColumns(group);
  });

export const lakeViews: readonly ViewDoc[] = modelFile.views.map((view) => ({
  ...view,
  columns: expandColumns(view.columns),
}));

/** The empty relation with a view's columns, for views whose objects do not exist yet. */
const emptyRelation = (view: Pick<ViewDoc, 'columns'>): string =>
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
  rollups_accepted: 'indicator_rollups_accepted.parquet',
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
  for (const name of [
    'indicators',
    'divisions',
    'cycles',
    'cycle_actions',
    'reviews',
    'review_actions',
    'rectification_actions',
  ]) {
    const key = `reference/${name}.parquet`;
    const relation = referenceKeys.has(key)
      ? `SELECT ${columnsOf(name)} FROM read_parquet(${url(key)})`
      : emptyRelation(view(name));
    await connection.run(`CREATE OR REPLACE VIEW ${schema}.${name} AS ${relation}`);
  }
  // Each city's review as it stood at a moment, from the audit trail: the state its last action at or before
  // the moment left (cities nobody had acted on by then have no row), with the reviews view's columns.
  await connection.run(
    `CREATE OR REPLACE MACRO ${schema}.reviews_as_of(moment) AS TABLE
       SELECT cycle, province_code, city_code, arg_max(state, seq) AS state,
              arg_max(state, seq) = 'accepted' AS locked, count(*)::INTEGER AS actions,
              arg_max(action, seq) AS last_action, arg_max(actor, seq) AS last_action_by,
              arg_max(actor_role, seq) AS last_action_role, arg_max(acted_at, seq) AS last_action_at,
              arg_max(acted_at, seq) FILTER (WHERE action = 'accept') AS accepted_at
       FROM ${schema}.review_actions
       WHERE acted_at <= moment
       GROUP BY cycle, province_code, city_code
       ORDER BY cycle, city_code`,
  );
  await defineRectificationViews(
    connection,
    schema,
    referenceKeys.has(rectificationKey) ? url(rectificationKey) : undefined,
  );
};

const rectificationKey = 'reference/rectification.parquet';

/**
 * The columns of reference/rectification.parquet (aggregate writes it from rectification.v1): a ledger item's
 * key, then what its record says, as the rectification view shows it.
 */
export const rectificationRecordColumns: readonly ColumnDoc[] = [
  ...expandColumns(['@unit']).filter((column) => !['district_code', 'street_code'].includes(column.name)),
  { name: 'indicator_code', type: 'VARCHAR', doc: 'indicator code' },
  ...expandColumns(['@rectificationRecord']),
];

/** Column names and their DuckDB types, as encodeParquet takes them. */
export const columnTypes = (columns: readonly ColumnDoc[]): Record<string, string> =>
  Object.fromEntries(columns.map((column) => [column.name, column.type]));

/** Today in Beijing (UTC+8), the day a plan's target date (a date of the city's calendar) is judged against. */
const beijingDate = (now: Date): string => new Date(now.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);

/**
 * The rectification views: `rectification`, the ledger's items of every cycle joined to their records
 * (`records`, the URL of reference/rectification.parquet when it exists) and judged against the next cycle's
 * ledger, which already says whether the unit's current value meets the standard (resolved) or misses it
 * again (new, persisting); and `rectification_rates` counted from it. Overdue is judged on today's date
 * written into the definition, so that the definition (and with it the query service's fingerprint of the
 * lake) changes with the day and the provinces' and cities' copies are made again.
 */
const defineRectificationViews = async (
  connection: DuckDBConnection,
  schema: string,
  records: string | undefined,
): Promise<void> => {
  const columns = rectificationRecordColumns;
  const recorded =
    records === undefined
      ? emptyRelation({ columns })
      : `SELECT ${columns.map((column) => column.name).join(', ')} FROM read_parquet(${records})`;
  const key = (a: string, b: string): string =>
    `${a}.unit_level = ${b}.unit_level AND ${a}.unit_code = ${b}.unit_code AND ${a}.indicator_code = ${b}.indicator_code`;
  const either = (column: string): string => `coalesce(i.${column}, r.${column}) AS ${column}`;
  const today = `DATE '${beijingDate(new Date())}'`;
  await connection.run(
    `CREATE OR REPLACE VIEW ${schema}.rectification AS
     WITH items AS (SELECT * FROM ${schema}.shortfall_ledger WHERE status <> 'resolved'),
     records AS (${recorded}),
     joined AS (
       SELECT ${['cycle', 'province_code', 'city_code'].map(either).join(', ')},
         i.district_code, i.street_code, ${['unit_level', 'unit_code', 'indicator_code'].map(either).join(', ')},
         i.value, i.standard_operator, i.standard_value, i.gap, i.since_cycle, i.cycle IS NOT NULL AS on_ledger,
         r.recorded_state, r.plan_measure, r.plan_department, r.plan_target_date,
         coalesce(r.evidence_count, 0) AS evidence_count, coalesce(r.actions, 0) AS actions,
         r.last_action, r.last_action_by, r.last_action_at, r.verified_by, r.verified_at
       FROM items i FULL JOIN records r ON i.cycle = r.cycle AND ${key('i', 'r')}
     ),
     judged AS (
       SELECT j.*, n.value AS next_cycle_value,
         CASE WHEN n.status = 'resolved' THEN true WHEN n.status IS NOT NULL THEN false END AS next_cycle_meets
       FROM joined j LEFT JOIN ${schema}.shortfall_ledger n ON n.cycle = j.cycle + 1 AND ${key('n', 'j')}
     ),
     stated AS (
       SELECT *, CASE
           WHEN recorded_state = 'rectified' AND next_cycle_meets THEN 'consolidated'
           WHEN recorded_state = 'rectified' AND NOT next_cycle_meets THEN 'reopened'
           ELSE coalesce(recorded_state, 'identified') END AS state
       FROM judged
     )
     SELECT cycle, province_code, city_code, district_code, street_code, unit_level, unit_code, indicator_code,
       value, standard_operator, standard_value, gap, since_cycle, on_ledger, state,
       recorded_state, plan_measure, plan_department, plan_target_date, evidence_count, actions,
       last_action, last_action_by, last_action_at, verified_by, verified_at,
       coalesce(plan_target_date < ${today} AND state NOT IN ('rectified', 'consolidated'), false) AS overdue,
       ${today} AS overdue_as_of, next_cycle_value, next_cycle_meets,
       state = 'reopened' AS contradicted, CASE WHEN state = 'reopened' THEN cycle + 1 END AS reopened_by_cycle
     FROM stated`,
  );
  const count = (state: string): string => `count(*) FILTER (WHERE state = '${state}') AS ${state}`;
  await connection.run(
    `CREATE OR REPLACE VIEW ${schema}.rectification_rates AS
     SELECT cycle,
       CASE WHEN grouping(city_code) = 0 THEN 'city' WHEN grouping(province_code) = 0 THEN 'province' ELSE 'nation' END AS level,
       CASE WHEN grouping(city_code) = 0 THEN city_code WHEN grouping(province_code) = 0 THEN province_code ELSE '000000' END AS area_code,
       province_code, count(*) AS items,
       ${['identified', 'planned', 'in_progress', 'rectified', 'consolidated', 'reopened'].map(count).join(', ')},
       count(*) FILTER (WHERE overdue) AS overdue,
       count(*) FILTER (WHERE state IN ('rectified', 'consolidated')) / count(*) AS rectification_rate
     FROM ${schema}.rectification
     WHERE on_ledger
     GROUP BY GROUPING SETS ((cycle, province_code, city_code), (cycle, province_code), (cycle))
     ORDER BY cycle, level, area_code`,
  );
};
