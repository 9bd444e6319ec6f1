// Ingest throughput: submissions/s, observations/s and p50/p99 latency for single-submission POSTs, open loop
// at a fixed rate (--rate, latency from each request's due time, so queueing in ingest counts) and closed loop
// at a given concurrency, and for gzip NDJSON bulk uploads, each answered only after Kafka acknowledged
// (acks=all). By default it starts the ingest app from the build (services/ingest/dist) in a child process of
// its own (so the load client does not share ingest's event loop, and ingest's peak RSS is its own) against
// the real broker (KAFKA_BROKERS, default 127.0.0.1:9092), on a fresh topic it deletes afterwards, with
// in-memory city credentials for --cities cities; with --url and --token it targets a running ingest instead
// and starts nothing.
//
// Run after `pnpm build` with the local stack up (bash infra/up.sh):
//   node bench/ingest-throughput.mjs [--rate 1000 --seconds 10 --max-in-flight 512] [--single 5000] [--concurrency 32]
//                                    [--bulk 50000] [--chunk 1000] [--bulk-concurrency 4] [--cities 24]
//                                    [--url http://127.0.0.1:8080 --token cc_... --city 110100] [--profile dir] [--ingest-dist dir]
// e.g. the open-loop probe alone: node bench/ingest-throughput.mjs --rate 1000 --seconds 10 --single 0 --bulk 0
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

/** @import { Readable } from 'node:stream' */
/** @import { CatalogueFile, Indicator } from '@citycheck/catalogue' */
/**
 * An answer of ingest: HTTP status (0 when the request failed), time to the last byte, body.
 * @typedef {{ status: number, ms: number, body: string }} Answer
 */

const gzip = promisify(gzipCallback);
/** The item at `i`, which the caller knows is there. @type {<T>(items: readonly T[], i: number) => T} */
const at = (items, i) => {
  const item = items[i];
  if (item === undefined) throw new RangeError(`no item at ${i} of ${items.length}`);
  return item;
};
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '0' },
    /** Open loop: requests on the wire before the sender waits (as bench/e2e.mjs's probe; latency still counts from due). */
    'max-in-flight': { type: 'string', default: '512' },
    seconds: { type: 'string', default: '10' },
    single: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    bulk: { type: 'string', default: '50000' },
    chunk: { type: 'string', default: '1000' },
    'bulk-concurrency': { type: 'string', default: '4' },
    cities: { type: 'string', default: '24' },
    /** With --url: the city the token submits for. */
    city: { type: 'string', default: '110100' },
    url: { type: 'string' },
    token: { type: 'string' },
    'index-entries': { type: 'string', default: '130000' },
    serve: { type: 'boolean', default: false },
    /** Another build of the ingest service to run (e.g. an older commit's, to compare). */
    'ingest-dist': { type: 'string' },
    /** Writes a CPU profile of the ingest child process into this directory. */
    profile: { type: 'string' },
  },
});
const rate = Number(values.rate);
const rateSeconds = Number(values.seconds);
const singleCount = Number(values.single);
const concurrency = Number(values.concurrency);
const bulkCount = Number(values.bulk);
const chunkLines = Number(values.chunk);
const bulkConcurrency = Number(values['bulk-concurrency']);
// Distinct cities spread the records over the topic's partitions as a national load does; each has its own
// credential (a city credential submits for its own city only).
const cityCodes =
  values.url === undefined
    ? Array.from({ length: Math.max(1, Number(values.cities)) }, (_, i) => `${11 + i}0100`)
    : [values.city];

// ---- Server mode: the ingest app from the build, in this (child) process --------------------------------
if (values.serve) {
  const built = join(values['ingest-dist'] ?? join(root, 'services', 'ingest', 'dist'), 'index.js');
  if (!existsSync(built)) {
    console.error('services/ingest/dist is missing: run pnpm build (tsc -b tsconfig.json) first');
    process.exit(2);
  }
  /** @param {string} path */
  const fromDist = (path) => import(pathToFileURL(join(root, path)).href);
  const { buildIngestApp, SubmissionIndex } = await import(pathToFileURL(built).href);
  const { createKafka, createReliableProducer, ensureTopics } = await fromDist(
    'packages/kafka/dist/index.js',
  );
  const { CredentialStore, formatToken, generateSecret, hashSecret } = await fromDist(
    'packages/credentials/dist/index.js',
  );
  const { createLogger } = await fromDist('packages/logging/dist/index.js');
  const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  // The same short retries as services/ingest/src/main.ts.
  const kafka = createKafka({ brokers, clientId: 'citycheck-bench-ingest', retries: 2 });
  const topic = `bench-ingest-received-${Date.now().toString(36)}`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 6, replicationFactor: 1 }]);
  const producer = createReliableProducer(kafka);
  await producer.connect();
  const credentials = new CredentialStore();
  /** @type {Record<string, string>} */
  const tokens = {};
  cityCodes.forEach((cityCode, i) => {
    const id = `0badc0ffee${String(i).padStart(6, '0')}`;
    const secret = generateSecret();
    credentials.apply(id, {
      id,
      name: `bench ${cityCode}`,
      role: 'city',
      cityCode,
      secretSha256: hashSecret(secret),
      status: 'active',
      createdAt: new Date().toISOString(),
    });
    tokens[cityCode] = formatToken(id, secret);
  });
  const app = buildIngestApp({
    producer,
    // Info, as the service logs by default: one line per request is part of its cost.
    logger: createLogger({ service: 'ingest-bench', level: process.env.LOG_LEVEL ?? 'info' }),
    authenticator: credentials,
    index: new SubmissionIndex(),
    receivedTopic: topic,
    receivedPartitionCount: async () => 6,
    rateLimit: { max: 10_000_000, windowMs: 60_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  // The parent reads this first line of fd 3; stdout carries the service's own log.
  writeFileSync(3, `${JSON.stringify({ url: `http://127.0.0.1:${app.server.address().port}`, tokens })}\n`);
  process.once('SIGTERM', async () => {
    await app.close();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    process.exit(0);
  });
  await new Promise(() => undefined);
}

const loadBefore = os.loadavg();

// One submission: a community of a city, reporting every community indicator of catalogue 2024.1.
const catalogue = /** @type {CatalogueFile} */ (
  JSON.parse(readFileSync(join(root, 'schemas', 'catalogue', '2024.1.json'), 'utf8'))
);
const communityIndicators = catalogue.indicators.filter(
  (i) => i.unitLevels.includes('community') && i.status === 'active',
);
/** @type {(indicator: Indicator, n: number) => Record<string, unknown>} */
const observation = (indicator, n) => {
  switch (indicator.kind) {
    case 'share':
      return { indicator: indicator.code, meets: n % 3 !== 0 };
    case 'rate':
      return { indicator: indicator.code, numerator: n % 50, denominator: 50 };
    case 'perCapita':
      return { indicator: indicator.code, quantity: 1000 + (n % 500), population: 5000 };
    case 'mean':
      return { indicator: indicator.code, value: 30 + (n % 20), weight: 1000 };
    case 'length':
      return { indicator: indicator.code, value: (n % 100) / 10 };
    case 'score':
      return { indicator: indicator.code, value: 60 + (n % 40), weight: 200 };
    default:
      return { indicator: indicator.code, value: n % Math.max(1, Math.min(indicator.range.max, 500)) };
  }
};
/** @type {(n: number, cityCode: string) => Record<string, unknown>} */
const submission = (n, cityCode) => ({
  submissionId: randomUUID(),
  cycle: 2024,
  catalogueVersion: '2024.1',
  cityCode,
  unit: { level: 'community', code: `${cityCode.slice(0, 4)}01001${String((n % 999) + 1).padStart(3, '0')}` },
  observations: communityIndicators.map((indicator) => observation(indicator, n)),
  submittedAt: '2024-11-20T10:15:00+08:00',
});
const observationsPerSubmission = communityIndicators.length;

// The target: a running ingest, or one started here from the build against the real broker.
let url = values.url;
/** @type {(cityCode: string) => string | undefined} */
let tokenOf = () => values.token;
/** @type {() => Promise<void>} */
let stop = async () => undefined;
/** Ingest's peak RSS since the last reset, in MiB (Linux; undefined when ingest is not our child). @type {() => number | undefined} */
let peakRss = () => undefined;
/** @type {() => void} */
let resetPeakRss = () => undefined;
/** CPU time ingest used so far, in ms (user + system; Linux; undefined when ingest is not our child). @type {() => number | undefined} */
let cpuMs = () => undefined;
if (url === undefined) {
  const profile = values.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`];
  const serve = [...profile, fileURLToPath(import.meta.url), '--serve', '--cities', values.cities];
  if (values['ingest-dist'] !== undefined) serve.push('--ingest-dist', values['ingest-dist']);
  const child = spawn(process.execPath, serve, {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    env: process.env,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const first = await Promise.race([
    /** @type {Promise<string>} */ (
      new Promise((resolve) =>
        createInterface({ input: /** @type {Readable} */ (child.stdio[3]) }).once('line', resolve),
      )
    ),
    exited.then(() => undefined),
  ]);
  if (first === undefined) {
    console.error('the ingest child process exited before it listened');
    process.exit(2);
  }
  const started = JSON.parse(first);
  url = started.url;
  tokenOf = (cityCode) => started.tokens[cityCode];
  const status = `/proc/${child.pid}/status`;
  peakRss = () => {
    const kib = /VmHWM:\s+(\d+) kB/.exec(readFileSync(status, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) / 1024;
  };
  resetPeakRss = () => {
    // Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    try {
      writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
    } catch {}
  };
  cpuMs = () => {
    // Fields 14 and 15 of /proc/<pid>/stat, after the command name in parentheses: utime and stime in ticks.
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  };
  stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
}
if (tokenOf(at(cityCodes, 0)) === undefined) {
  console.error('--token is needed with --url');
  process.exit(2);
}
const target = new URL('/v1/submissions', url);
const maxInFlight = Number(values['max-in-flight']);
const agent = new Agent({
  keepAlive: true,
  maxSockets: Math.max(concurrency, bulkConcurrency, rate > 0 ? maxInFlight : 0),
});
/** @type {(body: Buffer, headers: Record<string, string>, cityCode: string) => Promise<Answer>} */
const post = (body, headers, cityCode) =>
  new Promise((resolve) => {
    const started = performance.now();
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${tokenOf(cityCode)}`, 'content-length': body.length, ...headers },
      },
      (res) => {
        /** @type {Buffer[]} */
        const parts = [];
        res.on('data', (part) => parts.push(part));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - started,
            body: Buffer.concat(parts).toString(),
          }),
        );
      },
    );
    req.on('error', (error) => resolve({ status: 0, ms: performance.now() - started, body: String(error) }));
    req.end(body);
  });

/** @type {(sorted: number[], q: number) => number} */
const quantile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/**
 * Runs `total` jobs with `width` in flight (closed loop); returns latencies and wall time.
 * @param {number} total
 * @param {number} width
 * @param {(i: number) => Promise<Answer>} job
 */
const run = async (total, width, job) => {
  /** @type {number[]} */
  const latencies = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const result = await job(i);
      if (result.status !== 202) throw new Error(`unexpected ${result.status}: ${result.body.slice(0, 300)}`);
      latencies.push(result.ms);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    seconds,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    requests: latencies.length,
  };
};

/**
 * Open loop: request i is due at start + i/rate whatever happened to the earlier ones, and its latency counts
 * from its due time, so a server that falls behind shows its queue (no coordinated omission). Achieved rate:
 * answered requests over the time from the first due time to the last answer.
 * @param {number} requestsPerSecond
 * @param {number} seconds
 * @param {(i: number) => Promise<Answer>} job
 */
const runOpenLoop = async (requestsPerSecond, seconds, job) => {
  const total = Math.round(requestsPerSecond * seconds);
  /** @type {number[]} */
  const fromDue = [];
  /** @type {Record<number, number>} */
  const statuses = {};
  /** @type {Promise<void>[]} */
  const pending = [];
  let lastAnswer = 0;
  /** @type {string | undefined} */
  let firstFailure;
  let inFlight = 0;
  /** @type {((value?: unknown) => void) | undefined} */
  let release;
  const started = performance.now();
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1000) / requestsPerSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    while (inFlight >= maxInFlight) await new Promise((resolve) => (release = resolve));
    inFlight += 1;
    pending.push(
      job(i).then((result) => {
        inFlight -= 1;
        release?.();
        release = undefined;
        const now = performance.now();
        lastAnswer = Math.max(lastAnswer, now);
        statuses[result.status] = (statuses[result.status] ?? 0) + 1;
        if (result.status === 202) fromDue.push(now - due);
        else if (firstFailure === undefined) firstFailure = `${result.status}: ${result.body.slice(0, 200)}`;
      }),
    );
  }
  await Promise.all(pending);
  fromDue.sort((a, b) => a - b);
  return {
    seconds: (lastAnswer - started) / 1000,
    p50: quantile(fromDue, 0.5),
    p99: quantile(fromDue, 0.99),
    requests: total,
    accepted: fromDue.length,
    statuses,
    firstFailure,
  };
};

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const fixed = new Intl.NumberFormat('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
/** @type {{ mode: string, requests: number, submissions: number, seconds: number, p50: number, p99: number, rss: number | undefined, cpu: number | undefined, note?: string }[]} */
const rows = [];
/** @param {number} n */
const singleBody = (n) => {
  const cityCode = at(cityCodes, n % cityCodes.length);
  return { cityCode, body: Buffer.from(JSON.stringify(submission(n, cityCode))) };
};
/** @type {(before: number | undefined) => number | undefined} */
const cpuSince = (before) => {
  const now = cpuMs();
  return before === undefined || now === undefined ? undefined : now - before;
};
const json = { 'content-type': 'application/json' };
/** @param {{ cityCode: string, body: Buffer }} single */
const postSingle = ({ cityCode, body }) => post(body, json, cityCode);

// Warm-up: connections, JIT, the producer's metadata.
await run(400, concurrency, (n) => postSingle(singleBody(n)));

if (rate > 0) {
  const total = Math.round(rate * rateSeconds);
  const bodies = Array.from({ length: total }, (_, n) => singleBody(n));
  resetPeakRss();
  const cpuBefore = cpuMs();
  const result = await runOpenLoop(rate, rateSeconds, (i) => postSingle(at(bodies, i)));
  rows.push({
    mode: `single JSON, open loop at ${number.format(rate)}/s for ${rateSeconds} s (latency from due)`,
    requests: result.requests,
    submissions: result.accepted,
    seconds: result.seconds,
    p50: result.p50,
    p99: result.p99,
    rss: peakRss(),
    cpu: cpuSince(cpuBefore),
    note: `statuses ${JSON.stringify(result.statuses)}${result.firstFailure === undefined ? '' : `; first failure ${result.firstFailure}`}`,
  });
}

if (singleCount > 0) {
  const bodies = Array.from({ length: singleCount }, (_, n) => singleBody(n));
  resetPeakRss();
  const cpuBefore = cpuMs();
  const result = await run(singleCount, concurrency, (i) => postSingle(at(bodies, i)));
  rows.push({
    mode: `single JSON, ${concurrency} in flight`,
    requests: result.requests,
    submissions: singleCount,
    seconds: result.seconds,
    p50: result.p50,
    p99: result.p99,
    rss: peakRss(),
    cpu: cpuSince(cpuBefore),
  });
}

if (bulkCount > 0) {
  // Each upload is one city's, as a city's platform sends them.
  /** @type {{ cityCode: string, body: Buffer }[]} */
  const chunks = [];
  for (let start = 0, c = 0; start < bulkCount; start += chunkLines, c += 1) {
    const cityCode = at(cityCodes, c % cityCodes.length);
    const lines = [];
    for (let n = start; n < Math.min(bulkCount, start + chunkLines); n += 1)
      lines.push(JSON.stringify(submission(n, cityCode)));
    chunks.push({ cityCode, body: await gzip(`${lines.join('\n')}\n`) });
  }
  resetPeakRss();
  const cpuBefore = cpuMs();
  const result = await run(chunks.length, bulkConcurrency, (i) => {
    const { cityCode, body } = at(chunks, i);
    return post(body, { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }, cityCode);
  });
  rows.push({
    mode: `NDJSON gzip, ${chunkLines} lines/request, ${bulkConcurrency} in flight`,
    requests: result.requests,
    submissions: bulkCount,
    seconds: result.seconds,
    p50: result.p50,
    p99: result.p99,
    rss: peakRss(),
    cpu: cpuSince(cpuBefore),
  });
}

console.log(
  `ingest throughput on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, ` +
    `${values.url === undefined ? 'ingest in a child process' : `ingest at ${url}`}, Kafka acks=all, ` +
    `${observationsPerSubmission} observations per submission, ${cityCodes.length} cities; ` +
    `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
);
// Ingest's CPU per stored submission is the figure the load on a shared box changes least.
const header = [
  'mode',
  'requests',
  'submissions/s',
  'observations/s',
  'p50 ms',
  'p99 ms',
  'ingest peak RSS MiB',
  'ingest CPU ms/submission',
];
const table = rows.map((row) => [
  row.mode,
  number.format(row.requests),
  number.format(row.submissions / row.seconds),
  number.format((row.submissions * observationsPerSubmission) / row.seconds),
  fixed.format(row.p50),
  fixed.format(row.p99),
  row.rss === undefined ? '-' : number.format(row.rss),
  row.cpu === undefined ? '-' : (row.cpu / row.submissions).toFixed(3),
]);
const widths = header.map((title, c) => Math.max(title.length, ...table.map((r) => at(r, c).length)));
/** @param {string[]} cells */
const line = (cells) =>
  cells.map((cell, c) => (c === 0 ? cell.padEnd(at(widths, c)) : cell.padStart(at(widths, c)))).join('  ');
console.log(line(header));
for (const row of table) console.log(line(row));
for (const row of rows) if (row.note !== undefined) console.log(`${row.mode}: ${row.note}`);
console.log(
  `load average after ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
agent.destroy();
await stop();

// The submission index of one national cycle, alone: entries as the index holds them after reading the
// received topic back (every status but rejected, which also keeps its problems), measured on a settled heap.
const indexEntries = Number(values['index-entries']);
if (indexEntries > 0 && globalThis.gc !== undefined) {
  const { SubmissionIndex } = await import(
    pathToFileURL(join(root, 'services', 'ingest', 'dist', 'index.js')).href
  );
  const { createHash } = await import('node:crypto');
  const cities = Array.from(
    { length: 450 },
    (_, i) => `${String(11 + (i % 60)).padStart(2, '0')}${String(i).padStart(2, '0')}00`,
  );
  globalThis.gc();
  const before = process.memoryUsage().heapUsed;
  const index = new SubmissionIndex();
  for (let i = 0; i < indexEntries; i += 1) {
    const submissionId = randomUUID();
    const contentHash = createHash('sha256').update(submissionId).digest('hex');
    index.recordAccepted({
      submissionId,
      cityCode: cities[i % cities.length],
      contentHash,
      receivedAt: new Date(1_732_000_000_000 + i).toISOString(),
      partition: i % 6,
      offset: String(i),
    });
    if (i % 2 === 0) index.recordValid(submissionId, cities[i % cities.length], contentHash);
  }
  globalThis.gc();
  const bytes = process.memoryUsage().heapUsed - before;
  console.log(
    `submission index: ${number.format(index.size)} entries hold ${fixed.format(bytes / 1_048_576)} MiB of heap ` +
      `(${number.format(bytes / index.size)} bytes each)`,
  );
} else if (indexEntries > 0) {
  console.log('submission index size: run with node --expose-gc to measure it');
}
