// Reads topics from their beginning into an in-memory view and keeps following them: how a service rebuilds
// its state (credentials, the submission index) on start and stays current with what other instances write.
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

export interface FollowedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

export interface TopicFollowerOptions {
  readonly kafka: Kafka;
  readonly topics: readonly string[];
  /** Prefix of the consumer group. Each follower joins a group of its own and commits no offsets, so every
   * start reads from the beginning and the broker forgets the group once it is empty. */
  readonly groupIdPrefix: string;
  /**
   * Applies one message to the view. Called in offset order within a partition; partitions and topics
   * interleave, so the view must not depend on the order across them. May be called again for messages it
   * already saw (after a consumer restart), so it must be idempotent. A throw is reported to `onError` and
   * the message is skipped: one bad record must not stop the view.
   */
  readonly apply: (message: FollowedMessage) => void;
  readonly onError?: (error: unknown, message: FollowedMessage) => void;
  /** Called when the consumer crashed; `restarting` says whether kafkajs restarts it by itself. */
  readonly onCrash?: (error: Error, restarting: boolean) => void;
  /** How long the broker may hold a fetch when there is nothing new: bounds how stale the view gets. */
  readonly maxWaitTimeInMs?: number;
}

export interface TopicFollower {
  /** Joins and starts reading from the beginning; resolves once reading has started. */
  start(): Promise<void>;
  /** Resolves when every partition has been read to the end offset it had when start() was called. */
  caughtUp(): Promise<void>;
  readonly isCaughtUp: boolean;
  /** Messages applied so far. */
  readonly applied: number;
  stop(): Promise<void>;
}

export const createTopicFollower = ({
  kafka,
  topics,
  groupIdPrefix,
  apply,
  onError = () => undefined,
  onCrash = () => undefined,
  maxWaitTimeInMs = 250,
}: TopicFollowerOptions): TopicFollower => {
  const consumer = kafka.consumer({
    groupId: `${groupIdPrefix}-${randomUUID()}`,
    maxWaitTimeInMs,
    allowAutoTopicCreation: false,
  });
  // Where each partition must be read to before the view counts as loaded, and where reading is now.
  const targets = new Map<string, bigint>();
  const positions = new Map<string, bigint>();
  let resolveCaughtUp: () => void = () => undefined;
  const caughtUpPromise = new Promise<void>((resolve) => {
    resolveCaughtUp = resolve;
  });
  let caughtUp = false;
  let applied = 0;

  const check = (): void => {
    if (caughtUp) return;
    for (const [key, target] of targets) {
      if ((positions.get(key) ?? 0n) < target) return;
    }
    caughtUp = true;
    resolveCaughtUp();
  };

  // Emitted for every fetched batch, including those that held only transaction markers or aborted records
  // and so reached no handler: the only exact way to see that a transactional topic was read to its end.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    positions.set(`${payload.topic}:${payload.partition}`, BigInt(payload.lastOffset) + 1n);
    check();
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => onCrash(payload.error, payload.restart));

  return {
    get isCaughtUp() {
      return caughtUp;
    },
    get applied() {
      return applied;
    },
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        for (const topic of topics) {
          for (const end of await admin.fetchTopicOffsets(topic)) {
            const key = `${topic}:${end.partition}`;
            targets.set(key, BigInt(end.high));
            if (!positions.has(key)) positions.set(key, BigInt(end.low));
          }
        }
      } finally {
        await admin.disconnect();
      }
      check();
      await consumer.connect();
      for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            const followed = { topic: batch.topic, partition: batch.partition, message };
            try {
              apply(followed);
              applied += 1;
            } catch (error) {
              onError(error, followed);
            }
          }
        },
      });
    },
    caughtUp: () => caughtUpPromise,
    async stop() {
      await consumer.disconnect();
    },
  };
};
