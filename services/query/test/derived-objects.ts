// Test fixture (not shipped: excluded from the build): derived and reference objects (rollups, completeness,
// ledger, flags, divisions, rectification records and actions) written straight to the test bucket, the way
// aggregate writes them.
import {
  columnTypes,
  type DuckDBConnection,
  encodeParquet,
  lakeViews,
  type ObjectStore,
  rectificationRecordColumns,
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

/**
 * Writes the rectification records (reference/rectification.parquet) and their actions
 * (reference/rectification_actions.parquet) in the stored columns; absent values are NULL.
 */
export const writeRectificationObjects = async (
  store: ObjectStore,
  duckdb: DuckDBConnection,
  records: readonly Record<string, unknown>[],
  actions: readonly Record<string, unknown>[],
): Promise<void> => {
  const objects = [
    ['rectification', records, columnTypes(rectificationRecordColumns)],
    [
      'rectification_actions',
      actions,
      columnTypes(lakeViews.find((view) => view.name === 'rectification_actions')?.columns ?? []),
    ],
  ] as const;
  for (const [name, rows, columns] of objects)
    await store.put(
      `reference/${name}.parquet`,
      await encodeParquet(duckdb, rows, columns, ['cycle']),
      'application/vnd.apache.parquet',
    );
};

/**
 * For each city, the record of its community `<city[0..4]>01001001`'s 2024 C01 item rectified by its
 * province (one piece of evidence in the city's part of the bucket) and its two actions, evidence and
 * verify, in the stored columns.
 */
export const rectifiedRecords = (
  cities: readonly string[],
): { records: Record<string, unknown>[]; actions: Record<string, unknown>[] } => {
  const item = (city: string) => ({
    cycle: 2024,
    province_code: `${city.slice(0, 2)}0000`,
    city_code: city,
    unit_level: 'community',
    unit_code: `${city.slice(0, 4)}01001001`,
    indicator_code: 'C01',
  });
  const objectKey = (city: string) => `evidence/cycle=2024/city_code=${city}/${'e'.repeat(64)}`;
  return {
    records: cities.map((city) => ({
      ...item(city),
      recorded_state: 'rectified',
      plan_measure: '新建养老服务站',
      plan_department: '民政局',
      plan_target_date: '2024-12-31',
      evidence_count: 1,
      actions: 2,
      last_action: 'verify',
      last_action_by: `reviewer ${city.slice(0, 2)}`,
      last_action_at: '2024-11-20 02:00:00',
      verified_by: `reviewer ${city.slice(0, 2)}`,
      verified_at: '2024-11-20 02:00:00',
    })),
    actions: cities.flatMap((city) => [
      {
        ...item(city),
        seq: 1,
        action: 'evidence',
        actor: `city ${city}`,
        actor_role: 'city',
        credential_id: `c${city}`,
        acted_at: '2024-11-01 02:00:00',
        state: 'in_progress',
        evidence_sha256: 'e'.repeat(64),
        evidence_bytes: 1024,
        evidence_content_type: 'application/pdf',
        evidence_file_name: `${city}.pdf`,
        evidence_object_key: objectKey(city),
      },
      {
        ...item(city),
        seq: 2,
        action: 'verify',
        actor: `reviewer ${city.slice(0, 2)}`,
        actor_role: `reviewer:province:${city.slice(0, 2)}`,
        credential_id: `p${city.slice(0, 2)}`,
        acted_at: '2024-11-20 02:00:00',
        state: 'rectified',
        note: '现场核实',
      },
    ]),
  };
};

/**
 * A shortfall_ledger row of a community's C01 (a count held to <= 0) with `value` and `status`, missed since
 * 2024 unless resolved; the community is `<city[0..4]>01001001` unless named.
 */
export const ledgerRow = (
  city: string,
  value: number,
  status: 'new' | 'persisting' | 'resolved',
  community = `${city.slice(0, 4)}01001001`,
): Record<string, unknown> => ({
  province_code: `${city.slice(0, 2)}0000`,
  city_code: city,
  district_code: community.slice(0, 6),
  street_code: community.slice(0, 9),
  unit_level: 'community',
  unit_code: community,
  indicator_code: 'C01',
  value,
  standard_operator: '<=',
  standard_value: 0,
  gap: value,
  since_cycle: status === 'resolved' ? null : 2024,
  status,
  submission_id: '00000000-0000-4000-8000-000000000001',
});
