// The aggregate worker against the real Kafka broker, object store and DuckDB: validated submissions become
// Parquet objects in the lake, offsets are committed only after (past transaction markers, so a caught-up
// group reads a lag of 0), and the rollups carry the right numbers.
import { randomUUID } from 'node:crypto';
import { loadCatalogue } from '@citycheck/catalogue';
import type { ValidatedSubmission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { encodeJson, fetchConsumerLag, type Transaction } from '@citycheck/kafka';
import { createCommitLog, datasets, type LakeDatabase, type ObjectStore, s3Url } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import {
  createMetricsRegistry,
  metricNames,
  parsePrometheusText,
  registerConsumerLag,
} from '@citycheck/metrics';
import {
  createFreshTopic,
  createTestStore,
  createTestTopics,
  openTestDatabase,
  produceJson,
  testKafka,
  uniqueName,
  waitFor,
} from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReference } from './reference.js';
import { createAggregateWorker } from './worker.js';

const logger = createLogger({ service: 'aggregate-test', level: 'silent' });

const cycles = [{ cycle: 2024, deadline: '2024-12-31T16:00:00.000Z' }];

const validated = (
  unitCode: string,
  cityCode: string,
  observations: ValidatedSubmission['observations'],
  unitLevel: ValidatedSubmission['unitLevel'] = 'community',
): ValidatedSubmission => ({
  submissionId: randomUUID(),
  contentHash: 'x'.repeat(64),
  cycle: 2024,
  catalogueVersion: '2024.1',
  provinceCode: `${cityCode.slice(0, 2)}0000`,
  cityCode,
  districtCode: unitCode.slice(0, 6),
  streetCode: unitCode.slice(0, 9),
  unitLevel,
  unitCode,
  submittedAt: '2024-06-01T08:00:00.000Z',
  receivedAt: '2024-06-01T08:00:01.000Z',
  validatedAt: '2024-06-01T08:00:02.000Z',
  observations,
});

/** A validated record as ingest would key it: by its city. */
const byCity = (record: ValidatedSubmission) => ({ key: record.cityCode, value: record });

describe('aggregate worker with real Kafka, object store and DuckDB', () => {
  const kafka = testKafka();
  const groupId = uniqueName('aggregate');
  let store: ObjectStore;
  let lake: LakeDatabase;
  let reader: LakeDatabase;
  let topic: string;

  beforeAll(async () => {
    ({ topic } = await createFreshTopic('submissions-validated', { partitions: 2, kafka }));
    store = await createTestStore();
    lake = await openTestDatabase(store);
    reader = await openTestDatabase(store);
    await writeReference(lake.connection, store, [loadCatalogue('2024.1')], loadDivisionRegistry());
  });

  afterAll(() => {
    lake.close();
    reader.close();
    store.close();
  });

  it('writes every observation to Parquet exactly once and rolls rates up as sum/sum', async () => {
    // Two Beijing communities and one Shanghai community (C01, a count), and two Beijing blocks of very
    // different size and one Shanghai block (B02, a rate). By hand:
    //   C01 (sum): 3 + 1 + 5 = 9 nationally; Beijing 3 + 1 = 4.
    //   B02 (ratio): Beijing (10 + 0) / (10 + 1000) = 0.00990099..., not the mean of rates (0.5);
    //                nation (10 + 0 + 30) / (10 + 1000 + 40) = 40 / 1050.
    const records = [
      validated('110101001001', '110100', [{ indicator: 'C01', value: 3 }]),
      validated('110102001001', '110100', [{ indicator: 'C01', value: 1 }]),
      validated('310101002001', '310100', [{ indicator: 'C01', value: 5 }]),
      validated(
        '110101001-B01',
        '110100',
        [{ indicator: 'B02', value: 1, numerator: 10, denominator: 10 }],
        'block',
      ),
      validated(
        '110102001-B01',
        '110100',
        [{ indicator: 'B02', value: 0, numerator: 0, denominator: 1000 }],
        'block',
      ),
      validated(
        '310101002-B01',
        '310100',
        [{ indicator: 'B02', value: 0.75, numerator: 30, denominator: 40 }],
        'block',
      ),
    ];
    await produceJson(kafka, topic, records.map(byCity));

    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200 });
    await consumer.connect();
    const commitLog = createCommitLog(store, datasets.observations);
    // Derivation on a connection of its own, as main.ts sets it up.
    const derivationConnection = await lake.instance.connect();
    const worker = createAggregateWorker({
      consumer,
      store,
      commitLog,
      duckdb: lake.connection,
      derivationDuckdb: derivationConnection,
      logger,
      cycles,
      rotation: { maxRecords: 1000, maxBytes: 1 << 24, maxRecordSpanMs: 60_000 },
      rollupDebounceMs: 100,
      validatedTopic: topic,
    });
    await worker.start();
    try {
      await waitFor(
        () => (worker.stats.lastRollup !== undefined && worker.stats.recordsWritten === 6 ? true : undefined),
        {
          what: 'six records in the lake and a rollup',
        },
      );
    } finally {
      await worker.stop();
      derivationConnection.closeSync();
    }

    // Every committed object is under the Hive partition of its city; together they hold each observation once.
    const entries = await commitLog.committed();
    const keys = entries.flatMap((entry) => entry.objects.map((object) => object.key));
    expect(
      keys.every((key) =>
        /^observations\/cycle=2024\/province_code=(11|31)0000\/city_code=(11|31)0100\//.test(key),
      ),
    ).toBe(true);
    const urls = keys.map((key) => `'${s3Url(store.bucket, key)}'`).join(', ');
    const rows = (
      await reader.connection.runAndReadAll(
        `SELECT city_code, unit_code, indicator_code, value, numerator, denominator, typeof(submitted_at) AS ts
         FROM read_parquet([${urls}], hive_partitioning = true, hive_types = {'city_code': VARCHAR})
         ORDER BY unit_code, indicator_code`,
      )
    ).getRowObjectsJS();
    expect(rows).toHaveLength(6);
    expect(rows.map((row) => `${row.unit_code}/${row.indicator_code}`)).toEqual([
      '110101001-B01/B02',
      '110101001001/C01',
      '110102001-B01/B02',
      '110102001001/C01',
      '310101002-B01/B02',
      '310101002001/C01',
    ]);
    expect(rows[0]?.ts).toBe('TIMESTAMP');

    // Offsets were committed for everything written.
    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    const total = committed[0]?.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    expect(total).toBe(6);

    const rollups = (
      await reader.connection.runAndReadAll(
        `SELECT indicator_code, level, area_code, value, units_reported
         FROM read_parquet('${s3Url(store.bucket, 'rollups/cycle=2024/indicator_rollups.parquet')}')
         WHERE level IN ('city', 'nation') ORDER BY indicator_code, level, area_code`,
      )
    ).getRowObjectsJS();
    const find = (indicator: string, level: string, area: string) =>
      rollups.find((r) => r.indicator_code === indicator && r.level === level && r.area_code === area);
    expect(find('C01', 'nation', '000000')).toMatchObject({ value: 9, units_reported: 3n });
    expect(find('C01', 'city', '110100')).toMatchObject({ value: 4, units_reported: 2n });
    expect(find('B02', 'city', '110100')?.value).toBeCloseTo(10 / 1010, 12);
    expect(find('B02', 'nation', '000000')?.value).toBeCloseTo(40 / 1050, 12);
  });

  it('derives again when another instance commits to the lake, so the last rollups hold every commit', async () => {
    // Two workers on one bucket, as two instances of the group would be. The second never derives (its
    // debounce outlasts the test): only the first worker's look at the commit log can bring the second's
    // commit into the rollups. C01 in Beijing: 2 from the first worker, then 7 from the second, 9 in all.
    const shared = await createTestStore('watch');
    const database = await openTestDatabase(shared);
    await writeReference(database.connection, shared, [loadCatalogue('2024.1')], loadDivisionRegistry());
    const commitLog = createCommitLog(shared, datasets.observations);
    const start = async (name: string, debounceMs: number, records: ValidatedSubmission[]) => {
      const { topic: ownTopic } = await createFreshTopic(`validated-${name}`, { kafka });
      await produceJson(kafka, ownTopic, records.map(byCity));
      const consumer = kafka.consumer({ groupId: uniqueName(`aggregate-${name}`), maxWaitTimeInMs: 200 });
      await consumer.connect();
      const own = await openTestDatabase(shared);
      const worker = createAggregateWorker({
        consumer,
        store: shared,
        commitLog,
        duckdb: own.connection,
        logger,
        cycles,
        rotation: { maxRecords: 1000, maxBytes: 1 << 24, maxRecordSpanMs: 60_000 },
        rollupDebounceMs: debounceMs,
        lakeWatchMs: 300,
        validatedTopic: ownTopic,
      });
      await worker.start();
      return { worker, own, topic: ownTopic };
    };
    const beijingC01 = async (): Promise<unknown> =>
      (
        await database.connection.runAndReadAll(
          `SELECT value FROM read_parquet('${s3Url(shared.bucket, 'rollups/cycle=2024/indicator_rollups.parquet')}')
           WHERE indicator_code = 'C01' AND level = 'city' AND area_code = '110100'`,
        )
      ).getRowObjectsJS()[0]?.value;

    const first = await start('first', 100, [
      validated('110101001001', '110100', [{ indicator: 'C01', value: 2 }]),
    ]);
    const second = await start('second', 600_000, []);
    try {
      // A run counts once its objects are written: wait for both, or a check may fall between the two.
      await waitFor(
        async () => ((await beijingC01()) === 2 && first.worker.stats.rollupsComputed > 0 ? true : undefined),
        { timeoutMs: 30_000, what: "the first worker's rollup" },
      );
      const runsBefore = first.worker.stats.rollupsComputed;
      // The second worker's record: committed to the lake by it, announced to nobody.
      const record = validated('110102001001', '110100', [{ indicator: 'C01', value: 7 }]);
      await produceJson(kafka, second.topic, [byCity(record)]);
      await waitFor(() => (second.worker.stats.recordsWritten === 1 ? true : undefined), {
        timeoutMs: 30_000,
        what: "the second worker's commit",
      });
      expect(second.worker.stats.rollupsComputed).toBe(0);
      await waitFor(
        async () =>
          (await beijingC01()) === 9 && first.worker.stats.rollupsComputed > runsBefore ? true : undefined,
        { timeoutMs: 30_000, what: 'the first worker to derive again, taking the other commit' },
      );

      // The first worker gone, the second commits once more (3: 12 in all) and does not derive, like an
      // instance killed between its lake commit and its derivation. A third instance, started afterwards,
      // finds nothing to consume: only its look at the commit log brings the rollups up to the lake, though
      // it has never derived before.
      await first.worker.stop();
      const last = validated('110105001001', '110100', [{ indicator: 'C01', value: 3 }]);
      await produceJson(kafka, second.topic, [byCity(last)]);
      await waitFor(() => (second.worker.stats.recordsWritten === 2 ? true : undefined), {
        timeoutMs: 30_000,
        what: "the second worker's second commit",
      });
      expect(await beijingC01()).toBe(9);
      const third = await start('third', 100, []);
      try {
        await waitFor(async () => ((await beijingC01()) === 12 ? true : undefined), {
          timeoutMs: 30_000,
          what: 'a freshly started instance to derive the commit nobody derived',
        });
        expect(third.worker.stats.recordsWritten).toBe(0);
      } finally {
        await third.worker.stop();
        third.own.close();
      }
    } finally {
      await first.worker.stop();
      await second.worker.stop();
      first.own.close();
      second.own.close();
      database.close();
      shared.close();
    }
  }, 120_000);

  it('reads a lag of 0 once caught up on a transactional topic, past commit markers and aborted transactions', async () => {
    // The validated topic as validate writes it, transaction by transaction. By hand, offset by offset:
    //   partition 0: a committed transaction of two records (0, 1) and its commit marker (2): end 3.
    //   partition 1: a transaction whose producer dies before committing (its record at 0); a committed
    //     transaction of one record by another producer (1) and its marker (2), unreadable until the first
    //     is decided; then the dead producer's replacement registers its transactional id, which aborts the
    //     open transaction: abort marker at 3, end 4.
    // One record of partition 1 is readable. Caught up, the group has committed 3 and 4: a lag of 0 each.
    const txTopic = uniqueName('submissions-validated-tx');
    const txGroup = uniqueName('aggregate-tx');
    await createTestTopics(kafka, [txTopic], 2);
    const transactional = async (transactionalId: string) => {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId });
      await producer.connect();
      return producer;
    };
    const send = (transaction: Transaction, partition: number, records: readonly ValidatedSubmission[]) =>
      transaction.send({
        topic: txTopic,
        acks: -1,
        messages: records.map((record) => ({ partition, key: record.cityCode, value: encodeJson(record) })),
      });
    const community = (code: string, value: number) =>
      validated(code, '110100', [{ indicator: 'C01', value }]);

    const dyingId = uniqueName('validate-tx-1');
    const dying = await transactional(dyingId);
    const other = await transactional(uniqueName('validate-tx-0'));
    const committed = await other.transaction();
    await send(committed, 0, [community('110101001001', 1), community('110101001002', 2)]);
    await committed.commit();
    const open = await dying.transaction();
    await send(open, 1, [community('110102001001', 4)]);
    const blocked = await other.transaction();
    await send(blocked, 1, [community('110102001002', 8)]);
    await blocked.commit();
    // kafkajs registers a transactional id with the broker when its producer begins its first transaction.
    const replacement = await transactional(dyingId);
    await (await replacement.transaction()).abort();

    const admin = kafka.admin();
    await admin.connect();
    const registry = createMetricsRegistry({ service: 'aggregate', processMetrics: false });
    registerConsumerLag(registry, { admin, groupId: txGroup, topics: [txTopic] });
    const gauge = async () =>
      parsePrometheusText(await registry.metrics())
        .filter((sample) => sample.name === metricNames.consumerLag)
        .map((sample) => [sample.labels.partition, sample.value]);
    const consumer = kafka.consumer({ groupId: txGroup, maxWaitTimeInMs: 200, readUncommitted: false });
    await consumer.connect();
    const worker = createAggregateWorker({
      consumer,
      store,
      commitLog: createCommitLog(store, datasets.observations),
      duckdb: lake.connection,
      logger,
      cycles,
      rotation: { maxRecords: 1000, maxBytes: 1 << 24, maxRecordSpanMs: 60_000 },
      rollupDebounceMs: 100,
      validatedTopic: txTopic,
    });
    let last = 'nothing read yet';
    // The end offsets are read as a read_committed consumer sees them (the last stable offset), which moves
    // past an aborted transaction only once the broker has written its marker, a moment after abort()
    // returns; so the wait names the end it expects, and the assertion is on what was committed.
    const caughtUp = (records: number, endOfPartition0: bigint) =>
      waitFor(
        async () => {
          const lag = await fetchConsumerLag(admin, txGroup, txTopic);
          const where = lag.map((p) => `partition ${p.partition} at ${p.committed} of ${p.end}`);
          last = `${worker.stats.recordsWritten} records written, ${where.join(', ')}`;
          const settled = lag.find((p) => p.partition === 0)?.end === endOfPartition0;
          return settled && worker.stats.recordsWritten === records && lag.every((p) => p.lag === 0n)
            ? lag
            : undefined;
        },
        {
          timeoutMs: 20_000,
          what: `${records} records in the lake and a lag of 0 at the end ${endOfPartition0}`,
        },
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message} (last seen: ${last})`);
      });
    // Caught up with partition 0 ending at `end` (partition 1 holds its four records), and the gauge at 0.
    const expectCaughtUpTo = async (end: bigint): Promise<void> => {
      expect(await caughtUp(3, end)).toEqual([
        { partition: 0, end, committed: end, lag: 0n },
        { partition: 1, end: 4n, committed: 4n, lag: 0n },
      ]);
      expect(await gauge()).toEqual([
        ['0', 0],
        ['1', 0],
      ]);
    };
    await worker.start();
    try {
      await expectCaughtUpTo(3n);

      // With the group caught up, a transaction on partition 0 is aborted (record 3, abort marker 4): the
      // consumer fetches only records it is never given, and still commits past them.
      const aborted = await other.transaction();
      await send(aborted, 0, [community('110101001003', 16)]);
      await aborted.abort();
      await expectCaughtUpTo(5n);
    } finally {
      await worker.stop();
      await Promise.all([admin, dying, other, replacement].map((client) => client.disconnect()));
    }
  });
});
