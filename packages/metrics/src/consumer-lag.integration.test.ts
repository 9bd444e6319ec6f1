// Consumer lag against the real broker: per partition, the end offset minus what the group committed, and
// everything still in the log for a partition the group never committed on.
import { type Admin, fetchConsumerLag, type Kafka } from '@citycheck/kafka';
import { createFreshTopic, uniqueName } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerConsumerLag } from './consumer-lag.js';
import { metricNames } from './pipeline-metrics.js';
import { parsePrometheusText } from './prometheus-text.js';
import { createMetricsRegistry } from './registry.js';

describe('consumer lag', () => {
  const groupId = uniqueName('lag-group');
  let kafka: Kafka;
  let admin: Admin;
  let topic: string;

  beforeAll(async () => {
    ({ kafka, topic } = await createFreshTopic('lag', { partitions: 2 }));
    const producer = kafka.producer();
    await producer.connect();
    // Three records on partition 0, two on partition 1.
    await producer.send({
      topic,
      messages: [0, 0, 0, 1, 1].map((partition, index) => ({ partition, value: String(index) })),
    });
    await producer.disconnect();
    admin = kafka.admin();
    await admin.connect();
    // The group has read two records of partition 0 and nothing of partition 1.
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] });
  });

  afterAll(async () => {
    await admin?.disconnect();
  });

  it('computes lag per partition', async () => {
    expect(await fetchConsumerLag(admin, groupId, topic)).toEqual([
      { partition: 0, end: 3n, committed: 2n, lag: 1n },
      { partition: 1, end: 2n, committed: undefined, lag: 2n },
    ]);
  });

  it('exports it as a gauge read at scrape time', async () => {
    const registry = createMetricsRegistry({ service: 'validate', processMetrics: false });
    registerConsumerLag(registry, { admin, groupId, topics: [topic] });
    const samples = parsePrometheusText(await registry.metrics()).filter(
      (sample) => sample.name === metricNames.consumerLag,
    );
    expect(samples.map((sample) => [sample.labels.partition, sample.value])).toEqual([
      ['0', 1],
      ['1', 2],
    ]);
    expect(samples[0]?.labels).toMatchObject({ group: groupId, topic, service: 'validate' });
  });
});
