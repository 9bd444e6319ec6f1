// Cycle settings (schemas/cycles/<cycle>.json): each cycle's reporting deadline and expected cities, which
// completeness and timeliness are measured against.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CycleSettings } from './derive.js';

const defaultDirectory = fileURLToPath(new URL('../../../schemas/cycles/', import.meta.url));

interface CycleFile {
  readonly cycle: number;
  readonly deadline: string;
  readonly expectedCities: 'all' | readonly string[];
}

export const loadCycleSettings = (directory = defaultDirectory): CycleSettings[] =>
  readdirSync(directory)
    .filter((name) => /^\d{4}\.json$/.test(name))
    .sort()
    .map((name) => {
      const file = JSON.parse(readFileSync(join(directory, name), 'utf8')) as CycleFile;
      return {
        cycle: file.cycle,
        deadline: new Date(file.deadline).toISOString(),
        ...(file.expectedCities === 'all' ? {} : { expectedCities: file.expectedCities }),
      };
    });
