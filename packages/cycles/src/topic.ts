// cycles.v1 (under TOPIC_NAMESPACE): the admin CLI writes each cycle and the current-cycle designation; every
// service follows it into a CycleBook, so a cycle opened, closed or reopened reaches all within a second.
import {
  ensureCompactedTopic,
  type FollowBookOptions,
  followKeyedRecords,
  type Kafka,
  loadKeyedRecords,
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
export const ensureCyclesTopic = (
  kafka: Kafka,
  { topic = cyclesTopic(), replicationFactor }: { topic?: string; replicationFactor?: number } = {},
): Promise<void> => ensureCompactedTopic(kafka, { topic, replicationFactor });

/** Writes a record; resolves once every in-sync replica has it. */
export const publishCyclesRecord = async (
  producer: Producer,
  record: CyclesTopicRecord,
  topic: string = cyclesTopic(),
): Promise<void> => {
  const key = record.kind === 'current' ? currentKey : cycleKey(record.settings.cycle);
  await sendJson(producer, topic, [{ key, value: record }]);
};

export type FollowCyclesOptions = FollowBookOptions<CycleBook>;

/** Follows cycles.v1 from the beginning into `book`. Call start(), then await caughtUp(). */
export const followCycles = ({
  book,
  topic = cyclesTopic(),
  groupIdPrefix = 'citycheck-cycles',
  ...options
}: FollowCyclesOptions): TopicFollower =>
  followKeyedRecords({
    ...options,
    topic,
    groupIdPrefix,
    recordName: 'cycles',
    apply: (key, value) => book.apply(key, value === null ? null : parseCyclesRecord(key, value)),
  });

/** Creates the topic, starts following and waits until it is read to its end: what a service does on start. */
export const loadCycles = ({
  replicationFactor,
  ...options
}: FollowCyclesOptions & { replicationFactor?: number }): Promise<TopicFollower> =>
  loadKeyedRecords(options.kafka, { topic: options.topic ?? cyclesTopic(), replicationFactor }, () =>
    followCycles(options),
  );
