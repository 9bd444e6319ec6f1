// Scaling out: two instances of each worker (validate, aggregate) in the same consumer groups share the
// partitions and produce the same derived objects as a single instance of each. The cycle goes through
// ingest once; its received records are replayed unchanged (key, value, headers, partition, timestamp)
// into two topic namespaces, one worked by one instance of each worker, the other by two, each with a
// bucket of its own, so the two runs see exactly the same input.

import { createTally } from '@citycheck/generator';
import { preparePipelineTopics } from '@citycheck/generator/stack';
import { createKafka, type Kafka, topicNames, topics } from '@citycheck/kafka';
import { openLakeDatabase, rollupObjectKey, s3Url } from '@citycheck/lake';
import { type ServiceProcess, startService, waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import {
  assertExactlyOnce,
  assertStoredButTheDeliberateErrors,
  extensionDirectory,
  pushCycle,
  usePipeline,
  waitForCompleteLake,
} from '../faults/support/pipeline.js';

// One city on each of the six partitions (Kafka's default partitioner on the city code), so whichever
// three partitions an instance is given, it has work.
const cities = ['370100', '110100', '310100', '440100', '510100', '130100'];
const derived = ['indicator_rollups', 'completeness', 'shortfall_ledger', 'quality_flags'] as const;

/** Copies every record of `from` into the same partition of each of `to`, as it is. */
const replay = async (kafka: Kafka, from: string, to: readonly string[]): Promise<number> => {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(from);
  await admin.disconnect();
  const total = ends.reduce((sum, end) => sum + Number(end.high), 0);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `replay-${Date.now()}`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: from, fromBeginning: true });
  let copied = 0;
  const done = new Promise<void>((resolve, reject) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        try {
          for (const topic of to) {
            await producer.send({
              topic,
              acks: -1,
              messages: batch.messages.map((message) => ({
                key: message.key,
                value: message.value,
                headers: message.headers ?? {},
                partition: batch.partition,
                timestamp: message.timestamp,
              })),
            });
          }
          copied += batch.messages.length;
          if (copied >= total) resolve();
        } catch (error) {
          reject(error);
        }
      },
    });
  });
  await done;
  await consumer.disconnect();
  await producer.disconnect();
  return copied;
};

describe('two instances of each worker', () => {
  const fixture = usePipeline({
    name: 'scale-out',
    cities,
    seed: 14,
    communitiesPerCity: 25,
    startServices: false,
  });

  it('share the partitions and give the same rollups as one instance each', async () => {
    const { pipeline, cycle } = fixture;
    // Only ingest runs on the plain topics; the workers run per namespace below.
    await pipeline.start('ingest');
    const tally = createTally();
    await pushCycle(fixture, {
      concurrency: 4,
      mode: 'bulk',
      linesPerRequest: 50,
      tally,
    });
    const stored = assertStoredButTheDeliberateErrors(cycle, tally);

    const runs = { one: { instances: 1 }, two: { instances: 2 } } as const;
    const kafka: Kafka = createKafka({
      brokers: [pipeline.infra.kafkaBrokers],
      clientId: 'citycheck-scale-out-test',
    });
    for (const name of Object.keys(runs))
      await preparePipelineTopics(pipeline.infra.kafkaBrokers, { namespace: name });
    const started = [];
    for (const [name, { instances }] of Object.entries(runs)) {
      const env = {
        TOPIC_NAMESPACE: name,
        VALIDATE_GROUP_ID: `${name}-validate`,
        AGGREGATE_GROUP_ID: `${name}-aggregate`,
        S3_BUCKET: `lake-${name}`,
      };
      for (let i = 1; i <= instances; i += 1) {
        for (const service of ['validate', 'aggregate'] as const) {
          started.push(
            startService({
              service,
              name: `${name}-${service}-${i}`,
              env: { ...pipeline.env, ...env },
              logDirectory: pipeline.logDirectory,
            }),
          );
        }
      }
    }
    // Every instance that started is registered (and so stopped at the end), even when another failed.
    const outcomes = await Promise.allSettled(started);
    for (const outcome of outcomes)
      if (outcome.status === 'fulfilled') pipeline.instances.set(outcome.value.name, outcome.value);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const processes = outcomes.map((outcome) => (outcome as PromiseFulfilledResult<ServiceProcess>).value);

    // Every instance holds its share of the partitions before the first record arrives.
    const admin = kafka.admin();
    await admin.connect();
    await waitFor(
      async () => {
        const { groups } = await admin.describeGroups(
          Object.keys(runs).flatMap((name) => [`${name}-validate`, `${name}-aggregate`]),
        );
        const settled = groups.every(
          (group) =>
            group.state === 'Stable' &&
            group.members.length === runs[group.groupId.split('-')[0] as keyof typeof runs].instances,
        );
        return settled ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'both consumer groups of both runs to settle' },
    );
    await admin.disconnect();
    const copied = await replay(
      kafka,
      topics.submissionsReceived,
      Object.keys(runs).map((name) => topicNames(name).submissionsReceived),
    );
    // Every record on the received topic is a stored submission: the deliberately bad were refused at the door.
    expect(copied).toBe(stored);

    for (const name of Object.keys(runs)) {
      const reading = await waitForCompleteLake(pipeline, cycle, { bucket: `lake-${name}`, namespace: name });
      assertExactlyOnce(cycle, tally, reading);
    }

    // Both instances of each worker did part of the work: each aggregate committed lake batches, and each
    // validate says on draining how many submissions it validated.
    for (const instance of processes) await instance.stop();
    for (const instance of processes.filter((p) => p.name.startsWith('two-'))) {
      const log = instance.output();
      if (instance.service === 'aggregate') expect(log).toMatch(/"msg":"lake batch committed"/);
      else expect(Number(/"validated":(\d+)/.exec(log)?.[1] ?? 0)).toBeGreaterThan(0);
    }

    // The derived objects of the two runs, row for row. Each row also says which lake commit it covers and
    // when that commit was made (derived_at, lake_commit): two lakes have commit logs of their own, so those two
    // columns differ by design and are left out; everything the rows say of the cycle must be equal. Byte
    // identity of one lake's objects, incremental against from scratch, is tested in the aggregate's own tests.
    const lake = await openLakeDatabase({
      extensionDirectory: extensionDirectory(),
      s3: pipeline.store('lake-one').config,
    });
    try {
      for (const object of derived) {
        const [one, two] = ['one', 'two'].map(
          (name) =>
            `(SELECT * EXCLUDE (derived_at, lake_commit) FROM read_parquet('${s3Url(`lake-${name}`, rollupObjectKey(2024, object))}'))`,
        );
        const rows = (
          await lake.connection.runAndReadAll(`SELECT count(*) AS n FROM ${one}`)
        ).getRowObjectsJS()[0]?.n;
        expect(rows).toBeGreaterThan(0n);
        const differing = (
          await lake.connection.runAndReadAll(
            `SELECT count(*) AS n FROM ((SELECT * FROM ${one} EXCEPT ALL SELECT * FROM ${two}) UNION ALL (SELECT * FROM ${two} EXCEPT ALL SELECT * FROM ${one}))`,
          )
        ).getRowObjectsJS()[0]?.n;
        expect({ object, differing }).toEqual({ object, differing: 0n });
      }
    } finally {
      lake.close();
    }
  }, 600_000);
});
