// A generated cycle on disk: one NDJSON file per city (`<out>/<cityCode>.ndjson`, one submission a line,
// in the order the city sends them) and `<out>/cycle.json`, the manifest that counts everything and lists
// the deliberately bad submissions and the corrections. The bytes depend on the options alone.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UnitLevel } from '@citycheck/catalogue';
import {
  type Correction,
  type DeliberateError,
  type NationalCycleOptions,
  nationalCycle,
} from './national.js';

export interface CityFile {
  readonly cityCode: string;
  readonly provinceCode: string;
  /** File name relative to the cycle's directory. */
  readonly file: string;
  readonly submissions: number;
  readonly observations: number;
  readonly bytes: number;
  readonly units: Readonly<Record<UnitLevel, number>>;
}

export interface CycleTotals {
  readonly cities: number;
  readonly submissions: number;
  readonly observations: number;
  readonly bytes: number;
  readonly units: Readonly<Record<UnitLevel, number>>;
  readonly deliberateErrors: number;
  readonly corrections: number;
}

export interface CycleManifest {
  readonly format: 1;
  readonly seed: number;
  readonly cycle: number;
  readonly catalogueVersion: string;
  readonly options: {
    readonly communitiesPerCity: number | null;
    readonly blocksPerStreet: number;
    readonly housingPerStreet: number;
  };
  readonly totals: CycleTotals;
  readonly cities: readonly CityFile[];
  readonly deliberateErrors: readonly DeliberateError[];
  readonly corrections: readonly Correction[];
}

export const manifestFileName = 'cycle.json';

export interface WriteCycleOptions extends NationalCycleOptions {
  /** Directory to write into; created when missing. Existing city files are overwritten. */
  readonly out: string;
}

/** Generates the cycle and writes it city by city; returns the manifest (also written as cycle.json). */
export const writeNationalCycle = (options: WriteCycleOptions): CycleManifest => {
  const { out, catalogue } = options;
  mkdirSync(out, { recursive: true });
  const cities: CityFile[] = [];
  const deliberateErrors: DeliberateError[] = [];
  const corrections: Correction[] = [];
  const units: Record<UnitLevel, number> = { housing: 0, community: 0, block: 0, district: 0, city: 0 };
  let submissions = 0;
  let observations = 0;
  let bytes = 0;
  // A submissionId sent twice with other content is refused as a conflict: the cycle must never hold one.
  const ids = new Set<string>();
  for (const city of nationalCycle(options)) {
    for (const { submissionId } of city.submissions) {
      if (ids.has(submissionId)) throw new Error(`the generator drew submission id ${submissionId} twice`);
      ids.add(submissionId);
    }
    const text = city.submissions.map((submission) => `${JSON.stringify(submission)}\n`).join('');
    const file = `${city.cityCode}.ndjson`;
    writeFileSync(join(out, file), text);
    const size = Buffer.byteLength(text);
    const cityObservations = city.submissions.reduce(
      (sum, submission) => sum + submission.observations.length,
      0,
    );
    cities.push({
      cityCode: city.cityCode,
      provinceCode: city.provinceCode,
      file,
      submissions: city.submissions.length,
      observations: cityObservations,
      bytes: size,
      units: city.units,
    });
    for (const level of Object.keys(units) as UnitLevel[]) units[level] += city.units[level];
    deliberateErrors.push(...city.errors);
    corrections.push(...city.corrections);
    submissions += city.submissions.length;
    observations += cityObservations;
    bytes += size;
  }
  const manifest: CycleManifest = {
    format: 1,
    seed: options.seed ?? 2024,
    cycle: catalogue.cycle,
    catalogueVersion: catalogue.id,
    options: {
      communitiesPerCity: Number.isFinite(options.communitiesPerCity ?? Number.POSITIVE_INFINITY)
        ? (options.communitiesPerCity as number)
        : null,
      blocksPerStreet: options.blocksPerStreet ?? 2,
      housingPerStreet: options.housingPerStreet ?? 2,
    },
    totals: {
      cities: cities.length,
      submissions,
      observations,
      bytes,
      units,
      deliberateErrors: deliberateErrors.length,
      corrections: corrections.length,
    },
    cities,
    deliberateErrors,
    corrections,
  };
  writeFileSync(join(out, manifestFileName), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
};

export const readCycleManifest = (directory: string): CycleManifest =>
  JSON.parse(readFileSync(join(directory, manifestFileName), 'utf8')) as CycleManifest;

/** The lines of a city's file, each one submission's JSON (without the newline). */
export const readCityLines = (directory: string, city: CityFile): string[] => {
  const text = readFileSync(join(directory, city.file), 'utf8');
  return text.split('\n').filter((line) => line !== '');
};
