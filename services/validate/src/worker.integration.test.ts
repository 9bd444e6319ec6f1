// The validate worker against the real broker: each received submission ends up on exactly one of the
// validated and rejected topics, in one transaction with the consumed offsets, and a transaction a killed
// predecessor left open is aborted as soon as the partition is worked again.
import { loadCatalogue } from '@citycheck/catalogue';
import type { RejectedSubmission, ValidatedSubmission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { createReliableProducer, decodeJson, type Kafka, sendJson } from '@citycheck/kafka';
import { createLogger } from '@citycheck/logging';
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

/** A worker of `groupId` on `names`, connected as main.ts connects it (one producer per partition). */
const connectedWorker = async (kafka: Kafka, names: ValidateTopics, groupId: string) => {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
  await consumer.connect();
  return createValidateWorker({
    consumer,
    transactionalProducer: transactionalProducers(kafka, groupId, names.received),
    groupId,
    logger,
    topics: names,
    rules,
  });
};

describe('validate worker with a real broker', () => {
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
});
