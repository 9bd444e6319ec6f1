// Test fixture (not shipped: excluded from the build): a small lake written straight to a test bucket the way
// the aggregate service writes it (Parquet objects under observations/ with committed manifest entries, one
// rollups object per cycle), with the rows kept in memory so tests can work out expected answers themselves.
import {
  createCommitLog,
  type DuckDBConnection,
  datasets,
  encodeParquet,
  lakeViews,
  type ObjectStore,
  observationColumns,
  observationObjectKey,
  rollupObjectKey,
} from '@citycheck/lake';

export interface ObservationRow {
  cycle: number;
  province_code: string;
  city_code: string;
  catalogue_version: string;
  district_code: string | null;
  street_code: string | null;
  unit_level: string;
  unit_code: string;
  indicator_code: string;
  value: number;
  numerator: number | null;
  denominator: number | null;
  quantity: number | null;
  population: number | null;
  weight: number | null;
  meets: boolean | null;
  submission_id: string;
  content_hash: string;
  submitted_at: string;
  received_at: string;
  validated_at: string;
  source_topic: string;
  source_partition: number;
  source_offset: number;
}

export interface RollupRow {
  cycle: number;
  catalogue_version: string;
  indicator_code: string;
  aggregation: string;
  level: string;
  area_code: string;
  province_code: string | null;
  units_reported: number;
  units_expected: number | null;
  previous_value: number | null;
  change: number | null;
  value: number;
  numerator_sum: number | null;
  denominator_sum: number | null;
  quantity_sum: number | null;
  population_sum: number | null;
  units_meeting: number;
}

export interface TestLake {
  readonly observations: readonly ObservationRow[];
  readonly rollups: readonly RollupRow[];
}

/** Cities by province: Guangdong (44) has two, Beijing (11) and Jiangsu (32) one each. */
export const testCities = { '44': ['440100', '440300'], '11': ['110100'], '32': ['320100'] } as const;

/**
 * Writes `unitsPerCity` communities per city, each reporting C01 (a count) and B02 (a rate), plus one later
 * correction per city (the same unit and indicator again), then rollups of C01 by city, province and nation.
 */
export const writeTestLake = async (
  store: ObjectStore,
  duckdb: DuckDBConnection,
  {
    unitsPerCity = 10,
    cycle = 2024,
    firstOffset = 0,
  }: { unitsPerCity?: number; cycle?: number; firstOffset?: number } = {},
): Promise<TestLake> => {
  const commitLog = createCommitLog(store, datasets.observations);
  const observations: ObservationRow[] = [];
  // A second lake written into the same store starts past the first one's offsets, so its batches are new.
  let offset = firstOffset;
  let partition = 0;
  for (const [province, cities] of Object.entries(testCities)) {
    for (const city of cities) {
      const rows: ObservationRow[] = [];
      const startOffset = offset;
      const row = (unit: number, indicator: 'C01' | 'B02', value: number, minute: number): ObservationRow => {
        const street = `${city.slice(0, 4)}01001`;
        const received = new Date(Date.UTC(cycle, 10, 20, 9, minute, unit % 60, 123 + unit)).toISOString();
        return {
          cycle,
          province_code: `${province}0000`,
          city_code: city,
          catalogue_version: `${cycle}.1`,
          district_code: `${city.slice(0, 4)}01`,
          street_code: street,
          unit_level: 'community',
          unit_code: `${street}${String(unit).padStart(3, '0')}`,
          indicator_code: indicator,
          value,
          numerator: indicator === 'B02' ? value * 10 : null,
          denominator: indicator === 'B02' ? 10 : null,
          quantity: null,
          population: null,
          weight: null,
          meets: indicator === 'B02' ? value >= 0.5 : null,
          submission_id: `00000000-0000-4000-8000-${String(offset).padStart(12, '0')}`,
          content_hash: 'a'.repeat(64),
          submitted_at: received,
          received_at: received,
          validated_at: received,
          source_topic: 'submissions.validated.v1',
          source_partition: partition,
          source_offset: offset++,
        };
      };
      for (let unit = 1; unit <= unitsPerCity; unit += 1) {
        rows.push(row(unit, 'C01', (unit % 4) + 1, 1));
        rows.push(row(unit, 'B02', (unit % 10) / 10, 1));
      }
      // A correction: unit 1's C01 again, later, with another value. It supersedes the first in *_current.
      rows.push(row(1, 'C01', 40, 30));
      const key = observationObjectKey({
        cycle,
        provinceCode: `${province}0000`,
        cityCode: city,
        topic: 'submissions.validated.v1',
        partition,
        startOffset: String(startOffset),
      });
      const bytes = await encodeParquet(
        duckdb,
        rows.map(({ cycle: _c, province_code: _p, city_code: _y, ...stored }) => stored),
        observationColumns,
        ['indicator_code', 'unit_code'],
      );
      const entry = {
        dataset: datasets.observations,
        topic: 'submissions.validated.v1',
        partition,
        startOffset: String(startOffset),
        endOffset: String(offset - 1),
        objects: [{ key, rows: rows.length, bytes: bytes.byteLength }],
        records: rows.length,
      };
      await commitLog.begin(entry);
      await store.put(key, bytes, 'application/vnd.apache.parquet');
      await commitLog.commit(entry);
      observations.push(...rows);
      partition += 1;
    }
  }

  const current = currentObservations(observations).filter((row) => row.indicator_code === 'C01');
  const rollups: RollupRow[] = [];
  const add = (level: string, area: string, rows: readonly ObservationRow[]): void => {
    rollups.push({
      cycle,
      catalogue_version: `${cycle}.1`,
      indicator_code: 'C01',
      aggregation: 'sum',
      level,
      area_code: area,
      province_code: level === 'nation' ? null : `${area.slice(0, 2)}0000`,
      units_reported: rows.length,
      units_expected: null,
      previous_value: null,
      change: null,
      value: rows.reduce((total, item) => total + item.value, 0),
      numerator_sum: null,
      denominator_sum: null,
      quantity_sum: null,
      population_sum: null,
      units_meeting: 0,
    });
  };
  for (const [province, cities] of Object.entries(testCities)) {
    for (const city of cities)
      add(
        'city',
        city,
        current.filter((item) => item.city_code === city),
      );
    add(
      'province',
      `${province}0000`,
      current.filter((item) => item.province_code === `${province}0000`),
    );
  }
  add('nation', '000000', current);
  // Every column of the documented rollups view but the cycle, which lives in the object's path.
  const rollupColumns = Object.fromEntries(
    (lakeViews.find((view) => view.name === 'rollups')?.columns ?? [])
      .filter((column) => column.name !== 'cycle')
      .map((column) => [column.name, column.type]),
  );
  const rollupBytes = await encodeParquet(
    duckdb,
    rollups.map(({ cycle: _c, ...stored }) => stored),
    rollupColumns,
    ['indicator_code', 'level', 'area_code'],
  );
  await store.put(rollupObjectKey(cycle, 'indicator_rollups'), rollupBytes, 'application/vnd.apache.parquet');
  return { observations, rollups };
};

/** The latest observation per cycle, unit and indicator: worked out here, independently of the views. */
export const currentObservations = (rows: readonly ObservationRow[]): ObservationRow[] => {
  const latest = new Map<string, ObservationRow>();
  for (const row of rows) {
    const key = `${row.cycle}|${row.unit_level}|${row.unit_code}|${row.indicator_code}`;
    const seen = latest.get(key);
    if (seen === undefined || row.received_at > seen.received_at) latest.set(key, row);
  }
  return [...latest.values()];
};
