// cycles.v1 on Kafka (under TOPIC_NAMESPACE, like the pipeline's topics): the admin CLI writes each cycle's
// latest record and the current-cycle designation; ingest, validate, aggregate and the query service follow
// the topic from the beginning into a CycleBook, so an opened, closed or reopened cycle reaches every
// instance within about a second, with no restart.
import {
  compactedTopicSpec,
  createTopicFollower,
  ensureTopics,
  type FollowerSettings,
  type Kafka,
  type Producer,
  sendJson,
  stateTopics,
  type TopicFollower,
} from '@citycheck/kafka';
import type { CycleBook } from './book.js';
import { type CyclesTopicRecord, currentKey, cycleKey, parseCyclesRecord } from './record.js';

/** The cycles topic of a namespace: `cycles.v1`, or `<namespace>.cycles.v1`. */
export const cyclesTopic = (namespace = ''): string =>
  namespace === '' ? stateTopics.cycles : `${namespace}.${stateTopics.cycles}`;

/** Creates the compacted cycles topic when it does not exist. */
export const ensureCyclesTopic = async (
  kafka: Kafka,
  { topic = cyclesTopic(), replicationFactor = 1 }: { topic?: string; replicationFactor?: number } = {},
): Promise<void> => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // As for credentials.v1: a KRaft broker may briefly call a topic it just created unknown.
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

/** Writes a record; resolves once every in-sync replica has it. */
export const publishCyclesRecord = async (
  producer: Producer,
  record: CyclesTopicRecord,
  topic: string = cyclesTopic(),
): Promise<void> => {
  const key = record.kind === 'current' ? currentKey : cycleKey(record.settings.cycle);
  await sendJson(producer, topic, [{ key, value: record }]);
};

export interface FollowCyclesOptions extends FollowerSettings {
  readonly kafka: Kafka;
  readonly book: CycleBook;
  readonly topic?: string;
  readonly groupIdPrefix?: string;
  /** Told about records that cannot be read (they are skipped). */
  readonly onInvalidRecord?: (error: unknown, key: string | undefined) => void;
}

/** Follows cycles.v1 from the beginning into `book`. Call start(), then await caughtUp(). */
export const followCycles = ({
  kafka,
  book,
  topic = cyclesTopic(),
  groupIdPrefix = 'citycheck-cycles',
  onInvalidRecord = () => undefined,
  ...settings
}: FollowCyclesOptions): TopicFollower =>
  createTopicFollower({
    kafka,
    topics: [topic],
    groupIdPrefix,
    ...settings,
    apply: ({ message }) => {
      const key = message.key?.toString('utf8');
      if (key === undefined) throw new Error('cycles record without a key');
      if (message.value === null) {
        book.apply(key, null);
        return;
      }
      book.apply(key, parseCyclesRecord(key, JSON.parse(message.value.toString('utf8'))));
    },
    onError: (error, { message }) => onInvalidRecord(error, message.key?.toString('utf8')),
  });

/**
 * Starts following and waits until the topic is read to its end, creating the topic first: what a service
 * does on start. Resolves with the follower, to stop on shutdown.
 */
export const loadCycles = async ({
  replicationFactor,
  ...options
}: FollowCyclesOptions & { replicationFactor?: number }): Promise<TopicFollower> => {
  await ensureCyclesTopic(options.kafka, {
    ...(options.topic === undefined ? {} : { topic: options.topic }),
    ...(replicationFactor === undefined ? {} : { replicationFactor }),
  });
  const follower = followCycles(options);
  await follower.start();
  await follower.caughtUp();
  return follower;
};
