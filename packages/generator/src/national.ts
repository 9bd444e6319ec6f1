// A whole national examination cycle, city by city, for the benchmark and the fault tests: every
// reporting city of the division registry (the 297 prefecture-level cities and municipalities) with all of its urban communities, their streets' blocks and
// housing units, its districts and the city itself, each reporting every active indicator of its level.
// Deterministic from a seed; each city draws from its own generator, so any subset of cities is the same
// as in the full cycle. A few submissions are deliberately bad (validation must reject them) and a few
// are corrections that supersede an earlier submission of the same unit; both are listed, not hidden.
import type { Catalogue, UnitLevel } from '@citycheck/catalogue';
import type { Observation, Submission } from '@citycheck/contracts';
import type { DivisionRegistry } from '@citycheck/divisions';
import { generateObservation, neighbourhoodScale, type UnitScale } from './observations.js';
import { createKeyedRandom, type Random } from './random.js';

/** The rules the deliberately bad submissions break (validation's rule names). */
export const deliberateBreaks = [
  'unit_under_city',
  'numerator_le_denominator',
  'range',
  'unit_exists',
  'indicator_dimension',
] as const;
export type DeliberateBreak = (typeof deliberateBreaks)[number];

export interface NationalCycleOptions {
  readonly catalogue: Catalogue;
  readonly divisions: DivisionRegistry;
  readonly seed?: number;
  /** City codes to generate; the registry's 297 reporting cities, in code order, when omitted. */
  readonly cities?: readonly string[];
  /** Keep at most this many communities per city (scaled-down cycles for tests); all when omitted. */
  readonly communitiesPerCity?: number;
  /** Block units (街区) per street that has urban communities, ids `<street>-B<n>`. */
  readonly blocksPerStreet?: number;
  /** Housing units (buildings) per such street, ids `<street>-H<n>`. */
  readonly housingPerStreet?: number;
  /** Deliberately bad submissions over the whole cycle, spread evenly over the cities. */
  readonly deliberateErrors?: number;
  /** Corrections (a unit reported again under a new submissionId) over the whole cycle. */
  readonly corrections?: number;
  /** When the cities' systems produced the submissions; corrections a day later. */
  readonly submittedAt?: string;
}

export interface DeliberateError {
  readonly submissionId: string;
  readonly cityCode: string;
  readonly breaks: DeliberateBreak;
}

export interface Correction {
  readonly submissionId: string;
  /** The earlier submission of the same unit that this one supersedes. */
  readonly supersedes: string;
  readonly unitCode: string;
}

export interface CityCycle {
  readonly cityCode: string;
  readonly provinceCode: string;
  /** In the order a city sends them: originals first, bad submissions and corrections last. */
  readonly submissions: readonly Submission[];
  readonly errors: readonly DeliberateError[];
  readonly corrections: readonly Correction[];
  /** Units by level (originals only). */
  readonly units: Readonly<Record<UnitLevel, number>>;
}

/** The size of a unit of each level: rates and per-capita values of a city are over far more than a block's. */
const scaleOf: Readonly<Record<UnitLevel, UnitScale>> = {
  housing: { denominator: [4, 400], population: [50, 2_000] },
  community: neighbourhoodScale,
  block: { denominator: [20, 2_000], population: [5_000, 100_000] },
  district: { denominator: [200, 20_000], population: [50_000, 2_000_000] },
  city: { denominator: [1_000, 100_000], population: [300_000, 20_000_000] },
};

/** How many of `total` things the city at `index` of `count` gets, spread as evenly as integers allow. */
const shareOf = (total: number, index: number, count: number): number =>
  Math.floor(((index + 1) * total) / count) - Math.floor((index * total) / count);

const laterBy = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString();

/**
 * The cycle one city at a time, in the order of `cities` (or the registry's). A generator, so a national
 * cycle (about 230,000 submissions) never has to be held in memory at once.
 */
export function* nationalCycle({
  catalogue,
  divisions,
  seed = 2024,
  cities = divisions.reportingCities(),
  communitiesPerCity = Number.POSITIVE_INFINITY,
  blocksPerStreet = 2,
  housingPerStreet = 2,
  deliberateErrors = 40,
  corrections = 20,
  submittedAt = '2024-11-20T09:00:00.000Z',
}: NationalCycleOptions): Generator<CityCycle> {
  for (const [index, cityCode] of cities.entries()) {
    if (!divisions.isReportingUnit(cityCode))
      throw new Error(`${cityCode} is not a city that reports (see DivisionRegistry.isReportingUnit)`);
    // Each city its own stream, keyed by the cycle's seed and the city code, so cities are independent.
    const random = createKeyedRandom(`${seed}:${cityCode}`);
    // How far this city is from the standards: some cities miss far more often than others.
    const cityMissRate = 0.08 + random.next() * 0.27;

    const submission = (
      level: UnitLevel,
      code: string,
      name: string | undefined,
      at = submittedAt,
    ): Submission => {
      const observations = catalogue.indicatorsFor(level).map((indicator) => {
        const missRate = Math.min(0.9, cityMissRate * (0.5 + random.next()));
        return generateObservation(indicator, random, missRate, scaleOf[level]);
      });
      const [first, ...rest] = observations;
      if (first === undefined)
        throw new Error(`catalogue ${catalogue.id} has no indicator for ${level} units`);
      return {
        submissionId: random.uuid(),
        cycle: catalogue.cycle,
        catalogueVersion: catalogue.id,
        cityCode,
        unit: name === undefined ? { level, code } : { level, code, name },
        observations: [first, ...rest],
        submittedAt: at,
      };
    };

    const submissions: Submission[] = [];
    const units: Record<UnitLevel, number> = { housing: 0, community: 0, block: 0, district: 0, city: 0 };
    const communitiesByStreet = new Map<string, string[]>();
    for (const community of divisions.communitiesOf(cityCode).slice(0, communitiesPerCity)) {
      const street = community.slice(0, 9);
      const list = communitiesByStreet.get(street) ?? [];
      list.push(community);
      communitiesByStreet.set(street, list);
    }
    // Street by street, as a city's platform would export them: communities, then blocks, then buildings.
    const communitySubmissions: Submission[] = [];
    for (const [street, communities] of communitiesByStreet) {
      for (const community of communities) {
        const sent = submission('community', community, divisions.name(community));
        submissions.push(sent);
        communitySubmissions.push(sent);
        units.community += 1;
      }
      for (let n = 1; n <= blocksPerStreet; n += 1) {
        submissions.push(submission('block', `${street}-B${n}`, undefined));
        units.block += 1;
      }
      for (let n = 1; n <= housingPerStreet; n += 1) {
        submissions.push(submission('housing', `${street}-H${n}`, undefined));
        units.housing += 1;
      }
    }
    for (const district of divisions.districtsOf(cityCode)) {
      submissions.push(submission('district', district, divisions.name(district)));
      units.district += 1;
    }
    submissions.push(submission('city', cityCode, divisions.fullName(cityCode)));
    units.city += 1;

    const errors: DeliberateError[] = [];
    const errorCount = shareOf(deliberateErrors, index, cities.length);
    for (let e = 0; e < errorCount; e += 1) {
      const breaks = deliberateBreaks[(index + e) % deliberateBreaks.length] as DeliberateBreak;
      const bad = breakSubmission(breaks, { cityCode, cities, index, divisions, random, submission });
      if (bad === undefined) continue;
      submissions.push(bad);
      errors.push({ submissionId: bad.submissionId, cityCode, breaks });
    }

    const corrected: Correction[] = [];
    const correctionCount = Math.min(communitySubmissions.length, shareOf(corrections, index, cities.length));
    for (let c = 0; c < correctionCount; c += 1) {
      const original = communitySubmissions[
        Math.floor((c * communitySubmissions.length) / correctionCount)
      ] as Submission;
      const correction = submission(
        'community',
        original.unit.code,
        original.unit.name,
        laterBy(submittedAt, 86_400_000),
      );
      submissions.push(correction);
      corrected.push({
        submissionId: correction.submissionId,
        supersedes: original.submissionId,
        unitCode: original.unit.code,
      });
    }

    yield {
      cityCode,
      provinceCode: `${cityCode.slice(0, 2)}0000`,
      submissions,
      errors,
      corrections: corrected,
      units,
    };
  }
}

interface BreakContext {
  readonly cityCode: string;
  readonly cities: readonly string[];
  readonly index: number;
  readonly divisions: DivisionRegistry;
  readonly random: Random;
  readonly submission: (level: UnitLevel, code: string, name: string | undefined) => Submission;
}

const replaceObservation = (submission: Submission, observation: Observation): Submission => {
  const observations = submission.observations.map((existing) =>
    existing.indicator === observation.indicator ? observation : existing,
  ) as Submission['observations'];
  return { ...submission, observations };
};

/** A submission the ingest endpoint takes (schema and credential scope are fine) and validation rejects. */
const breakSubmission = (breaks: DeliberateBreak, context: BreakContext): Submission | undefined => {
  const { cityCode, divisions, submission } = context;
  const ownStreet = divisions.communitiesOf(cityCode)[0]?.slice(0, 9) ?? divisions.streetsOf(cityCode)[0];
  switch (breaks) {
    case 'unit_under_city': {
      // A community of the next city in the list, sent under this city's code.
      const other = context.cities[(context.index + 1) % context.cities.length] as string;
      const foreign = other === cityCode ? undefined : divisions.communitiesOf(other)[0];
      if (foreign === undefined) return undefined;
      return submission('community', foreign, divisions.name(foreign));
    }
    case 'numerator_le_denominator': {
      if (ownStreet === undefined) return undefined;
      const good = submission('block', `${ownStreet}-B99`, undefined);
      const rate = good.observations.find((observation) => observation.denominator !== undefined);
      if (rate?.denominator === undefined) return undefined;
      return replaceObservation(good, {
        indicator: rate.indicator,
        numerator: rate.denominator + 5,
        denominator: rate.denominator,
      });
    }
    case 'range': {
      const community = divisions.communitiesOf(cityCode)[0];
      if (community === undefined) return undefined;
      const good = submission('community', community, divisions.name(community));
      // C01 and its kin count at most 500 compounds; 100,000 is out of range for every community count.
      const count = good.observations.find(
        (observation) => observation.value !== undefined && observation.weight === undefined,
      );
      if (count === undefined) return undefined;
      return replaceObservation(good, { indicator: count.indicator, value: 100_000 });
    }
    case 'unit_exists': {
      // A nine-digit street code the registry does not hold.
      const street = `${cityCode.slice(0, 4)}99999`;
      return divisions.exists(street) ? undefined : submission('block', `${street}-B1`, undefined);
    }
    case 'indicator_dimension': {
      const community = divisions.communitiesOf(cityCode)[0];
      if (community === undefined || ownStreet === undefined) return undefined;
      // A block indicator reported on a community.
      const [blockObservation] = submission('block', `${ownStreet}-B1`, undefined).observations;
      const good = submission('community', community, divisions.name(community));
      return { ...good, observations: [...good.observations, blockObservation] };
    }
  }
};
