// Exactly once across crashes: the aggregate worker is killed with SIGKILL right after a batch is
// committed to the lake but before its Kafka offsets are (and, separately, after its objects are written
// but before the lake commit); restarted, it leaves every observation in the lake exactly once.
import { randomUUID } from 'node:crypto';
import type { ValidatedSubmission } from '@citycheck/contracts';
import {
  createReliableProducer,
  ensureTopics,
  pipelineTopicSpecs,
  sendJson,
  topicNames,
} from '@citycheck/kafka';
import { createCommitLog, datasets, s3Url } from '@citycheck/lake';
import {
  createTestStore,
  openTestDatabase,
  startService,
  testKafka,
  uniqueName,
  waitFor,
} from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import { namespaceEnv } from './namespace.js';

const communities = [
  '110101001001',
  '110101001002',
  '110101001005',
  '110101002001',
  '110101002002',
  '110102001001',
];

const records = (count: number): ValidatedSubmission[] =>
  Array.from({ length: count }, (_, index) => {
    const unitCode = communities[index % communities.length] as string;
    return {
      submissionId: randomUUID(),
      contentHash: 'h'.repeat(64),
      cycle: 2024,
      catalogueVersion: '2024.1',
      provinceCode: '110000',
      cityCode: '110100',
      districtCode: unitCode.slice(0, 6),
      streetCode: unitCode.slice(0, 9),
      unitLevel: 'community',
      unitCode,
      submittedAt: '2024-06-01T08:00:00.000Z',
      receivedAt: new Date(Date.UTC(2024, 5, 1, 8, 0, index)).toISOString(),
      validatedAt: '2024-06-01T09:00:00.000Z',
      observations: [
        { indicator: 'C01', value: index % 3 },
        { indicator: 'C02', value: 1 },
      ],
    };
  });

describe.each(['after-lake-commit', 'before-lake-commit'])('aggregate killed %s', (fault) => {
  it('restarts and holds every observation exactly once', async () => {
    const kafka = testKafka();
    const store = await createTestStore('crash');
    const namespace = namespaceEnv(uniqueName('crash'), store.bucket, {
      // Small objects, so the first batch is cut into several chunks and the kill lands mid-stream.
      AGGREGATE_FLUSH_RECORDS: '10',
    });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, pipelineTopicSpecs(1, 1, namespace.topicNamespace));
    await admin.disconnect();

    const sent = records(60);
    const producer = createReliableProducer(kafka);
    await producer.connect();
    const topic = topicNames(namespace.topicNamespace).submissionsValidated;
    await sendJson(
      producer,
      topic,
      sent.map((value) => ({ key: value.cityCode, value })),
    );
    await producer.disconnect();

    const doomed = await startService({
      service: 'aggregate',
      env: { ...namespace.env, AGGREGATE_FAULT: fault },
      waitUntilReady: false,
    });
    expect(await doomed.exited).toBe('SIGKILL');

    const commitLog = createCommitLog(store, datasets.observations);
    const survivor = await startService({ service: 'aggregate', env: namespace.env });
    try {
      await waitFor(
        async () => {
          const entries = await commitLog.committed();
          return entries.reduce((sum, entry) => sum + entry.records, 0) === sent.length ? true : undefined;
        },
        { timeoutMs: 60_000, what: 'all 60 records committed to the lake' },
      );
    } finally {
      expect(await survivor.stop()).toBe(0);
    }

    // Read back two ways: the committed objects the log lists, and every object under observations/.
    const entries = await commitLog.committed();
    const committedKeys = entries.flatMap((entry) => entry.objects.map((object) => object.key));
    const lake = await openTestDatabase(store);
    try {
      const fromLog = (
        await lake.connection.runAndReadAll(
          `SELECT submission_id, indicator_code, count(*) AS copies FROM read_parquet([${committedKeys
            .map((key) => `'${s3Url(store.bucket, key)}'`)
            .join(', ')}]) GROUP BY ALL`,
        )
      ).getRowObjectsJS();
      expect(fromLog).toHaveLength(sent.length * 2);
      expect(fromLog.every((row) => row.copies === 1n)).toBe(true);
      expect(new Set(fromLog.map((row) => row.submission_id))).toEqual(
        new Set(sent.map((r) => r.submissionId)),
      );

      const everything = (
        await lake.connection.runAndReadAll(
          `SELECT count(*) AS n, count(DISTINCT (submission_id, indicator_code)) AS distinct_n
           FROM read_parquet('s3://${store.bucket}/observations/**/*.parquet')`,
        )
      ).getRowObjectsJS()[0];
      expect(everything).toEqual({ n: BigInt(sent.length * 2), distinct_n: BigInt(sent.length * 2) });
    } finally {
      lake.close();
    }
  });
});
