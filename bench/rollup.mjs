// Benchmark: time to derive rollups, completeness, the shortfall ledger and quality flags for one and for
// five national cycles (every urban community and district of the registry reporting every indicator of
// its level), against one hand-written DuckDB aggregate over the same Parquet objects on the same store.
// Run after `pnpm build` with the local stack up:
//   node bench/rollup.mjs [--cycles 5] [--memory-limit 1GB] [--bucket bench-rollup-…]
// --bucket reuses the lake an earlier run built (its name is on the last line) instead of building one (about
// 45 s a cycle); --memory-limit is DuckDB's (default: the aggregate's, AGGREGATE_DUCKDB_MEMORY_LIMIT).
// Besides the hand-written aggregate and a derivation from scratch (deriveCycles), it times each step of
// that derivation and a second run of a long-lived derivation that has nothing new to load (what the
// aggregate worker pays per run once it has loaded the lake), one city's resubmission on that loaded lake
// (it adds a commit-log entry to the bucket), and reports peak RSS and the load average.
// Building a lake uses a DuckDB instance of its own (4GB) and counts in the peak RSS: use --bucket for RSS.
import { readFile } from 'node:fs/promises';
import { createDerivation, deriveCycles } from '@citycheck/aggregate';
import { openBenchLake, option, writeCityResubmission, writeSyntheticLake } from './synthetic-lake.mjs';

/** @import { DeriveResult } from '@citycheck/aggregate' */

const cycleCount = Number(option('--cycles') || 5);
const { config, reuse, memoryLimit, bucket, s3, store, lake, commitLog } =
  await openBenchLake('bench-rollup');
const db = lake.connection;
/** @param {number} start */
const seconds = (start) => ((performance.now() - start) / 1000).toFixed(2);
/** @param {unknown[]} args */
const log = (...args) => console.error(...args);

const cycles = Array.from({ length: cycleCount }, (_, i) => 2024 + i);
const [firstCycle] = cycles;
if (firstCycle === undefined) throw new Error('--cycles must be at least 1');
let rows = 0;
if (reuse === undefined) {
  log(`bucket ${bucket}: writing reference data and the synthetic cycles`);
  const started = performance.now();
  const written = await writeSyntheticLake({
    db,
    store,
    commitLog,
    s3,
    extensionDirectory: config.duckdbExtensionDirectory,
    cycles,
  });
  rows = written.rows;
  log(
    `generated and uploaded ${rows.toLocaleString()} observations in ${written.objects} objects for ${cycleCount} cycles in ${seconds(started)} s`,
  );
}
const entries = await commitLog.committed();
if (reuse !== undefined) {
  rows = entries.reduce((sum, entry) => sum + entry.records, 0);
  log(`bucket ${bucket}: reusing ${rows.toLocaleString()} observations in ${entries.length} objects`);
}
const settings = cycles.map((cycle) => ({ cycle, deadline: `${cycle}-12-31T16:00:00.000Z` }));
/** @type {{ label: string, seconds: number, peak: number, out: unknown }[]} */
const results = [];
/** @type {<T>(label: string, work: () => Promise<T>) => Promise<T>} */
const time = async (label, work) => {
  const start = performance.now();
  const out = await work();
  const s = Number(seconds(start));
  // Peak RSS of the process so far (it only grows): read after each step, it says which step raised it.
  const peak = Math.round(process.resourceUsage().maxRSS / 1024);
  results.push({ label, seconds: s, peak, out });
  log(`${label}: ${s} s (peak RSS so far ${peak} MiB)`);
  return out;
};
const allUrls = entries.flatMap((e) => e.objects.map((o) => `'s3://${bucket}/${o.key}'`)).join(', ');
/** @param {number[]} targets */
const handWritten = (targets) => `SELECT indicator_code, province_code, sum(value) AS total, count(*) AS n
  FROM read_parquet([${allUrls}], hive_partitioning = true, hive_types = {'cycle': INTEGER, 'province_code': VARCHAR, 'city_code': VARCHAR})
  WHERE cycle IN (${targets.join(', ')}) GROUP BY ALL`;

/** @param {DeriveResult} result */
const steps = (result) =>
  Object.entries(result.timings)
    .map(([step, ms]) => `${step} ${(ms / 1000).toFixed(2)}`)
    .join(', ');
// The worker's derivation lives as long as the process: its first run loads the lake (what deriveCycles
// does from scratch), later runs only what is new. On a connection of its own, as in the worker. Timed
// before the hand-written aggregate so that the peak RSS after each step is the derivation's own.
const derivationConnection = await lake.instance.connect();
const derivation = await createDerivation({ duckdb: derivationConnection, store, settings });
const first = await time('derivation from scratch (loads the lake), 1 cycle', () =>
  derivation.derive(entries, [firstCycle]),
);
log(`  steps (s): ${steps(first)}`);
const again = await time('the same derivation again, nothing new to load, 1 cycle', () =>
  derivation.derive(entries, [firstCycle]),
);
log(`  steps (s): ${steps(again)}`);
// One city's resubmission on the loaded lake, from its lake commit to the rollups rewritten (see
// writeCityResubmission): the long-lived derivation loads the one new object and rewrites the cycle.
const resubmission = await writeCityResubmission({ db, store, commitLog, bucket, cycle: firstCycle });
const resubmitted = await time(
  `one city's resubmission (${resubmission.rows.toLocaleString()} observations of ${resubmission.city}), lake commit to rollups rewritten, 1 cycle`,
  async () => derivation.derive(await commitLog.committed(), [firstCycle]),
);
log(`  steps (s): ${steps(resubmitted)}`);
await time(
  'hand-written aggregate, 1 cycle',
  async () => (await db.runAndReadAll(handWritten([firstCycle]))).currentRowCount,
);
if (cycleCount > 1) {
  log(
    `  steps (s): ${steps(await time(`deriveCycles (from scratch), ${cycleCount} cycles`, () => deriveCycles(db, store, entries, settings, cycles)))}`,
  );
  log(
    `  steps (s): ${steps(await time(`long-lived derivation, nothing new to load, ${cycleCount} cycles`, () => derivation.derive(entries, cycles)))}`,
  );
  await time(
    `hand-written aggregate, ${cycleCount} cycles`,
    async () => (await db.runAndReadAll(handWritten(cycles))).currentRowCount,
  );
}
await derivation.close();
derivationConnection.closeSync();
const rss = (process.resourceUsage().maxRSS / 1024).toFixed(0);
const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
console.log('\n| measurement | seconds | peak RSS so far (MiB) |\n|---|---|---|');
for (const result of results) console.log(`| ${result.label} | ${result.seconds} | ${result.peak} |`);
console.log(
  `\n${rows.toLocaleString()} observations (${(rows / cycleCount).toLocaleString()} per cycle), ${entries.length} objects; DuckDB memory limit ${memoryLimit}; peak process RSS ${rss} MiB; load average at the end ${load}; bucket ${bucket}`,
);
lake.close();
store.close();
