// The pipeline status against the real broker, object store and DuckDB: rates and lag from offsets,
// rejections by reason from the rejected topic, reporters per province from the lake, and the services'
// own figures from their /metrics. Every figure is worked out from what the test itself produced.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CycleBook } from '@citycheck/cycles';
import { openApiValidator } from '@citycheck/http';
import type { Admin, Kafka } from '@citycheck/kafka';
import type { LakeDatabase, ObjectStore } from '@citycheck/lake';
import {
  createMetricsRegistry,
  createPipelineMetrics,
  type OpsServer,
  startOpsServer,
} from '@citycheck/metrics';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestLake, startTestEngine, type TestLakeStore } from '../test/query-fixture.js';
import { currentObservations, type TestLake, testCities, writeTestLake } from '../test/test-lake.js';

/** The shipped cycle settings (schemas/cycles), as a service's book holds them before any operator's record. */
const shippedCycles = new CycleBook();

import { createPipelineStatus, type PipelineStatusSource } from './pipeline-status.js';
import type { QueryEngine } from './query-engine.js';

const statusProblems = openApiValidator(
  JSON.parse(readFileSync(new URL('../../../schemas/openapi/query.openapi.json', import.meta.url), 'utf8')),
);

describe('pipeline status', () => {
  let kafka: Kafka;
  let admin: Admin;
  let store: ObjectStore;
  let opened: TestLakeStore;
  let writer: LakeDatabase;
  let lake: TestLake;
  let engine: QueryEngine;
  let status: PipelineStatusSource;
  let ops: OpsServer;
  const topics = {
    received: uniqueName('received'),
    validated: uniqueName('validated'),
    rejected: uniqueName('rejected'),
    refused: uniqueName('refused'),
  };
  const groups = { validate: uniqueName('validate'), aggregate: uniqueName('aggregate') };
  let designated = 2024;

  beforeAll(async () => {
    kafka = testKafka();
    await createTestTopics(kafka, Object.values(topics), 2);
    const producer = kafka.producer();
    await producer.connect();
    const send = (topic: string, partitions: number[], value: (index: number) => unknown) =>
      producer.send({
        topic,
        messages: partitions.map((partition, index) => ({ partition, value: JSON.stringify(value(index)) })),
      });
    // Six received (four on partition 0), four validated (three on partition 0), two rejected.
    await send(topics.received, [0, 0, 0, 0, 1, 1], (index) => ({ index }));
    await send(topics.validated, [0, 0, 0, 1], (index) => ({ index }));
    await send(topics.rejected, [0, 1], (index) =>
      index === 0
        ? { problems: [{ rule: 'range' }, { rule: 'kind_fields' }, { rule: 'range' }] }
        : { problems: [{ rule: 'range' }] },
    );
    await producer.disconnect();
    admin = kafka.admin();
    await admin.connect();
    // validate has committed all of partition 0 and one of the two records of partition 1; aggregate two of
    // the three records of partition 0 and nothing of partition 1.
    await admin.setOffsets({
      groupId: groups.validate,
      topic: topics.received,
      partitions: [
        { partition: 0, offset: '4' },
        { partition: 1, offset: '1' },
      ],
    });
    await admin.setOffsets({
      groupId: groups.aggregate,
      topic: topics.validated,
      partitions: [{ partition: 0, offset: '2' }],
    });

    opened = await openTestLake('status', 3);
    ({ store, writer, lake } = opened);
    engine = await startTestEngine(store, {
      limits: { rowCap: 10_000 },
      exportDirectory: join(opened.scratch, 'exports'),
    });
    const registry = createMetricsRegistry({ service: 'ingest', processMetrics: false });
    createPipelineMetrics(registry).submissionsAccepted.inc({ stage: 'ingest' }, 6);
    ops = await startOpsServer({ registry, port: 0, ready: async () => ({}) });
    status = createPipelineStatus({
      kafka,
      admin,
      engine,
      topics,
      groups,
      windowMs: 300_000,
      metricsTargets: [`ingest=${ops.url}/metrics`, 'validate=http://127.0.0.1:9/metrics'],
      // As the operator designated it on cycles.v1 (a followed CycleBook in the service).
      cycles: { currentCycle: () => designated, settingsOf: (cycle) => shippedCycles.settingsOf(cycle) },
      cacheMs: 0,
    });
    await status.start();
  });

  afterAll(async () => {
    await status?.stop();
    await ops?.close();
    await admin?.disconnect();
    await engine?.close();
    await opened?.close();
  });

  it('reports each stage with its rate and lag', async () => {
    const report = await status.current();
    expect(report.problems).toEqual([]);
    expect(report.windowSeconds).toBe(300);
    // As GET /v1/status sends it, the document matches the generated OpenAPI document's PipelineStatus.
    expect(statusProblems('PipelineStatus', JSON.parse(JSON.stringify(report)))).toEqual([]);
    const [ingest, validate, aggregate] = report.stages;
    expect(ingest).toMatchObject({ name: 'ingest', inWindow: 6, perMinute: 1.2 });
    /** The lag of partitions 0, 1, ... in that order. */
    const partitionLags = (...lags: number[]) => lags.map((lag, partition) => ({ partition, lag }));
    expect(validate).toMatchObject({
      name: 'validate',
      group: groups.validate,
      inWindow: 5,
      perMinute: 1,
      lag: 1,
      lagByPartition: partitionLags(0, 1),
    });
    // The lag the gauge reports, also on the validated topic: one record left on each partition.
    expect(aggregate).toMatchObject({
      name: 'aggregate',
      inWindow: 2,
      perMinute: 0.4,
      lag: 2,
      lagByPartition: partitionLags(1, 1),
    });
  });

  it('counts rejections by reason, once per submission', async () => {
    const report = await waitFor(
      async () => {
        const current = await status.current();
        return current.rejections.caughtUp && current.rejections.submissions === 2 ? current : undefined;
      },
      { what: 'the rejected topic to be read' },
    );
    expect(report.rejections.byReason).toEqual([
      { stage: 'validate', reason: 'range', total: 2, inWindow: 2 },
      { stage: 'validate', reason: 'kind_fields', total: 1, inWindow: 1 },
    ]);
  });

  it('lists reporters per province of the designated current cycle, every province included', async () => {
    const report = await status.current();
    expect(report.completeness).toMatchObject({ cycle: 2024, source: 'observations_current' });
    expect(report.completeness.provinces).toHaveLength(31);
    const current = currentObservations(lake.observations);
    for (const [province, cities] of Object.entries(testCities)) {
      const rows = current.filter((row) => row.province_code === `${province}0000`);
      expect(report.completeness.provinces.find((item) => item.code === province)).toEqual({
        code: province,
        name: expect.any(String),
        citiesReporting: cities.length,
        citiesExpected: null,
        unitsReporting: new Set(rows.map((row) => row.unit_code)).size,
        unitsExpected: null,
        reportingRate: null,
        reportingRateOnTime: null,
      });
    }
    expect(report.completeness.provinces.find((item) => item.code === '65')).toMatchObject({
      name: '新疆维吾尔自治区',
      unitsReporting: 0,
    });
    // Before the lake has derived completeness, the unreported cities are the 297 the 2024 cycle expects (it
    // names no county-level city) less those seen reporting; its deadline is 2024-12-31 23:59:59 in Beijing.
    const reporting = Object.values(testCities).reduce((total, cities) => total + cities.length, 0);
    expect(report.completeness.citiesUnreported).toBe(297 - reporting);
    expect(report.completeness.deadline).toBe('2024-12-31T15:59:59.000Z');
  });

  it("includes the services' own figures, and says which did not answer", async () => {
    const report = await status.current();
    expect(report.services).toEqual([
      expect.objectContaining({
        name: 'ingest',
        up: true,
        figures: expect.objectContaining({ submissionsAccepted: 6 }),
      }),
      expect.objectContaining({ name: 'validate', up: false }),
    ]);
  });

  it('keeps to the designated cycle when a newer cycle has a stray submission, and follows a new designation', async () => {
    const before = await status.current();
    // One city of the test lake sends one unit for 2025: a newer cycle now has data.
    await writeTestLake(store, writer.connection, { unitsPerCity: 1, cycle: 2025, firstOffset: 1_000_000 });
    await engine.refresh();
    const after = await status.current();
    expect(after.completeness.cycle).toBe(2024);
    expect(after.completeness.provinces).toEqual(before.completeness.provinces);

    designated = 2025;
    const moved = await status.current();
    expect(moved.completeness.cycle).toBe(2025);
    // One unit per city of the test lake in 2025.
    for (const [province, cities] of Object.entries(testCities)) {
      expect(moved.completeness.provinces.find((item) => item.code === province)).toMatchObject({
        citiesReporting: cities.length,
        unitsReporting: cities.length,
      });
    }
    designated = 2024;
  });
});
