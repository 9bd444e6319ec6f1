// Reference data in the lake: the indicator catalogue (every version), the division registry, the cycles
// (with the operators' audit trail), the reviews of each city's data (with the reviewers') and the
// rectification of the ledger's items (with the cities' and reviewers' actions), written as Parquet under
// reference/ so the rollups, the query service and any outside client join against the same codes and names.
import { createHash } from 'node:crypto';
import type { Catalogue } from '@citycheck/catalogue';
import type { CycleBook } from '@citycheck/cycles';
import type { DivisionRegistry } from '@citycheck/divisions';
import {
  columnTypes,
  type DuckDBConnection,
  encodeParquet,
  lakeViews,
  type ObjectStore,
  rectificationRecordColumns,
} from '@citycheck/lake';
import type { RectificationBook, RectificationRecord } from '@citycheck/rectification';
import type { ReviewBook } from '@citycheck/reviews';

/** One object of reference/: reference/<name>.parquet, its columns (DuckDB types), their order and the rows. */
interface ReferenceObject {
  readonly name: string;
  readonly columns: Readonly<Record<string, string>>;
  readonly orderBy: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

/** Encodes and writes each object, in order, replacing what the lake held under its name. */
const putReference = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  objects: readonly ReferenceObject[],
): Promise<void> => {
  for (const { name, columns, orderBy, rows } of objects)
    await store.put(
      `reference/${name}.parquet`,
      await encodeParquet(duckdb, rows, columns, orderBy),
      'application/vnd.apache.parquet',
    );
};

export const indicatorColumns = {
  catalogue_version: 'VARCHAR',
  cycle: 'INTEGER',
  code: 'VARCHAR',
  name_zh: 'VARCHAR',
  name_en: 'VARCHAR',
  dimension: 'VARCHAR',
  kind: 'VARCHAR',
  aggregation: 'VARCHAR',
  direction: 'VARCHAR',
  unit_zh: 'VARCHAR',
  unit_en: 'VARCHAR',
  unit_scale: 'DOUBLE',
  range_min: 'DOUBLE',
  range_max: 'DOUBLE',
  standard_operator: 'VARCHAR',
  standard_value: 'DOUBLE',
  unit_levels: 'VARCHAR[]',
  status: 'VARCHAR',
} as const;

export const divisionColumns = {
  code: 'VARCHAR',
  level: 'VARCHAR',
  kind: 'VARCHAR',
  name: 'VARCHAR',
  parent_code: 'VARCHAR',
  street_code: 'VARCHAR',
  district_code: 'VARCHAR',
  city_code: 'VARCHAR',
  province_code: 'VARCHAR',
} as const;

export const indicatorRows = (catalogues: readonly Catalogue[]): Record<string, unknown>[] =>
  catalogues.flatMap((catalogue) =>
    [...catalogue.indicators.values()].map((indicator) => ({
      catalogue_version: catalogue.id,
      cycle: catalogue.cycle,
      code: indicator.code,
      name_zh: indicator.nameZh,
      name_en: indicator.nameEn,
      dimension: indicator.dimension,
      kind: indicator.kind,
      aggregation: indicator.aggregation,
      direction: indicator.direction,
      unit_zh: indicator.unit.zh,
      unit_en: indicator.unit.en,
      unit_scale: indicator.unit.scale ?? 1,
      range_min: indicator.range.min,
      range_max: indicator.range.max,
      standard_operator: indicator.standard?.operator ?? null,
      standard_value: indicator.standard?.value ?? null,
      unit_levels: indicator.unitLevels,
      status: indicator.status,
    })),
  );

/**
 * One row per unit of the registry, province by province. Placeholder groups (省直辖县级行政区划 ...) are no
 * units and have no row; their members (济源市 419001 ...) lie directly under the province, with no city_code.
 * A municipality's city row is named after it (110100 北京市).
 */
export const divisionRows = (divisions: DivisionRegistry): Record<string, unknown>[] => {
  const rows: Record<string, unknown>[] = [];
  const row = (code: string, level: string, extra: { street?: string; district?: string }) => ({
    code,
    level,
    kind: divisions.kind(code) ?? null,
    name: divisions.name(code) ?? null,
    parent_code: divisions.parent(code) ?? null,
    street_code: extra.street ?? null,
    district_code: extra.district ?? null,
    city_code: level === 'province' ? null : (divisions.cityOf(code) ?? null),
    province_code: divisions.provinceOf(code) ?? null,
  });
  const districtAbove = (code: string | undefined): string | undefined => {
    const parent = code === undefined ? undefined : divisions.parent(code);
    return parent !== undefined && divisions.level(parent) === 'district' ? parent : undefined;
  };
  for (const province of divisions.provinces()) {
    rows.push(row(province, 'province', {}));
    for (const city of divisions.cities())
      if (city.startsWith(province.slice(0, 2))) rows.push(row(city, 'city', {}));
    for (const district of divisions.districtsOf(province)) rows.push(row(district, 'district', {}));
    for (const street of divisions.streetsOf(province)) {
      const district = districtAbove(street);
      rows.push(row(street, 'street', district === undefined ? {} : { district }));
    }
    for (const community of divisions.communitiesOf(province)) {
      const street = divisions.parent(community);
      const district = districtAbove(street);
      rows.push(
        row(community, 'community', {
          ...(street === undefined ? {} : { street }),
          ...(district === undefined ? {} : { district }),
        }),
      );
    }
  }
  return rows;
};

/**
 * Writes reference/indicators.parquet and reference/divisions.parquet, unless the lake already holds the
 * reference data of this very catalogue and registry (reference/fingerprint.json says which).
 */
export const writeReference = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  catalogues: readonly Catalogue[],
  divisions: DivisionRegistry,
): Promise<'written' | 'current'> => {
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        indicators: indicatorRows(catalogues),
        source: divisions.source,
        counts: divisions.counts,
        // Bumped when the rows change for the same registry (2: unit kinds, municipalities' own names).
        divisionRows: 2,
      }),
    )
    .digest('hex');
  const stored = await store.get('reference/fingerprint.json');
  if (stored !== undefined && Buffer.from(stored).toString('utf8').includes(fingerprint)) return 'current';
  await putReference(duckdb, store, [
    {
      name: 'indicators',
      columns: indicatorColumns,
      orderBy: ['catalogue_version', 'code'],
      rows: indicatorRows(catalogues),
    },
    { name: 'divisions', columns: divisionColumns, orderBy: ['code'], rows: divisionRows(divisions) },
  ]);
  await store.put('reference/fingerprint.json', JSON.stringify({ fingerprint }), 'application/json');
  return 'written';
};

export const cycleColumns = {
  cycle: 'INTEGER',
  catalogue_version: 'VARCHAR',
  opens_at: 'TIMESTAMP',
  deadline: 'TIMESTAMP',
  closes_at: 'TIMESTAMP',
  expected_cities: 'VARCHAR[]',
  county_level_cities: 'VARCHAR[]',
  source: 'VARCHAR',
  is_current: 'BOOLEAN',
  last_action: 'VARCHAR',
  last_action_by: 'VARCHAR',
  last_action_at: 'TIMESTAMP',
  last_action_reason: 'VARCHAR',
} as const;

export const cycleActionColumns = {
  cycle: 'INTEGER',
  action: 'VARCHAR',
  actor: 'VARCHAR',
  acted_at: 'TIMESTAMP',
  reason: 'VARCHAR',
  closes_at: 'TIMESTAMP',
} as const;

/** An ISO instant as DuckDB reads a UTC TIMESTAMP. */
const utc = (iso: string | null | undefined): string | null =>
  iso === undefined || iso === null ? null : new Date(iso).toISOString().replace('T', ' ').replace('Z', '');

export const cycleRows = (book: CycleBook, now: Date): Record<string, unknown>[] => {
  const current = book.currentCycle(now);
  return book.settings().map((settings) => {
    const last = book.record(settings.cycle)?.actions.at(-1);
    return {
      cycle: settings.cycle,
      catalogue_version: settings.catalogueVersion,
      opens_at: utc(settings.opensAt),
      deadline: utc(settings.deadline),
      closes_at: utc(settings.closesAt),
      expected_cities: settings.expectedCities ?? null,
      county_level_cities: settings.countyLevelCities ?? [],
      source: book.record(settings.cycle) === undefined ? 'file' : 'operator',
      is_current: settings.cycle === current,
      last_action: last?.action ?? null,
      last_action_by: last?.by ?? null,
      last_action_at: utc(last?.at),
      last_action_reason: last?.reason ?? null,
    };
  });
};

export const cycleActionRows = (book: CycleBook): Record<string, unknown>[] => [
  ...book.settings().flatMap((settings) =>
    (book.record(settings.cycle)?.actions ?? []).map((action) => ({
      cycle: settings.cycle,
      action: action.action,
      actor: action.by,
      acted_at: utc(action.at),
      reason: action.reason ?? null,
      closes_at: utc(action.closesAt),
    })),
  ),
  ...(book.designated?.actions ?? []).map((action) => ({
    cycle: action.cycle,
    action: action.action,
    actor: action.by,
    acted_at: utc(action.at),
    reason: action.reason ?? null,
    closes_at: null,
  })),
];

/**
 * Writes reference/cycles.parquet and reference/cycle_actions.parquet from the cycle book, for analysts:
 * the cycles in force, the current one, and the audit trail of operators' actions.
 */
export const writeCycleReference = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  book: CycleBook,
  now: Date = new Date(),
): Promise<void> =>
  putReference(duckdb, store, [
    { name: 'cycles', columns: cycleColumns, orderBy: ['cycle'], rows: cycleRows(book, now) },
    {
      name: 'cycle_actions',
      columns: cycleActionColumns,
      orderBy: ['acted_at', 'cycle', 'action'],
      rows: cycleActionRows(book),
    },
  ]);

export const reviewColumns = {
  cycle: 'INTEGER',
  province_code: 'VARCHAR',
  city_code: 'VARCHAR',
  state: 'VARCHAR',
  locked: 'BOOLEAN',
  actions: 'INTEGER',
  last_action: 'VARCHAR',
  last_action_by: 'VARCHAR',
  last_action_role: 'VARCHAR',
  last_action_at: 'TIMESTAMP',
  accepted_at: 'TIMESTAMP',
} as const;

export const reviewActionColumns = {
  cycle: 'INTEGER',
  province_code: 'VARCHAR',
  city_code: 'VARCHAR',
  seq: 'INTEGER',
  action: 'VARCHAR',
  actor: 'VARCHAR',
  actor_role: 'VARCHAR',
  credential_id: 'VARCHAR',
  acted_at: 'TIMESTAMP',
  state: 'VARCHAR',
  reason: 'VARCHAR',
  comments: 'STRUCT(text VARCHAR, unit VARCHAR, indicator VARCHAR)[]',
} as const;

/** A city's province, as the lake writes it: the first two digits and four zeros (640100 -> 640000). */
const provinceCodeOf = (cityCode: string): string => `${cityCode.slice(0, 2)}0000`;

export const reviewRows = (book: ReviewBook): Record<string, unknown>[] =>
  book.all().map((review) => {
    const last = review.actions.at(-1);
    return {
      cycle: review.cycle,
      province_code: provinceCodeOf(review.cityCode),
      city_code: review.cityCode,
      state: review.state,
      locked: review.state === 'accepted',
      actions: review.actions.length,
      last_action: last?.action ?? null,
      last_action_by: last?.by ?? null,
      last_action_role: last?.role ?? null,
      last_action_at: utc(last?.at),
      accepted_at: utc(review.actions.findLast((entry) => entry.action === 'accept')?.at),
    };
  });

/** The columns every audit trail's row starts with: its place, what was done, by whom, when, to what state. */
const trailEntry = (
  entry: { action: string; by: string; role: string; credentialId: string; at: string; state: string },
  index: number,
) => ({
  seq: index + 1,
  action: entry.action,
  actor: entry.by,
  actor_role: entry.role,
  credential_id: entry.credentialId,
  acted_at: utc(entry.at),
  state: entry.state,
});

export const reviewActionRows = (book: ReviewBook): Record<string, unknown>[] =>
  book.all().flatMap((review) =>
    review.actions.map((entry, index) => ({
      cycle: review.cycle,
      province_code: provinceCodeOf(review.cityCode),
      city_code: review.cityCode,
      ...trailEntry(entry, index),
      reason: entry.reason ?? null,
      comments: (entry.comments ?? []).map((comment) => ({
        text: comment.text,
        unit: comment.unit ?? null,
        indicator: comment.indicator ?? null,
      })),
    })),
  );

/**
 * Writes reference/reviews.parquet and reference/review_actions.parquet from the review book, for analysts:
 * each city's review as it stands and the reviewers' audit trail. Nothing while no review exists (the views
 * are then empty).
 */
export const writeReviewReference = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  book: ReviewBook,
): Promise<void> => {
  if (book.all().length === 0) return;
  await putReference(duckdb, store, [
    { name: 'reviews', columns: reviewColumns, orderBy: ['cycle', 'city_code'], rows: reviewRows(book) },
    {
      name: 'review_actions',
      columns: reviewActionColumns,
      orderBy: ['cycle', 'city_code', 'seq'],
      rows: reviewActionRows(book),
    },
  ]);
};

/** reference/rectification.parquet and reference/rectification_actions.parquet, as the lake's model declares them. */
export const rectificationColumns = columnTypes(rectificationRecordColumns);
export const rectificationActionColumns = columnTypes(
  lakeViews.find((view) => view.name === 'rectification_actions')?.columns ?? [],
);

/** The ledger item a record is about, as both objects key it. */
const itemOf = (record: RectificationRecord) => ({
  cycle: record.cycle,
  province_code: `${record.provinceCode}0000`,
  city_code: record.cityCode,
  unit_level: record.unitLevel,
  unit_code: record.unitCode,
  indicator_code: record.indicatorCode,
});

export const rectificationRows = (book: RectificationBook): Record<string, unknown>[] =>
  book.all().map((record) => {
    const last = record.actions.at(-1);
    // The verification the recorded state rests on: a return after it leaves none.
    const verified =
      record.state === 'rectified'
        ? record.actions.findLast((entry) => entry.action === 'verify')
        : undefined;
    return {
      ...itemOf(record),
      recorded_state: record.state,
      plan_measure: record.plan?.measure ?? null,
      plan_department: record.plan?.department ?? null,
      plan_target_date: record.plan?.targetDate ?? null,
      evidence_count: record.evidence.length,
      actions: record.actions.length,
      last_action: last?.action ?? null,
      last_action_by: last?.by ?? null,
      last_action_at: utc(last?.at),
      verified_by: verified?.by ?? null,
      verified_at: utc(verified?.at),
    };
  });

export const rectificationActionRows = (book: RectificationBook): Record<string, unknown>[] =>
  book.all().flatMap((record) =>
    record.actions.map((entry, index) => ({
      ...itemOf(record),
      ...trailEntry(entry, index),
      note: entry.note ?? null,
      plan_measure: entry.plan?.measure ?? null,
      plan_department: entry.plan?.department ?? null,
      plan_target_date: entry.plan?.targetDate ?? null,
      evidence_sha256: entry.evidence?.sha256 ?? null,
      evidence_bytes: entry.evidence?.bytes ?? null,
      evidence_content_type: entry.evidence?.contentType ?? null,
      evidence_file_name: entry.evidence?.fileName ?? null,
      evidence_object_key: entry.evidence?.objectKey ?? null,
    })),
  );

/**
 * Writes reference/rectification.parquet and reference/rectification_actions.parquet from the rectification
 * book, for the rectification views: each ledger item's record as it stands and the whole trail. Nothing
 * while no record exists (every item is then identified).
 */
export const writeRectificationReference = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  book: RectificationBook,
): Promise<void> => {
  if (book.all().length === 0) return;
  const order = ['cycle', 'city_code', 'unit_level', 'unit_code', 'indicator_code'];
  await putReference(duckdb, store, [
    { name: 'rectification', columns: rectificationColumns, orderBy: order, rows: rectificationRows(book) },
    {
      name: 'rectification_actions',
      columns: rectificationActionColumns,
      orderBy: [...order, 'seq'],
      rows: rectificationActionRows(book),
    },
  ]);
};
