// Kafka plumbing shared by the workers: topic names and specs, the one place client, consumer and producer
// settings are made (with the delivery guarantees citycheck relies on), and translation of broker failures
// into retriable errors. Nothing else in the tree imports kafkajs, so the client can be changed here.
import { CitycheckError } from '@citycheck/errors';
import kafkajs, {
  type Admin,
  type Consumer,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  Partitioners,
  type PartitionMetadata,
  type Producer,
  type RecordMetadata,
} from 'kafkajs';
import type { FollowerSettings, TopicFollower } from './follower.js';
import { followKeyedRecords } from './keyed-records.js';

export type {
  Admin,
  Consumer,
  EachBatchPayload,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
  RecordMetadata,
  Transaction,
} from 'kafkajs';
/**
 * An error a consumer's handler throws to make the client stop the consumer instead of retrying. kafkajs is
 * CommonJS and spreads its error classes into its exports, which Node cannot name statically.
 */
export const NonRetriableKafkaError = kafkajs.KafkaJSNonRetriableError;
export {
  coordinatorNotFound,
  createTopicFollower,
  type FollowedMessage,
  type FollowerHealth,
  type FollowerSettings,
  faultWhileFileExists,
  type TopicFollower,
  type TopicFollowerOptions,
} from './follower.js';
export { followKeyedRecords, type KeyedRecordFollowerOptions } from './keyed-records.js';
export { commitOffsetsOrRejoin, isMembershipError, withHeartbeats } from './membership.js';
export { countRecordsSince, fetchConsumerLag, type PartitionLag, type RecordsSince } from './offsets.js';
export { runSupervised, type SuperviseOptions, type Supervision, type SupervisorLog } from './supervise.js';

/** Topic names follow `<domain>.<event>.v<N>`; a breaking change to a value's shape bumps N. */
export const topics = {
  /** Submissions as received over HTTP, keyed by city code. Produced by ingest, consumed by validate. */
  submissionsReceived: 'submissions.received.v1',
  /** Valid submissions with normalised observations, keyed by city code. Consumed by aggregate. */
  submissionsValidated: 'submissions.validated.v1',
  /** Rejected submissions with every reason, keyed by city code. The dead-letter topic of validate. */
  submissionsRejected: 'submissions.rejected.v1',
  /**
   * What ingest refused over HTTP (schema, credential, scope, conflicts, media type), keyed by city code: per
   * request the reasons counted and a few submission ids. For the status page; no submission is in it.
   */
  submissionsRefused: 'submissions.refused.v1',
  /** One event per batch committed to the lake: the submission ids it holds. Produced by aggregate. */
  lakeBatchesCommitted: 'lake.batches-committed.v1',
  /**
   * One event per derivation written to the lake: when, and which lake batches it counted for the first
   * time (by validated topic, partition and offsets). Produced by aggregate; ingest's status reads `counted`.
   */
  lakeRollupsDerived: 'lake.rollups-derived.v1',
} as const;

export type TopicName = (typeof topics)[keyof typeof topics];
export type TopicNames = { readonly [K in keyof typeof topics]: string };

/**
 * The pipeline's topic names under a namespace (`<namespace>.<domain>.<event>.v<N>`), so several pipelines
 * (a test, a tenant, a rehearsal) can share one cluster without reading each other's records.
 */
export const topicNames = (namespace = ''): TopicNames => {
  if (namespace === '') return topics;
  return Object.fromEntries(
    Object.entries(topics).map(([key, name]) => [key, `${namespace}.${name}`]),
  ) as TopicNames;
};

/**
 * Compacted topics that hold current state keyed by an id (the latest record per key wins), not events.
 * They are not part of `pipelineTopicSpecs`: each is created by its owner with `compactedTopicSpec`.
 */
export const stateTopics = {
  /** Ingest credentials keyed by credential id: hashes and roles, never secrets. Produced by the admin CLI. */
  credentials: 'credentials.v1',
  /**
   * Examination cycles keyed `cycle-<year>` (settings, closing, audit of operator actions) and the current
   * designation keyed `current`. Produced by the admin CLI; under TOPIC_NAMESPACE like the pipeline's topics.
   */
  cycles: 'cycles.v1',
  /**
   * Reviews keyed `review-<cycle>-<city>`: each city's review state for a cycle and the audit of every action
   * (submit, return, approve, accept, reopen). Produced by ingest; under TOPIC_NAMESPACE like cycles.v1.
   */
  reviews: 'reviews.v1',
  /**
   * Shortfall ledger items keyed `rectification-<cycle>-<unitLevel>-<unitCode>-<indicator>`: each item's
   * rectification state, plan, evidence (hash and object key) and the audit of every action (plan, progress,
   * evidence, verify, return). Produced by ingest; under TOPIC_NAMESPACE like reviews.v1.
   */
  rectification: 'rectification.v1',
} as const;

export interface KafkaClientConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** How long a connection attempt may take before it counts as a failure. */
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** kafkajs retries; producers that answer an HTTP caller keep this short so the caller sees a 503 quickly. */
  readonly retries?: number;
  /**
   * Where kafkajs's own warnings and errors go (group rebalances, retried requests, consumer crashes); without
   * it kafkajs stays silent. Both go out at warn: kafkajs calls a retried request an error.
   */
  readonly logger?: KafkaLogSink;
}

/** The part of a pino logger kafkajs's log is written to. */
export interface KafkaLogSink {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** How many times each kind of client retries a request before it fails it. */
export const clientRetries = {
  /**
   * The workers (validate, aggregate): with the backoff capped at 5 s they ride out a broker outage of a few
   * minutes before a request fails; a consumer the client stops for good is started again by runSupervised.
   */
  worker: 40,
  /** Ingest's producer answers a city: it fails to a 503 with Retry-After quickly. */
  ingest: 2,
  /** The query service, the admin CLI and tests: their followers and commands start again on failure. */
  tool: 3,
} as const;

export const createKafka = ({
  brokers,
  clientId,
  connectionTimeoutMs = 3_000,
  requestTimeoutMs = 10_000,
  retries = 8,
  logger,
}: KafkaClientConfig): Kafka => {
  const config: KafkaConfig = {
    brokers: [...brokers],
    clientId,
    connectionTimeout: connectionTimeoutMs,
    requestTimeout: requestTimeoutMs,
    logLevel: logger === undefined ? logLevel.NOTHING : logLevel.WARN,
    ...(logger === undefined
      ? {}
      : {
          logCreator:
            () =>
            ({ namespace, label, log }) => {
              const { message, timestamp: _timestamp, logger: _name, ...fields } = log;
              logger.warn({ kafkajs: { namespace, level: label, ...fields } }, `kafkajs: ${message}`);
            },
        }),
    retry: { retries, initialRetryTime: 100, maxRetryTime: 5_000, factor: 0.2, multiplier: 2 },
  };
  return new Kafka(config);
};

export interface TopicSpec {
  readonly topic: string;
  readonly numPartitions: number;
  readonly replicationFactor: number;
  /** Topic-level settings, e.g. `cleanup.policy=compact`. */
  readonly configEntries?: readonly { readonly name: string; readonly value: string }[];
}

/** A single-partition compacted topic: the whole state is read in order, and only the latest record per key is kept. */
export const compactedTopicSpec = (topic: string, replicationFactor: number): TopicSpec => ({
  topic,
  numPartitions: 1,
  replicationFactor,
  configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
});

/**
 * Creates the compacted topic `topic` when it does not exist. kafkajs waits for leaders by reading metadata,
 * and a KRaft broker may briefly answer "unknown topic" for a topic it just created; kafkajs gives up on
 * that, so a few more tries settle it.
 */
export const ensureCompactedTopic = async (
  kafka: Kafka,
  { topic, replicationFactor = 1 }: { topic: string; replicationFactor?: number | undefined },
): Promise<void> => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await ensureTopics(admin, [compactedTopicSpec(topic, replicationFactor)]);
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  } finally {
    await admin.disconnect();
  }
};

/** What following a compacted topic of keyed records into a book (cycles, reviews) takes. */
export interface FollowBookOptions<Book> extends FollowerSettings {
  readonly kafka: Kafka;
  readonly book: Book;
  readonly topic?: string;
  readonly groupIdPrefix?: string;
  /** Told about records that cannot be read (they are skipped). */
  readonly onInvalidRecord?: (error: unknown, key: string | undefined) => void;
}

/**
 * Creates the compacted topic, starts `follow`'s follower and waits until it has read the topic to its end:
 * what a service does on start. Resolves with the follower, to stop on shutdown.
 */
export const loadKeyedRecords = async (
  kafka: Kafka,
  { topic, replicationFactor }: { topic: string; replicationFactor?: number | undefined },
  follow: () => TopicFollower,
): Promise<TopicFollower> => {
  await ensureCompactedTopic(kafka, { topic, replicationFactor });
  const follower = follow();
  await follower.start();
  await follower.caughtUp();
  return follower;
};

/** A book that state records are applied to: the record under a key, or null for a tombstone. */
export interface KeyedBook<Value> {
  apply(key: string, record: Value | null): void;
}

/** What tells one state topic from another: its name in `stateTopics`, its records' key and how to read them. */
export interface StateTopicDefinition<Value> {
  /** Names the topic (`stateTopics[name]`), its records in errors and its followers' consumer groups. */
  readonly name: keyof typeof stateTopics;
  /** Reads the JSON value under `key`; a throw skips the record and goes to `onInvalidRecord`. */
  readonly parse: (key: string, value: unknown) => Value;
  readonly keyOf: (record: Value) => string;
}

/** What a service and the admin CLI do with a state topic; `topic` options default to the topic without a namespace. */
export interface StateTopic<Book, Value> {
  /** The topic under a namespace: `<name>.v1`, or `<namespace>.<name>.v1`. */
  readonly topicIn: (namespace?: string) => string;
  /** Creates the compacted topic when it does not exist. */
  readonly ensure: (kafka: Kafka, options?: { topic?: string; replicationFactor?: number }) => Promise<void>;
  /** Writes a record under its key; resolves once every in-sync replica has it. */
  readonly publish: (producer: Producer, record: Value, topic?: string) => Promise<void>;
  /** Follows the topic from the beginning into `book`. Call start(), then await caughtUp(). */
  readonly follow: (options: FollowBookOptions<Book>) => TopicFollower;
  /** Creates the topic, starts following and waits until it is read to its end: what a service does on start. */
  readonly load: (
    options: FollowBookOptions<Book> & { replicationFactor?: number },
  ) => Promise<TopicFollower>;
}

/** The functions of one compacted state topic (credentials, cycles, reviews), from what tells it apart. */
export const createStateTopic = <Book extends KeyedBook<Value>, Value>({
  name,
  parse,
  keyOf,
}: StateTopicDefinition<Value>): StateTopic<Book, Value> => {
  const defaultTopic = stateTopics[name];
  const follow = ({
    book,
    topic = defaultTopic,
    groupIdPrefix = `citycheck-${name}`,
    ...options
  }: FollowBookOptions<Book>): TopicFollower =>
    followKeyedRecords({
      ...options,
      topic,
      groupIdPrefix,
      recordName: name,
      apply: (key, value) => book.apply(key, value === null ? null : parse(key, value)),
    });
  return {
    topicIn: (namespace = '') => (namespace === '' ? defaultTopic : `${namespace}.${defaultTopic}`),
    ensure: (kafka, { topic = defaultTopic, replicationFactor } = {}) =>
      ensureCompactedTopic(kafka, { topic, replicationFactor }),
    publish: async (producer, record, topic = defaultTopic) => {
      await sendJson(producer, topic, [{ key: keyOf(record), value: record }]);
    },
    follow,
    load: ({ replicationFactor, ...options }) =>
      loadKeyedRecords(options.kafka, { topic: options.topic ?? defaultTopic, replicationFactor }, () =>
        follow(options),
      ),
  };
};

/** Creates the topics that do not exist yet; a topic that exists is left as it is. */
export const ensureTopics = async (admin: Admin, specs: readonly TopicSpec[]): Promise<void> => {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.numPartitions,
        replicationFactor: spec.replicationFactor,
        configEntries: [
          { name: 'min.insync.replicas', value: String(Math.min(2, spec.replicationFactor)) },
          ...(spec.configEntries ?? []),
        ],
      })),
    });
    // A broker may still answer "does not host this topic-partition" for a moment after creating it:
    // wait until every new partition answers an offsets request.
    for (const spec of missing) await waitUntilServed(admin, spec.topic);
  } catch (error) {
    // Another worker may have created the same topic between the listing and the creation.
    const stillMissing = missing.filter((spec) => !existing.has(spec.topic));
    const now = new Set(await admin.listTopics());
    if (stillMissing.some((spec) => !now.has(spec.topic))) throw error;
  }
};

const waitUntilServed = async (admin: Admin, topic: string, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await admin.fetchTopicOffsets(topic);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
};

export const pipelineTopicSpecs = (
  numPartitions: number,
  replicationFactor: number,
  namespace = '',
): TopicSpec[] =>
  Object.values(topicNames(namespace)).map((topic) => ({ topic, numPartitions, replicationFactor }));

/** An idempotent producer that waits for every in-sync replica: no duplicates from its own retries. */
export const createReliableProducer = (kafka: Kafka): Producer =>
  kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });

/**
 * An idempotent producer for transactions under `transactionalId`: its first transaction fences any earlier
 * producer holding the id and aborts the transaction that one left open.
 */
export const createTransactionalProducer = (kafka: Kafka, transactionalId: string): Producer =>
  kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId });

export interface GroupConsumerOptions {
  readonly groupId: string;
  /** How soon the group moves a silent member's partitions to the others. */
  readonly sessionTimeoutMs: number;
  /**
   * Let the broker gather up to a second of records (1 MiB at least, 16 MiB a partition, 64 MiB a fetch), for
   * a sink that should not write tiny objects under light load.
   */
  readonly largeFetches?: boolean;
}

/** A member of a consumer group that reads committed records only (never an open or aborted transaction's). */
export const createGroupConsumer = (
  kafka: Kafka,
  { groupId, sessionTimeoutMs, largeFetches = false }: GroupConsumerOptions,
): Consumer =>
  kafka.consumer({
    groupId,
    readUncommitted: false,
    sessionTimeout: sessionTimeoutMs,
    ...(largeFetches
      ? {
          minBytes: 1_048_576,
          maxWaitTimeInMs: 1_000,
          maxBytesPerPartition: 16 * 1_048_576,
          maxBytes: 64 * 1_048_576,
        }
      : {}),
  });

// The producer's own partitioner (Java-compatible murmur2 on the key), to know which partition a record of a
// mixed send went to.
const defaultPartitioner = Partitioners.DefaultPartitioner();
const partitionsOfCount = new Map<number, PartitionMetadata[]>();

/** The partition a keyed record goes to on a topic of `count` partitions, as the producer places it. */
export const partitionOfKey = (key: string, count: number): number => {
  let partitions = partitionsOfCount.get(count);
  if (partitions === undefined) {
    partitions = Array.from({ length: count }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
      offlineReplicas: [],
    }));
    partitionsOfCount.set(count, partitions);
  }
  return defaultPartitioner({ topic: '', partitionMetadata: partitions, message: { key, value: null } });
};

/** A record as sent: a key (the city code) and the encoded value. */
export type KeyedMessage = Message & { key: string; value: Buffer };

export interface OutgoingMessage {
  readonly key: string;
  readonly value: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export const encodeJson = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

export const decodeJson = (value: Buffer | null): unknown => {
  if (value === null) throw new Error('message has no value');
  return JSON.parse(value.toString('utf8'));
};

/**
 * Sends messages with acks from all in-sync replicas. Resolves only after the broker acknowledged them;
 * a broker that cannot be reached becomes a retriable `broker_unavailable` error, never a silent loss.
 */
export const sendJson = async (
  producer: Producer,
  topic: string,
  messages: readonly OutgoingMessage[],
): Promise<RecordMetadata[]> => {
  try {
    return await producer.send({
      topic,
      acks: -1,
      messages: messages.map((message) => ({
        key: message.key,
        value: encodeJson(message.value),
        headers: { 'content-type': 'application/json', ...message.headers },
      })),
    });
  } catch (error) {
    throw new CitycheckError('broker_unavailable', 'the message broker did not acknowledge the message', {
      cause: error,
      retryAfterSeconds: 5,
    });
  }
};
