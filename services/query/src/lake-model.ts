// What analysts may name in a query, and how each name is scoped to a provincial analyst: the documented
// views of packages/lake (`lakeViews`, with the column that holds the province) and the table macros
// `defineLakeViews` creates beside them. The query service re-creates each, per query, as a view or macro
// filtered to the caller's province over the full one (see query-engine.ts).
import { lakeViews, type ViewDoc } from '@citycheck/lake';

export type { ViewDoc } from '@citycheck/lake';

export interface MacroDoc {
  readonly name: string;
  readonly doc: string;
  /** Keeps a province's rows of the macro's result; `code` is the two-digit province code. */
  readonly provinceCondition: (code: string) => string;
}

/** The table macros of the model. Their parameters are read from DuckDB when the views are defined. */
export const lakeMacros: readonly MacroDoc[] = [
  {
    name: 'observations_as_of',
    doc: "observations_current as it was at a moment: SELECT * FROM observations_as_of(TIMESTAMP '2024-11-30 00:00:00')",
    provinceCondition: (code) => `province_code = '${code}0000'`,
  },
  {
    name: 'rollup_lineage',
    doc:
      'The current observations (with their submissions and lake objects) a rollup row was computed from: ' +
      "SELECT * FROM rollup_lineage(2024, 'C01', 'city', '440100')",
    // Every unit code (community, street-based block or building id, district, city) starts with its province.
    provinceCondition: (code) => `left(unit_code, 2) = '${code}'`,
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
