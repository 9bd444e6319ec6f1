// The national cycle generator: deterministic, cities independent of each other, the unit structure the
// issue asks for, and the deliberately bad submissions and corrections it lists.
import { loadCatalogue, type UnitLevel } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { describe, expect, it } from 'vitest';
import { type CityCycle, deliberateBreaks, nationalCycle } from './national.js';

const catalogue = loadCatalogue('2024.1');
const divisions = loadDivisionRegistry();
const collect = (options: Partial<Parameters<typeof nationalCycle>[0]>): CityCycle[] => [
  ...nationalCycle({ catalogue, divisions, ...options }),
];

describe('nationalCycle', () => {
  it('gives the same submissions for the same seed, and other ones for another seed', () => {
    const options = { cities: ['110100', '440300'], communitiesPerCity: 5 };
    expect(JSON.stringify(collect({ ...options, seed: 3 }))).toBe(
      JSON.stringify(collect({ ...options, seed: 3 })),
    );
    expect(collect({ ...options, seed: 3 })[0]?.submissions[0]?.submissionId).not.toBe(
      collect({ ...options, seed: 4 })[0]?.submissions[0]?.submissionId,
    );
  });

  it('draws each city from its own generator, so a subset of cities is the same as in a larger cycle', () => {
    const alone = collect({ cities: ['440300'], communitiesPerCity: 5, deliberateErrors: 0, corrections: 0 });
    const among = collect({
      cities: ['110100', '440300'],
      communitiesPerCity: 5,
      deliberateErrors: 0,
      corrections: 0,
    });
    expect(among[1]?.submissions).toEqual(alone[0]?.submissions);
  });

  it('reports every community, a block and housing units per street, every district and the city', () => {
    const [city] = collect({
      cities: ['110100'],
      blocksPerStreet: 2,
      housingPerStreet: 3,
      deliberateErrors: 0,
      corrections: 0,
    });
    if (city === undefined) throw new Error('no city');
    const communities = divisions.communitiesOf('110100');
    const streets = new Set(communities.map((code) => code.slice(0, 9)));
    const byLevel = (level: UnitLevel) =>
      city.submissions.filter((s) => s.unit.level === level).map((s) => s.unit.code);
    expect(byLevel('community')).toEqual([...communities].sort((a, b) => a.localeCompare(b)));
    expect(byLevel('block').length).toBe(streets.size * 2);
    expect(byLevel('housing').length).toBe(streets.size * 3);
    expect(byLevel('block')).toContain(`${[...streets][0]}-B2`);
    expect(byLevel('housing')).toContain(`${[...streets][0]}-H3`);
    expect(byLevel('district')).toEqual(divisions.districtsOf('110100'));
    expect(byLevel('city')).toEqual(['110100']);
    expect(city.units).toEqual({
      community: communities.length,
      block: streets.size * 2,
      housing: streets.size * 3,
      district: divisions.districtsOf('110100').length,
      city: 1,
    });
    for (const submission of city.submissions) {
      const codes = submission.observations.map((o) => o.indicator);
      expect(codes).toEqual(
        catalogue.indicatorsFor(submission.unit.level).map((indicator) => indicator.code),
      );
      expect(submission.cityCode).toBe('110100');
    }
  });

  it('writes rates as numerator and denominator, per-capita values with a population, counts as integers', () => {
    const [city] = collect({ cities: ['510100'], communitiesPerCity: 20 });
    for (const submission of city?.submissions ?? []) {
      for (const observation of submission.observations) {
        const indicator = catalogue.indicator(observation.indicator);
        const deliberate = city?.errors.some((e) => e.submissionId === submission.submissionId) ?? false;
        if (indicator?.kind === 'rate' && !deliberate) {
          expect(observation.denominator).toBeGreaterThan(0);
          if (indicator.range.max <= 1)
            expect(observation.numerator).toBeLessThanOrEqual(observation.denominator as number);
        }
        if (indicator?.kind === 'perCapita') expect(observation.population).toBeGreaterThan(0);
        if (
          indicator?.kind === 'count' &&
          !city?.errors.some((e) => e.submissionId === submission.submissionId)
        ) {
          expect(Number.isInteger(observation.value)).toBe(true);
        }
      }
    }
  });

  it('misses standards in a realistic share of units, more in some cities than in others', () => {
    const shares = collect({ cities: ['110100', '310100', '440100', '510100'], communitiesPerCity: 200 }).map(
      (city) => {
        const counts = city.submissions.flatMap((s) => s.observations.filter((o) => o.indicator === 'C01'));
        return counts.filter((o) => (o.value ?? 0) > 0).length / counts.length;
      },
    );
    for (const share of shares) {
      expect(share).toBeGreaterThan(0.02);
      expect(share).toBeLessThan(0.5);
    }
    expect(Math.max(...shares) - Math.min(...shares)).toBeGreaterThan(0.02);
  });

  it('spreads the deliberate errors and corrections over the cities and lists each', () => {
    const cities = divisions.reportingCities().slice(0, 10);
    const cycle = collect({ cities, communitiesPerCity: 5, deliberateErrors: 15, corrections: 7 });
    const errors = cycle.flatMap((city) => city.errors);
    expect(errors).toHaveLength(15);
    expect(new Set(errors.map((error) => error.breaks))).toEqual(new Set(deliberateBreaks));
    const corrections = cycle.flatMap((city) => city.corrections);
    expect(corrections).toHaveLength(7);
    for (const city of cycle) {
      const ids = city.submissions.map((s) => s.submissionId);
      for (const error of city.errors) expect(ids).toContain(error.submissionId);
      for (const correction of city.corrections) {
        // The correction comes after the submission it supersedes, for the same unit.
        expect(ids.indexOf(correction.submissionId)).toBeGreaterThan(ids.indexOf(correction.supersedes));
        const unitOf = (id: string) => city.submissions.find((s) => s.submissionId === id)?.unit.code;
        expect(unitOf(correction.submissionId)).toBe(unitOf(correction.supersedes));
      }
    }
  });
});
