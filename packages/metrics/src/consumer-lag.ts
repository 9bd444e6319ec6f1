// Consumer lag as a Prometheus gauge, read from the broker at scrape time (fetchConsumerLag: last stable
// offset minus the group's committed offset, per partition), so it is right even while the consumer itself
// is stuck or down.
import { type Admin, fetchConsumerLag } from '@citycheck/kafka';
import { Gauge, type Registry } from 'prom-client';
import { metricNames } from './pipeline-metrics.js';

export interface ConsumerLagOptions {
  /** A connected admin client; the caller owns it (connects before, disconnects after). */
  readonly admin: Admin;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** A scrape does not wait longer than this for the broker; on timeout the gauge is left empty. */
  readonly timeoutMs?: number;
}

/** Registers `citycheck_consumer_lag_records{group,topic,partition}`, computed when Prometheus scrapes. */
export const registerConsumerLag = (
  registry: Registry,
  { admin, groupId, topics, timeoutMs = 2_000 }: ConsumerLagOptions,
): Gauge<'group' | 'topic' | 'partition'> =>
  new Gauge({
    name: metricNames.consumerLag,
    help: 'Records the consumer group has still to read, per partition (last stable offset minus committed offset)',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      this.reset();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      try {
        const results = await Promise.race([
          Promise.all(
            topics.map(async (topic) => ({ topic, lag: await fetchConsumerLag(admin, groupId, topic) })),
          ),
          deadline,
        ]);
        for (const { topic, lag } of results ?? []) {
          for (const partition of lag) {
            this.set(
              { group: groupId, topic, partition: String(partition.partition) },
              Number(partition.lag),
            );
          }
        }
      } catch {
        // The broker did not answer: no samples this scrape, which Prometheus shows as a gap, not as zero lag.
      } finally {
        clearTimeout(timer);
      }
    },
  });
