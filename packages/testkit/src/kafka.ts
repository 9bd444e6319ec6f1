// Kafka helpers for tests: a client for the real broker, a fresh topic per test, and reading back
// everything a topic holds (up to its current end offsets) to check what did or did not reach it.
import { contentHash, type Submission } from '@citycheck/contracts';
import {
  clientRetries,
  createKafka,
  createReliableProducer,
  ensureTopics,
  type Kafka,
  type KafkaMessage,
  sendJson,
} from '@citycheck/kafka';
import { realInfra, uniqueName } from './infra.js';
import { waitFor } from './wait.js';

export const testKafka = (clientId = 'citycheck-test'): Kafka =>
  createKafka({ brokers: realInfra().kafkaBrokers, clientId, retries: clientRetries.tool });

/** Creates the topics; a KRaft broker under load may briefly call a topic it just created unknown, so this
 * retries until it settles. */
export const createTestTopics = async (
  kafka: Kafka,
  names: readonly string[],
  numPartitions = 3,
): Promise<void> => {
  await waitFor(
    async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(
          admin,
          names.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })),
        );
      } finally {
        await admin.disconnect();
      }
      return true;
    },
    { what: `test topics ${names.join(', ')}` },
  );
};

/** A topic no other test uses, created now with `partitions` partitions (on `kafka`, the real broker's). */
export const createFreshTopic = async (
  prefix: string,
  { partitions = 1, kafka = testKafka() }: { partitions?: number; kafka?: Kafka } = {},
): Promise<{ kafka: Kafka; topic: string }> => {
  const topic = uniqueName(prefix);
  await createTestTopics(kafka, [topic], partitions);
  return { kafka, topic };
};

/** Sends JSON records (in order, one request each) through a reliable producer connected for this call. */
export const produceJson = async (
  kafka: Kafka,
  topic: string,
  records: readonly {
    readonly key: string;
    readonly value: unknown;
    readonly headers?: Readonly<Record<string, string>>;
  }[],
): Promise<void> => {
  const producer = createReliableProducer(kafka);
  await producer.connect();
  try {
    for (const record of records) await sendJson(producer, topic, [record]);
  } finally {
    await producer.disconnect();
  }
};

/**
 * Puts submissions on the received topic as an ingest that accepted them would, without any of ingest's checks:
 * how a test reaches validate, the authority downstream, with a submission ingest itself refuses at the door.
 */
export const sendReceivedUnchecked = async (
  kafka: Kafka,
  topic: string,
  submissions: readonly Submission[],
  credentialId: string,
): Promise<void> => {
  const receivedAt = new Date().toISOString();
  await produceJson(
    kafka,
    topic,
    submissions.map((submission) => {
      const hash = contentHash(submission);
      return {
        key: submission.cityCode,
        value: { submission, contentHash: hash, receivedAt, credentialId },
        headers: {
          'submission-id': submission.submissionId,
          'content-hash': hash,
          'received-at': receivedAt,
          'credential-id': credentialId,
        },
      };
    }),
  );
};

export type ReadMessage = KafkaMessage & {
  readonly partition: number;
};

/** Every committed message the topic holds now (read_committed), in partition then offset order. */
export const readTopic = async (kafka: Kafka, topic: string, timeoutMs = 30_000): Promise<ReadMessage[]> => {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  // The end offset counts transaction markers too, so "caught up" means the consumer's position reached it.
  const target = new Map(ends.map((end) => [end.partition, BigInt(end.high)]));
  const position = new Map(ends.map((end) => [end.partition, BigInt(end.low)]));
  const messages: ReadMessage[] = [];
  // Quiet time counts only from the moment the consumer joined its group.
  let lastBatchAt = Number.POSITIVE_INFINITY;
  if ([...target].every(([partition, high]) => (position.get(partition) ?? 0n) >= high)) return messages;
  const consumer = kafka.consumer({
    groupId: uniqueName('reader'),
    readUncommitted: false,
    maxWaitTimeInMs: 100,
  });
  await consumer.connect();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    lastBatchAt = Date.now();
  });
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const message of batch.messages) messages.push({ ...message, partition: batch.partition });
      // lastOffset() counts control records (transaction markers) that were filtered out of `messages`.
      position.set(batch.partition, BigInt(batch.lastOffset()) + 1n);
      lastBatchAt = Date.now();
    },
  });
  try {
    await waitFor(
      // A transaction's closing marker is never delivered, so a partition may stop one short of its end;
      // a quiet half second after that means nothing more is coming.
      () =>
        [...target].every(([partition, high]) => {
          const at = position.get(partition) ?? 0n;
          return at >= high || (at >= high - 1n && messages.some((m) => m.partition === partition));
        }) && Date.now() - lastBatchAt > 500
          ? true
          : undefined,
      { timeoutMs, what: `reading topic ${topic} to its end` },
    );
  } finally {
    await consumer.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
};
