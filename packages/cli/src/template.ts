// `citycheck template --city <code> --cycle <year>`: writes the results workbook (or one level as CSV) a city
// fills in instead of writing JSON, from the cycle's catalogue and the division registry shipped with the CLI.
import { writeFile } from 'node:fs/promises';
import { loadCatalogue, loadCycleSettings, type UnitLevel, unitLevels } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { expectedUnitsOf, sheetLevels, templateCsv, templateWorkbook } from '@citycheck/sheets';

export interface TemplateRequest {
  readonly cityCode: string;
  readonly cycle: number;
  readonly level?: UnitLevel;
  readonly format: 'xlsx' | 'csv';
  /** Defaults to the cycle's catalogue version. */
  readonly catalogueVersion?: string;
  /** Defaults to `<city>-<cycle>[-<level>].<format>` in the working directory. */
  readonly out?: string;
}

/** A request the CLI cannot serve (unknown city, cycle or level); its message is for the person who typed it. */
export class TemplateRefused extends Error {
  override readonly name = 'TemplateRefused';
}

export const isUnitLevel = (value: string): value is UnitLevel =>
  (unitLevels as readonly string[]).includes(value);

/** Writes the template; returns the file written and how many unit rows each level holds. */
export const writeTemplate = async (
  request: TemplateRequest,
): Promise<{ file: string; rows: Partial<Record<UnitLevel, number>> }> => {
  const settings = loadCycleSettings().find((cycle) => cycle.cycle === request.cycle);
  const version = request.catalogueVersion ?? settings?.catalogueVersion;
  if (version === undefined)
    throw new TemplateRefused(
      `no cycle ${request.cycle} is shipped with the CLI: name its catalogue with --catalogue <version>`,
    );
  const catalogue = (() => {
    try {
      return loadCatalogue(version);
    } catch {
      throw new TemplateRefused(`there is no catalogue version ${version}`);
    }
  })();
  const registry = loadDivisionRegistry();
  if (!registry.isReportingUnit(request.cityCode))
    throw new TemplateRefused(
      `${request.cityCode} is no reporting city (a prefecture-level city, a municipality or a county-level city)`,
    );
  const countyLevelCities = new Set(settings?.countyLevelCities ?? []);
  const levels = request.level === undefined ? sheetLevels : [request.level];
  if (request.format === 'csv' && levels.length !== 1)
    throw new TemplateRefused('a CSV holds one level: add --level community|block|housing|district|city');
  const options = {
    catalogue,
    registry,
    cityCode: request.cityCode,
    cycle: request.cycle,
    countyLevelCities,
  };
  const file =
    request.out ??
    `${request.cityCode}-${request.cycle}${request.level === undefined ? '' : `-${request.level}`}.${request.format}`;
  const level = levels[0] as UnitLevel;
  await writeFile(
    file,
    request.format === 'csv'
      ? templateCsv({ ...options, level })
      : await templateWorkbook({ ...options, levels }),
  );
  const rows = Object.fromEntries(
    levels.map((each) => [each, expectedUnitsOf(registry, request.cityCode, each, countyLevelCities).length]),
  );
  return { file, rows };
};
