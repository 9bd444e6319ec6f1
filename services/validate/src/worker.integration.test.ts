// The validate worker against the real broker: each received submission ends up on exactly one of the
// validated and rejected topics, in one transaction with the consumed offsets.
import { loadCatalogue } from '@citycheck/catalogue';
import type { RejectedSubmission, ValidatedSubmission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { createReliableProducer, decodeJson, sendJson } from '@citycheck/kafka';
import { createLogger } from '@citycheck/logging';
import { createTestTopics, readTopic, testKafka, uniqueName, waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import { createValidateWorker } from './worker.js';

const logger = createLogger({ service: 'validate-test', level: 'silent' });

describe('validate worker with a real broker', () => {
  it('routes valid and invalid submissions, each exactly once, and commits its offsets', async () => {
    const kafka = testKafka();
    const names = {
      received: uniqueName('received'),
      validated: uniqueName('validated'),
      rejected: uniqueName('rejected'),
    };
    const groupId = uniqueName('validate');
    await createTestTopics(kafka, Object.values(names), 2);

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
    const producer = createReliableProducer(kafka);
    await producer.connect();
    await sendJson(producer, names.received, [
      { key: '110100', value: submission('00000000-0000-4000-8000-000000000001', '110100', 2) },
      { key: '110100', value: submission('00000000-0000-4000-8000-000000000002', '110100', 3) },
      // Submitted by Shanghai for a Beijing community: rejected.
      { key: '310100', value: submission('00000000-0000-4000-8000-000000000003', '310100', 1) },
      // Out of range: rejected.
      { key: '110100', value: submission('00000000-0000-4000-8000-000000000004', '110100', 9999) },
    ]);
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    const transactional = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId: uniqueName('validate-tx'),
    });
    await Promise.all([consumer.connect(), transactional.connect()]);
    const worker = createValidateWorker({
      consumer,
      producer: transactional,
      groupId,
      logger,
      topics: names,
      rules: {
        catalogue: (version) => loadCatalogue(version),
        divisions: loadDivisionRegistry(),
        now: () => new Date('2024-11-20T09:00:05.000Z'),
      },
    });
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
});
