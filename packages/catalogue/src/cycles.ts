// Cycle settings (schemas/cycles/<cycle>.json): when each cycle opens, its reporting deadline and the cities
// expected to report. Validation accepts submissions for open cycles; completeness and timeliness are
// measured against the deadline and the expected cities.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const defaultDirectory = fileURLToPath(new URL('../../../schemas/cycles/', import.meta.url));

export interface CycleSettings {
  readonly cycle: number;
  readonly catalogueVersion: string;
  /** ISO timestamps (UTC) of the opening and of the reporting deadline. */
  readonly opensAt: string;
  readonly deadline: string;
  /** ISO timestamp (UTC) after which submissions are refused; absent: the cycle never closes. */
  readonly closesAt?: string;
  /**
   * City codes expected to report; undefined means the registry's reporting cities (the prefecture-level
   * cities and municipalities) plus `countyLevelCities`.
   */
  readonly expectedCities?: readonly string[];
  /**
   * The county-level cities (640181 ...) the cycle examines, each a reporting city of its own directly under
   * its province, whose units belong to it and not to the prefecture that holds it; undefined or empty: none.
   */
  readonly countyLevelCities?: readonly string[];
}

interface CycleFile {
  readonly cycle: number;
  readonly catalogueVersion: string;
  readonly opensAt: string;
  readonly deadline: string;
  readonly closesAt?: string;
  readonly expectedCities: 'all' | readonly string[];
  readonly countyLevelCities?: readonly string[];
}

export const loadCycleSettings = (directory = defaultDirectory): CycleSettings[] =>
  readdirSync(directory)
    .filter((name) => /^\d{4}\.json$/.test(name))
    .sort()
    .map((name) => {
      const file = JSON.parse(readFileSync(join(directory, name), 'utf8')) as CycleFile;
      return {
        cycle: file.cycle,
        catalogueVersion: file.catalogueVersion,
        opensAt: new Date(file.opensAt).toISOString(),
        deadline: new Date(file.deadline).toISOString(),
        ...(file.closesAt === undefined ? {} : { closesAt: new Date(file.closesAt).toISOString() }),
        ...(file.expectedCities === 'all' ? {} : { expectedCities: file.expectedCities }),
        ...(file.countyLevelCities === undefined ? {} : { countyLevelCities: file.countyLevelCities }),
      };
    });

/** The county-level cities a cycle names as reporting cities (none for an unknown cycle). */
export const countyLevelCitiesOf = (settings: readonly CycleSettings[], cycle: number): ReadonlySet<string> =>
  new Set(settings.find((setting) => setting.cycle === cycle)?.countyLevelCities ?? []);

/** Cycles open for submissions at `now`: opened, and open for late submissions after the deadline too. */
export const openCycles = (settings: readonly CycleSettings[], now: Date): Set<number> =>
  new Set(
    settings
      .filter((setting) => Date.parse(setting.opensAt) <= now.getTime())
      .map((setting) => setting.cycle),
  );
