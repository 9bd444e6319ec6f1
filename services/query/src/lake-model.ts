// What analysts may name in a query, and how each name is scoped to a provincial analyst or a city: the
// documented views of packages/lake and the table macros `defineLakeViews` creates beside them, each kept to
// the caller's rows by the conditions below (see scope-database.ts and query-engine.ts).
import { lakeViews, type ViewDoc } from '@citycheck/lake';

export type { ViewDoc } from '@citycheck/lake';

export interface MacroDoc {
  readonly name: string;
  readonly doc: string;
  /** Keeps a province's rows of the macro's result; `code` is the two-digit province code. */
  readonly provinceCondition: (code: string) => string;
  /** Keeps a city's rows of the macro's result; `code` is the six-digit city code. */
  readonly cityCondition: (code: string) => string;
}

/** The table macros of the model. Their parameters are read from DuckDB when the views are defined. */
export const lakeMacros: readonly MacroDoc[] = [
  {
    name: 'observations_as_of',
    doc: "observations_current as it was at a moment: SELECT * FROM observations_as_of(TIMESTAMP '2024-11-30 00:00:00')",
    provinceCondition: (code) => `province_code = '${code}0000'`,
    cityCondition: (code) => `city_code = '${code}'`,
  },
  {
    name: 'rollup_lineage',
    doc:
      'The current observations (with their submissions and lake objects) a rollup row was computed from: ' +
      "SELECT * FROM rollup_lineage(2024, 'C01', 'city', '440100')",
    // Every unit code (community, street-based block or building id, district, city) starts with its province.
    provinceCondition: (code) => `left(unit_code, 2) = '${code}'`,
    cityCondition: (code) => `city_code = '${code}'`,
  },
  {
    name: 'reviews_as_of',
    doc:
      "Each city's review as it stood at a moment, from review_actions (the reviews view's columns): " +
      "SELECT * FROM reviews_as_of(TIMESTAMP '2026-01-15 00:00:00')",
    provinceCondition: (code) => `province_code = '${code}0000'`,
    cityCondition: (code) => `city_code = '${code}'`,
  },
];

export const documentedViews: readonly ViewDoc[] = lakeViews;

const provincePattern = /^[1-9][0-9]$/;

export const checkProvinceCode = (code: string): string => {
  if (!provincePattern.test(code)) throw new Error(`${code} is not a two-digit province code`);
  return code;
};

/**
 * The WHERE condition that keeps a province's rows of `view`, or undefined for a view every analyst reads
 * whole (the indicator catalogue). `provinceCode` is the two-digit code of a credential's role, checked here
 * so that nothing else reaches the SQL.
 */
export const provinceCondition = (view: ViewDoc, provinceCode: string): string | undefined => {
  const code = checkProvinceCode(provinceCode);
  return view.provinceColumn === undefined ? undefined : `"${view.provinceColumn}" = '${code}0000'`;
};

/** A caller who sees part of the lake: a provincial analyst, or a city (its own results). */
export type RestrictedScope =
  | { readonly kind: 'province'; readonly provinceCode: string }
  | { readonly kind: 'city'; readonly cityCode: string };

const cityPattern = /^[1-9][0-9]{3}[0-9]{2}$/;

export const checkCityCode = (code: string): string => {
  if (!cityPattern.test(code) || code.endsWith('0000'))
    throw new Error(`${code} is not a six-digit city code`);
  return code;
};

/** A name for a restricted scope's database and its log lines: `44` or `city-640100`. */
export const scopeKey = (scope: RestrictedScope): string =>
  scope.kind === 'province' ? checkProvinceCode(scope.provinceCode) : `city-${checkCityCode(scope.cityCode)}`;

/** Views whose rows are a unit's (observations, ledger, flags): a city keeps those with its city_code. */
const unitViews = new Set(['observations', 'observations_current', 'shortfall_ledger', 'quality_flags']);
/** Views whose rows are a city's review: a city keeps its own. */
const cityViews = new Set(['reviews', 'review_actions']);
/** Views whose rows are a ledger item's rectification, of the city that found the shortfall: a city keeps its own. */
const rectificationViews = new Set(['rectification', 'rectification_actions']);

/**
 * Views defined over other views that a province's or a city's database copies, computed over the whole lake
 * and then scoped, instead of defining them again over its copies: an item's next cycle may have come
 * through another city (a county-level city reporting on its own from 2025 takes its units out of the
 * prefecture), and the rates' nation row must not be made again from one province's items.
 */
export const computedWholeViews: ReadonlySet<string> = new Set(['rectification', 'rectification_rates']);

/**
 * The WHERE condition that keeps a city's rows of `view`, or undefined for a view every caller reads whole.
 * A unit's rows carry the city it reports through in that cycle (a named county-level city is its own city,
 * see README "Who is a city"), so the areas of a city's rollups are those of its observations: its own city
 * row, and the district and street rows its units were rolled up into, cycle by cycle. Province and nation
 * rows are left out, since they add up other cities. `observations` names the full observations view.
 */
export const cityCondition = (view: ViewDoc, cityCode: string, observations: string): string | undefined => {
  const code = checkCityCode(cityCode);
  if (unitViews.has(view.name) || cityViews.has(view.name) || rectificationViews.has(view.name))
    return `city_code = '${code}'`;
  switch (view.name) {
    case 'rollups':
    case 'rollups_accepted': {
      const areas = (column: string) =>
        `SELECT DISTINCT cycle, ${column} FROM ${observations} WHERE city_code = '${code}' AND ${column} IS NOT NULL`;
      return (
        `(level = 'city' AND area_code = '${code}') OR ` +
        `(level = 'district' AND (cycle, area_code) IN (${areas('district_code')})) OR ` +
        `(level = 'street' AND (cycle, area_code) IN (${areas('street_code')}))`
      );
    }
    case 'completeness':
    case 'rectification_rates':
      return `level = 'city' AND area_code = '${code}'`;
    case 'divisions':
      // The registry's units of the city, and a county-level city's own (its registry city is the prefecture).
      return `city_code = '${code}' OR code = '${code}' OR district_code = '${code}'`;
    default:
      return undefined;
  }
};

/** The condition that keeps `scope`'s rows of `view` (see provinceCondition and cityCondition). */
export const scopeCondition = (
  view: ViewDoc,
  scope: RestrictedScope,
  observations: string,
): string | undefined =>
  scope.kind === 'province'
    ? provinceCondition(view, scope.provinceCode)
    : cityCondition(view, scope.cityCode, observations);

/** The condition that keeps `scope`'s rows of a table macro's result. */
export const macroScopeCondition = (macro: MacroDoc, scope: RestrictedScope): string =>
  scope.kind === 'province'
    ? macro.provinceCondition(checkProvinceCode(scope.provinceCode))
    : macro.cityCondition(checkCityCode(scope.cityCode));
