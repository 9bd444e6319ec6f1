// Test fixture (not shipped: excluded from the build): derived and reference objects (rollups, completeness,
// ledger, flags, divisions) written straight to the test bucket, the way aggregate writes them.
import {
  type DuckDBConnection,
  encodeParquet,
  lakeViews,
  type ObjectStore,
  rollupObjectKey,
} from '@citycheck/lake';

const rollupObjects = {
  rollups: 'indicator_rollups',
  completeness: 'completeness',
  shortfall_ledger: 'shortfall_ledger',
  quality_flags: 'quality_flags',
} as const;

/** A view's stored columns and types (a derived view's cycle lives in the object's path); absent values are NULL. */
export const storedColumnsOf = (name: string): Record<string, string> =>
  Object.fromEntries(
    (lakeViews.find((view) => view.name === name)?.columns ?? [])
      .filter((column) => column.name !== 'cycle')
      .map((column) => [column.name, column.type]),
  );

/** Writes `rows` as cycle `cycle`'s object of a derived view, replacing what was there. */
export const writeDerivedObject = async (
  store: ObjectStore,
  duckdb: DuckDBConnection,
  view: keyof typeof rollupObjects,
  cycle: number,
  rows: readonly Record<string, unknown>[],
): Promise<void> => {
  const columns = storedColumnsOf(view);
  await store.put(
    rollupObjectKey(cycle, rollupObjects[view]),
    await encodeParquet(duckdb, rows, columns, Object.keys(columns).slice(0, 1)),
    'application/vnd.apache.parquet',
  );
};

/** Writes the division registry's reference object. */
export const writeDivisionsObject = async (
  store: ObjectStore,
  duckdb: DuckDBConnection,
  rows: readonly Record<string, unknown>[],
): Promise<void> => {
  await store.put(
    'reference/divisions.parquet',
    await encodeParquet(duckdb, rows, storedColumnsOf('divisions'), ['code']),
    'application/vnd.apache.parquet',
  );
};
