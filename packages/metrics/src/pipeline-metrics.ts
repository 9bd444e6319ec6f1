// The pipeline's own metrics, by name, with the calls each service makes: what was accepted and rejected
// (and why), what the lake received, how long ago the last object and rollup were committed, and how long a
// submission took from receipt to being visible in the rollups. Rates and lag are derived by Prometheus.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every metric name citycheck exports, in one place: dashboards and the status page read these. */
export const metricNames = {
  submissionsAccepted: 'citycheck_submissions_accepted_total',
  submissionsRejected: 'citycheck_submissions_rejected_total',
  observationsAccepted: 'citycheck_observations_accepted_total',
  observationsRejected: 'citycheck_observations_rejected_total',
  consumerLag: 'citycheck_consumer_lag_records',
  followerLag: 'citycheck_follower_lag_records',
  followerViewAge: 'citycheck_follower_view_age_seconds',
  followerRunning: 'citycheck_follower_running',
  followerRestarts: 'citycheck_follower_restarts',
  lakeObjectsWritten: 'citycheck_lake_objects_written_total',
  lakeBytesWritten: 'citycheck_lake_bytes_written_total',
  batchesAbandoned: 'citycheck_batches_abandoned_total',
  lakeLastCommit: 'citycheck_lake_last_commit_timestamp_seconds',
  lakeSecondsSinceLastCommit: 'citycheck_lake_seconds_since_last_commit',
  rollupLast: 'citycheck_rollup_last_timestamp_seconds',
  rollupSecondsSinceLast: 'citycheck_rollup_seconds_since_last',
  endToEndFreshness: 'citycheck_end_to_end_freshness_seconds',
  httpRequestDuration: 'citycheck_http_request_duration_seconds',
  queries: 'citycheck_queries_total',
  queryDuration: 'citycheck_query_duration_seconds',
  queryRows: 'citycheck_query_rows_total',
  cycleDeadline: 'citycheck_cycle_deadline_timestamp_seconds',
  cycleCitiesUnreported: 'citycheck_cycle_cities_unreported',
} as const;

/**
 * The `city` label of a rejection: a reporting city's code (six digits, not a province's), else `unknown`, so
 * the label never takes more values than there are cities with credentials.
 */
export const rejectionCity = (cityCode: string | undefined | null): string =>
  typeof cityCode === 'string' && /^[1-9][0-9]{5}$/.test(cityCode) && !cityCode.endsWith('0000')
    ? cityCode
    : 'unknown';

/** The stage that counted: ingest (HTTP accepted), validate (rules), aggregate (written to the lake). */
export type Stage = 'ingest' | 'validate' | 'aggregate';

export interface PipelineMetrics {
  /** `inc({ stage })` per submission a stage accepted. */
  readonly submissionsAccepted: Counter<'stage'>;
  /**
   * `inc({ stage, reason, city })` per submission refused; `reason` is a stable rule or error code, never free
   * text; `city` the code of the credential's city (`rejectionCity`), so about 450 values at most.
   */
  readonly submissionsRejected: Counter<'stage' | 'reason' | 'city'>;
  readonly observationsAccepted: Counter<'stage'>;
  readonly observationsRejected: Counter<'stage' | 'reason'>;
  /** `inc({ dataset }, n)` after objects are committed in the lake's log (dataset: observations, rollups). */
  readonly lakeObjectsWritten: Counter<'dataset'>;
  readonly lakeBytesWritten: Counter<'dataset'>;
  /** `inc({ stage, reason })` per consumed batch given up uncommitted, to be fetched again (reason: rebalance). */
  readonly batchesAbandoned: Counter<'stage' | 'reason'>;
  readonly endToEndFreshness: Histogram<never>;
  /** Call after a lake batch is committed; feeds the last-commit timestamp and seconds-since gauges. */
  markLakeCommit(at?: Date): void;
  /** Call after a rollup was written. */
  markRollup(at?: Date): void;
  /** Call once per submission when it first becomes visible in the rollups, with its receipt time. */
  observeFreshness(receivedAt: Date | string, visibleAt?: Date): void;
}

/** Receipt-to-rollup latency buckets, in seconds: from a second (idle pipeline) to an hour (deadline rush). */
export const freshnessBuckets = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600];

export interface PipelineMetricsOptions {
  /**
   * Whether this process writes the lake and the rollups (the aggregate worker). Only then are the lake's
   * last-commit and rollup gauges and the freshness histogram registered: a gauge a process never sets
   * would read NaN or 0 forever and look like a stalled lake.
   */
  readonly lakeWriter?: boolean;
}

export const createPipelineMetrics = (
  registry: Registry,
  { lakeWriter = false }: PipelineMetricsOptions = {},
): PipelineMetrics => {
  const registers = [registry];
  // Registered only by the lake writer; elsewhere the gauges exist unregistered, so the calls stay no-ops.
  const lakeRegisters = lakeWriter ? registers : [];
  let lastCommitMs: number | undefined;
  let lastRollupMs: number | undefined;
  const secondsSince = (at: number | undefined): number =>
    at === undefined ? Number.NaN : (Date.now() - at) / 1000;

  const lakeLastCommit = new Gauge({
    name: metricNames.lakeLastCommit,
    help: 'Unix time of the last lake batch committed by this process (0: none yet)',
    registers: lakeRegisters,
  });
  const rollupLast = new Gauge({
    name: metricNames.rollupLast,
    help: 'Unix time of the last rollup written by this process (0: none yet)',
    registers: lakeRegisters,
  });
  new Gauge({
    name: metricNames.lakeSecondsSinceLastCommit,
    help: 'Seconds since this process last committed a lake batch (NaN: none yet)',
    registers: lakeRegisters,
    collect() {
      this.set(secondsSince(lastCommitMs));
    },
  });
  new Gauge({
    name: metricNames.rollupSecondsSinceLast,
    help: 'Seconds since this process last wrote a rollup (NaN: none yet)',
    registers: lakeRegisters,
    collect() {
      this.set(secondsSince(lastRollupMs));
    },
  });
  const endToEndFreshness = new Histogram({
    name: metricNames.endToEndFreshness,
    help: 'Seconds from a submission being received by ingest to its observations being visible in the rollups',
    buckets: freshnessBuckets,
    registers: lakeRegisters,
  });

  return {
    submissionsAccepted: new Counter({
      name: metricNames.submissionsAccepted,
      help: 'Submissions a stage accepted',
      labelNames: ['stage'],
      registers,
    }),
    submissionsRejected: new Counter({
      name: metricNames.submissionsRejected,
      help: 'Submissions a stage refused, by reason (rule or error code) and city (unknown: no city credential)',
      labelNames: ['stage', 'reason', 'city'],
      registers,
    }),
    observationsAccepted: new Counter({
      name: metricNames.observationsAccepted,
      help: 'Observations a stage accepted',
      labelNames: ['stage'],
      registers,
    }),
    observationsRejected: new Counter({
      name: metricNames.observationsRejected,
      help: 'Observations a stage refused, by reason (rule)',
      labelNames: ['stage', 'reason'],
      registers,
    }),
    lakeObjectsWritten: new Counter({
      name: metricNames.lakeObjectsWritten,
      help: 'Parquet objects committed to the lake',
      labelNames: ['dataset'],
      registers,
    }),
    lakeBytesWritten: new Counter({
      name: metricNames.lakeBytesWritten,
      help: 'Bytes of Parquet committed to the lake',
      labelNames: ['dataset'],
      registers,
    }),
    batchesAbandoned: new Counter({
      name: metricNames.batchesAbandoned,
      help: 'Consumed batches given up uncommitted, to be fetched again by the partition owner',
      labelNames: ['stage', 'reason'],
      registers,
    }),
    endToEndFreshness,
    markLakeCommit(at = new Date()) {
      lastCommitMs = at.getTime();
      lakeLastCommit.set(lastCommitMs / 1000);
    },
    markRollup(at = new Date()) {
      lastRollupMs = at.getTime();
      rollupLast.set(lastRollupMs / 1000);
    },
    observeFreshness(receivedAt, visibleAt = new Date()) {
      const received = typeof receivedAt === 'string' ? Date.parse(receivedAt) : receivedAt.getTime();
      if (Number.isNaN(received)) return;
      endToEndFreshness.observe(Math.max(0, (visibleAt.getTime() - received) / 1000));
    },
  };
};
