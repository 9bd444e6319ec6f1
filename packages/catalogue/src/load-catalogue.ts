// Reads catalogue versions from schemas/catalogue/ once per process and serves them as lookups that
// services (validate, aggregate, ledger) use to interpret every observation.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkCatalogue } from './check-catalogue.js';
import type { CatalogueChange, CatalogueFile, Indicator, LocalizedText, UnitLevel } from './types.js';
import { compareCatalogueVersions, isCatalogueVersion } from './versions.js';

/** One catalogue version, ready for lookups. */
export interface Catalogue {
  /** Version id, e.g. 2024.1; what a submission names as catalogueVersion. */
  readonly id: string;
  readonly cycle: number;
  readonly title: LocalizedText;
  readonly supersedes?: string;
  readonly changes: readonly CatalogueChange[];
  /** Every indicator of the version by code, active and retired, in catalogue order. */
  readonly indicators: ReadonlyMap<string, Indicator>;
  /** The indicator with this code, retired ones included; undefined for a code this version never had. */
  indicator(code: string): Indicator | undefined;
  /** The active indicators reported on units of this level, in catalogue order. */
  indicatorsFor(level: UnitLevel): readonly Indicator[];
}

/** A catalogue that is missing, unreadable or breaks a cross-field rule: a deployment fault, not bad input. */
export class CatalogueError extends Error {
  override readonly name = 'CatalogueError';
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = [], options?: ErrorOptions) {
    super(problems.length === 0 ? message : `${message}:\n${problems.join('\n')}`, options);
    this.problems = problems;
  }
}

export interface CatalogueSource {
  /**
   * Directory holding `<version>.json` files. Defaults to the repository's schemas/catalogue/, found from this
   * file (src/ or dist/ alike); a deployment that ships the package without the repository passes its own.
   */
  readonly directory?: string | URL;
}

const defaultDirectory = new URL('../../../schemas/catalogue/', import.meta.url);

const directoryPath = (directory: string | URL): string =>
  typeof directory === 'string' ? directory : fileURLToPath(directory);

const cache = new Map<string, Catalogue>();

const fromFile = (file: CatalogueFile): Catalogue => {
  const indicators = new Map(file.indicators.map((indicator) => [indicator.code, indicator] as const));
  const byLevel = new Map<UnitLevel, Indicator[]>();
  for (const indicator of file.indicators) {
    if (indicator.status !== 'active') continue;
    for (const level of indicator.unitLevels) {
      const list = byLevel.get(level) ?? [];
      list.push(indicator);
      byLevel.set(level, list);
    }
  }
  return {
    id: file.id,
    cycle: file.cycle,
    title: file.title,
    ...(file.supersedes === undefined ? {} : { supersedes: file.supersedes }),
    changes: file.changes,
    indicators,
    indicator: (code) => indicators.get(code),
    indicatorsFor: (level) => byLevel.get(level) ?? [],
  };
};

/**
 * The catalogue of a version, e.g. `loadCatalogue('2024.1')`, read and checked on first use and cached for
 * the life of the process (versions never change once published). Throws CatalogueError for an unknown
 * version or a file that breaks a cross-field rule.
 */
export const loadCatalogue = (version: string, source: CatalogueSource = {}): Catalogue => {
  const directory = directoryPath(source.directory ?? defaultDirectory);
  const key = `${directory}\u0000${version}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;

  // The pattern also keeps the version from naming a path outside the directory.
  if (!isCatalogueVersion(version))
    throw new CatalogueError(`"${version}" is not a catalogue version (e.g. 2024.1)`);
  let text: string;
  try {
    text = readFileSync(join(directory, `${version}.json`), 'utf8');
  } catch (error) {
    const known = listCatalogueVersions(source);
    throw new CatalogueError(
      `catalogue version ${version} is not available (known: ${known.join(', ') || 'none'})`,
      [],
      { cause: error },
    );
  }
  const file = JSON.parse(text) as CatalogueFile;
  if (file.id !== version) throw new CatalogueError(`${version}.json declares id ${String(file.id)}`);
  const problems = checkCatalogue(file);
  if (problems.length > 0) throw new CatalogueError(`catalogue ${version} is inconsistent`, problems);

  const catalogue = fromFile(file);
  cache.set(key, catalogue);
  return catalogue;
};

/** The catalogue versions available, oldest first (2024.1, 2025.1, ...). */
export const listCatalogueVersions = (source: CatalogueSource = {}): string[] => {
  const directory = directoryPath(source.directory ?? defaultDirectory);
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    throw new CatalogueError(`cannot read the catalogue directory ${directory}`, [], { cause: error });
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.slice(0, -'.json'.length))
    .filter(isCatalogueVersion)
    .sort(compareCatalogueVersions);
};
