// The independent route to the expected rollups, on a cycle small enough to work out by hand, and the
// comparison the benchmark and the fault tests use.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalogue } from '@citycheck/catalogue';
import type { Observation, Submission } from '@citycheck/contracts';
import { describe, expect, it } from 'vitest';
import { compareRollups, computeExpectedRollups, type ExpectedRollups } from './expected.js';
import type { CityFile, CycleManifest } from './files.js';

const catalogue = loadCatalogue('2024.1');
let sequence = 0;
const submission = (
  cityCode: string,
  level: Submission['unit']['level'],
  code: string,
  observations: Observation[],
): Submission => {
  sequence += 1;
  return {
    submissionId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    cycle: 2024,
    catalogueVersion: '2024.1',
    cityCode,
    unit: { level, code },
    observations: observations as Submission['observations'],
  };
};

const beijing = [
  submission('110100', 'block', '110101001-B1', [{ indicator: 'B01', numerator: 5, denominator: 10 }]),
  submission('110100', 'block', '110101001-B2', [{ indicator: 'B01', numerator: 7, denominator: 20 }]),
  submission('110100', 'community', '110101001001', [
    { indicator: 'C01', value: 2 },
    { indicator: 'C12', meets: true },
    { indicator: 'C16', value: 80, weight: 100 },
  ]),
  submission('110100', 'community', '110101001002', [
    { indicator: 'C01', value: 3 },
    { indicator: 'C12', meets: false },
    { indicator: 'C16', value: 60, weight: 300 },
  ]),
  submission('110100', 'city', '110100', [{ indicator: 'D01', quantity: 100, population: 50 }]),
  submission('110100', 'district', '110101', [{ indicator: 'D01', quantity: 20, population: 10 }]),
  // A correction of block B2: supersedes 7/20.
  submission('110100', 'block', '110101001-B2', [{ indicator: 'B01', numerator: 9, denominator: 20 }]),
];
const shanghai = [
  submission('310100', 'block', '310101002-B1', [{ indicator: 'B01', numerator: 1, denominator: 4 }]),
  submission('310100', 'community', '310101002001', [{ indicator: 'C01', value: 1 }]),
  // Deliberately bad (validation rejects it): must not count.
  submission('310100', 'block', '310101002-B2', [{ indicator: 'B01', numerator: 100, denominator: 4 }]),
  // Shanghai reports D01 for a district only, not for itself.
  submission('310100', 'district', '310101', [{ indicator: 'D01', quantity: 30, population: 10 }]),
];

const writeCycle = (): { directory: string; manifest: CycleManifest } => {
  const directory = mkdtempSync(join(tmpdir(), 'citycheck-expected-'));
  const cities: CityFile[] = [];
  for (const [cityCode, list] of [
    ['110100', beijing],
    ['310100', shanghai],
  ] as const) {
    writeFileSync(join(directory, `${cityCode}.ndjson`), list.map((s) => `${JSON.stringify(s)}\n`).join(''));
    cities.push({
      cityCode,
      provinceCode: `${cityCode.slice(0, 2)}0000`,
      file: `${cityCode}.ndjson`,
      submissions: list.length,
      observations: 0,
      bytes: 0,
      units: { housing: 0, community: 0, block: 0, district: 0, city: 0 },
    });
  }
  const bad = shanghai[2] as Submission;
  const manifest: CycleManifest = {
    format: 1,
    seed: 0,
    cycle: 2024,
    catalogueVersion: '2024.1',
    options: { communitiesPerCity: null, blocksPerStreet: 0, housingPerStreet: 0 },
    totals: {
      cities: 2,
      submissions: beijing.length + shanghai.length,
      observations: 0,
      bytes: 0,
      units: { housing: 0, community: 0, block: 0, district: 0, city: 0 },
      deliberateErrors: 1,
      corrections: 1,
    },
    cities,
    deliberateErrors: [
      { submissionId: bad.submissionId, cityCode: '310100', breaks: 'numerator_le_denominator' },
    ],
    corrections: [],
  };
  return { directory, manifest };
};

const rollupOf = (expected: ExpectedRollups, indicator: string, area: string) =>
  expected.rollups.find((row) => row.indicator === indicator && row.areaCode === area);

describe('computeExpectedRollups', () => {
  const { directory, manifest } = writeCycle();
  const expected = computeExpectedRollups(directory, manifest, catalogue);

  it('divides sums of numerators by sums of denominators, with the correction and without the bad one', () => {
    // Beijing: (5 + 9) / (10 + 20); Shanghai: 1 / 4; nation: (5 + 9 + 1) / (10 + 20 + 4).
    expect(rollupOf(expected, 'B01', '110000')).toMatchObject({
      value: 14 / 30,
      unitsReported: 2,
      level: 'province',
    });
    expect(rollupOf(expected, 'B01', '310000')).toMatchObject({ value: 0.25, unitsReported: 1 });
    expect(rollupOf(expected, 'B01', '000000')).toMatchObject({
      value: 15 / 34,
      unitsReported: 3,
      level: 'nation',
    });
  });

  it('sums counts, shares units meeting, weights means and divides per-capita quantities by population', () => {
    expect(rollupOf(expected, 'C01', '000000')).toMatchObject({ value: 6, unitsReported: 3 });
    expect(rollupOf(expected, 'C12', '110000')).toMatchObject({ value: 0.5, unitsReported: 2 });
    expect(rollupOf(expected, 'C16', '110000')).toMatchObject({ value: (80 * 100 + 60 * 300) / 400 });
    // Beijing reports D01 for itself (100 / 50) and for a district (20 / 10), the same people twice: the
    // province takes the city's own figure only. Shanghai reports only a district's, 30 / 10. The nation:
    // one figure per city, (100 + 30) / (50 + 10), never (100 + 20 + 30) / (50 + 10 + 10).
    expect(rollupOf(expected, 'D01', '110000')).toMatchObject({ value: 2, unitsReported: 1 });
    expect(rollupOf(expected, 'D01', '310000')).toMatchObject({ value: 3, unitsReported: 1 });
    expect(rollupOf(expected, 'D01', '000000')).toMatchObject({ value: 130 / 60, unitsReported: 2 });
  });

  it('counts what it read', () => {
    expect(expected).toMatchObject({ validSubmissions: 10, supersededSubmissions: 1, deliberateErrors: 1 });
    expect(expected.rollups).toHaveLength(13);
  });
});

describe('compareRollups', () => {
  const { directory, manifest } = writeCycle();
  const expected = computeExpectedRollups(directory, manifest, catalogue);
  const actual = expected.rollups.map((row) => ({
    indicator_code: row.indicator,
    level: row.level,
    area_code: row.areaCode,
    value: row.value,
    units_reported: BigInt(row.unitsReported),
  }));

  it('accepts values within 1e-9 relative and names every other difference', () => {
    expect(compareRollups(expected, actual)).toEqual([]);
    const nudged = actual.map((row) =>
      row.indicator_code === 'B01' && row.area_code === '000000'
        ? { ...row, value: (row.value as number) * (1 + 1e-12) }
        : row,
    );
    expect(compareRollups(expected, nudged)).toEqual([]);
    const off = actual.map((row) =>
      row.indicator_code === 'B01' && row.area_code === '000000'
        ? { ...row, value: (row.value as number) * (1 + 1e-8) }
        : row,
    );
    expect(compareRollups(expected, off).map((m) => `${m.indicator} ${m.areaCode}`)).toEqual(['B01 000000']);
    const missing = actual.filter((row) => row.indicator_code !== 'C12');
    expect(compareRollups(expected, missing).map((m) => m.actual)).toEqual(['no row', 'no row']);
    const extra = [
      ...actual,
      { indicator_code: 'H01', level: 'nation', area_code: '000000', value: 1, units_reported: 1n },
    ];
    expect(compareRollups(expected, extra).map((m) => m.expected)).toEqual(['no row']);
  });
});
