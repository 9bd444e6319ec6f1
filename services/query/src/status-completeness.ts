// Source of the status page's reporting: the current cycle's cities and communities per province, from the
// lake's completeness view when it holds the cycle, otherwise reporters counted in current observations.
import type { ProvinceCompleteness } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import type { QueryEngine } from './query-engine.js';

export type { ProvinceCompleteness };

/** The 31 provinces by their two-digit code, as the lake's area codes start. */
const provinces: readonly { readonly code: string; readonly name: string }[] = (() => {
  const registry = loadDivisionRegistry();
  return registry.provinces().map((code) => ({ code: code.slice(0, 2), name: registry.name(code) ?? code }));
})();

export interface CompletenessReport {
  readonly cycle: number | null;
  /** Where the figures come from: the lake's completeness view when it exists, else current observations. */
  readonly source: 'completeness' | 'observations_current';
  readonly provinces: readonly ProvinceCompleteness[];
}

const numberOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

/**
 * The current cycle's reporting per province, every province listed: from the lake's completeness view
 * (expected, reported, on time) when it holds the cycle, otherwise reporters counted in current observations.
 */
export const completenessByProvince = async (
  engine: QueryEngine,
  current: number | undefined,
): Promise<CompletenessReport> => {
  // No current cycle (none opened yet): nothing to show, and `NULL` matches no row.
  const cycle = current === undefined ? 'NULL' : String(Math.trunc(current));
  const fromView = await engine
    .internalRows(
      { kind: 'ministry' },
      ['completeness'],
      `SELECT cycle, left(area_code, 2) AS province, cities_reported, cities_expected, communities_reported,
            communities_expected, reporting_rate, reporting_rate_on_time
     FROM completeness
     WHERE level = 'province' AND cycle = ${cycle}`,
    )
    .catch(() => []);
  if (fromView.length > 0)
    return report(current, 'completeness', fromView, (row) => ({
      citiesReporting: Number(row?.cities_reported ?? 0),
      citiesExpected: numberOrNull(row?.cities_expected),
      unitsReporting: Number(row?.communities_reported ?? 0),
      unitsExpected: numberOrNull(row?.communities_expected),
      reportingRate: numberOrNull(row?.reporting_rate),
      reportingRateOnTime: numberOrNull(row?.reporting_rate_on_time),
    }));
  const rows = await engine.internalRows(
    { kind: 'ministry' },
    ['observations_current'],
    `SELECT left(province_code, 2) AS province,
            count(DISTINCT city_code) AS cities, count(DISTINCT unit_level || ':' || unit_code) AS units
     FROM observations_current WHERE cycle = ${cycle}
     GROUP BY ALL`,
  );
  return report(current, 'observations_current', rows, (row) => ({
    citiesReporting: Number(row?.cities ?? 0),
    citiesExpected: null,
    unitsReporting: Number(row?.units ?? 0),
    unitsExpected: null,
    reportingRate: null,
    reportingRateOnTime: null,
  }));
};

type ProvinceRow = Readonly<Record<string, unknown>>;

/** Every province listed, with the figures of its row (keyed by `province`; none when it has no row). */
const report = (
  current: number | undefined,
  source: CompletenessReport['source'],
  rows: readonly ProvinceRow[],
  figures: (row: ProvinceRow | undefined) => Omit<ProvinceCompleteness, 'code' | 'name'>,
): CompletenessReport => {
  const byProvince = new Map(rows.map((row) => [String(row.province), row]));
  return {
    cycle: current ?? null,
    source,
    provinces: provinces.map(({ code, name }) => ({ code, name, ...figures(byProvince.get(code)) })),
  };
};
