// The shipped cycle settings against cycle.schema.json, and what loadCycleSettings makes of them.
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { countyLevelCitiesOf, loadCycleSettings } from './cycles.js';

const directory = new URL('../../../schemas/cycles/', import.meta.url);
const readJson = (name: string): unknown => JSON.parse(readFileSync(new URL(name, directory), 'utf8'));

describe('cycle settings', () => {
  it('hold every shipped cycle file to the schema', () => {
    const validate = new Ajv2020({ allErrors: true, validateFormats: false }).compile(
      readJson('cycle.schema.json') as object,
    );
    const files = readdirSync(directory).filter((name) => /^\d{4}\.json$/.test(name));
    expect(files.length).toBeGreaterThan(1);
    for (const name of files)
      expect([name, validate(readJson(name)), validate.errors]).toEqual([name, true, null]);
    expect(validate({ ...(readJson('2025.json') as object), countyLevelCities: ['640100'] })).toBe(false);
  });

  it('name no county-level city in 2024 and an illustrative list, 灵武市 among them, in 2025', () => {
    const settings = loadCycleSettings();
    expect(countyLevelCitiesOf(settings, 2024)).toEqual(new Set());
    const named = countyLevelCitiesOf(settings, 2025);
    expect(named.size).toBe(11);
    expect(named.has('640181')).toBe(true);
    expect((readJson('2025.json') as { countyLevelCitiesNote: string }).countyLevelCitiesNote).toMatch(
      /^ILLUSTRATIVE, not the official list/,
    );
    expect(countyLevelCitiesOf(settings, 1999)).toEqual(new Set());
  });
});
