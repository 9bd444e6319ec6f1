// Rules across fields of a catalogue that JSON Schema cannot state well (unique codes, ranges that hold
// their standard, versions that agree with the change list). The loader refuses a catalogue that breaks one.
import { aggregationOfKind } from './indicator.js';
import type { CatalogueFile, Dimension, Indicator, UnitLevel } from './types.js';
import { compareCatalogueVersions, cycleOfVersion, isCatalogueVersion } from './versions.js';

const codePrefixOfDimension: Readonly<Record<Dimension, string>> = {
  housing: 'H',
  community: 'C',
  block: 'B',
  city: 'D',
};

/** The unit levels that may report an indicator of each dimension. */
export const unitLevelsOfDimension: Readonly<Record<Dimension, readonly UnitLevel[]>> = {
  housing: ['housing'],
  community: ['community'],
  block: ['block'],
  city: ['district', 'city'],
};

const descriptorsOfKind = {
  count: [],
  length: [],
  rate: ['numerator', 'denominator'],
  perCapita: ['quantity'],
  share: [],
  score: ['weight'],
  mean: ['weight'],
} as const;
const descriptorNames = ['numerator', 'denominator', 'quantity', 'weight'] as const;

const checkIndicator = (catalogueId: string, indicator: Indicator): string[] => {
  const problems: string[] = [];
  const say = (message: string): void => {
    problems.push(`${indicator.code}: ${message}`);
  };
  const { range, standard } = indicator;

  if (!indicator.code.startsWith(codePrefixOfDimension[indicator.dimension])) {
    say(
      `code must start with ${codePrefixOfDimension[indicator.dimension]} for dimension ${indicator.dimension}`,
    );
  }
  if (indicator.aggregation !== aggregationOfKind[indicator.kind]) {
    say(
      `kind ${indicator.kind} rolls up by ${aggregationOfKind[indicator.kind]}, not ${indicator.aggregation}`,
    );
  }
  const needed: readonly string[] = descriptorsOfKind[indicator.kind];
  for (const name of descriptorNames) {
    const present = name in indicator;
    if (needed.includes(name) && !present) say(`kind ${indicator.kind} needs ${name}`);
    if (!needed.includes(name) && present) say(`kind ${indicator.kind} does not take ${name}`);
  }

  if (!Number.isFinite(range.min) || !Number.isFinite(range.max)) say('range bounds must be finite');
  if (range.min > range.max) say(`range min ${range.min} is above max ${range.max}`);
  if (indicator.kind !== 'score' && indicator.kind !== 'mean' && range.min < 0) {
    say(`range min ${range.min} is negative, but a ${indicator.kind} is never negative`);
  }
  if (indicator.unit.scale === 100 && (range.min < 0 || range.max > 1)) {
    say('a percentage is stored as a fraction, so its range must lie within 0..1');
  }
  if (indicator.kind === 'share' && (range.min !== 0 || range.max !== 1)) say('a share ranges over 0..1');
  if (standard !== undefined && (standard.value < range.min || standard.value > range.max)) {
    say(`standard value ${standard.value} lies outside the range ${range.min}..${range.max}`);
  }

  const allowedLevels = unitLevelsOfDimension[indicator.dimension];
  for (const level of indicator.unitLevels) {
    if (!allowedLevels.includes(level))
      say(`dimension ${indicator.dimension} is not reported on ${level} units`);
  }
  if (new Set(indicator.unitLevels).size !== indicator.unitLevels.length) say('unitLevels repeat a level');

  if ((indicator.status === 'retired') !== (indicator.retiredIn !== undefined)) {
    say('retiredIn must be present exactly when status is retired');
  }
  if (!isCatalogueVersion(indicator.since)) {
    say(`since "${indicator.since}" is not a version`);
  } else {
    if (compareCatalogueVersions(indicator.since, catalogueId) > 0)
      say(`since ${indicator.since} is after ${catalogueId}`);
    if (indicator.retiredIn !== undefined) {
      if (!isCatalogueVersion(indicator.retiredIn))
        say(`retiredIn "${indicator.retiredIn}" is not a version`);
      else if (compareCatalogueVersions(indicator.retiredIn, indicator.since) <= 0)
        say('retiredIn must follow since');
      else if (compareCatalogueVersions(indicator.retiredIn, catalogueId) > 0) {
        say(`retiredIn ${indicator.retiredIn} is after ${catalogueId}`);
      }
    }
  }
  return problems;
};

/**
 * Every cross-field problem in a catalogue file, as `<code>: <message>` lines; empty when the file is sound.
 * Assumes the file already conforms to catalogue.schema.json (the catalogue-files test makes sure).
 */
export const checkCatalogue = (file: CatalogueFile): string[] => {
  const problems: string[] = [];
  if (!isCatalogueVersion(file.id)) return [`catalogue: id "${file.id}" is not a version (e.g. 2024.1)`];
  if (cycleOfVersion(file.id) !== file.cycle)
    problems.push(`catalogue: id ${file.id} does not name cycle ${file.cycle}`);
  if (file.supersedes !== undefined && compareCatalogueVersions(file.supersedes, file.id) >= 0) {
    problems.push(`catalogue: supersedes ${file.supersedes}, which is not earlier than ${file.id}`);
  }

  const byCode = new Map<string, Indicator>();
  for (const indicator of file.indicators) {
    if (byCode.has(indicator.code)) problems.push(`${indicator.code}: code appears more than once`);
    byCode.set(indicator.code, indicator);
    problems.push(...checkIndicator(file.id, indicator));
  }

  // The change list and the since/retiredIn stamps must tell the same story.
  const changed = new Map<string, string>();
  for (const change of file.changes) {
    const indicator = byCode.get(change.code);
    if (changed.has(change.code)) problems.push(`${change.code}: listed more than once under changes`);
    changed.set(change.code, change.change);
    if (indicator === undefined) {
      problems.push(`${change.code}: listed under changes but not in the catalogue`);
    } else if (change.change === 'added' && indicator.since !== file.id) {
      problems.push(`${change.code}: listed as added, so since must be ${file.id}`);
    } else if (change.change === 'retired' && indicator.retiredIn !== file.id) {
      problems.push(`${change.code}: listed as retired, so retiredIn must be ${file.id}`);
    }
  }
  if (file.supersedes === undefined && file.changes.length > 0) {
    problems.push('catalogue: the first version (no supersedes) lists no changes');
  }
  if (file.supersedes !== undefined) {
    for (const indicator of file.indicators) {
      if (indicator.since === file.id && changed.get(indicator.code) !== 'added') {
        problems.push(`${indicator.code}: new in ${file.id} but not listed as added`);
      }
      if (indicator.retiredIn === file.id && changed.get(indicator.code) !== 'retired') {
        problems.push(`${indicator.code}: retired in ${file.id} but not listed as retired`);
      }
    }
  }
  return problems;
};
