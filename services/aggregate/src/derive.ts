// Derives what the ministry reads from the lake, per cycle: indicator rollups (over everything, and over the
// accepted cities' data alone), completeness, the shortfall ledger and quality flags, each one Parquet object
// under rollups/cycle=<cycle>/. The contract: given the committed observation objects, the reference data in
// the lake, the cities' review states and a set of target cycles, each target's five objects are rewritten
// from scratch, so an incremental run (only the cycles new data touched, and the
// cycle after each, whose comparisons depend on it) and a full run give byte-identical objects, and so do a
// derivation that has loaded the lake bit by bit over many runs and one that loads it all at once.
//
// A derivation keeps what it has loaded (the current observation of each cycle, unit and indicator, and the
// units' receipt times) in a DuckDB database file of its own between runs, and each run reads only the
// objects of commit-log entries it has not loaded yet: entries are immutable once committed, and objects of
// pending entries are never read. File-backed, the state takes what DuckDB's memory limit lets it keep in
// its buffer pool and leaves the rest on disk, so memory is bounded by the limit and not by the lake's size
// (an in-memory database spills the same rows to the temp directory anyway, and keeps more resident).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CycleSettings as FullCycleSettings } from '@citycheck/catalogue';
import type { DuckDBConnection, ManifestEntry, ObjectStore } from '@citycheck/lake';
import {
  acceptedScope,
  acceptedScopeSql,
  bulkLoadSql,
  changedCitiesSql,
  cityDisagreementsSql,
  completenessSql,
  currentViewSql,
  cycleDivisionsSql,
  expectedUnitsSql,
  indicatorRollupsSql,
  latestIncomingSql,
  mergeCurrentSql,
  mergeReceiptsSql,
  qualityFlagsSql,
  receiptsViewSql,
  referenceSql,
  repeatedKeysSql,
  scopedSql,
  shortfallLedgerRowsSql,
  shortfallLedgerSql,
  stageSql,
  stateTablesSql,
  streetSumsSql,
} from './derive-sql.js';

/** What derivation needs of a cycle's settings (see loadCycleSettings in @citycheck/catalogue). */
export type CycleSettings = Pick<FullCycleSettings, 'cycle' | 'deadline' | 'expectedCities'> &
  Partial<Pick<FullCycleSettings, 'countyLevelCities'>>;

export interface DeriveResult {
  readonly cycles: readonly number[];
  readonly objects: readonly string[];
  readonly rows: Readonly<Record<string, number>>;
  /** Observation objects the derivation has loaded in all (every committed one it was given). */
  readonly inputObjects: number;
  /** Of those, the ones this run loaded. */
  readonly loadedObjects: number;
  /** Milliseconds per step (load, reference, and each output of each cycle), for logs and benchmarks. */
  readonly timings: Readonly<Record<string, number>>;
}

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export const derivedOutputs = {
  indicator_rollups: (cycle: number) => indicatorRollupsSql(cycle),
  // The same rollups over the accepted cities' data alone (the rollups_accepted view).
  indicator_rollups_accepted: (cycle: number) => indicatorRollupsSql(cycle, acceptedScope),
  completeness: completenessSql,
  shortfall_ledger: shortfallLedgerSql,
  quality_flags: qualityFlagsSql,
} as const;

/** The rows derivation keeps per cycle and city between runs, by state table, and the query of each. */
const keptRows = [
  ['street_sums', streetSumsSql],
  ['shortfall_ledger', shortfallLedgerRowsSql],
  ['city_disagreements', cityDisagreementsSql],
] as const;

export const derivedObjectKey = (cycle: number, name: keyof typeof derivedOutputs): string =>
  `rollups/cycle=${cycle}/${name}.parquet`;

const loadCycleSettings = async (
  duckdb: DuckDBConnection,
  settings: readonly CycleSettings[],
): Promise<void> => {
  await duckdb.run(
    'CREATE OR REPLACE TEMP TABLE cycle_settings (cycle INTEGER, deadline TIMESTAMP, expected_city_codes VARCHAR[], county_level_cities VARCHAR[])',
  );
  for (const setting of settings) {
    const cities =
      setting.expectedCities === undefined
        ? 'NULL'
        : `[${setting.expectedCities.map(quote).join(', ')}]::VARCHAR[]`;
    const countyLevelCities = `[${(setting.countyLevelCities ?? []).map(quote).join(', ')}]::VARCHAR[]`;
    // Deadlines are stored as UTC timestamps, like received_at.
    await duckdb.run(
      `INSERT INTO cycle_settings VALUES (${setting.cycle}, (${quote(setting.deadline)}::TIMESTAMPTZ AT TIME ZONE 'UTC'), ${cities}, ${countyLevelCities})`,
    );
  }
};

/** A city's review as derivation reads it: its state, and when its last action was taken. */
export interface ReviewStanding {
  readonly cycle: number;
  readonly cityCode: string;
  readonly state: string;
  readonly lastActionAt?: string;
}

const loadReviewStandings = async (
  duckdb: DuckDBConnection,
  reviews: readonly ReviewStanding[],
): Promise<void> => {
  await duckdb.run(
    'CREATE OR REPLACE TEMP TABLE cycle_reviews (cycle INTEGER, city_code VARCHAR, state VARCHAR)',
  );
  if (reviews.length > 0)
    await duckdb.run(
      `INSERT INTO cycle_reviews VALUES ${reviews
        .map((review) => `(${review.cycle}, ${quote(review.cityCode)}, ${quote(review.state)})`)
        .join(', ')}`,
    );
};

/** The last review action on a city of `cycle` or of the one before (whose accepted rollups it compares with). */
export const reviewsChangedAt = (reviews: readonly ReviewStanding[], cycle: number): string | undefined => {
  let latest: string | undefined;
  for (const review of reviews) {
    if (review.cycle !== cycle && review.cycle !== cycle - 1) continue;
    const at = review.lastActionAt;
    if (at !== undefined && (latest === undefined || Date.parse(at) > Date.parse(latest))) latest = at;
  }
  return latest;
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

export interface DerivationOptions {
  /** The connection the derivation runs its statements on; give it one of its own in a busy process. */
  readonly duckdb: DuckDBConnection;
  readonly store: ObjectStore;
  readonly settings: readonly CycleSettings[];
  /**
   * Objects loaded into a state that holds some already are merged in batches of about this many rows (a
   * first load goes in one pass), so a large catch-up needs memory for one batch beyond the state.
   */
  readonly loadBatchRows?: number;
  /**
   * The settings in force at each run, when they change while the derivation lives (cycles an operator
   * opens or amends on cycles.v1); `settings` is then ignored.
   */
  readonly currentSettings?: () => readonly CycleSettings[];
  /** When a cycle's settings last changed (an operator's action), so a row derived after it says so. */
  readonly settingsChangedAt?: (cycle: number) => string | undefined;
  /** Where the state's database file lives (a directory of its own is made in it; removed on close). */
  readonly directory?: string;
  /**
   * Each city's review as it stands at the run (followed from reviews.v1): the review_state of the city rows,
   * completeness's counts by state, and which cities the accepted rollups take. None: every city is a draft.
   */
  readonly reviews?: () => readonly ReviewStanding[];
}

/**
 * What every derived row carries about its freshness: the last lake commit the cycle's rows depend on (an
 * entry holding observations of the cycle or of the one before, whose values the comparisons read) and
 * when the rows were derived, taken as the later of that commit's time and the cycle's last settings change.
 * Both follow from the derivation's input alone, never from the clock, so an incremental run and a run from
 * scratch over the same commit log still write byte-identical objects.
 */
export const derivationFreshness = (
  entries: readonly ManifestEntry[],
  cycle: number,
  settingsChangedAt?: string,
  reviewedAt?: string,
): { readonly derivedAt: string | null; readonly lakeCommit: string | null } => {
  let last: ManifestEntry | undefined;
  const name = (entry: ManifestEntry): string => `${entry.topic}+${entry.partition}+${entry.startOffset}`;
  for (const entry of entries) {
    const cycles = cyclesInLake([entry]);
    if (!cycles.includes(cycle) && !cycles.includes(cycle - 1)) continue;
    if (
      last === undefined ||
      entry.writtenAt > last.writtenAt ||
      (entry.writtenAt === last.writtenAt && name(entry) > name(last))
    )
      last = entry;
  }
  const times = [last?.writtenAt, settingsChangedAt, reviewedAt].filter(
    (time): time is string => time !== undefined,
  );
  const derivedAt =
    times.length === 0 ? null : new Date(Math.max(...times.map((time) => Date.parse(time)))).toISOString();
  return { derivedAt, lakeCommit: last === undefined ? null : name(last) };
};

export interface Derivation {
  /**
   * Loads the committed objects of `entries` not loaded yet. A derivation given entries that no longer
   * include one it loaded (the lake was replaced) starts again from nothing.
   */
  load(entries: readonly ManifestEntry[]): Promise<{ loadedObjects: number; inputObjects: number }>;
  /**
   * Loads as `load` does, then rewrites the derived objects of `targets` (defaults to every cycle in the
   * lake). Cycles with settings missing get completeness against "every city, no deadline passed".
   */
  derive(entries: readonly ManifestEntry[], targets?: readonly number[]): Promise<DeriveResult>;
  /** Drops what the derivation keeps; it must not be used afterwards. */
  close(): Promise<void>;
}

// Attached databases belong to the DuckDB instance, shared by its connections: each derivation its own.
let derivationCount = 0;

export const createDerivation = async ({
  duckdb,
  store,
  settings: fixedSettings,
  loadBatchRows = 250_000,
  currentSettings = () => fixedSettings,
  settingsChangedAt = () => undefined,
  directory = tmpdir(),
  reviews: currentReviews = () => [],
}: DerivationOptions): Promise<Derivation> => {
  derivationCount += 1;
  const db = `derivation_${process.pid}_${derivationCount}`;
  const url = (key: string): string => quote(`s3://${store.bucket}/${key}`);
  const loaded = new Set<string>();
  // The cycles whose street sums the state holds, each with the cities whose observations changed since
  // (their sums are redone by the next run that needs the cycle), and the catalogue rules they were summed
  // under (aggregation and level: a change of the reference redoes them all).
  const summed = new Map<number, Set<string>>();
  // Likewise the cycles whose shortfall ledger rows and city disagreements the state holds. A city's
  // disagreements depend on its rows of that cycle alone; a unit's ledger rows on its whole history, so a
  // change to an earlier cycle makes every later cycle's ledger stale (the unit may have moved city).
  const ledgered = new Map<number, Set<string>>();
  const disagreed = new Map<number, Set<string>>();
  const keptPerCity = [summed, ledgered, disagreed];
  const cityChanged = (cycle: number, city: string): void => {
    for (const kept of keptPerCity) kept.get(cycle)?.add(city);
    for (const later of [...ledgered.keys()]) if (later > cycle) ledgered.delete(later);
  };
  const forgetKept = (): void => {
    for (const kept of keptPerCity) kept.clear();
  };
  let summedUnder: string | undefined;
  const stateDirectory = await mkdtemp(join(directory, 'citycheck-derivation-'));
  const stateFile = join(stateDirectory, 'state.duckdb');

  const reset = async (): Promise<void> => {
    await duckdb.run(`DETACH DATABASE IF EXISTS ${db}`);
    await rm(stateFile, { force: true });
    await rm(`${stateFile}.wal`, { force: true });
    // Stored as DuckDB stores tables (dictionaries, bit packing, FSST): 30 to 50 MiB for a national cycle.
    await duckdb.run(`ATTACH ${quote(stateFile)} AS ${db}`);
    for (const sql of stateTablesSql(db)) await duckdb.run(sql);
    loaded.clear();
    forgetKept();
  };
  await reset();

  const load: Derivation['load'] = async (entries) => {
    const committed = entries.flatMap((entry) => entry.objects);
    const keys = new Set(committed.map((object) => object.key));
    if ([...loaded].some((key) => !keys.has(key))) await reset();
    const fresh = committed
      .filter((object) => !loaded.has(object.key))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (loaded.size === 0 && fresh.length > 1) {
      // From nothing, one pass at DuckDB's own speed; merging batch by batch would join each batch with an
      // ever larger state.
      for (const sql of bulkLoadSql(
        db,
        fresh.map((object) => url(object.key)),
      ))
        await duckdb.run(sql);
      for (const object of fresh) loaded.add(object.key);
      // Sums and rows taken before (of an empty lake, for cycles a caller named) are of nothing: all stale.
      forgetKept();
      await duckdb.run(`CHECKPOINT ${db}`);
      return { loadedObjects: fresh.length, inputObjects: loaded.size };
    }
    const batches: (typeof fresh)[] = [];
    let rows = Number.POSITIVE_INFINITY;
    for (const object of fresh) {
      if (rows + object.rows > loadBatchRows) {
        batches.push([]);
        rows = 0;
      }
      batches.at(-1)?.push(object);
      rows += object.rows;
    }
    for (const batch of batches) {
      await duckdb.run(stageSql(batch.map((object) => url(object.key))));
      await duckdb.run(mergeReceiptsSql(db));
      const repeated = await duckdb.runAndReadAll(repeatedKeysSql);
      if (Number(repeated.getRowObjectsJS()[0]?.n ?? 0) > 0) await duckdb.run(latestIncomingSql);
      const merge = mergeCurrentSql(db);
      await duckdb.run(merge.existing);
      const later = await duckdb.runAndReadAll('SELECT count(*) FILTER (WHERE later) AS n FROM existing');
      if (Number(later.getRowObjectsJS()[0]?.n ?? 0) > 0) await duckdb.run(merge.supersede);
      const changed = await duckdb.runAndReadAll(changedCitiesSql);
      for (const row of changed.getRowObjectsJS()) cityChanged(Number(row.cycle), String(row.city_code));
      await duckdb.run(merge.add);
      await duckdb.run('DROP TABLE incoming; DROP TABLE existing');
      for (const object of batch) loaded.add(object.key);
    }
    // Rows written since the last checkpoint are held uncompressed; a checkpoint compresses them.
    if (fresh.length > 0) await duckdb.run(`CHECKPOINT ${db}`);
    return { loadedObjects: fresh.length, inputObjects: loaded.size };
  };

  const derive: Derivation['derive'] = async (entries, targets = cyclesInLake(entries)) => {
    const timings: Record<string, number> = {};
    const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
      const start = performance.now();
      try {
        return await work();
      } finally {
        timings[step] = Math.round((timings[step] ?? 0) + performance.now() - start);
      }
    };
    const { loadedObjects, inputObjects } = await timed('load', () => load(entries));
    const settings = currentSettings();
    const reviews = currentReviews();

    await timed('reference', async () => {
      const present = new Set(await store.list('reference/'));
      const reference = (name: string): string | undefined =>
        present.has(`reference/${name}.parquet`) ? url(`reference/${name}.parquet`) : undefined;
      for (const sql of referenceSql(reference('indicators'), reference('divisions'))) await duckdb.run(sql);
      await loadCycleSettings(duckdb, [
        ...settings,
        ...targets
          .filter((cycle) => !settings.some((setting) => setting.cycle === cycle))
          .map((cycle) => ({ cycle, deadline: '9999-12-31T00:00:00Z' })),
      ]);
      await loadReviewStandings(duckdb, reviews);
      await duckdb.run(currentViewSql(db));
      await duckdb.run(receiptsViewSql(db));
      const rules = await duckdb.runAndReadAll(
        `SELECT md5(coalesce(string_agg(concat_ws('|', catalogue_version, code, aggregation, primary_level, standard_operator, standard_value), ',' ORDER BY catalogue_version, code), '')) AS rules FROM reference_indicators`,
      );
      const under = String(rules.getRowObjectsJS()[0]?.rules);
      if (under !== summedUnder) forgetKept();
      summedUnder = under;
      // Typed as the queries that fill them.
      for (const [table, rowsSql] of keptRows) {
        await duckdb.run(`CREATE TABLE IF NOT EXISTS ${db}.${table} AS ${rowsSql(0, [])}`);
        await duckdb.run(`CREATE OR REPLACE TEMP VIEW kept_${table} AS SELECT * FROM ${db}.${table}`);
      }
    });

    // The rows a cycle keeps per city (street sums, ledger rows, city disagreements): all of them the first
    // time, then only those of cities changed since.
    const keepRows = async (
      kept: Map<number, Set<string>>,
      table: string,
      rowsSql: (cycle: number, cities: readonly string[] | undefined) => string,
      cycle: number,
    ): Promise<void> => {
      const stale = kept.get(cycle);
      if (stale !== undefined && stale.size === 0) return;
      const cities = stale === undefined ? undefined : [...stale].sort();
      await duckdb.run(
        `DELETE FROM ${db}.${table} WHERE cycle = ${cycle}${cities === undefined ? '' : ` AND city_code IN (${cities.map(quote).join(', ')})`}`,
      );
      await duckdb.run(`INSERT INTO ${db}.${table} ${rowsSql(cycle, cities)}`);
      if (stale === undefined) kept.set(cycle, new Set());
      else stale.clear();
    };

    const dir = await mkdtemp(join(tmpdir(), 'citycheck-derive-'));
    const objects: string[] = [];
    const rows: Record<string, number> = {};
    try {
      for (const cycle of [...targets].sort((a, b) => a - b)) {
        await duckdb.run(`CREATE OR REPLACE TEMP VIEW scoped AS ${scopedSql(cycle)}`);
        await timed('street_sums', async () => {
          await keepRows(summed, 'street_sums', streetSumsSql, cycle - 1);
          await keepRows(summed, 'street_sums', streetSumsSql, cycle);
        });
        await timed('ledger_rows', () =>
          keepRows(ledgered, 'shortfall_ledger', shortfallLedgerRowsSql, cycle),
        );
        await timed('city_disagreements', () =>
          keepRows(disagreed, 'city_disagreements', cityDisagreementsSql, cycle),
        );
        // Which units the cycle expects and where it places them depend on its county-level cities.
        await timed('expected', async () => {
          await duckdb.run(`CREATE OR REPLACE TEMP TABLE cycle_divisions AS ${cycleDivisionsSql(cycle)}`);
          await duckdb.run(`CREATE OR REPLACE TEMP TABLE expected_units AS ${expectedUnitsSql()}`);
          for (const sql of acceptedScopeSql(cycle)) await duckdb.run(sql);
        });
        const freshness = derivationFreshness(
          entries,
          cycle,
          settingsChangedAt(cycle),
          reviewsChangedAt(reviews, cycle),
        );
        const derivedAt =
          freshness.derivedAt === null
            ? 'NULL::TIMESTAMP'
            : `(${quote(freshness.derivedAt)}::TIMESTAMPTZ AT TIME ZONE 'UTC')`;
        const lakeCommit = freshness.lakeCommit === null ? 'NULL::VARCHAR' : quote(freshness.lakeCommit);
        for (const [name, sql] of Object.entries(derivedOutputs) as [
          keyof typeof derivedOutputs,
          (c: number) => string,
        ][]) {
          const file = join(dir, `${cycle}-${name}.parquet`);
          // The cycle is in the object's path (Hive partition), not in its rows; every row says how fresh it is.
          await timed(name, () =>
            duckdb.run(
              `COPY (SELECT * EXCLUDE (cycle), ${derivedAt} AS derived_at, ${lakeCommit} AS lake_commit FROM (${sql(cycle)})) TO ${quote(file)} (FORMAT parquet, COMPRESSION zstd)`,
            ),
          );
          await timed('upload', async () => {
            const count = await duckdb.runAndReadAll(
              `SELECT count(*) AS n FROM read_parquet(${quote(file)})`,
            );
            rows[name] = (rows[name] ?? 0) + Number(count.getRowObjectsJS()[0]?.n ?? 0);
            const key = derivedObjectKey(cycle, name);
            await store.put(key, new Uint8Array(await readFile(file)), 'application/vnd.apache.parquet', {
              maxElapsedMs: Number.POSITIVE_INFINITY,
            });
            objects.push(key);
          });
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await duckdb.run(
        'DROP VIEW IF EXISTS scoped; DROP VIEW IF EXISTS accepted_street_sums; DROP TABLE IF EXISTS accepted_cities; DROP TABLE IF EXISTS accepted_divisions; DROP TABLE IF EXISTS accepted_expected_units; DROP VIEW IF EXISTS kept_street_sums; DROP VIEW IF EXISTS kept_shortfall_ledger; DROP VIEW IF EXISTS kept_city_disagreements; DROP VIEW IF EXISTS current_obs; DROP VIEW IF EXISTS receipts; DROP TABLE IF EXISTS reference_divisions; DROP TABLE IF EXISTS cycle_divisions',
      );
    }
    return { cycles: targets, objects, rows, inputObjects, loadedObjects, timings };
  };

  return {
    load,
    derive,
    async close() {
      await duckdb.run(
        'DROP TABLE IF EXISTS reference_indicators; DROP TABLE IF EXISTS expected_units; DROP TABLE IF EXISTS cycle_settings; DROP TABLE IF EXISTS cycle_reviews',
      );
      await duckdb.run(`DETACH DATABASE IF EXISTS ${db}`);
      await rm(stateDirectory, { recursive: true, force: true });
      loaded.clear();
    },
  };
};

/**
 * Rewrites the derived objects of `targets` (defaults to every cycle in the lake) from a fresh load of
 * every committed object: a full run from scratch, which a long-lived derivation's runs must equal.
 */
export const deriveCycles = async (
  duckdb: DuckDBConnection,
  store: ObjectStore,
  entries: readonly ManifestEntry[],
  settings: readonly CycleSettings[],
  targets: readonly number[] = cyclesInLake(entries),
  reviews: readonly ReviewStanding[] = [],
): Promise<DeriveResult> => {
  const derivation = await createDerivation({ duckdb, store, settings, reviews: () => reviews });
  try {
    return await derivation.derive(entries, targets);
  } finally {
    await derivation.close();
  }
};
