// A compacted topic of JSON records keyed by what they describe, followed from the beginning into a view:
// how credentials.v1 and cycles.v1 reach every instance.

import type { Kafka } from 'kafkajs';
import { createTopicFollower, type FollowerSettings, type TopicFollower } from './follower.js';

export interface KeyedRecordFollowerOptions extends FollowerSettings {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupIdPrefix: string;
  /** Names the records in errors, e.g. `credential record without a key`. */
  readonly recordName: string;
  /**
   * Applies the record under `key`: its parsed JSON value, or null for a tombstone. A throw skips the record
   * and goes to `onInvalidRecord`, as does a record without a key or whose value is not JSON.
   */
  readonly apply: (key: string, value: unknown) => void;
  readonly onInvalidRecord?: ((error: unknown, key: string | undefined) => void) | undefined;
}

/** Follows `topic` from the beginning into a view through `apply`. Call start(), then await caughtUp(). */
export const followKeyedRecords = ({
  topic,
  recordName,
  apply,
  onInvalidRecord = () => undefined,
  ...settings
}: KeyedRecordFollowerOptions): TopicFollower =>
  createTopicFollower({
    ...settings,
    topics: [topic],
    apply: ({ message }) => {
      const key = message.key?.toString('utf8');
      if (key === undefined) throw new Error(`${recordName} record without a key`);
      apply(key, message.value === null ? null : JSON.parse(message.value.toString('utf8')));
    },
    onError: (error, { message }) => onInvalidRecord(error, message.key?.toString('utf8')),
  });
