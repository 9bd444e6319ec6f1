// A city's resubmission and a correction of one unit's value, as the running worker sees them: through the
// real Kafka broker into the lake, derived by the worker's long-lived derivation (which has loaded the
// earlier commits already and takes only the new one), and compared byte for byte with a derivation from
// scratch over the same commit log. Every figure checked is worked out by hand in the comment above it.
import { randomUUID } from 'node:crypto';
import { loadCatalogue } from '@citycheck/catalogue';
import type { ValidatedSubmission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import {
  type CommitLog,
  createCommitLog,
  datasets,
  type LakeDatabase,
  type ObjectStore,
  s3Url,
} from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import {
  createFreshTopic,
  createTestStore,
  openTestDatabase,
  produceJson,
  testKafka,
  uniqueName,
  waitFor,
} from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveCycles, derivedObjectKey, derivedOutputs } from './derive.js';
import { writeReference } from './reference.js';
import { type AggregateWorker, createAggregateWorker } from './worker.js';

const logger = createLogger({ service: 'aggregate-test', level: 'silent' });
const divisions = loadDivisionRegistry();
// Three expected cities: Beijing and Shanghai report, Guangzhou does not.
const cycles = [
  { cycle: 2024, deadline: '2024-12-31T16:00:00.000Z', expectedCities: ['110100', '310100', '440100'] },
];

/** A validated community submission of C01 (problems found, a count summed up; standard <= 0). */
const community = (unitCode: string, value: number, receivedAt: string): ValidatedSubmission => ({
  submissionId: randomUUID(),
  contentHash: 'x'.repeat(64),
  cycle: 2024,
  catalogueVersion: '2024.1',
  provinceCode: divisions.provinceOf(unitCode) as string,
  cityCode: divisions.cityOf(unitCode) as string,
  districtCode: unitCode.slice(0, 6),
  streetCode: unitCode.slice(0, 9),
  unitLevel: 'community',
  unitCode,
  submittedAt: receivedAt,
  receivedAt,
  validatedAt: receivedAt,
  observations: [{ indicator: 'C01', value }],
});

const keys = Object.keys(derivedOutputs).map((name) =>
  derivedObjectKey(2024, name as keyof typeof derivedOutputs),
);

describe("a city's resubmission and a correction, derived incrementally by the worker", () => {
  const kafka = testKafka();
  let store: ObjectStore;
  let lake: LakeDatabase;
  let scratch: LakeDatabase;
  let commitLog: CommitLog;
  let topic: string;
  let worker: AggregateWorker;
  let derivationConnection: Awaited<ReturnType<LakeDatabase['instance']['connect']>>;

  const [b1, b2, b3] = divisions.communitiesOf('110101001') as [string, string, string];
  const [s1, s2] = divisions.communitiesOf('310101002') as [string, string];

  const rollup = async (level: string, area: string): Promise<Record<string, unknown> | undefined> =>
    (
      await scratch.connection.runAndReadAll(
        `SELECT value, units_reported FROM read_parquet('${s3Url(store.bucket, derivedObjectKey(2024, 'indicator_rollups'))}')
         WHERE indicator_code = 'C01' AND level = '${level}' AND area_code = '${area}'`,
      )
    ).getRowObjectsJS()[0];

  const ledger = async (): Promise<Record<string, unknown>[]> =>
    (
      await scratch.connection.runAndReadAll(
        `SELECT unit_code, value, status FROM read_parquet('${s3Url(store.bucket, derivedObjectKey(2024, 'shortfall_ledger'))}')
         WHERE indicator_code = 'C01' ORDER BY unit_code`,
      )
    ).getRowObjectsJS();

  /**
   * Produces `records`, then waits for a worker run that took them (its nation C01 equals `nation`) and for
   * that run to end, so every object of the run that wrote it is written.
   */
  const submitAndDerive = async (records: ValidatedSubmission[], nation: number): Promise<void> => {
    const written = worker.stats.recordsWritten;
    await produceJson(
      kafka,
      topic,
      records.map((value) => ({ key: value.cityCode, value })),
    );
    await waitFor(
      async () =>
        worker.stats.recordsWritten === written + records.length &&
        (await rollup('nation', '000000'))?.value === nation
          ? true
          : undefined,
      { timeoutMs: 45_000, what: `a derivation with the nation's C01 at ${nation}` },
    );
    // Derivations run one at a time, so one asked for now ends only after the run that wrote that value has
    // ended (waiting for the next run to end instead would wait forever when that run had already ended). It
    // has nothing left to derive: the records were all taken by the run seen.
    await worker.recomputeChanged();
  };

  /** The worker's objects, then those a derivation from scratch writes over the same commit log. */
  const incrementalAndFromScratch = async (): Promise<{ incremental: Buffer[]; fromScratch: Buffer[] }> => {
    const read = async () =>
      Promise.all(keys.map(async (key) => Buffer.from((await store.get(key)) as Uint8Array)));
    const incremental = await read();
    await deriveCycles(scratch.connection, store, await commitLog.committed(), cycles);
    return { incremental, fromScratch: await read() };
  };

  beforeAll(async () => {
    ({ topic } = await createFreshTopic('validated-resubmission', { partitions: 2, kafka }));
    store = await createTestStore('resubmission');
    lake = await openTestDatabase(store);
    scratch = await openTestDatabase(store);
    await writeReference(lake.connection, store, [loadCatalogue('2024.1')], divisions);
    commitLog = createCommitLog(store, datasets.observations);
    const consumer = kafka.consumer({ groupId: uniqueName('aggregate-resubmission'), maxWaitTimeInMs: 200 });
    await consumer.connect();
    derivationConnection = await lake.instance.connect();
    worker = createAggregateWorker({
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
    // The first submissions: Beijing's street 110101001 3 + 1 + 4 = 8 problems, Shanghai's street
    // 310101002 5 + 2 = 7; the nation 15.
    await submitAndDerive(
      [
        community(b1, 3, '2024-06-01T08:00:00.000Z'),
        community(b2, 1, '2024-06-01T08:00:00.000Z'),
        community(b3, 4, '2024-06-01T08:00:00.000Z'),
        community(s1, 5, '2024-06-02T08:00:00.000Z'),
        community(s2, 2, '2024-06-02T08:00:00.000Z'),
      ],
      15,
    );
  });

  afterAll(async () => {
    await worker.stop();
    derivationConnection.closeSync();
    lake.close();
    scratch.close();
    store.close();
  });

  it("rewrites a city's resubmission into the bytes a derivation from scratch writes", async () => {
    expect(await rollup('city', '310100')).toEqual({ value: 7, units_reported: 2n });
    // Shanghai submits both its communities again a week later: 6 and 0. Shanghai 6, Beijing still 8,
    // the nation 14.
    await submitAndDerive(
      [community(s1, 6, '2024-06-09T08:00:00.000Z'), community(s2, 0, '2024-06-09T08:00:00.000Z')],
      14,
    );
    const { incremental, fromScratch } = await incrementalAndFromScratch();
    for (const [index, bytes] of incremental.entries()) {
      expect(bytes.byteLength).toBeGreaterThan(0);
      expect(bytes.equals(fromScratch[index] as Buffer), keys[index]).toBe(true);
    }
    expect(await rollup('city', '310100')).toEqual({ value: 6, units_reported: 2n });
    expect(await rollup('province', '310000')).toEqual({ value: 6, units_reported: 2n });
    expect(await rollup('city', '110100')).toEqual({ value: 8, units_reported: 3n });
    expect(await rollup('nation', '000000')).toEqual({ value: 14, units_reported: 5n });
    // C01 misses its standard (<= 0) wherever a problem was found: Beijing's three, and of Shanghai's
    // now only s1 (6); s2's 0 meets it (no earlier cycle, so no "resolved" row).
    expect(await ledger()).toEqual(
      [
        { unit_code: b1, value: 3, status: 'new' },
        { unit_code: b2, value: 1, status: 'new' },
        { unit_code: b3, value: 4, status: 'new' },
        { unit_code: s1, value: 6, status: 'new' },
      ].sort((a, b) => (a.unit_code < b.unit_code ? -1 : 1)),
    );
  });

  it("rewrites a correction of one unit's value into the bytes a derivation from scratch writes", async () => {
    // b3 corrects its 4 problems to 0: Beijing's street and city 3 + 1 + 0 = 4, the nation 4 + 6 = 10; b3
    // still counts as reporting, and leaves the ledger.
    await submitAndDerive([community(b3, 0, '2024-06-10T08:00:00.000Z')], 10);
    const { incremental, fromScratch } = await incrementalAndFromScratch();
    for (const [index, bytes] of incremental.entries()) {
      expect(bytes.equals(fromScratch[index] as Buffer), keys[index]).toBe(true);
    }
    expect(await rollup('street', '110101001')).toEqual({ value: 4, units_reported: 3n });
    expect(await rollup('city', '110100')).toEqual({ value: 4, units_reported: 3n });
    expect(await rollup('province', '110000')).toEqual({ value: 4, units_reported: 3n });
    expect(await rollup('city', '310100')).toEqual({ value: 6, units_reported: 2n });
    expect(await rollup('nation', '000000')).toEqual({ value: 10, units_reported: 5n });
    expect((await ledger()).map((row) => row.unit_code)).toEqual([b1, b2, s1].sort());
  });
});
