// The rollups a generated cycle must produce, worked out by a second, deliberately simple route: read the
// NDJSON files back, drop the submissions the manifest lists as deliberately bad, let a later line for the
// same unit and indicator replace an earlier one, and add up each indicator's numbers per province and
// for the nation in Maps of exact integers (millionths, as BigInt). No DuckDB, no lake, no pipeline code:
// the only thing shared with the pipeline is the catalogue's word on which rule each indicator follows.
// Units at several levels count once: a city that reports an indicator for itself (a unit of level city)
// gives the province and nation that figure, and the figures of its districts for it are left out; a city
// that does not gives the sum of its units.
import type { Aggregation, Catalogue } from '@citycheck/catalogue';
import type { Observation, Submission } from '@citycheck/contracts';
import { type CycleManifest, readCityLines } from './files.js';

export type ExpectedLevel = 'province' | 'nation';

export interface ExpectedRollup {
  readonly indicator: string;
  readonly aggregation: Aggregation;
  readonly level: ExpectedLevel;
  /** Province code, or 000000 for the nation (the lake's convention). */
  readonly areaCode: string;
  /** The rolled-up value in stored units; null when there is nothing to divide by. */
  readonly value: number | null;
  readonly unitsReported: number;
}

export interface ExpectedRollups {
  readonly format: 1;
  readonly cycle: number;
  readonly catalogueVersion: string;
  readonly method: string;
  /** Valid submissions, of which superseded by a later one of the same unit. */
  readonly validSubmissions: number;
  readonly supersededSubmissions: number;
  readonly deliberateErrors: number;
  /** Observations the rollups stand on (current values of valid submissions). */
  readonly currentObservations: number;
  readonly rollups: readonly ExpectedRollup[];
}

const million = 1_000_000;
/** A reported number in millionths: exact for anything with at most six decimals. */
const micro = (x: number): bigint => BigInt(Math.round(x * million));

interface Sums {
  units: number;
  meeting: number;
  /** value for sums, numerator, quantity or value x weight: what is divided. */
  top: bigint;
  /** denominator, population or weight: what it is divided by. */
  bottom: bigint;
}

const emptySums = (): Sums => ({ units: 0, meeting: 0, top: 0n, bottom: 0n });

const add = (sums: Sums, aggregation: Aggregation, observation: Observation): void => {
  sums.units += 1;
  switch (aggregation) {
    case 'sum':
      sums.top += micro(observation.value ?? 0);
      break;
    case 'ratio':
      sums.top += micro(observation.numerator ?? 0);
      sums.bottom += micro(observation.denominator ?? 0);
      break;
    case 'perCapita':
      sums.top += micro(observation.quantity ?? 0);
      sums.bottom += micro(observation.population ?? 0);
      break;
    case 'share':
      if (observation.meets === true) sums.meeting += 1;
      break;
    case 'weightedMean':
      sums.top += micro((observation.value ?? 0) * (observation.weight ?? 0));
      sums.bottom += micro(observation.weight ?? 0);
      break;
  }
};

const rolledUp = (sums: Sums, aggregation: Aggregation): number | null => {
  switch (aggregation) {
    case 'sum':
      return Number(sums.top) / million;
    case 'share':
      return sums.units === 0 ? null : sums.meeting / sums.units;
    default:
      return sums.bottom === 0n ? null : Number(sums.top) / million / (Number(sums.bottom) / million);
  }
};

/** Expected province and nation rollups of every indicator the cycle's valid submissions report. */
export const computeExpectedRollups = (
  directory: string,
  manifest: CycleManifest,
  catalogue: Catalogue,
): ExpectedRollups => {
  const bad = new Set(manifest.deliberateErrors.map((error) => error.submissionId));
  // indicator -> area code -> sums
  const totals = new Map<string, Map<string, Sums>>();
  let validSubmissions = 0;
  let supersededSubmissions = 0;
  let currentObservations = 0;
  for (const city of manifest.cities) {
    // A valid unit always lies in the city that sent it, so a later report of it is in the same file.
    const latest = new Map<string, { submission: Submission; observation: Observation }>();
    const unitsSeen = new Set<string>();
    for (const line of readCityLines(directory, city)) {
      const submission = JSON.parse(line) as Submission;
      if (bad.has(submission.submissionId)) continue;
      validSubmissions += 1;
      const unitKey = `${submission.unit.level}|${submission.unit.code}`;
      if (unitsSeen.has(unitKey)) supersededSubmissions += 1;
      unitsSeen.add(unitKey);
      for (const observation of submission.observations) {
        latest.set(`${unitKey}|${observation.indicator}`, { submission, observation });
      }
    }
    // Indicators this city reports for itself: for those, its other units' figures stay out of the rollups.
    const ownFigures = new Set<string>();
    for (const { submission, observation } of latest.values())
      if (submission.unit.level === 'city') ownFigures.add(observation.indicator);
    for (const { submission, observation } of latest.values()) {
      const indicator = catalogue.indicator(observation.indicator);
      if (indicator === undefined)
        throw new Error(`catalogue ${catalogue.id} has no indicator ${observation.indicator}`);
      currentObservations += 1;
      if (submission.unit.level !== 'city' && ownFigures.has(indicator.code)) continue;
      let areas = totals.get(indicator.code);
      if (areas === undefined) {
        areas = new Map();
        totals.set(indicator.code, areas);
      }
      for (const area of [`${submission.cityCode.slice(0, 2)}0000`, '000000']) {
        let sums = areas.get(area);
        if (sums === undefined) {
          sums = emptySums();
          areas.set(area, sums);
        }
        add(sums, indicator.aggregation, observation);
      }
    }
  }
  const rollups: ExpectedRollup[] = [];
  for (const [code, areas] of [...totals].sort(([a], [b]) => a.localeCompare(b))) {
    const aggregation = (catalogue.indicator(code) as { aggregation: Aggregation }).aggregation;
    for (const [areaCode, sums] of [...areas].sort(([a], [b]) => a.localeCompare(b))) {
      rollups.push({
        indicator: code,
        aggregation,
        level: areaCode === '000000' ? 'nation' : 'province',
        areaCode,
        value: rolledUp(sums, aggregation),
        unitsReported: sums.units,
      });
    }
  }
  return {
    format: 1,
    cycle: manifest.cycle,
    catalogueVersion: manifest.catalogueVersion,
    method:
      'plain JS over the NDJSON files: deliberate errors dropped, later line per unit and indicator wins, ' +
      'a city’s own figure replaces its units’ for that indicator, exact sums in millionths (BigInt) per province and nation',
    validSubmissions,
    supersededSubmissions,
    deliberateErrors: bad.size,
    currentObservations,
    rollups,
  };
};

/** A rollup row as the lake's indicator_rollups.parquet holds it (the columns compared). */
export interface ActualRollup {
  readonly indicator_code: string;
  readonly level: string;
  readonly area_code: string;
  readonly value: number | null;
  readonly units_reported: number | bigint;
}

export interface RollupMismatch {
  readonly indicator: string;
  readonly level: string;
  readonly areaCode: string;
  readonly expected: string;
  readonly actual: string;
}

const close = (actual: number | null, expected: number | null, relative: number): boolean => {
  if (actual === null || expected === null) return actual === expected;
  const scale = Math.max(Math.abs(actual), Math.abs(expected));
  return scale < 1e-12 || Math.abs(actual - expected) <= relative * scale;
};

/**
 * Every difference between the expected province and nation rollups and the actual ones: a value off by
 * more than `relative` (1e-9 by default), a different unit count, a row missing, or an extra row.
 */
export const compareRollups = (
  expected: ExpectedRollups,
  actual: readonly ActualRollup[],
  relative = 1e-9,
): RollupMismatch[] => {
  const key = (indicator: string, level: string, area: string): string => `${indicator}|${level}|${area}`;
  const byKey = new Map<string, ActualRollup>();
  for (const row of actual) {
    if (row.level === 'province' || row.level === 'nation')
      byKey.set(key(row.indicator_code, row.level, row.area_code), row);
  }
  const mismatches: RollupMismatch[] = [];
  for (const want of expected.rollups) {
    const k = key(want.indicator, want.level, want.areaCode);
    const got = byKey.get(k);
    byKey.delete(k);
    const shown = { indicator: want.indicator, level: want.level, areaCode: want.areaCode };
    if (got === undefined) {
      mismatches.push({
        ...shown,
        expected: `${want.value} over ${want.unitsReported} units`,
        actual: 'no row',
      });
      continue;
    }
    if (!close(got.value, want.value, relative) || Number(got.units_reported) !== want.unitsReported) {
      mismatches.push({
        ...shown,
        expected: `${want.value} over ${want.unitsReported} units`,
        actual: `${got.value} over ${got.units_reported} units`,
      });
    }
  }
  for (const extra of byKey.values()) {
    mismatches.push({
      indicator: extra.indicator_code,
      level: extra.level,
      areaCode: extra.area_code,
      expected: 'no row',
      actual: `${extra.value} over ${extra.units_reported} units`,
    });
  }
  return mismatches;
};
