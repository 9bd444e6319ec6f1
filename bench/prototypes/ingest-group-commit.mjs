// Prototype for ingest's single-submission path. Today each accepted JSON submission is its own
// producer.send (idempotent producer, one request in flight, acks from all replicas), so requests queue
// behind each other's round trips and throughput is one record per broker round trip. Group commit sends
// whatever arrived while the previous send was in flight as one batch: same guarantee (the HTTP answer
// still waits for the broker's ack of that very record), far more records per round trip.
//
// Offered load: open loop at --rate requests/s for --seconds, records of --bytes, against a topic of its
// own on the broker at --brokers (default the shared local one; the topic is deleted afterwards).
//   node bench/prototypes/ingest-group-commit.mjs [--brokers 127.0.0.1:9092] [--rate 1000] [--seconds 10]
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { quantile } from '@citycheck/generator';
import { createKafka, createReliableProducer } from '@citycheck/kafka';

/** @import { Producer } from '@citycheck/kafka' */
/** @typedef {(producer: Producer) => (key: string) => Promise<void>} SendMaker */

const { values } = parseArgs({
  options: {
    brokers: { type: 'string', default: '127.0.0.1:9092' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    bytes: { type: 'string', default: '700' },
  },
});
const rate = Number(values.rate);
const count = rate * Number(values.seconds);
const kafka = createKafka({ brokers: values.brokers.split(','), clientId: 'citycheck-prototype' });
const topic = `bench.group-commit-${Date.now().toString(36)}`;
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
  waitForLeaders: true,
});
const payload = Buffer.alloc(Number(values.bytes), 'x');
const keys = Array.from({ length: 300 }, (_, i) => String(110100 + i * 100));

/** One send per record, as ingest's Intake.submitOne does today. @type {SendMaker} */
const perRecord = (producer) => (key) =>
  producer.send({ topic, acks: -1, messages: [{ key, value: payload }] }).then(() => undefined);

/** Records that arrive while a send is in flight wait for it and go together in the next one. @type {SendMaker} */
const groupCommit = (producer) => {
  /** @type {{ key: string, resolve: () => void, reject: (error: unknown) => void }[]} */
  let queue = [];
  let sending = false;
  const drain = async () => {
    sending = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: batch.map((item) => ({ key: item.key, value: payload })),
        });
        for (const item of batch) item.resolve();
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
    sending = false;
  };
  return (key) =>
    new Promise((resolve, reject) => {
      queue.push({ key, resolve, reject });
      if (!sending) void drain();
    });
};

/** @type {(name: string, makeSend: SendMaker) => Promise<void>} */
const run = async (name, makeSend) => {
  const producer = createReliableProducer(kafka);
  await producer.connect();
  const send = makeSend(producer);
  /** @type {number[]} */
  const latencies = [];
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < count; i += 1) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(send(keys[i % keys.length] ?? '110100').then(() => latencies.push(performance.now() - due)));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - started) / 1000;
  await producer.disconnect();
  console.log(
    `${name.padEnd(28)} ${count} records in ${elapsed.toFixed(1)} s = ${(count / elapsed).toFixed(0)}/s; latency from due ` +
      `p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms, max ${quantile(latencies, 1).toFixed(0)} ms`,
  );
};

try {
  await run('one send per record (today)', perRecord);
  await run('group commit', groupCommit);
} finally {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}
