// Benchmark: latency (p50/p95) of the query service's worked queries (services/query/README.md) on one and
// on five synthetic national cycles: every urban community (about 126,500) and district of the division
// registry reporting every indicator of its level, generated straight into Parquet with DuckDB (the same
// synthetic cycle as bench/rollup.mjs), derived by the aggregate service's deriveCycles, then queried through
// the query service's HTTP app (JSON answers, parse to last byte) as a ministry and a provincial analyst.
// Run after `pnpm build` with the local stack up:  node bench/query-latency.mjs [--cycles 5] [--runs 20]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveCycles } from '@citycheck/aggregate';
import { objectStoreSettings, objectStoreVariables, readConfig } from '@citycheck/config';
import { createCommitLog, createObjectStore, datasets, openLakeDatabase } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import { createMetricsRegistry } from '@citycheck/metrics';
import { buildQueryApp, createLakeViewDefiner, createQueryEngine } from '@citycheck/query';
import { createTestCredentials } from '@citycheck/testkit/credentials';
import { prepareSyntheticLake, writeBenchReference, writeSyntheticCycle } from './synthetic-lake.mjs';

/** @type {(name: string, fallback: number) => number} */
const argument = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const cycleCount = argument('cycles', 5);
const runs = argument('runs', 20);
const config = readConfig([...objectStoreVariables, 'duckdbExtensionDirectory']);
const bucket = `bench-query-${Date.now().toString(36)}`;
const s3 = { ...objectStoreSettings(config), bucket };
/** @param {unknown[]} args */
const log = (...args) => console.error(...args);
const store = createObjectStore(s3);
await store.ensureBucket();
const lake = await openLakeDatabase({
  extensionDirectory: config.duckdbExtensionDirectory,
  s3,
  memoryLimit: '4GB',
});
const db = lake.connection;

log(`bucket ${bucket}: writing reference data`);
await writeBenchReference(db, store);
await prepareSyntheticLake(db, bucket);
const communities = Number(
  (await db.runAndReadAll("SELECT count(*) AS n FROM units WHERE level = 'community'")).getRowObjectsJS()[0]
    ?.n,
);

const commitLog = createCommitLog(store, datasets.observations);
let offset = 0;
let rows = 0;
let objects = 0;
/**
 * Writes one synthetic cycle to the lake and records its objects in the commit log.
 * @param {number} cycle
 */
const writeCycle = async (cycle) => {
  const written = await writeSyntheticCycle({ db, store, commitLog, cycle, offset });
  offset = written.offset;
  rows += written.rows;
  objects += written.objects;
};

// The query service as it runs: locked-down engine over the same bucket, HTTP app, analyst credentials.
const credentials = createTestCredentials();
const ministry = credentials.issue('000000000000000a', 'analyst:ministry');
const guangdong = credentials.issue('0000000000000044', 'analyst:province:44');
const logger = createLogger({ service: 'bench-query', level: 'silent' });
const exportDirectory = await mkdtemp(join(tmpdir(), 'bench-query-exports-'));

/** @type {(sorted: number[], p: number) => number} */
const percentile = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

/** @type {(latest: number, first: number) => { name: string, token: string, sql: string }[]} */
const queries = (latest, first) => [
  {
    name: 'cities ranked by an indicator (D06 fire-station coverage, latest cycle)',
    token: ministry,
    sql: `SELECT r.area_code AS city_code, d.name, r.value, r.units_reported, r.units_expected
          FROM rollups r LEFT JOIN divisions d ON d.code = r.area_code
          WHERE r.cycle = ${latest} AND r.indicator_code = 'D06' AND r.level = 'city'
          ORDER BY r.value DESC LIMIT 20`,
  },
  {
    name: "a province's shortfall ledger (Guangdong analyst, open items, latest cycle)",
    token: guangdong,
    sql: `SELECT city_code, unit_code, indicator_code, value, standard_operator, standard_value, gap, since_cycle, status
          FROM shortfall_ledger WHERE cycle = ${latest} AND status <> 'resolved'
          ORDER BY gap DESC, unit_code LIMIT 1000`,
  },
  {
    name: 'completeness of the current cycle by province',
    token: ministry,
    sql: `SELECT c.area_code, d.name, c.cities_reported, c.cities_expected, c.communities_reported,
                 c.communities_expected, c.reporting_rate, c.reporting_rate_on_time
          FROM completeness c LEFT JOIN divisions d ON d.code = c.area_code
          WHERE c.level = 'province' AND c.cycle = ${latest}
          ORDER BY c.reporting_rate, c.area_code`,
  },
  {
    name: `a rate's trend (D06, nation and Guangdong, ${first}-${latest})`,
    token: ministry,
    sql: `SELECT cycle, level, area_code, value, numerator_sum, denominator_sum, units_reported
          FROM rollups WHERE indicator_code = 'D06' AND (level = 'nation' OR (level = 'province' AND area_code = '440000'))
          ORDER BY level, cycle`,
  },
  {
    name: "drill-down: one city's current community values (Guangdong analyst, C12)",
    token: guangdong,
    sql: `SELECT unit_code, value, meets FROM observations_current
          WHERE cycle = ${latest} AND city_code = '440100' AND indicator_code = 'C12' ORDER BY unit_code`,
  },
];

/** @type {{ label: string, query: string, rows: number, p50: number, p95: number }[]} */
const results = [];
/** @type {(label: string, cycles: number[]) => Promise<void>} */
const measure = async (label, cycles) => {
  const engine = await createQueryEngine({
    extensionDirectory: config.duckdbExtensionDirectory,
    s3,
    defineViews: createLakeViewDefiner(store),
    limits: {
      timeoutMs: 120_000,
      memoryLimit: '2GB',
      rowCap: 1_000_000,
      concurrency: 2,
      queueLimit: 8,
      threads: 2,
    },
    exportDirectory,
    logger,
  });
  const app = buildQueryApp({
    engine,
    authenticator: credentials.store,
    logger,
    registry: createMetricsRegistry({ service: 'bench', processMetrics: false }),
  });
  await app.ready();
  const latest = cycles.at(-1);
  const first = cycles[0];
  if (latest === undefined || first === undefined) throw new Error('no cycle to measure');
  try {
    for (const query of queries(latest, first)) {
      const times = [];
      let answer;
      for (let run = 0; run <= runs; run += 1) {
        const start = performance.now();
        const response = await app.inject({
          method: 'POST',
          url: '/v1/query',
          headers: { authorization: `Bearer ${query.token}`, 'content-type': 'application/json' },
          payload: { sql: query.sql },
        });
        answer = response.json();
        if (response.statusCode !== 200 || answer.complete !== true)
          throw new Error(`${query.name}: ${response.body.slice(0, 500)}`);
        if (run > 0) times.push(performance.now() - start); // run 0 warms the caches
      }
      times.sort((a, b) => a - b);
      results.push({
        label,
        query: query.name,
        rows: answer.rowCount,
        p50: percentile(times, 50),
        p95: percentile(times, 95),
      });
      log(
        `${label} | ${query.name}: p50 ${percentile(times, 50).toFixed(0)} ms, p95 ${percentile(times, 95).toFixed(0)} ms (${answer.rowCount} rows)`,
      );
    }
  } finally {
    await app.close();
    await engine.close();
  }
};

const cycles = Array.from({ length: cycleCount }, (_, index) => 2024 + index);
const [firstCycle] = cycles;
if (firstCycle === undefined) throw new Error('--cycles must be at least 1');
const settings = cycles.map((cycle) => ({ cycle, deadline: `${cycle}-12-31T16:00:00.000Z` }));
const started = performance.now();
await writeCycle(firstCycle);
await deriveCycles(db, store, await commitLog.committed(), settings, [firstCycle]);
log(
  `cycle ${firstCycle}: ${rows.toLocaleString()} observations in ${objects} objects, derived (${((performance.now() - started) / 1000).toFixed(0)} s)`,
);
await measure('1 cycle', [firstCycle]);
const rowsOne = rows;
if (cycleCount > 1) {
  for (const cycle of cycles.slice(1)) await writeCycle(cycle);
  await deriveCycles(db, store, await commitLog.committed(), settings, cycles);
  log(`${cycleCount} cycles: ${rows.toLocaleString()} observations in ${objects} objects, derived`);
  await measure(`${cycleCount} cycles`, cycles);
}

console.log(
  `\n${communities.toLocaleString()} urban communities; ${rowsOne.toLocaleString()} observations per cycle; ${objects} observation objects in all; ${runs} timed runs per query after one warm-up\n`,
);
console.log('| lake | worked query | rows | p50 ms | p95 ms |\n|---|---|---|---|---|');
for (const result of results) {
  console.log(
    `| ${result.label} | ${result.query} | ${result.rows} | ${result.p50.toFixed(0)} | ${result.p95.toFixed(0)} |`,
  );
}
console.log(
  `\nbucket ${bucket}; load average at the end ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}`,
);
await rm(exportDirectory, { recursive: true, force: true });
lake.close();
store.close();
