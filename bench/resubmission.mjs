// Benchmark: one city's resubmission on a loaded national lake, from its lake commit to the rollups
// rewritten. Builds (or, with --bucket, reuses) the synthetic national lake of synthetic-lake.mjs on the
// local stack, derives its latest cycle once from scratch with a long-lived derivation on a connection of
// its own (what the aggregate worker holds after its first run), then, city by city, commits one city's
// resubmission (writeCityResubmission: every observation of the city again, one higher, a day later, one
// object and commit-log entry) and times the derivation's next run over the commit log, which is what the
// worker runs for a commit once caught up (plus its 250 ms debounce, ROLLUP_DEBOUNCE_MS). Each run prints
// its steps, so what limits it is in the output. Run after `pnpm build` with the local stack up:
//   node bench/resubmission.mjs [--cycles 2] [--cities 4] [--bucket bench-resubmission-…] [--memory-limit 512MB]
// --cycles: cycles in the lake (2024 on; the latest is resubmitted, so 2 gives it a previous cycle to
// compare with, as a real one has); --cities: resubmissions, of cities at the median, lower quartile, upper
// quartile and largest size, in that order. Each resubmission adds an entry to the bucket's commit log.
import { readFile } from 'node:fs/promises';
import { createDerivation } from '@citycheck/aggregate';
import {
  citiesBySize,
  openBenchLake,
  option,
  writeCityResubmission,
  writeSyntheticLake,
} from './synthetic-lake.mjs';

/** @import { DeriveResult } from '@citycheck/aggregate' */

const cycleCount = Number(option('--cycles') || 2);
const cityCount = Number(option('--cities') || 4);
const { config, reuse, memoryLimit, bucket, s3, store, lake, commitLog } =
  await openBenchLake('bench-resubmission');
/** @param {unknown[]} args */
const log = (...args) => console.error(...args);
const loadAverage = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
const peakRss = () => Math.round(process.resourceUsage().maxRSS / 1024);
const loadBefore = await loadAverage();

const cycles = Array.from({ length: cycleCount }, (_, i) => 2024 + i);
const target = cycles.at(-1);
if (target === undefined) throw new Error('--cycles must be at least 1');
if (reuse === undefined) {
  const started = performance.now();
  const written = await writeSyntheticLake({
    db: lake.connection,
    store,
    commitLog,
    s3,
    extensionDirectory: config.duckdbExtensionDirectory,
    cycles,
  });
  log(
    `bucket ${bucket}: ${written.rows.toLocaleString()} observations in ${written.objects} objects for ${cycleCount} cycles, written in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
const settings = cycles.map((cycle) => ({ cycle, deadline: `${cycle}-12-31T16:00:00.000Z` }));

/** @param {DeriveResult} result */
const steps = (result) =>
  Object.entries(result.timings)
    .filter(([, ms]) => ms >= 10)
    .map(([step, ms]) => `${step} ${(ms / 1000).toFixed(2)}`)
    .join(', ');
/** @type {<T>(work: () => Promise<T>) => Promise<{ out: T, seconds: number }>} */
const timed = async (work) => {
  const start = performance.now();
  const out = await work();
  return { out, seconds: (performance.now() - start) / 1000 };
};

// The worker's derivation, on a connection of its own, loaded by a first run as after a start.
const connection = await lake.instance.connect();
const derivation = await createDerivation({ duckdb: connection, store, settings });
const entries = await commitLog.committed();
const observations = entries.reduce((sum, entry) => sum + entry.objects.reduce((n, o) => n + o.rows, 0), 0);
const first = await timed(() => derivation.derive(entries, [target]));
log(`from scratch (loads the lake, derives ${target}): ${first.seconds.toFixed(2)} s; ${steps(first.out)}`);
const rssLoaded = peakRss();

// The hand-written aggregate over the same cycle's objects, warm (the second of two runs), as the floor.
const urls = entries
  .flatMap((entry) => entry.objects.map((object) => `'s3://${bucket}/${object.key}'`))
  .filter((url) => url.includes(`/cycle=${target}/`))
  .join(', ');
const handWritten = `SELECT indicator_code, province_code, sum(value) AS total, count(*) AS n
  FROM read_parquet([${urls}], hive_partitioning = true, hive_types = {'cycle': INTEGER, 'province_code': VARCHAR, 'city_code': VARCHAR})
  GROUP BY ALL`;
await lake.connection.runAndReadAll(handWritten);
const floor = await timed(() => lake.connection.runAndReadAll(handWritten));

const sizes = await citiesBySize(commitLog, target);
const picks = [0.5, 0.25, 0.75, 1]
  .slice(0, cityCount)
  .map((q) => sizes[Math.min(sizes.length - 1, Math.floor(q * sizes.length))]);
/** @type {{ city: string, rows: number, seconds: number, steps: string }[]} */
const runs = [];
for (const pick of picks) {
  if (pick === undefined) continue;
  // writeCityResubmission returns once the entry is committed: the lake commit.
  const resubmission = await writeCityResubmission({
    db: lake.connection,
    store,
    commitLog,
    bucket,
    cycle: target,
    city: pick.code,
  });
  // What the worker does for a commit: list the commit log, then derive the cycle.
  let listing = 0;
  const run = await timed(async () => {
    const listed = await timed(() => commitLog.committed());
    listing = listed.seconds;
    return derivation.derive(listed.out, [target]);
  });
  const runSteps = `commit log ${listing.toFixed(2)}, ${steps(run.out)}`;
  runs.push({ city: resubmission.city, rows: resubmission.rows, seconds: run.seconds, steps: runSteps });
  log(
    `resubmission of ${resubmission.city} (${resubmission.rows.toLocaleString()} observations): ${run.seconds.toFixed(2)} s; ${runSteps}`,
  );
}
await derivation.close();
connection.closeSync();

const sorted = runs.map((run) => run.seconds).sort((a, b) => a - b);
const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
console.log(`
One city's resubmission, lake commit to rollups rewritten (cycle ${target} of ${cycleCount} in the lake; ${observations.toLocaleString()} observations in ${entries.length} commit-log entries; DuckDB memory limit ${memoryLimit}; load average before ${loadBefore}, after ${await loadAverage()})

| run | observations resubmitted | seconds | steps (s) |
| --- | --- | --- | --- |
| from scratch, every observation loaded | ${observations.toLocaleString()} | ${first.seconds.toFixed(2)} | ${steps(first.out)} |
${runs.map((run) => `| city ${run.city} | ${run.rows.toLocaleString()} | ${run.seconds.toFixed(2)} | ${run.steps} |`).join('\n')}

Median resubmission ${median.toFixed(2)} s (target 2 s) = ${(median / floor.seconds).toFixed(1)}x the hand-written GROUP BY over the cycle's objects (${floor.seconds.toFixed(2)} s warm); from scratch ${(first.seconds / floor.seconds).toFixed(1)}x. Peak RSS ${rssLoaded} MiB after the first run, ${peakRss()} MiB at the end${reuse === undefined ? ' (the lake was built in this process, on a 4GB DuckDB instance: use --bucket for the derivation alone)' : ''}. Bucket ${bucket} (--bucket reuses it).`);
lake.close();
store.close();
