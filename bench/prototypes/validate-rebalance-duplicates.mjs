// Reproduction for the duplicates seen in the validated topic (bench smoke run, scale-out test): the real
// validate worker (services/validate/dist/worker.js) with kafkajs logging on, a second member joining and
// leaving its group while it works, then a count of the submissions the validated topic holds more than once.
// Runs on a private broker (or, with --brokers, on a running one, in a topic namespace of its own).
//   node bench/prototypes/validate-rebalance-duplicates.mjs [--brokers 127.0.0.1:9092] [--records 3000] [--rounds 3]
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadCatalogue } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { nationalCycle } from '@citycheck/generator';
import {
  createTransactionalProducer,
  decodeJson,
  ensureTopics,
  pipelineTopicSpecs,
  topicNames,
} from '@citycheck/kafka';
import { createLogger } from '@citycheck/logging';
import { createRuleContext } from '@citycheck/rules';
import { repositoryRoot, startPrivateInfra } from '@citycheck/testkit/stack';
import { Kafka, logLevel } from 'kafkajs';
import { createValidateWorker, transactionalIdFor } from '../../services/validate/dist/index.js';

/** @import { LogEntry } from 'kafkajs' */
/** @import { Submission } from '@citycheck/contracts' */
/** @import { ValidateWorker } from '../../services/validate/dist/index.js' */

const { values } = parseArgs({
  options: {
    brokers: { type: 'string' },
    records: { type: 'string', default: '40000' },
    rounds: { type: 'string', default: '3' },
  },
});
/** @type {string[]} */
const events = [];
const started = performance.now();
/** @param {string} text */
const note = (text) => {
  const line = `${((performance.now() - started) / 1000).toFixed(2).padStart(7)} s  ${text}`;
  events.push(line);
  console.log(line);
};
// kafkajs's own log, reduced to the lines about group membership and offsets.
const logCreator =
  () =>
  /** @param {LogEntry} entry */
  ({ label, log }) => {
    const { message, groupId, memberId, ...rest } = log;
    if (/join|rebalanc|assign|offset|heartbeat|crash|restart/i.test(message)) {
      note(`kafkajs ${label} ${message} ${groupId ?? ''} ${JSON.stringify(rest).slice(0, 160)}`);
    }
  };
const infra =
  values.brokers === undefined
    ? await startPrivateInfra({ directory: join(repositoryRoot, '.local', 'prototype-stack') })
    : undefined;
const brokers = (values.brokers ?? infra?.kafkaBrokers ?? '').split(',');
const kafka = new Kafka({
  brokers,
  clientId: 'dup-repro',
  logLevel: logLevel.INFO,
  logCreator,
});
const quiet = new Kafka({
  brokers,
  clientId: 'dup-repro',
  logLevel: logLevel.NOTHING,
});
const namespace = `dup-${Date.now().toString(36)}`;
const names = topicNames(namespace);
const groupId = `${namespace}-validate`;
const admin = quiet.admin();
await admin.connect();
await ensureTopics(admin, pipelineTopicSpecs(3, 1, namespace));

// Received records as ingest writes them, from a generated cycle of a few cities.
/** @type {Submission[]} */
const submissions = [];
for (const city of nationalCycle({
  catalogue: loadCatalogue('2024.1'),
  divisions: loadDivisionRegistry(),
  seed: 5,
  cities: loadDivisionRegistry().reportingCities().slice(0, 60),
  deliberateErrors: 0,
  corrections: 0,
})) {
  submissions.push(...city.submissions);
}
const sent = submissions.slice(0, Number(values.records));
const producer = quiet.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
for (let i = 0; i < sent.length; i += 500) {
  await producer.send({
    topic: names.submissionsReceived,
    acks: -1,
    messages: sent.slice(i, i + 500).map((submission) => ({
      key: submission.cityCode,
      value: JSON.stringify({
        submission,
        contentHash: 'h'.repeat(64),
        receivedAt: new Date().toISOString(),
      }),
    })),
  });
}
await producer.disconnect();
note(`${sent.length} received records in ${names.submissionsReceived}`);

// The worker's own errors, as notes among kafkajs's lines.
const logger = createLogger({
  service: 'dup-repro',
  level: 'error',
  destination: new Writable({
    write(chunk, _encoding, done) {
      const { msg, err } = JSON.parse(String(chunk));
      note(`worker error ${msg} ${err?.message ?? ''}`);
      done();
    },
  }),
});
/** @type {(name: string) => Promise<{ name: string, worker: ValidateWorker }>} */
const startWorker = async (name) => {
  const consumer = kafka.consumer({ groupId, readUncommitted: false, sessionTimeout: 10_000 });
  await consumer.connect();
  const worker = createValidateWorker({
    consumer,
    // One transactional id per received partition, the same in every member, as validate's main.ts does.
    transactionalProducer: async (partition) => {
      const producer = createTransactionalProducer(
        quiet,
        transactionalIdFor(groupId, names.submissionsReceived, partition),
      );
      await producer.connect();
      return producer;
    },
    admin,
    groupId,
    logger,
    rules: createRuleContext(),
    topics: {
      received: names.submissionsReceived,
      validated: names.submissionsValidated,
      rejected: names.submissionsRejected,
    },
  });
  await worker.start();
  note(`worker ${name} started`);
  return { name, worker };
};

const validatedCount = async () =>
  (await admin.fetchTopicOffsets(names.submissionsValidated)).reduce((sum, p) => sum + Number(p.high), 0);
/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const a = await startWorker('a');
for (let round = 1; round <= Number(values.rounds); round += 1) {
  await sleep(300);
  const b = await startWorker(`b${round}`);
  await sleep(2_000);
  await b.worker.stop();
  note(`worker b${round} stopped (validated ${b.worker.counts.validated})`);
}
for (;;) {
  const lag = await admin.fetchOffsets({ groupId, topics: [names.submissionsReceived] });
  const ends = await admin.fetchTopicOffsets(names.submissionsReceived);
  const behind = ends.reduce((sum, end) => {
    const at = Number(lag[0]?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
    return sum + Math.max(0, Number(end.high) - Math.max(0, at));
  }, 0);
  if (behind === 0) break;
  await sleep(500);
}
await a.worker.stop();
note(
  `worker a stopped (validated ${a.worker.counts.validated}); validated topic end offsets sum ${await validatedCount()}`,
);

// Read the validated topic back (read_committed) and count copies per submission.
const reader = quiet.consumer({ groupId: `${namespace}-reader`, readUncommitted: false });
await reader.connect();
await reader.subscribe({ topic: names.submissionsValidated, fromBeginning: true });
const copies = new Map();
let last = Date.now();
await reader.run({
  eachMessage: async ({ partition, message }) => {
    last = Date.now();
    const id = /** @type {{ submissionId: string }} */ (decodeJson(message.value)).submissionId;
    const list = copies.get(id) ?? [];
    list.push(`${partition}:${message.offset}`);
    copies.set(id, list);
  },
});
while (Date.now() - last < 3_000) await sleep(500);
await reader.disconnect();
const doubled = [...copies].filter(([, list]) => list.length > 1);
note(
  `validated topic: ${copies.size} submissions, ${doubled.length} held more than once${doubled.length > 0 ? `, e.g. ${JSON.stringify(doubled.slice(0, 3))}` : ''}`,
);
await admin.deleteTopics({ topics: Object.values(names) }).catch(() => undefined);
await admin.disconnect();
await infra?.destroy();
process.exit(doubled.length > 0 ? 1 : 0);
