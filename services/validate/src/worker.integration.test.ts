// The validate worker against the real broker: each received submission ends up on exactly one of the
// validated and rejected topics, in one transaction with the consumed offsets, and a transaction a killed
// predecessor left open is aborted as soon as the partition is worked again.
import { loadCatalogue } from '@citycheck/catalogue';
import type { RejectedSubmission, ValidatedSubmission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import {
  type Consumer,
  coordinatorNotFound,
  createReliableProducer,
  decodeJson,
  type Kafka,
  type Producer,
  sendJson,
} from '@citycheck/kafka';
import { createLogger } from '@citycheck/logging';
import { loadReviews, publishReviewRecord, ReviewBook, type ReviewRecord } from '@citycheck/reviews';
import type { RuleContext } from '@citycheck/rules';
import { createTestTopics, readTopic, testKafka, uniqueName, waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import { createValidateWorker, transactionalIdFor, type ValidateTopics } from './worker.js';

const logger = createLogger({ service: 'validate-test', level: 'silent' });

const submission = (id: string, cityCode: string, value: number) => ({
  submission: {
    submissionId: id,
    cycle: 2024,
    catalogueVersion: '2024.1',
    cityCode,
    unit: { level: 'community', code: '110101001001' },
    observations: [{ indicator: 'C01', value }],
  },
  contentHash: 'h'.repeat(64),
  receivedAt: '2024-11-20T09:00:00.000Z',
});

const rules = {
  catalogue: (version: string) => loadCatalogue(version),
  divisions: loadDivisionRegistry(),
  now: () => new Date('2024-11-20T09:00:05.000Z'),
};

const transactionalProducers =
  (kafka: Kafka, groupId: string, receivedTopic: string) => async (partition: number) => {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId: transactionalIdFor(groupId, receivedTopic, partition),
    });
    await producer.connect();
    return producer;
  };

/** A fresh client, topics with `partitions` partitions each, and a group of their own. */
const freshPipeline = async (partitions: number) => {
  const kafka = testKafka();
  const names = {
    received: uniqueName('received'),
    validated: uniqueName('validated'),
    rejected: uniqueName('rejected'),
  };
  await createTestTopics(kafka, Object.values(names), partitions);
  return { kafka, names, groupId: uniqueName('validate') };
};

/** Received submissions as ingest writes them, keyed by the submitting city. */
const receive = async (kafka: Kafka, topic: string, submissions: ReturnType<typeof submission>[]) => {
  const producer = createReliableProducer(kafka);
  await producer.connect();
  await sendJson(
    producer,
    topic,
    submissions.map((value) => ({ key: value.submission.cityCode, value })),
  );
  await producer.disconnect();
};

/**
 * A worker of `groupId` on `names`, connected as main.ts connects it (one producer per partition), with its
 * admin client; `consumer` is the consumer it works with, `producers` what makes its transactional producers.
 */
const connectedWorker = async (
  kafka: Kafka,
  names: ValidateTopics,
  groupId: string,
  {
    consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 }),
    producers = transactionalProducers(kafka, groupId, names.received),
    rulesOf = rules,
    stateAsOf,
  }: {
    consumer?: Consumer;
    producers?: (partition: number) => Promise<Producer>;
    rulesOf?: RuleContext;
    stateAsOf?: (receivedAt: Date) => Promise<void>;
  } = {},
) => {
  await consumer.connect();
  const admin = kafka.admin();
  await admin.connect();
  const worker = createValidateWorker({
    consumer,
    transactionalProducer: producers,
    admin,
    groupId,
    logger,
    topics: names,
    rules: rulesOf,
    ...(stateAsOf === undefined ? {} : { stateAsOf }),
  });
  return {
    ...worker,
    counts: worker.counts,
    async stop() {
      await worker.stop();
      await admin.disconnect();
    },
  };
};

/** Beijing's 2024 review after the actions `states` name, the last taken at `lastAt`. */
const beijingReview = (lastAt: Date, ...states: ('submitted' | 'approved' | 'accepted')[]): ReviewRecord => {
  const actionOf = { submitted: 'submit', approved: 'approve', accepted: 'accept' } as const;
  return {
    kind: 'review',
    cycle: 2024,
    cityCode: '110100',
    state: states.at(-1) ?? 'draft',
    actions: states.map((state, index) => ({
      action: actionOf[state],
      by: state === 'submitted' ? '北京市住建委' : '住建部城市体检司',
      credentialId: `credential-${index}`,
      role: state === 'submitted' ? 'city' : 'reviewer:ministry',
      at: new Date(lastAt.getTime() - (states.length - 1 - index) * 60_000).toISOString(),
      state,
    })),
  };
};

describe('validate worker with a real broker', () => {
  it('judges records received just before and just after an acceptance by it, however late its follower hears of it', async () => {
    const { kafka, names, groupId } = await freshPipeline(1);
    const reviewsTopic = uniqueName('reviews');
    const book = new ReviewBook();
    // The follower of reviews.v1 stops applying anything while `deaf` holds, as when its consumer crashed.
    let deaf = false;
    const follower = await loadReviews({
      kafka,
      book,
      topic: reviewsTopic,
      groupIdPrefix: uniqueName('validate-reviews'),
      restartDelayMs: 100,
      maxRestartDelayMs: 200,
      injectFault: () => (deaf ? coordinatorNotFound() : undefined),
    });
    const producer = createReliableProducer(kafka);
    await producer.connect();
    const asked: Date[] = [];
    let worker: Awaited<ReturnType<typeof connectedWorker>> | undefined;
    const acceptedAt = new Date();
    try {
      // Beijing submitted and was approved; the book has heard.
      await publishReviewRecord(producer, beijingReview(acceptedAt, 'submitted', 'approved'), reviewsTopic);
      await waitFor(() => (book.review(2024, '110100')?.state === 'approved' ? true : undefined), {
        what: "the book to hear of Beijing's approval",
      });
      // The ministry accepts at `acceptedAt`, while the follower hears nothing: the book still says approved.
      deaf = true;
      await publishReviewRecord(
        producer,
        beijingReview(acceptedAt, 'submitted', 'approved', 'accepted'),
        reviewsTopic,
      );
      // One record ingest received a second before the acceptance, one a millisecond after it.
      const before = submission('00000000-0000-4000-8000-000000000011', '110100', 2);
      const after = submission('00000000-0000-4000-8000-000000000012', '110100', 3);
      await receive(kafka, names.received, [
        { ...before, receivedAt: new Date(acceptedAt.getTime() - 1_000).toISOString() },
        { ...after, receivedAt: new Date(acceptedAt.getTime() + 1).toISOString() },
      ]);
      expect(book.review(2024, '110100')?.state).toBe('approved');
      worker = await connectedWorker(kafka, names, groupId, {
        rulesOf: { ...rules, cityCycleLock: book.lockRule },
        stateAsOf: async (receivedAt) => {
          asked.push(receivedAt);
          await follower.heardBy(receivedAt.getTime());
        },
      });
      await worker.start();
      // The worker holds the batch until the book has heard of everything up to its latest receipt (or, were
      // it to judge at once, it would pass both): the follower hears again once the batch is held.
      const current = worker;
      await waitFor(() => (asked.length > 0 || current.counts.validated > 0 ? true : undefined), {
        what: 'the worker to fetch the batch',
      });
      deaf = false;
      await waitFor(() => (current.counts.validated + current.counts.rejected === 2 ? true : undefined), {
        what: 'both records judged',
      });
    } finally {
      await worker?.stop();
      await producer.disconnect();
      await follower.stop();
    }
    // It asked for the book as of the later record's receipt, a millisecond after the acceptance.
    expect(asked.map((at) => at.getTime())).toContain(acceptedAt.getTime() + 1);
    const validated = (await readTopic(kafka, names.validated)).map(
      (m) => decodeJson(m.value) as ValidatedSubmission,
    );
    const rejected = (await readTopic(kafka, names.rejected)).map(
      (m) => decodeJson(m.value) as RejectedSubmission,
    );
    expect(validated.map((v) => v.submissionId)).toEqual(['00000000-0000-4000-8000-000000000011']);
    expect(rejected.map((r) => [r.submissionId, r.problems.map((p) => p.rule)])).toEqual([
      ['00000000-0000-4000-8000-000000000012', ['city_cycle_locked']],
    ]);
  });

  it('routes valid and invalid submissions, each exactly once, and commits its offsets', async () => {
    const { kafka, names, groupId } = await freshPipeline(2);
    await receive(kafka, names.received, [
      submission('00000000-0000-4000-8000-000000000001', '110100', 2),
      submission('00000000-0000-4000-8000-000000000002', '110100', 3),
      // Submitted by Shanghai for a Beijing community: rejected.
      submission('00000000-0000-4000-8000-000000000003', '310100', 1),
      // Out of range: rejected.
      submission('00000000-0000-4000-8000-000000000004', '110100', 9999),
    ]);

    const worker = await connectedWorker(kafka, names, groupId);
    await worker.start();
    try {
      await waitFor(() => (worker.counts.validated + worker.counts.rejected === 4 ? true : undefined), {
        what: 'four submissions validated or rejected',
      });
    } finally {
      await worker.stop();
    }

    const validated = (await readTopic(kafka, names.validated)).map(
      (m) => decodeJson(m.value) as ValidatedSubmission,
    );
    const rejected = (await readTopic(kafka, names.rejected)).map(
      (m) => decodeJson(m.value) as RejectedSubmission,
    );
    expect(validated.map((v) => v.submissionId).sort()).toEqual([
      '00000000-0000-4000-8000-000000000001',
      '00000000-0000-4000-8000-000000000002',
    ]);
    expect(validated[0]).toMatchObject({
      provinceCode: '110000',
      districtCode: '110101',
      streetCode: '110101001',
    });
    expect(rejected.map((r) => [r.submissionId, r.problems.map((p) => p.rule)]).sort()).toEqual([
      ['00000000-0000-4000-8000-000000000003', ['unit_under_city']],
      ['00000000-0000-4000-8000-000000000004', ['range']],
    ]);

    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId, topics: [names.received] });
    await admin.disconnect();
    expect(offsets[0]?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)).toBe(4);
  });

  it('aborts at once the transaction a killed predecessor left open on its partition', async () => {
    const { kafka, names, groupId } = await freshPipeline(1);
    await receive(kafka, names.received, [
      submission('00000000-0000-4000-8000-000000000011', '110100', 2),
      submission('00000000-0000-4000-8000-000000000012', '110100', 3),
    ]);
    // A validate killed in the middle of its transaction: its output (offset 0) was written, its commit never
    // came. The open transaction keeps everything after it unreadable until it is decided.
    const killed = await transactionalProducers(kafka, groupId, names.received)(0);
    const open = await killed.transaction();
    await open.send({ topic: names.validated, acks: -1, messages: [{ key: '110100', value: 'half done' }] });

    const worker = await connectedWorker(kafka, names, groupId);
    const admin = kafka.admin();
    await admin.connect();
    await worker.start();
    try {
      // By hand: the abort marker of the killed transaction (1), the two outputs (2, 3) and their commit
      // marker (4), readable (the last stable offset at 5) well before the broker's 60 s transaction timeout.
      await waitFor(
        async () => ((await admin.fetchTopicOffsets(names.validated))[0]?.high === '5' ? true : undefined),
        { timeoutMs: 20_000, what: 'the validated topic readable to offset 5' },
      );
    } finally {
      await worker.stop();
      await admin.disconnect();
      await killed.disconnect();
    }
    const validated = (await readTopic(kafka, names.validated)).map(
      (m) => (decodeJson(m.value) as ValidatedSubmission).submissionId,
    );
    expect(validated).toEqual([
      '00000000-0000-4000-8000-000000000011',
      '00000000-0000-4000-8000-000000000012',
    ]);
  });

  it('validates nothing twice when a member that lost its partition unawares commits after the new owner fetched', async () => {
    const { kafka, names, groupId } = await freshPipeline(1);
    const ids = ['21', '22', '23', '24'].map((n) => `00000000-0000-4000-8000-0000000000${n}`);
    await receive(
      kafka,
      names.received,
      ids.map((id, i) => submission(id, '110100', 2 + i)),
    );
    const gate = () => {
      let open = (): void => undefined;
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      return { open, opened };
    };
    const oldOwnerCommitting = gate();
    // The new owner has fetched the partition (it asks for its producer on its first batch) ...
    const ownerFetched = gate();
    // ... then the old owner commits ...
    const oldOwnerCommitted = gate();
    // ... and, never heartbeating again, stays in its batch until the end.
    const release = gate();
    const make = transactionalProducers(kafka, groupId, names.received);

    // The first member's commit waits until the second has fetched the records: its session timed out
    // during the batch, it lost the partition, and it does not know it yet.
    const first = await connectedWorker(kafka, names, groupId, {
      consumer: kafka.consumer({
        groupId,
        maxWaitTimeInMs: 200,
        sessionTimeout: 6_000,
        heartbeatInterval: 500,
      }),
      producers: async (partition) => {
        const producer = await make(partition);
        return {
          ...producer,
          transaction: async () => {
            const transaction = await producer.transaction();
            return {
              ...transaction,
              commit: async () => {
                oldOwnerCommitting.open();
                await ownerFetched.opened;
                await transaction.commit();
                oldOwnerCommitted.open();
                await release.opened;
              },
            };
          },
        };
      },
    });
    // The second member gets its producer only once the first has committed: the order of the race.
    const secondConsumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 6_000 });
    const secondBatchDone = new Promise<void>((resolve) => {
      secondConsumer.on(secondConsumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.topic === names.received && payload.batchSize > 0) resolve();
      });
    });
    const second = await connectedWorker(kafka, names, groupId, {
      consumer: secondConsumer,
      producers: async (partition) => {
        ownerFetched.open();
        await oldOwnerCommitted.opened;
        return make(partition);
      },
    });
    const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
      Promise.race([
        promise,
        new Promise<T>((_, reject) =>
          setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms),
        ),
      ]);
    try {
      await first.start();
      await within(oldOwnerCommitting.opened, 20_000, 'the first member to reach its commit');
      await second.start();
      await within(secondBatchDone, 60_000, 'the second member to finish its first batch');
    } finally {
      release.open();
      await second.stop();
      await first.stop();
    }

    // By hand: the four submissions, once each, whoever validated them.
    const validated = (await readTopic(kafka, names.validated)).map(
      (m) => (decodeJson(m.value) as ValidatedSubmission).submissionId,
    );
    expect(validated.sort()).toEqual(ids);
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId, topics: [names.received] });
    await admin.disconnect();
    expect(offsets[0]?.partitions.map((p) => p.offset)).toEqual(['4']);
  }, 120_000);
});
