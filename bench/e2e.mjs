// End-to-end benchmark: one national cycle (every city, all 126,517 urban communities, their streets'
// blocks and housing units, every district and city) pushed through the ingest endpoint by concurrent city
// clients, on a fresh private stack (a Kafka broker and an S3Proxy of its own, the three services as real
// processes of this build), timed until the lake's province and nation rollups equal the ones worked out
// independently from the NDJSON files. In the same run, on the same machine: ingest latency at a fixed
// 1,000 requests/s, Kafka's own ProducerPerformance moving the same bytes, and a hand-written DuckDB
// aggregate over the final Parquet, so the pipeline's figures read as ratios to those limits.
//
// Run: bash bench/e2e.sh [--concurrency 8] [--lines-per-request 2000] [--profile] [--keep]
// (e2e.sh builds first; this file can also be run directly after `pnpm build`.)
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { createDerivation } from '@citycheck/aggregate';
import { loadCatalogue, loadCycleSettings } from '@citycheck/catalogue';
import { readConfig } from '@citycheck/config';
import { loadDivisionRegistry } from '@citycheck/divisions';
import {
  compareRollups,
  computeExpectedRollups,
  nationalCycle,
  pushCities,
  pushPaced,
  quantile,
  readCityLines,
  readCycleManifest,
  writeNationalCycle,
} from '@citycheck/generator';
import { issueCityTokens, preparePipelineTopics } from '@citycheck/generator/stack';
import { createKafka, fetchConsumerLag, topics } from '@citycheck/kafka';
import {
  createCommitLog,
  createObjectStore,
  datasets,
  openLakeDatabase,
  rollupObjectKey,
  s3Url,
} from '@citycheck/lake';
import {
  freePort,
  memoryOf,
  repositoryRoot,
  stackEnvironment,
  startPrivateInfra,
  startService,
  waitFor,
} from '@citycheck/testkit/stack';
import { writeCityResubmission } from './synthetic-lake.mjs';

/** @import { ActualRollup, ExpectedRollups, RollupMismatch } from '@citycheck/generator' */
/** @import { PartitionLag } from '@citycheck/kafka' */
/** @import { ServiceProcess } from '@citycheck/testkit/stack' */
/** @typedef {'validate' | 'aggregate'} Worker */
/**
 * What node --cpu-prof writes (the parts read here).
 * @typedef {{
 *   nodes: { id: number, callFrame: { functionName: string, url: string, lineNumber: number } }[],
 *   samples: number[],
 *   timeDeltas: number[],
 * }} CpuProfile
 */
/**
 * One second of the run: offsets and lags of the two topics, group members, and each process's RSS (bytes)
 * and CPU seconds so far.
 * @typedef {{
 *   t: number,
 *   received: number,
 *   validateLag: number,
 *   validated: number,
 *   aggregateLag: number,
 *   members: Record<Worker, number>,
 *   memory: Record<string, number | undefined>,
 *   cpu: Record<string, number | undefined>,
 * }} Sample
 */

const run = promisify(execFile);
const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '2024' },
    concurrency: { type: 'string', default: '8' },
    'lines-per-request': { type: 'string', default: '2000' },
    'blocks-per-street': { type: 'string', default: '2' },
    'housing-per-street': { type: 'string', default: '2' },
    'probe-rate': { type: 'string', default: '1000' },
    'probe-seconds': { type: 'string', default: '10' },
    'log-level': { type: 'string', default: 'info' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '1800' },
    // The workers' Kafka session timeout; the services' default (10 s) unless given.
    'session-timeout-ms': { type: 'string' },
    // Experiments: --env NAME=VALUE (repeatable) sets a service variable; --label names the report file.
    env: { type: 'string', multiple: true, default: [] },
    label: { type: 'string' },
    cities: { type: 'string' },
  },
});
const seed = Number(args.seed);
const concurrency = Number(args.concurrency);
const linesPerRequest = Number(args['lines-per-request']);
const blocksPerStreet = Number(args['blocks-per-street']);
const housingPerStreet = Number(args['housing-per-street']);
const probeRate = Number(args['probe-rate']);
const probeSeconds = Number(args['probe-seconds']);
const timeoutMs = Number(args['timeout-s']) * 1000;

const benchRoot = join(repositoryRoot, '.local', 'bench');
const stackDirectory = join(benchRoot, 'stack');
const logDirectory = join(benchRoot, 'logs');
const profileDirectory = join(benchRoot, 'profiles');
// --cities N keeps the first N cities of the registry: a smoke run, not the benchmark.
const cityLimit = args.cities === undefined ? undefined : Number(args.cities);
// A generated cycle is kept between runs, keyed by the options and by the generator's own code, so a
// change to the generator never reuses a cycle it would no longer produce.
const generatorFingerprint = createHash('sha256')
  .update(
    ['national.js', 'observations.js', 'random.js', 'files.js', 'expected.js']
      .map((file) => readFileSync(join(repositoryRoot, 'packages', 'generator', 'dist', file)))
      .join('\u0000'),
  )
  .digest('hex')
  .slice(0, 10);
const cycleDirectory = join(
  benchRoot,
  `cycle-seed${seed}-b${blocksPerStreet}-h${housingPerStreet}${cityLimit === undefined ? '' : `-c${cityLimit}`}-${generatorFingerprint}`,
);
/** @param {string} text */
const progress = (text) => process.stderr.write(`bench: ${text}\n`);
/** @param {number} ms */
const seconds = (ms) => (ms / 1000).toFixed(1);
/** @param {number} bytes */
const mib = (bytes) => (bytes / 1_048_576).toFixed(0);
/** @type {(n: number | bigint, digits?: number) => string} */
const fmt = (n, digits = 0) =>
  Number(n).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---- The machine -------------------------------------------------------------------------------------
const machine = {
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
  kernel: `${os.type()} ${os.release()}`,
  node: process.version,
  loadBefore: os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' '),
};
progress(
  `machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, load ${machine.loadBefore}`,
);

// ---- The cycle and its expected rollups (generated once per seed and kept) -----------------------------
const catalogue = loadCatalogue('2024.1');
const divisions = loadDivisionRegistry();
let generation = 'reused from an earlier run';
if (!existsSync(join(cycleDirectory, 'expected.json'))) {
  progress(`generating the national cycle into ${cycleDirectory}`);
  const started = performance.now();
  const written = writeNationalCycle({
    out: cycleDirectory,
    catalogue,
    divisions,
    seed,
    blocksPerStreet,
    housingPerStreet,
    ...(cityLimit === undefined ? {} : { cities: divisions.reportingCities().slice(0, cityLimit) }),
  });
  const expected = computeExpectedRollups(cycleDirectory, written, catalogue);
  writeFileSync(join(cycleDirectory, 'expected.json'), `${JSON.stringify(expected, null, 1)}\n`);
  generation = `${seconds(performance.now() - started)} s (generation and expected rollups)`;
}
const manifest = readCycleManifest(cycleDirectory);
const expected = /** @type {ExpectedRollups} */ (
  JSON.parse(readFileSync(join(cycleDirectory, 'expected.json'), 'utf8'))
);
const { totals } = manifest;
progress(
  `cycle: ${fmt(totals.submissions)} submissions, ${fmt(totals.observations)} observations, ${mib(totals.bytes)} MiB; ` +
    `${expected.rollups.length} expected rollups`,
);

// ---- A fresh private stack ---------------------------------------------------------------------------
progress(`starting a private Kafka and S3Proxy under ${stackDirectory}`);
let started = performance.now();
const infra = await startPrivateInfra({ directory: stackDirectory });
const infraStartMs = performance.now() - started;
const ingestPort = await freePort();
const env = await stackEnvironment({
  infra,
  ingestPort,
  logLevel: args['log-level'],
  extra: {
    ...(args['session-timeout-ms'] === undefined
      ? {}
      : { KAFKA_SESSION_TIMEOUT_MS: args['session-timeout-ms'] }),
    ...Object.fromEntries(
      args.env.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
  },
});
const config = readConfig(['duckdbExtensionDirectory', 'aggregateDuckdbMemoryLimit']);
const s3 = {
  endpoint: infra.s3Endpoint,
  region: 'us-east-1',
  accessKeyId: 'citycheck',
  secretAccessKey: 'citycheck-local-secret',
  bucket: infra.bucket,
};
const store = createObjectStore(s3);
const cities = manifest.cities.map((city) => city.cityCode);
started = performance.now();
await preparePipelineTopics(infra.kafkaBrokers);
const tokens = await issueCityTokens(infra.kafkaBrokers, cities);
/** @param {string} city */
const tokenOf = (city) => {
  const token = tokens.get(city);
  if (token === undefined) throw new Error(`no credential was issued for ${city}`);
  return token;
};
const credentialsMs = performance.now() - started;
progress(
  `stack up in ${seconds(infraStartMs)} s; ${tokens.size} city credentials issued in ${seconds(credentialsMs)} s`,
);

/** @param {string} name */
const nodeArgs = (name) =>
  args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDirectory, name)}`] : [];
mkdirSync(logDirectory, { recursive: true });
for (const name of ['ingest', 'validate', 'aggregate']) {
  const file = join(logDirectory, `${name}.log`);
  if (existsSync(file)) writeFileSync(file, '');
}
/** @param {'ingest' | Worker} service */
const start = (service) => startService({ service, env, logDirectory, nodeArgs: nodeArgs(service) });
/** @type {Record<'ingest' | Worker, ServiceProcess>} */
const services = {
  ingest: await start('ingest'),
  validate: await start('validate'),
  aggregate: await start('aggregate'),
};
progress(
  `services up: ${Object.values(services)
    .map((s) => `${s.name} pid ${s.pid}`)
    .join(', ')}`,
);

// ---- Sampling: consumer lag, memory and CPU, every second ----------------------------------------------
const kafka = createKafka({ brokers: [infra.kafkaBrokers], clientId: 'citycheck-bench' });
const admin = kafka.admin();
await admin.connect();
const clockTicks = 100;
/** @type {(pid: number | undefined) => number | undefined} */
const cpuSeconds = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
};
const processes = () => ({
  ingest: services.ingest.pid,
  validate: services.validate.pid,
  aggregate: services.aggregate.pid,
  kafka: infra.pid('kafka'),
  s3proxy: infra.pid('s3'),
  'bench client': process.pid,
});
/** @type {Sample[]} */
const samples = [];
let sampling = true;
/** @param {readonly PartitionLag[]} lags */
const sumLag = (lags) => lags.reduce((sum, p) => sum + Number(p.lag), 0);
/** @param {readonly PartitionLag[]} lags */
const sumEnd = (lags) => lags.reduce((sum, p) => sum + Number(p.end), 0);
let t0 = performance.now();
// CPU seconds and peak memory of instances a watchdog replaced, so per-service totals cover all of them.
/** @type {Record<string, number>} */
const retiredCpu = {};
/** @type {Record<string, number>} */
const retiredPeak = {};
/** @type {Record<string, number>} */
const lastCpu = {};
// The watchdog: a worker whose consumer has stopped (no member in its group, records waiting, the process
// idle) or whose process ended is killed and restarted, as a supervisor with a liveness probe would do.
// Each restart is reported: the benchmark measures the pipeline as it is, not as it should be.
/** @type {{ t: number, service: Worker, reason: string }[]} */
const restarts = [];
/** @type {Record<Worker, number>} */
const emptyFor = { validate: 0, aggregate: 0 };
/** @type {Record<Worker, string>} */
const groups = { validate: 'citycheck-validate', aggregate: 'citycheck-aggregate' };
/** @type {(service: Worker, reason: string) => Promise<void>} */
const restart = async (service, reason) => {
  const old = services[service];
  retiredCpu[service] = (retiredCpu[service] ?? 0) + (lastCpu[service] ?? 0);
  retiredPeak[service] = Math.max(retiredPeak[service] ?? 0, memoryOf(old.pid)?.peakBytes ?? 0);
  await old.kill9();
  restarts.push({ t: (performance.now() - t0) / 1000, service, reason });
  progress(`watchdog: restarting ${service} (${reason})`);
  services[service] = await old.restart();
};
const sampler = (async () => {
  while (sampling) {
    const at = performance.now();
    try {
      const [received, validated, described] = await Promise.all([
        fetchConsumerLag(admin, groups.validate, topics.submissionsReceived),
        fetchConsumerLag(admin, groups.aggregate, topics.submissionsValidated),
        admin.describeGroups([groups.validate, groups.aggregate]),
      ]);
      /** @type {Sample['memory']} */
      const memory = {};
      /** @type {Sample['cpu']} */
      const cpu = {};
      for (const [name, pid] of Object.entries(processes())) {
        if (pid === undefined) continue;
        memory[name] = memoryOf(pid)?.currentBytes;
        const cpuNow = cpuSeconds(pid);
        cpu[name] = cpuNow;
        if (cpuNow !== undefined) lastCpu[name] = cpuNow;
      }
      const members = Object.fromEntries(
        described.groups.map((group) => [group.groupId, group.members.length]),
      );
      samples.push({
        t: (at - t0) / 1000,
        received: sumEnd(received),
        validateLag: sumLag(received),
        validated: sumEnd(validated),
        aggregateLag: sumLag(validated),
        members: { validate: members[groups.validate] ?? 0, aggregate: members[groups.aggregate] ?? 0 },
        memory,
        cpu,
      });
      const lags = { validate: sumLag(received), aggregate: sumLag(validated) };
      for (const service of /** @type {const} */ (['validate', 'aggregate'])) {
        // A zombie: no member in its group, records waiting, and the process idle for 10 s (a consumer
        // that is merely busy past its session timeout is left alone: it rejoins when its batch is done).
        const recent = samples.slice(-11).map((sample) => sample.cpu[service] ?? 0);
        const busy = recent.length < 11 || (recent.at(-1) ?? 0) - (recent[0] ?? 0) > 0.5;
        emptyFor[service] =
          (members[groups[service]] ?? 0) === 0 && lags[service] > 6 ? emptyFor[service] + 1 : 0;
        if (!services[service].running) await restart(service, 'the process ended');
        else if (emptyFor[service] >= 10 && !busy) {
          emptyFor[service] = 0;
          await restart(
            service,
            'no member in its consumer group and the process idle for 10 s while records waited',
          );
        }
      }
    } catch (error) {
      progress(`sampling failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (performance.now() - at))));
  }
})();

// ---- Watching the rollups: each time aggregate logs "rollups computed", read and compare ---------------
const lake = await openLakeDatabase({ extensionDirectory: config.duckdbExtensionDirectory, s3 });
const rollupUrl = s3Url(infra.bucket, rollupObjectKey(2024, 'indicator_rollups'));
const readRollups = async () => {
  const reader = await lake.connection.runAndReadAll(
    `SELECT indicator_code, level, area_code, value, units_reported FROM read_parquet('${rollupUrl}')
     WHERE level IN ('province', 'nation')`,
  );
  // The columns ActualRollup names, as DuckDB gives them (units_reported as a bigint).
  return /** @type {ActualRollup[]} */ (/** @type {unknown} */ (reader.getRowObjectsJS()));
};
/** @type {{ at: number, rows: number, inputObjects: number, mismatches?: number }[]} */
const rollupRuns = [];
let logOffset = 0;
const newRollupRuns = () => {
  const file = services.aggregate.logFile;
  if (file === undefined) throw new Error('the aggregate service was started without a log file');
  const size = statSync(file).size;
  if (size <= logOffset) return 0;
  // Offsets count bytes, so the new part is cut from the bytes and decoded after: a log line with Chinese
  // text takes more bytes than characters, and cutting the decoded text would start mid-line.
  const bytes = readFileSync(file).subarray(logOffset);
  const end = bytes.lastIndexOf(0x0a) + 1;
  logOffset += end;
  let found = 0;
  for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
    if (!line.includes('"msg":"rollups computed"')) continue;
    const entry = JSON.parse(line);
    rollupRuns.push({
      at: (Date.parse(entry.time) - (performance.timeOrigin + t0)) / 1000,
      rows: entry.rows,
      inputObjects: entry.inputObjects,
    });
    found += 1;
  }
  return found;
};

// ---- The national cycle ----------------------------------------------------------------------------
progress(`pushing the cycle: ${concurrency} city clients, NDJSON bulk uploads of ${linesPerRequest} lines`);
const cpuBefore = Object.fromEntries(
  Object.entries(processes()).map(([name, pid]) => [name, cpuSeconds(pid) ?? 0]),
);
t0 = performance.now();
const wallStart = Date.now();
let pushEndMs = 0;
const pushing = pushCities({
  url: `http://127.0.0.1:${ingestPort}`,
  token: tokenOf,
  cities: manifest.cities.map((city) => ({
    cityCode: city.cityCode,
    lines: () => readCityLines(cycleDirectory, city),
  })),
  concurrency,
  mode: 'bulk',
  linesPerRequest,
}).then((tally) => {
  pushEndMs = performance.now() - t0;
  progress(
    `push done in ${seconds(pushEndMs)} s: ${fmt(tally.stored.size)} stored, ${tally.refused.size} refused`,
  );
  return tally;
});

/** @type {RollupMismatch[]} */
let mismatches = [];
const checkRollups = async () => {
  if (newRollupRuns() === 0) return undefined;
  const rows = await readRollups().catch(() => []);
  mismatches = compareRollups(expected, rows);
  const last = rollupRuns.at(-1);
  if (last !== undefined) last.mismatches = mismatches.length;
  // The moment the matching rollups were written, from the aggregate's own log line.
  if (pushEndMs > 0 && mismatches.length === 0) return (last?.at ?? (performance.now() - t0) / 1000) * 1000;
  return undefined;
};
const tally = await pushing;
let completed = true;
const matchedAtMs = await waitFor(checkRollups, {
  timeoutMs,
  intervalMs: 250,
  what: 'the rollups to equal the expected ones',
}).catch((error) => {
  completed = false;
  progress(`${error.message}: reporting what there is`);
  return performance.now() - t0;
});
const totalMs = matchedAtMs;
const cpuAfter = Object.fromEntries(
  Object.entries(processes()).map(([name, pid]) => [name, cpuSeconds(pid) ?? 0]),
);
progress(`rollups equal the expected ones ${seconds(totalMs)} s after the first request`);
const cycleSamples = samples.filter((sample) => sample.t <= totalMs / 1000 + 1);
/** @type {Record<string, number>} */
const peakDuringCycle = {};
for (const sample of cycleSamples) {
  for (const [name, bytes] of Object.entries(sample.memory)) {
    peakDuringCycle[name] = Math.max(peakDuringCycle[name] ?? 0, bytes ?? 0);
  }
}
// Caught up: the last second its lag was above one record (or transaction marker) per partition, plus one.
/** @param {'validateLag' | 'aggregateLag'} key */
const caughtUp = (key) => {
  const last = cycleSamples.findLast((sample) => sample[key] > 6);
  return last === undefined ? undefined : last.t + 1;
};
const validateDoneS = caughtUp('validateLag');
const aggregateDoneS = caughtUp('aggregateLag');

// Lake size after the cycle.
const commitLog = createCommitLog(store, datasets.observations);
const entries = await commitLog.committed();
const lakeObjects = entries.reduce((sum, entry) => sum + entry.objects.length, 0);
const lakeBytes = entries.reduce((sum, entry) => sum + entry.objects.reduce((s, o) => s + o.bytes, 0), 0);
const lakeRows = entries.reduce((sum, entry) => sum + entry.objects.reduce((s, o) => s + o.rows, 0), 0);
// Exactly once: each valid submission's observations once, read over the committed objects the commit log
// lists and over a plain glob of observations/ (which would also show objects of uncommitted batches).
/** @param {string} from */
const copiesSql = (
  from,
) => `SELECT count(*) AS n, count(DISTINCT (submission_id, indicator_code)) AS distinct_n,
    count(DISTINCT submission_id) AS submissions FROM ${from} WHERE cycle = 2024`;
const committedKeys = entries.flatMap((entry) =>
  entry.objects.map((object) => `'${s3Url(infra.bucket, object.key)}'`),
);
/** @type {Record<string, { rows: number, distinct: number, submissions: number }>} */
const exactlyOnce = {};
/** @type {[string, string][]} */
const observationSources = [
  ['committed objects (commit log)', `read_parquet([${committedKeys.join(', ')}], hive_partitioning = true)`],
  [
    'glob observations/**',
    `read_parquet('s3://${infra.bucket}/observations/*/*/*/*.parquet', hive_partitioning = true)`,
  ],
];
for (const [name, from] of observationSources) {
  // An aggregate without GROUP BY answers exactly one row.
  const [row = {}] = (await lake.connection.runAndReadAll(copiesSql(from))).getRowObjectsJS();
  exactlyOnce[name] = {
    rows: Number(row.n),
    distinct: Number(row.distinct_n),
    submissions: Number(row.submissions),
  };
}
const duplicateRows = Math.max(...Object.values(exactlyOnce).map((x) => x.rows - x.distinct));
progress(`lake: ${JSON.stringify(exactlyOnce)} (valid submissions ${expected.validSubmissions})`);

// ---- Reference: a hand-written DuckDB aggregate over the final lake ---------------------------------------
progress('timing a hand-written DuckDB aggregate over the final Parquet');
const handSql = `SELECT province_code, indicator_code, count(*) AS units, sum(value) AS value_sum,
    sum(numerator) AS numerator_sum, sum(denominator) AS denominator_sum, sum(quantity) AS quantity_sum,
    sum(population) AS population_sum, count_if(meets) AS meeting, sum(value * weight) AS weighted, sum(weight) AS weight_sum
  FROM read_parquet('s3://${infra.bucket}/observations/*/*/*/*.parquet', hive_partitioning = true)
  GROUP BY ALL`;
const handRuns = [];
for (let i = 0; i < 2; i += 1) {
  const begun = performance.now();
  const reader = await lake.connection.runAndReadAll(handSql);
  handRuns.push({ ms: performance.now() - begun, rows: reader.getRowObjectsJS().length });
}
progress(`hand aggregate: ${handRuns.map((r) => `${seconds(r.ms)} s`).join(', ')}`);
let begun = 0;

// ---- Ingest latency at a fixed rate: single submissions of the 2025 cycle, open loop --------------------
const probeCount = probeRate * probeSeconds;
const probeCities = [...manifest.cities]
  .sort((a, b) => b.units.community - a.units.community)
  .slice(0, Math.max(1, Math.ceil(probeCount / 400)))
  .map((city) => city.cityCode);
const perCity = Math.ceil(probeCount / probeCities.length);
const probeLists = [];
for (const city of nationalCycle({
  catalogue: loadCatalogue('2025.1'),
  divisions,
  seed: seed + 1,
  cities: probeCities,
  communitiesPerCity: perCity,
  blocksPerStreet: 0,
  housingPerStreet: 0,
  deliberateErrors: 0,
  corrections: 0,
  submittedAt: '2025-11-20T09:00:00.000Z',
})) {
  probeLists.push(
    city.submissions
      .filter((s) => s.unit.level === 'community')
      .map((s) => ({ cityCode: city.cityCode, line: JSON.stringify(s) })),
  );
}
/** @type {{ cityCode: string, line: string }[]} */
const probeItems = [];
for (let i = 0; probeItems.length < probeCount; i += 1) {
  let added = false;
  for (const list of probeLists) {
    const item = list[i];
    if (item !== undefined && probeItems.length < probeCount) {
      probeItems.push(item);
      added = true;
    }
  }
  if (!added) break;
}
progress(
  `latency probe: ${probeItems.length} single submissions at ${probeRate}/s from ${probeCities.length} cities`,
);
const probeSampleFrom = samples.length;
const probe = await pushPaced({
  url: `http://127.0.0.1:${ingestPort}`,
  token: tokenOf,
  items: probeItems,
  requestsPerSecond: probeRate,
});
/** @type {Record<number, number>} */
const probeStatuses = {};
for (const request of probe.tally.requests)
  probeStatuses[request.status] = (probeStatuses[request.status] ?? 0) + 1;
progress(
  `probe: p50 ${probe.fromDueMs.length ? quantile(probe.fromDueMs, 0.5).toFixed(1) : '-'} ms, p99 ${quantile(probe.fromDueMs, 0.99).toFixed(1)} ms from due`,
);
// Let the pipeline drain the probe before measuring Kafka alone.
await waitFor(
  () => {
    const last = samples.at(-1);
    return last !== undefined &&
      samples.length > probeSampleFrom + 2 &&
      last.validateLag <= 6 &&
      last.aggregateLag <= 12
      ? true
      : undefined;
  },
  { timeoutMs: 300_000, intervalMs: 500, what: 'the pipeline to drain the latency probe' },
).catch(() => progress('the pipeline did not drain the probe within 5 minutes'));

// ---- Reference: Kafka's ProducerPerformance moving the same bytes ---------------------------------------
progress('running Kafka ProducerPerformance with the same number of bytes');
const perfTopic = 'bench.producer-performance';
await admin.createTopics({
  topics: [{ topic: perfTopic, numPartitions: 6, replicationFactor: 1 }],
  waitForLeaders: true,
});
const recordSize = Math.round(totals.bytes / totals.submissions);
begun = performance.now();
const perf = await run(
  'bash',
  [
    join(stackDirectory, 'infra', 'kafka', 'run-class.sh'),
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    perfTopic,
    '--num-records',
    String(totals.submissions),
    '--record-size',
    String(recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${infra.kafkaBrokers}`,
    'acks=all',
  ],
  { env: { ...process.env, KAFKA_TOOL_HEAP_OPTS: '-Xmx1g' }, maxBuffer: 16 * 1_048_576 },
);
const perfWallMs = performance.now() - begun;
const perfLine = perf.stdout.trim().split('\n').at(-1) ?? '';
const perfMatch =
  /([\d.]+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th/.exec(
    perfLine,
  );
const perfFigures = perfMatch
  ? {
      records: Number(perfMatch[1]),
      recordsPerSecond: Number(perfMatch[2]),
      mbPerSecond: Number(perfMatch[3]),
      p50: Number(perfMatch[6]),
      p99: Number(perfMatch[8]),
    }
  : undefined;
progress(`ProducerPerformance: ${perfLine}`);

// ---- Stop everything -------------------------------------------------------------------------------
sampling = false;
await sampler;
/** @type {Record<string, number>} */
const peaks = {};
for (const [name, pid] of Object.entries(processes())) {
  if (pid !== undefined) peaks[name] = Math.max(memoryOf(pid)?.peakBytes ?? 0, retiredPeak[name] ?? 0);
}
await admin.disconnect();
lake.close();
for (const service of Object.values(services)) await service.stop(60_000);

// ---- The pipeline's own derivation on the final lake, with the services stopped: from scratch (as after
// a restart), then one city's resubmission on the loaded lake (a new commit-log entry, see
// writeCityResubmission), from its lake commit to the rollups rewritten. On a DuckDB instance with the
// aggregate's memory limit, and a connection of its own as in the worker.
progress("timing the pipeline's derivation of cycle 2024 on the final lake");
const deriveDb = await openLakeDatabase({
  extensionDirectory: config.duckdbExtensionDirectory,
  s3,
  memoryLimit: config.aggregateDuckdbMemoryLimit,
});
const derivationConnection = await deriveDb.instance.connect();
const derivation = await createDerivation({
  duckdb: derivationConnection,
  store,
  settings: loadCycleSettings(),
});
begun = performance.now();
const derived = await derivation.derive(entries, [2024]);
const deriveMs = performance.now() - begun;
progress(`from scratch: ${seconds(deriveMs)} s (${JSON.stringify(derived.timings)})`);
const resubmission = await writeCityResubmission({
  db: deriveDb.connection,
  store,
  commitLog,
  bucket: infra.bucket,
  cycle: 2024,
});
begun = performance.now();
const resubmitted = await derivation.derive(await commitLog.committed(), [2024]);
const resubmissionMs = performance.now() - begun;
progress(
  `one city's resubmission (${resubmission.city}, ${resubmission.rows} observations): ${seconds(resubmissionMs)} s (${JSON.stringify(resubmitted.timings)})`,
);
await derivation.close();
derivationConnection.closeSync();
deriveDb.close();
const profiles = args.profile ? summariseProfiles(profileDirectory) : undefined;
if (!args.keep) await infra.destroy();
else progress(`stack kept under ${stackDirectory} (bash ${stackDirectory}/infra/down.sh to stop it)`);
const loadAfter = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');

// ---- The report ------------------------------------------------------------------------------------
const latencies = tally.requests.map((request) => request.latencyMs);
/** @type {Record<number, number>} */
const statuses = {};
for (const request of tally.requests) statuses[request.status] = (statuses[request.status] ?? 0) + 1;
const pushS = pushEndMs / 1000;
const storedObservations = totals.observations; // every line of the cycle is stored (checked below)
const ingestMBps = totals.bytes / 1e6 / pushS;
const tailMs = totalMs - pushEndMs;
/** @type {[string, string][]} */
const cpuRows = Object.entries(cpuAfter).map(([name, after]) => [
  name,
  (after - (cpuBefore[name] ?? 0)).toFixed(1),
]);
const date = new Date().toISOString().slice(0, 10);
/** @type {string[]} */
const lines = [];
/** @type {(header: string[], rows: (string | number | undefined)[][]) => void} */
const table = (header, rows) => {
  lines.push(`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  lines.push('');
};
lines.push(
  `# End-to-end benchmark, ${date}`,
  '',
  `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, ${machine.kernel}, Node ${machine.node}. ` +
    `Everything on one box: Kafka 4.1.1 and S3Proxy 4.1.0 (a private pair started for this run), the three services, and the load client. ` +
    `Load average before ${machine.loadBefore}, after ${loadAfter} (other processes on the machine share the two cores).`,
  '',
  `Command: \`bash bench/e2e.sh --concurrency ${concurrency} --lines-per-request ${linesPerRequest}${args.profile ? ' --profile' : ''}${args.env.map((pair) => ` --env ${pair}`).join('')}${args.label === undefined ? '' : ` --label ${args.label}`}\` (seed ${seed}; services at their default configuration${[...(args['session-timeout-ms'] === undefined ? [] : [`KAFKA_SESSION_TIMEOUT_MS=${args['session-timeout-ms']}`]), ...args.env].map((pair, i) => `${i === 0 ? ' except ' : ', '}${pair}`).join('')}; LOG_LEVEL=${args['log-level']}).`,
  '',
  '## The cycle',
  '',
);
table(
  [
    'cities',
    'communities',
    'blocks',
    'housing units',
    'districts',
    'city units',
    'submissions',
    'observations',
    'NDJSON',
    'deliberately bad',
    'corrections',
  ],
  [
    [
      totals.cities,
      fmt(totals.units.community),
      fmt(totals.units.block),
      fmt(totals.units.housing),
      fmt(totals.units.district),
      totals.units.city,
      fmt(totals.submissions),
      fmt(totals.observations),
      `${mib(totals.bytes)} MiB`,
      totals.deliberateErrors,
      totals.corrections,
    ],
  ],
);
lines.push(
  `Generated deterministically by \`@citycheck/generator\` (${generation}). Expected rollups: ${expected.rollups.length} province and nation values (${expected.method}).`,
  '',
  '## Result',
  '',
  `- **Rollups equal to the expected ones: ${completed && mismatches.length === 0 ? 'yes' : `NO, ${mismatches.length} differ${completed ? '' : ` when the run gave up after ${seconds(timeoutMs)} s`}`}** (every province and nation value of every indicator within 1e-9 relative, and its unit count).`,
  `- **Total wall time: ${seconds(totalMs)} s** from the first request to the final rollups (target 60 s).`,
  `- Ingest: the clients were done after ${seconds(pushEndMs)} s: **${fmt(totals.submissions / pushS)} submissions/s, ${fmt(storedObservations / pushS)} observations/s** (${ingestMBps.toFixed(1)} MB/s of NDJSON); ${tally.requests.length} bulk requests of up to ${linesPerRequest} lines, ${tally.retries} retried; statuses ${JSON.stringify(statuses)}; stored ${fmt(tally.stored.size)}, refused ${tally.refused.size}.`,
  `- Bulk request latency (${linesPerRequest} lines each): p50 ${quantile(latencies, 0.5).toFixed(0)} ms, p99 ${quantile(latencies, 0.99).toFixed(0)} ms.`,
  `- **From the last acknowledged submission to the final rollups: ${seconds(tailMs)} s.** Validate caught up at ${validateDoneS ?? '?'} s, aggregate at ${aggregateDoneS ?? '?'} s (lag samples).`,
  `- Watchdog restarts: ${restarts.length === 0 ? 'none' : restarts.map((r) => `${r.service} at ${r.t.toFixed(0)} s (${r.reason})`).join('; ')}.`,
  `- Rollup runs during the cycle: ${rollupRuns.length} (${rollupRuns.map((r) => `${r.at.toFixed(0)} s${r.mismatches === undefined ? '' : `: ${r.mismatches} off`}`).join(', ')}).`,
  `- **Exactly once: ${duplicateRows === 0 ? 'yes' : `NO, ${fmt(duplicateRows)} duplicate rows`}** — ${Object.entries(
    exactlyOnce,
  )
    .map(
      ([name, x]) =>
        `${name}: ${fmt(x.rows)} rows, ${fmt(x.distinct)} distinct (submission, indicator), ${fmt(x.submissions)} submissions`,
    )
    .join('; ')} (valid submissions: ${fmt(expected.validSubmissions)}).`,
  `- Lake: ${fmt(lakeObjects)} observation objects, ${fmt(lakeRows)} rows, ${mib(lakeBytes)} MiB of Parquet in ${fmt(entries.length)} committed batches.`,
  '',
  '## Figures against their targets',
  '',
);
{
  /** @param {string} name */
  const cpuOf = (name) => Number(cpuRows.find(([row]) => row === name)?.[1] ?? Number.NaN);
  const allCpu = cpuRows.reduce((sum, [, cpu]) => sum + Number(cpu), 0);
  const handWarmMs = Math.min(...handRuns.map((r) => r.ms));
  const kafkaS = perfFigures ? totals.submissions / perfFigures.recordsPerSecond : undefined;
  table(
    ['figure', 'measured', 'reference point (same run)', 'target'],
    [
      [
        'first request to final rollups',
        `${seconds(totalMs)} s`,
        kafkaS === undefined
          ? ''
          : `Kafka alone moves the cycle in ${kafkaS.toFixed(1)} s: ${(totalMs / 1000 / kafkaS).toFixed(1)}x`,
        '60 s, then 30 s',
      ],
      ['last acknowledgement to final rollups', `${seconds(tailMs)} s`, '', '10 s'],
      [
        'aggregate CPU seconds per cycle',
        `${cpuOf('aggregate').toFixed(1)} (of ${allCpu.toFixed(1)} over all processes)`,
        `hand-written aggregate ${seconds(handWarmMs)} s warm`,
        '25',
      ],
      [
        'aggregate peak RSS',
        `${mib(peakDuringCycle.aggregate ?? 0)} MiB during the cycle, ${mib(peaks.aggregate ?? 0)} MiB over the run`,
        '',
        '400 MiB',
      ],
      [
        'from-scratch derivation of the cycle (rollups at 5 levels, completeness, ledger, flags)',
        `${seconds(deriveMs)} s`,
        `hand-written GROUP BY ${seconds(handWarmMs)} s warm: ${(deriveMs / handWarmMs).toFixed(1)}x`,
        '3 s',
      ],
      [
        `one city's resubmission (${resubmission.city}, ${fmt(resubmission.rows)} observations), lake commit to rollups rewritten`,
        `${seconds(resubmissionMs)} s`,
        `${(resubmissionMs / handWarmMs).toFixed(1)}x the hand-written GROUP BY`,
        '2 s',
      ],
      [
        `single submissions offered at ${probeRate}/s while the pipeline works: p99 from due`,
        `${quantile(probe.fromDueMs, 0.99).toFixed(1)} ms`,
        perfFigures ? `Kafka's own p99 ${perfFigures.p99} ms` : '',
        '50 ms',
      ],
    ],
  );
}
lines.push(
  '## Ingest latency at a fixed rate',
  '',
  `${fmt(probeItems.length)} single JSON submissions (cycle 2025, communities of ${probeCities.length} cities) sent open loop at ${probeRate}/s after the cycle, one request each, while validate and aggregate process them: ` +
    `achieved ${fmt(probeItems.length / (probe.elapsedMs / 1000))} requests/s; statuses ${JSON.stringify(probeStatuses)}.`,
  '',
);
table(
  ['latency', 'p50', 'p90', 'p99', 'p99.9', 'max'],
  [
    [
      'from when each request was due (no coordinated omission)',
      ...[0.5, 0.9, 0.99, 0.999, 1].map((q) => `${quantile(probe.fromDueMs, q).toFixed(1)} ms`),
    ],
    [
      'from when it was sent',
      ...[0.5, 0.9, 0.99, 0.999, 1].map((q) => `${quantile(probe.fromSendMs, q).toFixed(1)} ms`),
    ],
  ],
);
lines.push('Target: p99 below 50 ms at 1,000 requests/s.', '', '## Memory', '');
table(
  ['process', 'peak RSS during the cycle', 'peak RSS over the run (VmHWM)'],
  Object.keys(peaks).map((name) => [
    name,
    `${mib(peakDuringCycle[name] ?? 0)} MiB`,
    `${mib(peaks[name] ?? 0)} MiB`,
  ]),
);
lines.push('Target: each service under 300 MB RSS.', '', '## CPU during the cycle', '');
table(
  ['process', 'CPU seconds (user+system)', 'share of the 2 cores over the cycle'],
  cpuRows.map(([name, cpu]) => [
    name,
    cpu,
    `${((Number(cpu) / (totalMs / 1000) / machine.cpus) * 100).toFixed(0)}%`,
  ]),
);
lines.push(
  '## Consumer lag over time',
  '',
  'Every 5th one-second sample (offsets; the validated topic also counts transaction markers).',
  '',
);
table(
  [
    't (s)',
    'received (end offset)',
    'validate lag',
    'validated (end offset)',
    'aggregate lag',
    'ingest RSS',
    'validate RSS',
    'aggregate RSS',
  ],
  cycleSamples
    .filter((_, index) => index % 5 === 0 || index === cycleSamples.length - 1)
    .map((s) => [
      s.t.toFixed(0),
      fmt(s.received),
      fmt(s.validateLag),
      fmt(s.validated),
      fmt(s.aggregateLag),
      `${mib(s.memory.ingest ?? 0)} MiB`,
      `${mib(s.memory.validate ?? 0)} MiB`,
      `${mib(s.memory.aggregate ?? 0)} MiB`,
    ]),
);
const handMs = Math.min(...handRuns.map((r) => r.ms));
lines.push('## Reference points on the same machine, same run', '');
table(
  ['what', 'figure', 'pipeline ratio'],
  [
    [
      `Kafka ProducerPerformance, ${fmt(totals.submissions)} records of ${recordSize} bytes (= the cycle's bytes), acks=all, 6 partitions`,
      perfFigures
        ? `${seconds(perfWallMs)} s wall; ${fmt(perfFigures.recordsPerSecond)} records/s, ${perfFigures.mbPerSecond} MB/s; p50 ${perfFigures.p50} ms, p99 ${perfFigures.p99} ms`
        : perfLine,
      perfFigures
        ? `ingest moves ${((ingestMBps / perfFigures.mbPerSecond) * 100).toFixed(0)}% of Kafka's MB/s; end to end ${(totalMs / 1000 / (totals.submissions / perfFigures.recordsPerSecond)).toFixed(1)}x the time Kafka alone takes`
        : '',
    ],
    [
      'hand-written DuckDB GROUP BY province, indicator over observations/ (2 threads, cold then warm)',
      `${handRuns.map((r) => `${seconds(r.ms)} s`).join(' / ')}, ${handRuns[0]?.rows} groups over ${fmt(lakeRows)} rows`,
      `the pipeline's full derivation (${Object.values(derived.rows).reduce((a, b) => a + b, 0)} rows: rollups at 5 levels, completeness, ledger, flags) took ${seconds(deriveMs)} s = ${(deriveMs / handMs).toFixed(1)}x; the whole cycle ${(totalMs / handMs).toFixed(0)}x`,
    ],
  ],
);
if (mismatches.length > 0) {
  lines.push('## Rollups that differ', '');
  table(
    ['indicator', 'level', 'area', 'expected', 'actual'],
    mismatches.slice(0, 20).map((m) => [m.indicator, m.level, m.areaCode, m.expected, m.actual]),
  );
}
if (profiles !== undefined) {
  lines.push('## Where the CPU goes (node --cpu-prof, self time)', '');
  for (const [service, top] of Object.entries(profiles)) {
    lines.push(`**${service}**`, '');
    table(
      ['self time', 'share', 'function', 'where'],
      top.map((row) => [`${row.seconds.toFixed(1)} s`, `${row.share.toFixed(1)}%`, row.name, row.where]),
    );
  }
}
lines.push(
  '## Reproduce',
  '',
  '```sh',
  'bash bench/e2e.sh            # builds, generates the cycle once (kept in .local/bench/), runs on a private stack',
  'bash bench/e2e.sh --profile  # the same with node --cpu-prof on the three services',
  '```',
  '',
);
const report = lines.join('\n');
mkdirSync(join(repositoryRoot, 'bench', 'results'), { recursive: true });
const reportFile = join(
  repositoryRoot,
  'bench',
  'results',
  `e2e-${date}${args.label === undefined ? '' : `-${args.label}`}.md`,
);
writeFileSync(reportFile, report);
writeFileSync(
  join(benchRoot, `e2e-${date}.json`),
  JSON.stringify(
    {
      machine,
      totals,
      totalMs,
      pushEndMs,
      samples,
      rollupRuns,
      statuses,
      probeStatuses,
      peaks,
      peakDuringCycle,
      cpuRows,
      perfLine,
      handRuns,
      deriveMs,
      wallStart,
    },
    null,
    1,
  ),
);
console.log(report);
progress(`report written to ${reportFile}`);
process.exit(completed && mismatches.length === 0 ? 0 : 1);

/**
 * The functions with the most self time in each service's CPU profile.
 * @param {string} directory
 */
function summariseProfiles(directory) {
  /** @type {Record<string, { name: string, where: string, seconds: number, share: number }[]>} */
  const result = {};
  if (!existsSync(directory)) return result;
  for (const service of readdirSync(directory)) {
    const files = readdirSync(join(directory, service)).filter((name) => name.endsWith('.cpuprofile'));
    /** @type {Map<string, number>} */
    const self = new Map();
    let total = 0;
    for (const file of files) {
      const profile = /** @type {CpuProfile} */ (
        JSON.parse(readFileSync(join(directory, service, file), 'utf8'))
      );
      const byId = new Map(profile.nodes.map((node) => [node.id, node]));
      const deltas = profile.timeDeltas;
      profile.samples.forEach((id, index) => {
        const node = byId.get(id);
        if (node === undefined) return;
        const frame = node.callFrame;
        const where = frame.url
          ? `${frame.url.replace(/^file:\/\/.*?\/(node_modules|services|packages)\//, '$1/').replace(/.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')}:${frame.lineNumber + 1}`
          : '';
        const key = `${frame.functionName || '(anonymous)'}\u0000${where}`;
        const us = deltas[index] ?? 0;
        self.set(key, (self.get(key) ?? 0) + us);
        total += us;
      });
    }
    result[service] = [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([key, us]) => {
        const [name = '', where = ''] = key.split('\u0000');
        return { name, where, seconds: us / 1e6, share: (us / total) * 100 };
      });
  }
  return result;
}
