// Ingest throughput: submissions/s, observations/s and p50/p99 latency for single-submission POSTs at a
// given concurrency and for gzip NDJSON bulk uploads, each answered only after Kafka acknowledged (acks=all).
// By default it builds the ingest app in-process from the build (services/ingest/dist) against the real
// broker (KAFKA_BROKERS, default 127.0.0.1:9092), on a fresh topic it deletes afterwards, with an in-memory
// city credential; with --url and --token it targets a running ingest instead and starts nothing.
//
// Run after `pnpm build` with the local stack up (bash infra/up.sh):
//   node bench/ingest-throughput.mjs [--single 5000] [--concurrency 32] [--bulk 50000] [--chunk 1000]
//                                    [--bulk-concurrency 4] [--url http://127.0.0.1:8080 --token cc_...]
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    single: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    bulk: { type: 'string', default: '50000' },
    chunk: { type: 'string', default: '1000' },
    'bulk-concurrency': { type: 'string', default: '4' },
    url: { type: 'string' },
    token: { type: 'string' },
    'index-entries': { type: 'string', default: '130000' },
  },
});
const singleCount = Number(values.single);
const concurrency = Number(values.concurrency);
const bulkCount = Number(values.bulk);
const chunkLines = Number(values.chunk);
const bulkConcurrency = Number(values['bulk-concurrency']);

// One submission: a community of Dongcheng, Beijing, reporting every community indicator of catalogue 2024.1.
const catalogue = JSON.parse(
  await (await import('node:fs/promises')).readFile(
    join(root, 'schemas', 'catalogue', '2024.1.json'),
    'utf8',
  ),
);
const communityIndicators = catalogue.indicators.filter(
  (i) => i.unitLevels.includes('community') && i.status === 'active',
);
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
const submission = (n) => ({
  submissionId: randomUUID(),
  cycle: 2024,
  catalogueVersion: '2024.1',
  cityCode: '110100',
  unit: { level: 'community', code: `110101001${String((n % 999) + 1).padStart(3, '0')}` },
  observations: communityIndicators.map((indicator) => observation(indicator, n)),
  submittedAt: '2024-11-20T10:15:00+08:00',
});
const observationsPerSubmission = communityIndicators.length;

// The target: a running ingest, or one built here from the build against the real broker.
let url = values.url;
let token = values.token;
let stop = async () => undefined;
if (url === undefined) {
  const built = join(root, 'services', 'ingest', 'dist', 'index.js');
  if (!existsSync(built)) {
    console.error('services/ingest/dist is missing: run pnpm build (tsc -b tsconfig.json) first');
    process.exit(2);
  }
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
  const kafka = createKafka({ brokers, clientId: 'citycheck-bench-ingest', retries: 5 });
  const topic = `bench-ingest-received-${Date.now().toString(36)}`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, numPartitions: 6, replicationFactor: 1 }]);
  const producer = createReliableProducer(kafka);
  await producer.connect();
  const credentials = new CredentialStore();
  const id = '0badc0ffee000001';
  const secret = generateSecret();
  credentials.apply(id, {
    id,
    name: 'bench',
    role: 'city',
    cityCode: '110100',
    secretSha256: hashSecret(secret),
    status: 'active',
    createdAt: new Date().toISOString(),
  });
  token = formatToken(id, secret);
  const index = new SubmissionIndex();
  const app = buildIngestApp({
    producer,
    logger: createLogger({ service: 'ingest-bench', level: 'warn' }),
    authenticator: credentials,
    index,
    receivedTopic: topic,
    receivedPartitionCount: async () => 6,
    rateLimit: { max: 10_000_000, windowMs: 60_000 },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${app.server.address().port}`;
  stop = async () => {
    await app.close();
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  };
}
if (token === undefined) {
  console.error('--token is needed with --url');
  process.exit(2);
}

const target = new URL('/v1/submissions', url);
const agent = new Agent({ keepAlive: true, maxSockets: Math.max(concurrency, bulkConcurrency) });
const post = (body, headers) =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-length': body.length, ...headers },
      },
      (res) => {
        const parts = [];
        res.on('data', (part) => parts.push(part));
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            ms: performance.now() - started,
            body: Buffer.concat(parts).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Runs `total` jobs with `width` in flight; returns latencies and wall time. */
const run = async (total, width, job) => {
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

const rows = [];

// Warm-up: connections, JIT, the producer's metadata.
await run(200, concurrency, (n) =>
  post(Buffer.from(JSON.stringify(submission(n))), { 'content-type': 'application/json' }),
);

if (singleCount > 0) {
  const bodies = Array.from({ length: singleCount }, (_, n) => Buffer.from(JSON.stringify(submission(n))));
  const result = await run(singleCount, concurrency, (i) =>
    post(bodies[i], { 'content-type': 'application/json' }),
  );
  rows.push({
    mode: `single JSON, ${concurrency} in flight`,
    requests: result.requests,
    submissions: singleCount,
    seconds: result.seconds,
    p50: result.p50,
    p99: result.p99,
  });
}

if (bulkCount > 0) {
  const chunks = [];
  for (let start = 0; start < bulkCount; start += chunkLines) {
    const lines = [];
    for (let n = start; n < Math.min(bulkCount, start + chunkLines); n += 1)
      lines.push(JSON.stringify(submission(n)));
    chunks.push(await gzip(`${lines.join('\n')}\n`));
  }
  const result = await run(chunks.length, bulkConcurrency, (i) =>
    post(chunks[i], { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' }),
  );
  rows.push({
    mode: `NDJSON gzip, ${chunkLines} lines/request, ${bulkConcurrency} in flight`,
    requests: result.requests,
    submissions: bulkCount,
    seconds: result.seconds,
    p50: result.p50,
    p99: result.p99,
  });
}

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const fixed = new Intl.NumberFormat('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
console.log(
  `ingest throughput on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), Node ${process.version}, ` +
    `${values.url === undefined ? 'ingest in-process' : `ingest at ${url}`}, Kafka acks=all, ` +
    `${observationsPerSubmission} observations per submission`,
);
const header = ['mode', 'requests', 'submissions/s', 'observations/s', 'p50 ms', 'p99 ms'];
const table = rows.map((row) => [
  row.mode,
  number.format(row.requests),
  number.format(row.submissions / row.seconds),
  number.format((row.submissions * observationsPerSubmission) / row.seconds),
  fixed.format(row.p50),
  fixed.format(row.p99),
]);
const widths = header.map((_, c) => Math.max(header[c].length, ...table.map((r) => r[c].length)));
const line = (cells) =>
  cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
console.log(line(header));
for (const row of table) console.log(line(row));
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
