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
  for (const name of ['indicators', 'divisions', 'cycles', 'cycle_actions', 'reviews', 'review_actions']) {
    const key = `reference/${name}.parquet`;
    const relation = referenceKeys.has(key)
      ? `SELECT ${columnsOf(name)} FROM read_parquet(${url(key)})`
      : emptyRelation(view(name));
    await connection.run(`CREATE OR REPLACE VIEW ${schema}.${name} AS ${relation}`);
  }
};
