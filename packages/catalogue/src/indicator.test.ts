// Unit values and the shortfall test on real 2024.1 indicators, with every expected number worked by hand.
import { describe, expect, it } from 'vitest';
import { missesStandard, presentedValue, unitValue } from './indicator.js';
import { loadCatalogue } from './load-catalogue.js';
import type { Indicator } from './types.js';

const catalogue = loadCatalogue('2024.1');
const get = (code: string): Indicator => {
  const indicator = catalogue.indicator(code);
  if (indicator === undefined) throw new Error(`2024.1 has no ${code}`);
  return indicator;
};

describe('unitValue', () => {
  it('takes a count as reported (H01, buildings with structural hazards)', () => {
    expect(unitValue(get('H01'), { value: 3 })).toBe(3);
  });

  it('takes a length as reported (C09, km of sub-standard walkway)', () => {
    expect(unitValue(get('C09'), { value: 1.25 })).toBe(1.25);
  });

  it('divides a rate: 45 of 60 ha of residential land covered is 0.75 (B01)', () => {
    expect(unitValue(get('B01'), { numerator: 45, denominator: 60 })).toBe(0.75);
  });

  it('divides a density the same way: 96 km of road over 12 km² is 8 km/km² (D03)', () => {
    expect(unitValue(get('D03'), { numerator: 96, denominator: 12 })).toBe(8);
  });

  it('divides a per-capita quantity: 520,000 m² for 200,000 residents is 2.6 m²/person (D01)', () => {
    expect(unitValue(get('D01'), { quantity: 520_000, population: 200_000 })).toBe(2.6);
  });

  it('turns meets into 1 and 0 (C15, complete community)', () => {
    expect(unitValue(get('C15'), { meets: true })).toBe(1);
    expect(unitValue(get('C15'), { meets: false })).toBe(0);
  });

  it('takes a score or mean as reported; the weight is for rollups (C16, B10)', () => {
    expect(unitValue(get('C16'), { value: 87.5, weight: 120 })).toBe(87.5);
    expect(unitValue(get('B10'), { value: 38, weight: 2_400 })).toBe(38);
  });

  it('gives no value when a needed field is missing or not a number', () => {
    expect(unitValue(get('B01'), { value: 0.75 })).toBeUndefined();
    expect(unitValue(get('B01'), { numerator: 45 })).toBeUndefined();
    expect(unitValue(get('D01'), { quantity: 10 })).toBeUndefined();
    expect(unitValue(get('C15'), { value: 1 })).toBeUndefined();
    expect(unitValue(get('H01'), { value: Number.NaN })).toBeUndefined();
    expect(unitValue(get('H01'), { numerator: 1, denominator: 1 })).toBeUndefined();
  });

  it('gives no rate for a unit with nothing to cover (denominator or population 0)', () => {
    expect(unitValue(get('B01'), { numerator: 0, denominator: 0 })).toBeUndefined();
    expect(unitValue(get('D01'), { quantity: 100, population: 0 })).toBeUndefined();
  });
});

describe('missesStandard', () => {
  it('flags any problem building when the standard is <= 0 (H01)', () => {
    expect(missesStandard(get('H01'), 0)).toBe(false);
    expect(missesStandard(get('H01'), 1)).toBe(true);
  });

  it('flags coverage below 100% when the standard is >= 1 (B01)', () => {
    expect(missesStandard(get('B01'), 1)).toBe(false);
    expect(missesStandard(get('B01'), 59 / 60)).toBe(true);
  });

  it('compares a stated target exactly: 70% sewage collection (D16)', () => {
    // 7 of 10 is the double nearest 0.7, exactly like the catalogue's literal 0.7.
    expect(missesStandard(get('D16'), unitValue(get('D16'), { numerator: 7, denominator: 10 }))).toBe(false);
    expect(missesStandard(get('D16'), unitValue(get('D16'), { numerator: 69, denominator: 100 }))).toBe(true);
  });

  it('holds per-capita values to their threshold: 2.6 m² meets, 2.5 misses (D01)', () => {
    expect(missesStandard(get('D01'), 2.6)).toBe(false);
    expect(missesStandard(get('D01'), 2.5)).toBe(true);
  });

  it('flags a commute above 45 minutes (B10)', () => {
    expect(missesStandard(get('B10'), 45)).toBe(false);
    expect(missesStandard(get('B10'), 45.5)).toBe(true);
  });

  it('flags a unit that does not meet a share standard (C15 == 1)', () => {
    expect(missesStandard(get('C15'), 1)).toBe(false);
    expect(missesStandard(get('C15'), 0)).toBe(true);
  });

  it('says nothing without a standard or without a value', () => {
    expect(missesStandard(get('C16'), 12)).toBeUndefined();
    expect(missesStandard(get('H01'), undefined)).toBeUndefined();
    expect(missesStandard(get('H01'), Number.NaN)).toBeUndefined();
  });
});

describe('presentedValue', () => {
  it('shows a stored fraction as a percentage and leaves other units alone', () => {
    expect(presentedValue(get('B01'), 0.75)).toBe(75);
    expect(presentedValue(get('D03'), 8)).toBe(8);
  });
});
