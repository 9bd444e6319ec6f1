// Derives what the ministry reads from the lake, per cycle: indicator rollups, completeness, the shortfall
// ledger and quality flags, each one Parquet object under rollups/cycle=<cycle>/. The contract: given the
// committed observation objects, the reference data in the lake and a set of target cycles, each target's
// four objects are rewritten from scratch, so an incremental run (only the cycles new data touched, and the
// cycle after each, whose comparisons depend on it) and a full run give byte-identical objects.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CycleSettings as FullCycleSettings } from '@citycheck/catalogue';
import {
  type DuckDBConnection,
  defineLakeViews,
  type ManifestEntry,
  type ObjectStore,
} from '@citycheck/lake';
import {
  completenessSql,
  expectedUnitsSql,
  indicatorRollupsSql,
  materialiseSql,
  qualityFlagsSql,
  scopedSql,
  shortfallLedgerSql,
} from './derive-sql.js';

/** What derivation needs of a cycle's settings (see loadCycleSettings in @citycheck/catalogue). */
export type CycleSettings = Pick<FullCycleSettings, 'cycle' | 'deadline' | 'expectedCities'>;

export interface DeriveResult {
  readonly cycles: readonly number[];
  readonly objects: readonly string[];
  readonly rows: Readonly<Record<string, number>>;
  readonly inputObjects: number;
}

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export const derivedOutputs = {
  indicator_rollups: indicatorRollupsSql,
  completeness: completenessSql,
  shortfall_ledger: shortfallLedgerSql,
  quality_flags: qualityFlagsSql,
} as const;

export const derivedObjectKey = (cycle: number, name: keyof typeof derivedOutputs): string =>
  `rollups/cycle=${cycle}/${name}.parquet`;

const loadCycleSettings = async (
  duckdb: DuckDBConnection,
  settings: readonly CycleSettings[],
): Promise<void> => {
  await duckdb.run(
    'CREATE OR REPLACE TEMP TABLE cycle_settings (cycle INTEGER, deadline TIMESTAMP, expected_city_codes VARCHAR[])',
  );
  for (const setting of settings) {
    const cities =
      setting.expectedCities === undefined
        ? 'NULL'
        : `[${setting.expectedCities.map(quote).join(', ')}]::VARCHAR[]`;
    // Deadlines are stored as UTC timestamps, like received_at.
    await duckdb.run(
      `INSERT INTO cycle_settings VALUES (${setting.cycle}, (${quote(setting.deadline)}::TIMESTAMPTZ AT TIME ZONE 'UTC'), ${cities})`,
    );
  }
};

/** The cycles the lake holds, from its observation objects' paths. */
export const cyclesInLake = (entries: readonly ManifestEntry[]): number[] => {
  const cycles = new Set<number>();
  for (const entry of entries) {
    for (const object of entry.objects) {
      const match = /\/cycle=(\d+)\//.exec(`/${object.key}`);
      if (match?.[1] !== undefined) cycles.add(Number(match[1]));
    }
  }
  return [...cycles].sort((a, b) => a - b);
};

/**
 * Rewrites the derived objects of `targets` (defaults to every cycle in the lake). Cycles with settings
 * missing get completeness against "every city, no deadline passed".
 */
export const deriveCycles = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  entries: readonly ManifestEntry[],
  settings: readonly CycleSettings[],
  targets: readonly number[] = cyclesInLake(entries),
): Promise<DeriveResult> => {
  const observationObjects = entries.flatMap((entry) => entry.objects.map((object) => object.key));
  await defineLakeViews(duckdb, { store, observationObjects });
  await loadCycleSettings(duckdb, [
    ...settings,
    ...targets
      .filter((cycle) => !settings.some((setting) => setting.cycle === cycle))
      .map((cycle) => ({ cycle, deadline: '9999-12-31T00:00:00Z' })),
  ]);
  await duckdb.run(`CREATE OR REPLACE TEMP TABLE expected_units AS ${expectedUnitsSql}`);
  if (targets.length > 0) for (const sql of materialiseSql(Math.max(...targets))) await duckdb.run(sql);

  const dir = await mkdtemp(join(tmpdir(), 'citycheck-derive-'));
  const objects: string[] = [];
  const rows: Record<string, number> = {};
  try {
    for (const cycle of [...targets].sort((a, b) => a - b)) {
      await duckdb.run(`CREATE OR REPLACE TEMP VIEW scoped AS ${scopedSql(cycle)}`);
      for (const [name, sql] of Object.entries(derivedOutputs) as [
        keyof typeof derivedOutputs,
        (c: number) => string,
      ][]) {
        const file = join(dir, `${cycle}-${name}.parquet`);
        // The cycle is in the object's path (Hive partition), not in its rows.
        await duckdb.run(
          `COPY (SELECT * EXCLUDE (cycle) FROM (${sql(cycle)})) TO ${quote(file)} (FORMAT parquet, COMPRESSION zstd)`,
        );
        const count = await duckdb.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${quote(file)})`);
        rows[name] = (rows[name] ?? 0) + Number(count.getRowObjectsJS()[0]?.n ?? 0);
        const key = derivedObjectKey(cycle, name);
        await store.put(key, new Uint8Array(await readFile(file)), 'application/vnd.apache.parquet', {
          maxElapsedMs: Number.POSITIVE_INFINITY,
        });
        objects.push(key);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await duckdb.run(
      'DROP TABLE IF EXISTS history_obs; DROP TABLE IF EXISTS current_obs; DROP VIEW IF EXISTS scoped',
    );
  }
  return { cycles: targets, objects, rows, inputObjects: observationObjects.length };
};
