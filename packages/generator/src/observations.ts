// Plausible observations for any catalogue indicator, drawn from a seeded generator: counts of problems
// mostly small with a realistic share of units missing the standard, rates as numerator and denominator,
// per-capita values as quantity and population, shares as meets-or-not, weighted means with a weight.
import type { Indicator } from '@citycheck/catalogue';
import type { Observation } from '@citycheck/contracts';
import type { Random } from './random.js';

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** How big the unit is: what a rate counts over and how many people a per-capita value is shared by. */
export interface UnitScale {
  /** Inclusive bounds of a rate's denominator (households, blocks, km² ...). */
  readonly denominator: readonly [number, number];
  /** Inclusive bounds of a per-capita value's population. */
  readonly population: readonly [number, number];
}

/** A compound or block: the scale the quick start's sample uses for every unit. */
export const neighbourhoodScale: UnitScale = { denominator: [20, 2_000], population: [2_000, 60_000] };

/**
 * One observation of `indicator`; `missRate` is the chance the unit misses the indicator's standard.
 * Every reported number has at most 3 decimals, so the lake's DECIMAL(38, 6) sums hold it exactly.
 */
export const generateObservation = (
  indicator: Indicator,
  random: Random,
  missRate = 0.2,
  scale: UnitScale = neighbourhoodScale,
): Observation => {
  const { min, max } = indicator.range;
  const misses = random.chance(missRate);
  switch (indicator.kind) {
    case 'count': {
      const ceiling = Math.min(max, Math.max(min, 12));
      // Problem counts: most units have none; those that miss have a few.
      const value = misses ? random.int(Math.max(1, min), Math.max(1, ceiling)) : Math.max(min, 0);
      return { indicator: indicator.code, value };
    }
    case 'length':
      return { indicator: indicator.code, value: misses ? round(Math.min(max, random.next() * 3), 3) : min };
    case 'rate': {
      const denominator = random.int(scale.denominator[0], scale.denominator[1]);
      if (max > 1) {
        // A ratio of two quantities (e.g. road km per km²) rather than a proportion.
        const ratio = min + random.next() * (Math.min(max, min + 20) - min);
        return { indicator: indicator.code, numerator: round(ratio * denominator, 2), denominator };
      }
      const share = misses ? 0.4 + random.next() * 0.5 : 1;
      const clamped = Math.min(max, Math.max(min, share));
      return { indicator: indicator.code, numerator: Math.floor(denominator * clamped), denominator };
    }
    case 'perCapita': {
      const population = random.int(scale.population[0], scale.population[1]);
      const low = Math.max(min, 0);
      const high = Math.min(max, low + 5);
      const perHead = low + random.next() * (high - low);
      return { indicator: indicator.code, quantity: round(perHead * population, 2), population };
    }
    case 'share':
      return { indicator: indicator.code, meets: !misses };
    case 'score':
    case 'mean': {
      const value = round(min + random.next() * (Math.min(max, min + 60) - min), 2);
      return { indicator: indicator.code, value, weight: random.int(1_000, 50_000) };
    }
  }
};
