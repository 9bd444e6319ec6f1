// Loading catalogue versions: lookups by code and unit level, caching, and refusing unknown or unsound files.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CatalogueError, listCatalogueVersions, loadCatalogue } from './load-catalogue.js';

const codesFor = (version: string, level: Parameters<ReturnType<typeof loadCatalogue>['indicatorsFor']>[0]) =>
  loadCatalogue(version)
    .indicatorsFor(level)
    .map((indicator) => indicator.code);

describe('loadCatalogue', () => {
  it('reads 2024.1 with its id, cycle and 55 indicators', () => {
    const catalogue = loadCatalogue('2024.1');
    expect(catalogue.id).toBe('2024.1');
    expect(catalogue.cycle).toBe(2024);
    expect(catalogue.supersedes).toBeUndefined();
    expect(catalogue.indicators.size).toBe(55);
    expect(catalogue.indicator('H01')?.nameZh).toBe('存在结构安全隐患的住宅数量');
    expect(catalogue.indicator('Z99')).toBeUndefined();
  });

  it('returns the same object on the second call', () => {
    expect(loadCatalogue('2024.1')).toBe(loadCatalogue('2024.1'));
  });

  it('lists the active indicators of each unit level (counted from the file by hand)', () => {
    expect(codesFor('2024.1', 'housing')).toEqual([
      'H01',
      'H02',
      'H03',
      'H04',
      'H05',
      'H06',
      'H07',
      'H08',
      'H09',
      'H10',
      'H11',
    ]);
    expect(codesFor('2024.1', 'community')).toHaveLength(16);
    expect(codesFor('2024.1', 'block')).toHaveLength(10);
    // D15 (CIM 3-D data coverage) is a city-wide figure, so districts report one indicator fewer.
    expect(codesFor('2024.1', 'city')).toHaveLength(18);
    expect(codesFor('2024.1', 'district')).toHaveLength(17);
    expect(codesFor('2024.1', 'district')).not.toContain('D15');
  });

  it('keeps a retired indicator findable by code but out of what units report (2025.1)', () => {
    const catalogue = loadCatalogue('2025.1');
    expect(catalogue.supersedes).toBe('2024.1');
    expect(catalogue.indicator('C14')).toMatchObject({
      status: 'retired',
      retiredIn: '2025.1',
      since: '2024.1',
    });
    const community = codesFor('2025.1', 'community');
    expect(community).not.toContain('C14');
    expect(community).toContain('C17');
    expect(community).toHaveLength(16);
    expect(codesFor('2025.1', 'housing')).toContain('H12');
    expect(catalogue.indicators.size).toBe(57);
  });

  it('refuses a version it does not have, naming the ones it does', () => {
    expect(() => loadCatalogue('2019.1')).toThrow(CatalogueError);
    expect(() => loadCatalogue('2019.1')).toThrow(/not available \(known: 2024\.1, 2025\.1/);
  });

  it('refuses a malformed version before touching the file system', () => {
    expect(() => loadCatalogue('../../package')).toThrow(/not a catalogue version/);
  });

  it('refuses a file that breaks a cross-field rule, listing every problem', () => {
    const directory = mkdtempSync(join(tmpdir(), 'catalogue-'));
    const file = JSON.parse(
      readFileSync(new URL('../../../schemas/catalogue/2024.1.json', import.meta.url), 'utf8'),
    ) as { indicators: { code: string; range: { min: number; max: number } }[] };
    const h02 = file.indicators.find((indicator) => indicator.code === 'H02');
    if (h02 === undefined) throw new Error('no H02');
    h02.code = 'H01';
    writeFileSync(join(directory, '2024.1.json'), JSON.stringify(file));

    let caught: unknown;
    try {
      loadCatalogue('2024.1', { directory });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CatalogueError);
    expect((caught as CatalogueError).problems).toEqual(['H01: code appears more than once']);
  });
});

describe('listCatalogueVersions', () => {
  it('orders versions by year, then revision as a number', () => {
    const directory = mkdtempSync(join(tmpdir(), 'catalogue-'));
    for (const name of ['2025.10.json', '2024.1.json', '2025.2.json', 'catalogue.schema.json', 'notes.txt']) {
      writeFileSync(join(directory, name), '{}');
    }
    expect(listCatalogueVersions({ directory })).toEqual(['2024.1', '2025.2', '2025.10']);
  });

  it('finds the shipped versions', () => {
    expect(listCatalogueVersions()).toEqual(['2024.1', '2025.1']);
  });
});
