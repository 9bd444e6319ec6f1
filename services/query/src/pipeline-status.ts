// What the status page and `citycheck status` show, put together from one source per file: the flow of each
// stage from the broker (status-broker.ts), rejections of ingest and validate by reason and by city
// (status-rejections.ts), the current cycle's reporting from the lake (status-completeness.ts), the services'
// own figures (status-services.ts), each stage's colour (status-health.ts), and the last hour, one point a
// minute. Computed on demand, at most once per `cacheMs`, and once a minute to keep the hour and the gauges.
import { CycleBook } from '@citycheck/cycles';
import { expectedCitiesOf, loadDivisionRegistry } from '@citycheck/divisions';
import {
  type Admin,
  createTopicFollower,
  decodeJson,
  type Kafka,
  topics as pipelineTopics,
  type TopicFollower,
} from '@citycheck/kafka';
import type { ManifestEntry } from '@citycheck/lake';
import type { QueryEngine } from './query-engine.js';
import { aggregateFlow, handledInWindow, noFlow, recordsArrived } from './status-broker.js';
import { type CompletenessReport, completenessByProvince } from './status-completeness.js';
import { defaultThresholds, type Health, type StatusThresholds, stageHealth } from './status-health.js';
import {
  applyRefused,
  applyRejected,
  createRejectionTally,
  type RejectionsReport,
} from './status-rejections.js';
import { ownService, type ServiceMetrics, scrapeService } from './status-services.js';

export type { ProvinceCompleteness } from './status-completeness.js';
export type { Health, StatusThresholds } from './status-health.js';
export type { CityRejections, RejectionExample, RejectionReason } from './status-rejections.js';
export type { ServiceMetrics } from './status-services.js';

export interface StageStatus {
  readonly name: 'ingest' | 'validate' | 'aggregate';
  /** What the stage reads (ingest: HTTP) and writes. */
  readonly consumes: string;
  readonly produces: readonly string[];
  readonly group?: string;
  /** Records the stage handled within the window, and per minute. */
  readonly inWindow: number;
  readonly perMinute: number;
  /** Submissions the stage rejected within the window (ingest: refused over HTTP). */
  readonly rejectedInWindow: number;
  /** Records still to be handled (consumer lag), total and per partition; absent for ingest. */
  readonly lag?: number;
  readonly lagByPartition?: readonly { readonly partition: number; readonly lag: number }[];
  /** Green, amber or red by the thresholds, and the sentences that say why. */
  readonly health: Health;
  readonly why: readonly string[];
}

/** One minute of the last hour. */
export interface HistoryPoint {
  readonly at: string;
  readonly perMinute: { readonly ingest: number; readonly validate: number; readonly aggregate: number };
  readonly lag: { readonly validate: number; readonly aggregate: number };
  readonly rejected: { readonly ingest: number; readonly validate: number };
}

export interface PipelineStatus {
  readonly generatedAt: string;
  /** The zone the page shows times in. */
  readonly timeZone: 'Asia/Shanghai';
  readonly windowSeconds: number;
  readonly thresholds: StatusThresholds;
  readonly stages: readonly StageStatus[];
  readonly rejections: RejectionsReport & {
    /** False until both rejection topics were read to their end once after start. */
    readonly caughtUp: boolean;
  };
  readonly history: readonly HistoryPoint[];
  readonly completeness: CompletenessReport & {
    /** The current cycle's deadline, and its expected cities that have not reported (null: not known). */
    readonly deadline: string | null;
    readonly citiesUnreported: number | null;
  };
  readonly services: readonly ServiceMetrics[];
  /** Sources that could not be read this time, with why; the rest of the report stands. */
  readonly problems: readonly string[];
}

/**
 * What an analyst sees of the status: the reporting (a provincial analyst its own province's), nothing of the
 * flow, rejections and services, which are the operators' and are emptied (and said to be) rather than
 * removed, so the page and `citycheck status` show the same document shape to everyone.
 */
export const analystStatus = (status: PipelineStatus, provinceCode?: string): PipelineStatus => ({
  generatedAt: status.generatedAt,
  timeZone: status.timeZone,
  windowSeconds: status.windowSeconds,
  thresholds: status.thresholds,
  stages: [],
  rejections: {
    submissions: 0,
    inWindow: 0,
    byStage: { ingest: 0, validate: 0 },
    byReason: [],
    byCity: [],
    caughtUp: status.rejections.caughtUp,
  },
  history: [],
  completeness:
    provinceCode === undefined
      ? status.completeness
      : {
          ...status.completeness,
          citiesUnreported: null,
          provinces: status.completeness.provinces.filter((province) => province.code === provinceCode),
        },
  services: [],
  problems: [
    provinceCode === undefined
      ? 'an analyst credential sees the reporting only; the flow, rejections and services are the operators’'
      : `a provincial credential sees province ${provinceCode}'s reporting only; the flow, rejections and services are the operators’`,
  ],
});

export interface PipelineStatusSource {
  current(): Promise<PipelineStatus>;
  /** The last report computed, if any, without computing one (for gauges read at scrape time). */
  latest(): PipelineStatus | undefined;
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
    readonly refused: string;
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
  /** The answering service's own metrics text, listed as `query` beside the targets. */
  readonly ownMetrics?: () => Promise<string>;
  readonly thresholds?: StatusThresholds;
  readonly cacheMs?: number;
  /** How often a report is computed without a caller, to keep the last hour's points; 0: never. */
  readonly historyStepMs?: number;
  readonly now?: () => number;
  /**
   * The cycles: the current one as the operator designated it on cycles.v1 (a followed CycleBook), its
   * deadline and expected cities; without it, the shipped cycle settings. Never the newest cycle with data.
   */
  readonly cycles?: Pick<CycleBook, 'currentCycle' | 'settingsOf'>;
}

const historyLength = 60;

export const createPipelineStatus = ({
  kafka,
  admin,
  engine,
  topics = {
    received: pipelineTopics.submissionsReceived,
    validated: pipelineTopics.submissionsValidated,
    rejected: pipelineTopics.submissionsRejected,
    refused: pipelineTopics.submissionsRefused,
  },
  groups,
  windowMs,
  metricsTargets = [],
  ownMetrics,
  thresholds = defaultThresholds,
  cacheMs = 2_000,
  historyStepMs = 60_000,
  cycles = new CycleBook(),
  lakeCommits,
  now = Date.now,
}: PipelineStatusOptions): PipelineStatusSource => {
  const tally = createRejectionTally();
  let follower: TopicFollower | undefined;
  let cached: { at: number; report: Promise<PipelineStatus> } | undefined;
  let latest: PipelineStatus | undefined;
  let timer: NodeJS.Timeout | undefined;
  // One point per minute: the flow and lag of the last report computed within it.
  const flowByMinute = new Map<number, { perMinute: HistoryPoint['perMinute']; lag: HistoryPoint['lag'] }>();

  const perMinute = (count: number): number => Math.round((count / (windowMs / 60_000)) * 100) / 100;

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
    const cycle = cycles.currentCycle();
    const [ingested, validating, aggregating, scraped, own, completeness] = await Promise.all([
      attempt('ingest offsets', () => recordsArrived(admin, topics.received, since), 0),
      attempt('validate lag', () => handledInWindow(admin, groups.validate, topics.received, since), noFlow),
      attempt(
        'aggregate lag',
        () => aggregateFlow(admin, groups.aggregate, topics.validated, since, lakeCommits),
        noFlow,
      ),
      Promise.all(metricsTargets.map(scrapeService)),
      ownMetrics === undefined ? Promise.resolve([]) : ownService('query', ownMetrics).then((one) => [one]),
      attempt('completeness', () => completenessByProvince(engine, cycle), {
        cycle: cycle ?? null,
        source: 'observations_current' as const,
        provinces: [],
      }),
    ]);
    const services = [...scraped, ...own];
    const up = (name: string): boolean | undefined => services.find((service) => service.name === name)?.up;
    const rejections = tally.report(since, at);
    const windowRejected = (stage: 'ingest' | 'validate'): number =>
      rejections.byReason
        .filter((item) => item.stage === stage)
        .reduce((total, item) => total + item.inWindow, 0);
    const ingestRejected = windowRejected('ingest');
    const validateRejected = windowRejected('validate');
    const serviceUp = (name: string) => {
      const answer = up(name);
      return answer === undefined ? {} : { serviceUp: answer };
    };
    const stages: StageStatus[] = [
      {
        name: 'ingest',
        consumes: 'HTTP POST /v1/submissions',
        produces: [topics.received, topics.refused],
        inWindow: ingested,
        perMinute: perMinute(ingested),
        rejectedInWindow: ingestRejected,
        ...stageHealth(
          {
            handled: ingested,
            seen: ingested + ingestRejected,
            rejected: ingestRejected,
            ...serviceUp('ingest'),
          },
          thresholds,
        ),
      },
      {
        name: 'validate',
        consumes: topics.received,
        produces: [topics.validated, topics.rejected],
        group: groups.validate,
        inWindow: validating.handled,
        perMinute: perMinute(validating.handled),
        rejectedInWindow: validateRejected,
        lag: validating.lag,
        lagByPartition: validating.lagByPartition,
        ...stageHealth(
          {
            handled: validating.handled,
            seen: validating.handled,
            rejected: validateRejected,
            lag: validating.lag,
            ...serviceUp('validate'),
          },
          thresholds,
        ),
      },
      {
        name: 'aggregate',
        consumes: topics.validated,
        produces: ['lake: observations/, rollups/'],
        group: groups.aggregate,
        inWindow: aggregating.handled,
        perMinute: perMinute(aggregating.handled),
        rejectedInWindow: 0,
        lag: aggregating.lag,
        lagByPartition: aggregating.lagByPartition,
        ...stageHealth(
          {
            handled: aggregating.handled,
            seen: 0,
            rejected: 0,
            lag: aggregating.lag,
            ...serviceUp('aggregate'),
          },
          thresholds,
        ),
      },
    ];

    const minute = Math.floor(at / 60_000) * 60_000;
    flowByMinute.set(minute, {
      perMinute: {
        ingest: stages[0]?.perMinute ?? 0,
        validate: stages[1]?.perMinute ?? 0,
        aggregate: stages[2]?.perMinute ?? 0,
      },
      lag: { validate: validating.lag, aggregate: aggregating.lag },
    });
    const from = minute - (historyLength - 1) * 60_000;
    for (const key of flowByMinute.keys()) if (key < from) flowByMinute.delete(key);
    const rejectedByMinute = tally.perMinute(from, minute + 60_000);
    const history: HistoryPoint[] = rejectedByMinute
      .filter((point) => flowByMinute.has(point.at) || point.ingest + point.validate > 0)
      .map((point) => {
        const flow = flowByMinute.get(point.at);
        return {
          at: new Date(point.at).toISOString(),
          perMinute: flow?.perMinute ?? { ingest: 0, validate: 0, aggregate: 0 },
          lag: flow?.lag ?? { validate: 0, aggregate: 0 },
          rejected: { ingest: point.ingest, validate: point.validate },
        };
      });

    const settings = completeness.cycle === null ? undefined : cycles.settingsOf(completeness.cycle);
    // From the derived completeness when the lake has it; before that, the cities the cycle expects less those
    // seen reporting, so the gauge (and its alert) exists even when no city has reported yet.
    const citiesUnreported =
      completeness.source === 'completeness'
        ? completeness.provinces.reduce(
            (total, province) =>
              total + Math.max(0, (province.citiesExpected ?? 0) - province.citiesReporting),
            0,
          )
        : settings === undefined
          ? null
          : Math.max(
              0,
              expectedCitiesOf(loadDivisionRegistry(), settings).length -
                completeness.provinces.reduce((total, province) => total + province.citiesReporting, 0),
            );
    const report: PipelineStatus = {
      generatedAt: new Date(at).toISOString(),
      timeZone: 'Asia/Shanghai',
      windowSeconds: windowMs / 1000,
      thresholds,
      stages,
      rejections: { ...rejections, caughtUp: follower?.isCaughtUp ?? false },
      history,
      completeness: {
        ...completeness,
        deadline: settings === undefined ? null : new Date(settings.deadline).toISOString(),
        citiesUnreported,
      },
      services,
      problems,
    };
    latest = report;
    return report;
  };

  const current = (): Promise<PipelineStatus> => {
    const at = now();
    if (cached === undefined || at - cached.at >= cacheMs) {
      const report = compute();
      cached = { at, report };
      report.catch(() => {
        cached = undefined;
      });
    }
    return cached.report;
  };

  return {
    async start() {
      follower = createTopicFollower({
        kafka,
        topics: [topics.rejected, topics.refused],
        groupIdPrefix: 'citycheck-query-status',
        apply: ({ topic, message }) => {
          let value: unknown;
          try {
            value = decodeJson(message.value);
          } catch {
            value = {};
          }
          if (topic === topics.refused) applyRefused(tally, Number(message.timestamp), value);
          else applyRejected(tally, Number(message.timestamp), value);
        },
      });
      await follower.start();
      if (historyStepMs > 0) {
        timer = setInterval(() => void current().catch(() => undefined), historyStepMs);
        timer.unref();
      }
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      await follower?.stop();
    },
    current,
    latest: () => latest,
  };
};
