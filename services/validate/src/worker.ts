// The validate worker: consumes received submissions, applies the rules, and in one Kafka transaction
// produces each outcome (validated or rejected) together with the consumed offsets, so a crash can neither
// lose a submission nor validate it twice.
import type { ReceivedSubmission } from '@citycheck/contracts';
import {
  type Admin,
  type Consumer,
  decodeJson,
  type EachBatchPayload,
  encodeJson,
  type Producer,
  runSupervised,
  type Supervision,
  topics,
  withHeartbeats,
} from '@citycheck/kafka';
import type { Logger } from '@citycheck/logging';
import { type PipelineMetrics, rejectionCity } from '@citycheck/metrics';
import { type RuleContext, validateReceived } from '@citycheck/rules';

export interface ValidateTopics {
  readonly received: string;
  readonly validated: string;
  readonly rejected: string;
}

export interface ValidateWorkerOptions {
  readonly consumer: Consumer;
  /**
   * Connects a transactional producer (idempotent, one request in flight) whose transactional id is the
   * one of `partition` of the received topic (`transactionalIdFor`), the same in every process. Its first
   * transaction registers that id with the broker (kafkajs does it then, not on connect), which fences any
   * earlier producer holding it and aborts the transaction it left open: a validate killed mid-transaction
   * holds its partition back only until the partition's next owner starts on it (the uncommitted input is
   * fetched again at once), not for the whole transaction timeout.
   */
  readonly transactionalProducer: (partition: number) => Promise<Producer>;
  /**
   * Reads the group's committed offsets. A member that takes a partition over reads them again once its
   * producer has fenced the previous owner's: the offset kafkajs fetched at the assignment may predate a
   * transaction the previous owner committed afterwards, and those records must not be validated again.
   */
  readonly admin: Admin;
  readonly groupId: string;
  readonly logger: Logger;
  readonly rules: RuleContext;
  /**
   * Resolves once the state the rules read from topics (the reviews and cycles followed from reviews.v1 and
   * cycles.v1) holds every change made before `receivedAt`, the latest receipt in a batch: awaited before
   * the batch is judged, so a record ingest received just after the ministry's acceptance is rejected and
   * one received just before it passes, however far behind the followers are when it is validated
   * (TopicFollower.heardBy). Omit when the rules read no such state.
   */
  readonly stateAsOf?: (receivedAt: Date) => Promise<void>;
  readonly topics?: ValidateTopics;
  readonly metrics?: PipelineMetrics;
}

export interface ValidateWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly counts: { validated: number; rejected: number };
}

/**
 * The transactional id of the outputs of one partition of the received topic. Per partition, not per
 * process: a partition has one owner in the group at a time, so two instances never use the same id at
 * once, and whoever takes a partition over (a replacement of a killed instance, or another instance after a
 * rebalance) fences the previous owner's producer by registering the same id.
 */
export const transactionalIdFor = (groupId: string, receivedTopic: string, partition: number): string =>
  `${groupId}.${receivedTopic}.${partition}`;

export const defaultValidateTopics: ValidateTopics = {
  received: topics.submissionsReceived,
  validated: topics.submissionsValidated,
  rejected: topics.submissionsRejected,
};

export const createValidateWorker = ({
  consumer,
  transactionalProducer,
  admin,
  groupId,
  logger,
  rules,
  stateAsOf,
  topics: names = defaultValidateTopics,
  metrics,
}: ValidateWorkerOptions): ValidateWorker => {
  const counts = { validated: 0, rejected: 0 };
  // Each join of the group is a new generation. kafkajs commits transactional offsets without the group's
  // generation, so the broker cannot refuse a commit from a member that has since lost the partition (until
  // the new owner's producer fences it). Two guards keep a partition's input from being validated twice:
  // - a batch validated across a rebalance this member has seen is aborted and left to the partition's owner;
  // - a member that lost the partition without seeing it yet (its session timed out while it worked) may
  //   still commit after the new owner fetched its starting offset. So the owner, on its first batch of a
  //   partition in a generation, first fences (its producer registers the partition's transactional id,
  //   which aborts the old owner's open transaction, or waits for one being committed to finish), then reads
  //   the committed offset again and skips the records below it: from then on the old owner can commit
  //   nothing, and what it did commit is counted.
  //
  // One producer per assigned partition and generation, made and fenced on its first batch. When a
  // transaction can be neither committed nor aborted (the broker went away in the middle), kafkajs leaves
  // the producer stuck in that state; the worker replaces it, and the new one aborts whatever the old one
  // left open.
  const producers = new Map<number, Promise<Producer>>();
  const stuck = new Set<number>();
  // Partitions whose committed offset was read after fencing, with the offset, in the current generation.
  const resumeAt = new Map<number, bigint>();
  const discard = (partition: number): void => {
    const producer = producers.get(partition);
    producers.delete(partition);
    void producer?.then((p) => p.disconnect()).catch(() => undefined);
  };
  const fenced = async (partition: number): Promise<Producer> => {
    const producer = await transactionalProducer(partition);
    try {
      // kafkajs registers the transactional id on a producer's first transaction; one with nothing in it
      // sends no request beyond that registration.
      await (await producer.transaction()).abort();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
    return producer;
  };
  const producerFor = (partition: number): Promise<Producer> => {
    if (stuck.has(partition)) {
      stuck.delete(partition);
      discard(partition);
      resumeAt.delete(partition);
      logger.warn({ partition }, 'transactional producer replaced after a transaction it could not finish');
    }
    let producer = producers.get(partition);
    if (producer === undefined) {
      producer = fenced(partition);
      producers.set(partition, producer);
      // A producer that could not even connect is made again for the partition's next batch.
      void producer.catch(() => {
        if (producers.get(partition) === producer) producers.delete(partition);
      });
    }
    return producer;
  };
  const committedOffset = async (topic: string, partition: number): Promise<bigint> => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const offset = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
    return BigInt(offset);
  };
  let generation = 0;
  let supervision: Supervision | undefined;
  const removeJoinListener = consumer.on(consumer.events.GROUP_JOIN, () => {
    generation += 1;
    // Whoever owned a partition in between fenced this member's producer of it: every partition starts the
    // generation with a new producer, fenced before its first batch.
    for (const partition of [...producers.keys()]) discard(partition);
    resumeAt.clear();
  });

  const handleBatch = async ({
    batch,
    resolveOffset,
    heartbeat,
    isRunning,
    isStale,
  }: EachBatchPayload): Promise<void> => {
    if (batch.messages.length === 0 || !isRunning() || isStale()) return;
    const fetchedIn = generation;
    // Thrown while the broker is still away: kafkajs's consumer is started again and tries again.
    const producer = await producerFor(batch.partition);
    if (!resumeAt.has(batch.partition)) {
      const committed = await committedOffset(batch.topic, batch.partition);
      if (generation !== fetchedIn) return;
      resumeAt.set(batch.partition, committed);
    }
    const from = resumeAt.get(batch.partition) ?? -1n;
    const messages = batch.messages.filter((message) => BigInt(message.offset) >= from);
    if (messages.length < batch.messages.length) {
      logger.warn(
        {
          partition: batch.partition,
          skipped: batch.messages.length - messages.length,
          committed: String(from),
        },
        'skipping records the previous owner of the partition committed after this member fetched them',
      );
      const lastSkipped = batch.messages[batch.messages.length - messages.length - 1];
      if (lastSkipped !== undefined) resolveOffset(lastSkipped.offset);
      if (messages.length === 0) return;
    }
    const decoded = messages.map((message) => {
      try {
        return { message, received: decodeJson(message.value) as ReceivedSubmission };
      } catch (error) {
        return { message, error };
      }
    });
    if (stateAsOf !== undefined) {
      const latest = decoded.reduce((max, { received }) => {
        const at = Date.parse(received?.receivedAt ?? '');
        return Number.isFinite(at) && at > max ? at : max;
      }, Number.NEGATIVE_INFINITY);
      if (Number.isFinite(latest)) {
        await withHeartbeats(heartbeat, () => stateAsOf(new Date(latest)));
        if (generation !== fetchedIn || !isRunning() || isStale()) return;
      }
    }
    const validated: { key: Buffer | null; value: Buffer }[] = [];
    let observations = 0;
    const reasons: { reason: string; city: string }[] = [];
    const rejected: { key: Buffer | null; value: Buffer }[] = [];
    for (const { message, received, error } of decoded) {
      if (received === undefined) {
        // Not JSON at all: it cannot have come from ingest. Reject it with the reason rather than stall.
        reasons.push({ reason: 'message_json', city: rejectionCity(message.key?.toString()) });
        rejected.push({
          key: message.key,
          value: encodeJson({
            submissionId: null,
            cityCode: message.key?.toString() ?? null,
            receivedAt: new Date(Number(message.timestamp)).toISOString(),
            rejectedAt: rules.now().toISOString(),
            problems: [{ pointer: '/', rule: 'message_json', message: String(error) }],
          }),
        });
        continue;
      }
      const outcome = validateReceived(received, rules);
      if (outcome.kind === 'valid') observations += outcome.record.observations.length;
      else
        reasons.push({
          reason: outcome.record.problems[0]?.rule ?? 'unknown',
          city: rejectionCity(outcome.record.cityCode),
        });
      const target = outcome.kind === 'valid' ? validated : rejected;
      target.push({ key: message.key, value: encodeJson(outcome.record) });
      if (outcome.kind === 'rejected') {
        logger.info(
          { submissionId: outcome.record.submissionId, problems: outcome.record.problems.length },
          'submission rejected',
        );
      }
    }
    const last = messages[messages.length - 1];
    if (last === undefined) return;
    const transaction = await producer.transaction().catch((error: unknown) => {
      // A producer that cannot even begin is replaced before the batch is tried again.
      stuck.add(batch.partition);
      throw error;
    });
    try {
      const topicMessages = [
        ...(validated.length > 0 ? [{ topic: names.validated, messages: validated }] : []),
        ...(rejected.length > 0 ? [{ topic: names.rejected, messages: rejected }] : []),
      ];
      if (topicMessages.length > 0) await transaction.sendBatch({ topicMessages, acks: -1 });
      if (generation !== fetchedIn || !isRunning() || isStale()) {
        await transaction.abort();
        metrics?.batchesAbandoned.inc({ stage: 'validate', reason: 'rebalance' });
        logger.warn(
          { partition: batch.partition, firstOffset: batch.firstOffset(), records: batch.messages.length },
          'group rebalanced during the batch; its transaction is aborted and the batch left to the owner',
        );
        return;
      }
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [
          {
            topic: batch.topic,
            // Past the batch's last offset, not just its last message: records a read_committed consumer
            // is never given (transaction markers, aborted records) must not stay behind as lag.
            partitions: [
              { partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
            ],
          },
        ],
      });
      await transaction.commit();
    } catch (error) {
      const aborted = await transaction.abort().then(
        () => true,
        () => false,
      );
      if (!aborted) stuck.add(batch.partition);
      // Thrown back to kafkajs, which retries the batch from the last committed offset.
      throw error;
    }
    // The fetch position moves on only now that outputs and offsets are committed together.
    resolveOffset(last.offset);
    counts.validated += validated.length;
    counts.rejected += rejected.length;
    metrics?.submissionsAccepted.inc({ stage: 'validate' }, validated.length);
    metrics?.observationsAccepted.inc({ stage: 'validate' }, observations);
    // A rejected submission counts once, under the rule of its first problem.
    for (const { reason, city } of reasons)
      metrics?.submissionsRejected.inc({ stage: 'validate', reason, city });
    await heartbeat();
  };

  return {
    counts,
    async start() {
      await consumer.subscribe({ topic: names.received, fromBeginning: true });
      supervision = await runSupervised(
        consumer,
        { autoCommit: false, eachBatchAutoResolve: false, eachBatch: handleBatch },
        { logger },
      );
    },
    async stop() {
      supervision?.stop();
      await consumer.disconnect();
      removeJoinListener();
      const open = [...producers.values()];
      producers.clear();
      await Promise.all(open.map((producer) => producer.then((p) => p.disconnect()).catch(() => undefined)));
    },
  };
};
