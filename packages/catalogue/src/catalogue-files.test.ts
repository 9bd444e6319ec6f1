// Holds every shipped catalogue file to catalogue.schema.json and to the cross-field rules, holds the
// hand-written types to the schema, and proves that 2025.1's change list is the real diff from 2024.1.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { checkCatalogue } from './check-catalogue.js';
import { listCatalogueVersions } from './load-catalogue.js';
import {
  aggregations,
  type CatalogueFile,
  catalogueFieldNames,
  changeKinds,
  dimensions,
  directions,
  type Indicator,
  indicatorFieldNames,
  indicatorKinds,
  indicatorStatuses,
  standardOperators,
  unitLevels,
} from './types.js';

const directory = new URL('../../../schemas/catalogue/', import.meta.url);
const readJson = (name: string): unknown => JSON.parse(readFileSync(new URL(name, directory), 'utf8'));
const readCatalogue = (version: string): CatalogueFile => readJson(`${version}.json`) as CatalogueFile;

interface SchemaNode {
  readonly $id?: string;
  readonly enum?: readonly string[];
  readonly items?: SchemaNode;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly $defs?: Readonly<Record<string, SchemaNode>>;
}
const schema = readJson('catalogue.schema.json') as SchemaNode;
const indicatorSchema = schema.$defs?.indicator;
const enumOf = (node: SchemaNode | undefined): readonly string[] | undefined =>
  node?.enum ?? node?.items?.enum;

const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);
const versions = listCatalogueVersions();

describe('catalogue files', () => {
  it('ship 2024.1 and 2025.1 at least', () => {
    expect(versions).toEqual(expect.arrayContaining(['2024.1', '2025.1']));
  });

  it.each(versions)('%s conforms to catalogue.schema.json', (version) => {
    const valid = validate(readCatalogue(version));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each(versions)('%s keeps every cross-field rule', (version) => {
    expect(checkCatalogue(readCatalogue(version))).toEqual([]);
  });

  it('2024.1 carries at least 40 indicators in all four dimensions', () => {
    const { indicators } = readCatalogue('2024.1');
    expect(indicators.length).toBeGreaterThanOrEqual(40);
    const perDimension = new Map<string, number>();
    for (const { dimension } of indicators)
      perDimension.set(dimension, (perDimension.get(dimension) ?? 0) + 1);
    expect([...perDimension.keys()].sort()).toEqual(['block', 'city', 'community', 'housing']);
  });

  it('2024.1 has an indicator of every kind', () => {
    const kinds = new Set(readCatalogue('2024.1').indicators.map((indicator) => indicator.kind));
    expect([...kinds].sort()).toEqual([...indicatorKinds].sort());
  });
});

describe('the hand-written types', () => {
  it('list the same enums as the schema', () => {
    const properties = indicatorSchema?.properties;
    expect(enumOf(properties?.dimension)).toEqual(dimensions);
    expect(enumOf(properties?.kind)).toEqual(indicatorKinds);
    expect(enumOf(properties?.aggregation)).toEqual(aggregations);
    expect(enumOf(properties?.direction)).toEqual(directions);
    expect(enumOf(properties?.unitLevels)).toEqual(unitLevels);
    expect(enumOf(properties?.status)).toEqual(indicatorStatuses);
    expect(enumOf(schema.$defs?.standard?.properties?.operator)).toEqual(standardOperators);
    expect(enumOf(schema.$defs?.change?.properties?.change)).toEqual(changeKinds);
  });

  it('name the same fields as the schema', () => {
    expect(Object.keys(indicatorFieldNames).sort()).toEqual(
      Object.keys(indicatorSchema?.properties ?? {}).sort(),
    );
    expect(Object.keys(catalogueFieldNames).sort()).toEqual(Object.keys(schema.properties ?? {}).sort());
  });

  it('use the schema id other services refer to', () => {
    expect(schema.$id).toBe('https://schemas.citycheck.org.cn/catalogue/v1');
  });
});

describe('2025.1 against 2024.1', () => {
  const before = readCatalogue('2024.1');
  const after = readCatalogue('2025.1');

  it('declares exactly the changes a diff of the two files finds', () => {
    const old = new Map(before.indicators.map((indicator) => [indicator.code, indicator] as const));
    const found: { code: string; change: string }[] = [];
    for (const indicator of after.indicators) {
      const previous = old.get(indicator.code);
      if (previous === undefined) found.push({ code: indicator.code, change: 'added' });
      else if (previous.status === 'active' && indicator.status === 'retired') {
        found.push({ code: indicator.code, change: 'retired' });
      } else if (JSON.stringify(previous) !== JSON.stringify(indicator)) {
        found.push({ code: indicator.code, change: 'revised' });
      }
    }
    const declared = after.changes.map(({ code, change }) => ({ code, change }));
    const byCode = (a: { code: string }, b: { code: string }): number => a.code.localeCompare(b.code);
    expect(declared.sort(byCode)).toEqual(found.sort(byCode));
    expect(found.sort(byCode)).toEqual([
      { code: 'B10', change: 'revised' },
      { code: 'C14', change: 'retired' },
      { code: 'C17', change: 'added' },
      { code: 'H12', change: 'added' },
    ]);
  });

  it('keeps every 2024.1 code, so old submissions stay interpretable', () => {
    const codes = new Set(after.indicators.map((indicator) => indicator.code));
    for (const indicator of before.indicators) expect(codes.has(indicator.code)).toBe(true);
  });

  it('narrows the commute range from 0..180 to 0..120 minutes', () => {
    const range = (file: CatalogueFile): unknown => file.indicators.find((i) => i.code === 'B10')?.range;
    expect(range(before)).toEqual({ min: 0, max: 180 });
    expect(range(after)).toEqual({ min: 0, max: 120 });
  });
});

describe('checkCatalogue', () => {
  const base = readCatalogue('2025.1');
  type Mutable<T> = { -readonly [K in keyof T]: T[K] };
  // A deep copy with one indicator changed by `edit`, as a catalogue author might get it wrong.
  const broken = (code: string, edit: (indicator: Mutable<Indicator> & Record<string, unknown>) => void) => {
    const copy = JSON.parse(JSON.stringify(base)) as CatalogueFile;
    const indicator = copy.indicators.find((i) => i.code === code);
    if (indicator === undefined) throw new Error(`no ${code} in the fixture`);
    edit(indicator as Mutable<Indicator> & Record<string, unknown>);
    return copy;
  };

  it('finds a repeated code', () => {
    const copy = JSON.parse(JSON.stringify(base)) as { indicators: Indicator[] };
    const first = copy.indicators[0];
    if (first === undefined) throw new Error('empty fixture');
    copy.indicators.push(first);
    expect(checkCatalogue(copy as unknown as CatalogueFile)).toContain('H01: code appears more than once');
  });

  it('finds a kind rolled up the wrong way', () => {
    const file = broken('B01', (i) => {
      i.aggregation = 'sum';
    });
    expect(checkCatalogue(file)).toEqual(['B01: kind rate rolls up by ratio, not sum']);
  });

  it('finds a range upside down and a standard outside the range', () => {
    const file = broken('H01', (i) => {
      i.range = { min: 10, max: 5 };
    });
    expect(checkCatalogue(file)).toEqual([
      'H01: range min 10 is above max 5',
      'H01: standard value 0 lies outside the range 10..5',
    ]);
  });

  it('finds a percentage whose range is not a fraction', () => {
    const file = broken('B01', (i) => {
      i.range = { min: 0, max: 100 };
    });
    expect(checkCatalogue(file)).toEqual([
      'B01: a percentage is stored as a fraction, so its range must lie within 0..1',
    ]);
  });

  it('finds a unit level foreign to the dimension and a code foreign to it', () => {
    const file = broken('C05', (i) => {
      i.unitLevels = ['community', 'block'];
      i.dimension = 'block';
    });
    expect(checkCatalogue(file)).toEqual([
      'C05: code must start with B for dimension block',
      'C05: dimension block is not reported on community units',
    ]);
  });

  it('finds a missing or surplus descriptor', () => {
    const file = broken('D01', (i) => {
      i.weight = i.quantity;
    });
    expect(checkCatalogue(file)).toEqual(['D01: kind perCapita does not take weight']);
  });

  it('finds a retirement the change list does not mention', () => {
    const file = broken('H01', (i) => {
      i.status = 'retired';
      i.retiredIn = '2025.1';
    });
    expect(checkCatalogue(file)).toEqual(['H01: retired in 2025.1 but not listed as retired']);
  });

  it('finds an indicator introduced after the catalogue', () => {
    const file = broken('H01', (i) => {
      i.since = '2026.1';
    });
    expect(checkCatalogue(file)).toEqual(['H01: since 2026.1 is after 2025.1']);
  });
});
