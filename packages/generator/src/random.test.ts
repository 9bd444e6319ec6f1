// The generators behind every generated cycle: reproducible, and (keyed) independent of each other.
import { describe, expect, it } from 'vitest';
import { createKeyedRandom, createRandom } from './random.js';

const draws = (next: () => number, count: number): number[] =>
  Array.from({ length: count }, () => Math.floor(next() * 4294967296));

/** Where stream `b` runs along stream `a` (four equal outputs in a row), or -1. */
const shift = (a: readonly number[], b: readonly number[]): number => {
  const at = new Map(a.map((value, index) => [value, index]));
  for (let j = 0; j + 3 < b.length; j += 1) {
    const i = at.get(b[j] as number);
    if (i !== undefined && [1, 2, 3].every((k) => a[i + k] === b[j + k])) return i - j;
  }
  return -1;
};

describe('createKeyedRandom', () => {
  it('gives the same stream for the same key and another for another key', () => {
    expect(draws(createKeyedRandom('2024:110100').next, 5)).toEqual(
      draws(createKeyedRandom('2024:110100').next, 5),
    );
    expect(draws(createKeyedRandom('2024:110100').next, 5)).not.toEqual(
      draws(createKeyedRandom('2024:310100').next, 5),
    );
  });

  it('never gives two keys the same stream shifted, where mulberry32 does', () => {
    const count = 200_000;
    expect(
      shift(
        draws(createKeyedRandom('2024:110100').next, count),
        draws(createKeyedRandom('2024:310100').next, count),
      ),
    ).toBe(-1);
    // mulberry32 seeds 0x6d2b79f5 * 1000 apart are the same stream 1,000 draws apart.
    const early = createRandom(7);
    const late = createRandom((7 + 0x6d2b79f5 * 1000) >>> 0);
    expect(shift(draws(early.next, count), draws(late.next, count))).toBe(1000);
  });

  it('draws uniform numbers in [0, 1) and version-4-shaped ids', () => {
    const random = createKeyedRandom('x');
    const values = Array.from({ length: 10_000 }, () => random.next());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((sum, v) => sum + v, 0) / values.length).toBeCloseTo(0.5, 1);
    expect(random.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
