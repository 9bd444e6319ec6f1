// How current each in-memory view a service follows from Kafka is (credentials, the submission index), as
// Prometheus gauges read from the follower at scrape time: its lag against the topics' end offsets, how long
// ago it last held every record written, whether its consumer runs, and how often it had to be restarted.
import type { FollowerHealth } from '@citycheck/kafka';
import { Gauge, type Registry } from 'prom-client';
import { metricNames } from './pipeline-metrics.js';

/** What the gauges read from a follower (createTopicFollower's `health()`). */
export interface FollowerHealthSource {
  health(): FollowerHealth;
}

/** Registers the follower gauges, labelled `follower` by the keys of `followers`. */
export const registerFollowerMetrics = (
  registry: Registry,
  followers: Readonly<Record<string, FollowerHealthSource>>,
): void => {
  const each = (read: (health: FollowerHealth) => number | undefined) =>
    function (this: Gauge<'follower'>) {
      this.reset();
      for (const [follower, source] of Object.entries(followers)) {
        const value = read(source.health());
        // No sample rather than a made-up zero while the follower has not measured yet.
        if (value !== undefined) this.set({ follower }, value);
      }
    };
  new Gauge({
    name: metricNames.followerLag,
    help: 'Records between the view and the end offsets of its topics, at the last reading of the end offsets',
    labelNames: ['follower'],
    registers: [registry],
    collect: each((health) => health.lagRecords),
  });
  new Gauge({
    name: metricNames.followerViewAge,
    help: 'Seconds since the view was last known to hold every record written to its topics',
    labelNames: ['follower'],
    registers: [registry],
    collect: each((health) =>
      health.currentAsOf === undefined ? undefined : (Date.now() - health.currentAsOf) / 1000,
    ),
  });
  new Gauge({
    name: metricNames.followerRunning,
    help: '1 while the follower consumer runs, 0 while it waits to be started again after a crash',
    labelNames: ['follower'],
    registers: [registry],
    collect: each((health) => (health.running ? 1 : 0)),
  });
  new Gauge({
    name: metricNames.followerRestarts,
    help: 'Times the follower consumer was started again after kafkajs stopped it for good',
    labelNames: ['follower'],
    registers: [registry],
    collect: each((health) => health.restarts),
  });
};
