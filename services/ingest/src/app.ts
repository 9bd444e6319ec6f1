// The ingest HTTP app: cities POST submissions (JSON, NDJSON, or a spreadsheet) and get a receipt once Kafka
// acknowledged them.
// Built from its clients and state, so tests hand it real ones; it never connects on its own.
import type { Readable } from 'node:stream';
import { type Catalogue, indicatorFields, loadCatalogue } from '@citycheck/catalogue';
import {
  type CatalogueVersion,
  canonicalUuidPattern,
  type DryRunReport,
  type ExpectedUnits,
  type Submission,
  type SubmissionList,
} from '@citycheck/contracts';
import { type Authenticator, mayReadCity, type Principal } from '@citycheck/credentials';
import { CycleBook } from '@citycheck/cycles';
import { type DivisionRegistry, expectedCommunitiesOf, loadDivisionRegistry } from '@citycheck/divisions';
import { CitycheckError, type FieldProblem, isCitycheckError } from '@citycheck/errors';
import { createServiceServer, healthSchema, httpPlumbing, principalOf } from '@citycheck/http';
import { topics as defaultTopics, type Producer } from '@citycheck/kafka';
import type { ObjectStore } from '@citycheck/lake';
import type { Logger } from '@citycheck/logging';
import { type PipelineMetrics, rejectionCity } from '@citycheck/metrics';
import type { RectificationBook } from '@citycheck/rectification';
import { cityCycleLockedProblem, type ReviewBook } from '@citycheck/reviews';
import rateLimit from '@fastify/rate-limit';
import { type FastifyRequest, LogController } from 'fastify';
import { BulkInterrupted, type BulkSummary, processBulk } from './bulk.js';
import { Intake } from './intake.js';
import { parseJsonDocument } from './json-document.js';
import type { Refusal, RefusalLog } from './output-refusals.js';
import {
  type IndicatorsOf,
  inLanguage,
  type ProblemLanguage,
  problemLanguageOf,
} from './problem-language.js';
import { rectificationRoutes } from './rectification-routes.js';
import { type BodyEncoding, bodyEncodingOf, ndjsonLines, readWholeBody } from './request-body.js';
import { reviewRoutes } from './review-routes.js';
import {
  catalogueSchema,
  dryRunValues,
  ingestBodySchemas,
  ingestErrorProperties,
  listSubmissionsSchema,
  readySchema,
  submissionExamples,
  submissionStateSchema,
  submitSchema,
  unitsSchema,
  xlsxMediaType,
} from './route-schemas.js';
import { processSheets, readSheetBody, SheetBody } from './sheet-upload.js';
import { checkSchema, cycleProblem, type SemanticCheck, scopeProblem } from './submission-checks.js';
import {
  InvalidCursor,
  type Receipt,
  type SubmissionIndex,
  type SubmissionStatus,
} from './submission-index.js';

export type { Receipt } from './submission-index.js';

export type IngestApp = ReturnType<typeof buildIngestApp>;

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request's one log line says, written when the answer was sent (see the onResponse hook). */
    outcome: RequestOutcome | undefined;
  }
}

/**
 * The message and fields of a request's log line; `logged` when the error handler already wrote it. `debug`
 * for a single submission the broker stored (or a resend of one): its record in submissions.received.v1 is
 * the durable account of it (id, city, credential, time), so an info line would only repeat it, at a cost
 * that matters at 1,000 requests/s (formatting, redaction and a synchronous write: ~11% of ingest's CPU).
 */
interface RequestOutcome {
  readonly message: string;
  readonly fields?: Readonly<Record<string, unknown>>;
  readonly logged?: boolean;
  readonly debug?: boolean;
}

export interface RateLimit {
  /** Requests one credential may make per window, on one instance. */
  readonly max: number;
  readonly windowMs: number;
}

export interface IngestAppOptions {
  readonly producer: Producer;
  readonly logger: Logger;
  /** Who a bearer token speaks for: a CredentialStore following credentials.v1. */
  readonly authenticator: Authenticator;
  /** The submission index, fed by followSubmissionIndex; the app records its own receipts in it too. */
  readonly index: SubmissionIndex;
  /** Largest single JSON body and largest NDJSON line, after decompression. */
  readonly bodyLimitBytes?: number;
  /**
   * How long a connection may send nothing before it is closed: a body that stops short of its
   * Content-Length must not hold a connection (and its socket, parser and buffers) for minutes.
   */
  readonly idleTimeoutMs?: number;
  /** Largest NDJSON upload, after decompression. */
  readonly bulkLimitBytes?: number;
  /** NDJSON lines per Kafka send. */
  readonly bulkBatchSize?: number;
  readonly rateLimit?: RateLimit;
  readonly receivedTopic?: string;
  /** Partitions of the received topic, so receipts of produce requests that mix cities carry offsets. */
  readonly receivedPartitionCount?: () => Promise<number | undefined>;
  /** Answers whether the broker is reachable, for /readyz. */
  readonly brokerReady?: () => Promise<boolean>;
  /** Whether credentials and the submission index are loaded, current and followed, for /readyz. */
  readonly stateReady?: () => boolean;
  /**
   * Whether credentials and the submission index are loaded and known to be current within the staleness
   * bound: /v1 answers 503 while they are not, so a revocation the view may have missed never lets a
   * request through. Defaults to `stateReady`.
   */
  readonly stateCurrent?: () => boolean;
  /** The full validation rules, for dry runs; without it a dry run checks schema, scope and idempotency. */
  readonly semanticCheck?: SemanticCheck;
  /** The catalogue's indicators, for the Chinese messages of rule problems (ranges, fields, levels). */
  readonly indicatorsOf?: IndicatorsOf;
  /** Counts what ingest accepted and refused (stage `ingest`); omit in tests that do not look. */
  readonly metrics?: PipelineMetrics;
  /**
   * The cycles (followed from cycles.v1): a submission received after its cycle's closing is refused, one
   * after the deadline is accepted and marked late. Without it, neither applies.
   */
  readonly cycles?: CycleBook;
  /** Where refused requests are recorded for the status page (submissions.refused.v1); omit in tests. */
  readonly refusals?: RefusalLog;
  /**
   * The reviews (followed from reviews.v1): with it, the review routes are served and a submission for a city
   * and cycle the ministry accepted is refused (city_cycle_locked) until a reviewer reopens it.
   */
  readonly reviews?: ReviewBook;
  /** Where the review routes publish (reviews.v1 under the namespace). */
  readonly reviewsTopic?: string;
  /** The time a review action is stamped with; the wall clock unless a test fixes it. */
  readonly reviewClock?: () => Date;
  /**
   * The ledger items' rectification (followed from rectification.v1) and the lake bucket their evidence is
   * stored in: with both, the rectification routes are served.
   */
  readonly rectification?: RectificationBook;
  readonly evidenceStore?: ObjectStore;
  /** Where the rectification routes publish (rectification.v1 under the namespace). */
  readonly rectificationTopic?: string;
  /** The time a rectification action is stamped with; the wall clock unless a test fixes it. */
  readonly rectificationClock?: () => Date;
  /** Largest evidence file (10 MiB by default). */
  readonly evidenceLimitBytes?: number;
  /** The catalogue of a version, for GET /v1/catalogue/{version}; defaults to the shipped catalogues. */
  readonly catalogue?: (version: string) => Catalogue | undefined;
  /** The division registry, for GET /v1/units; defaults to the shipped one, loaded on first use. */
  readonly divisions?: DivisionRegistry;
}

export type { DryRunReport };

const canonicalId = new RegExp(canonicalUuidPattern);

/** An NDJSON body, handed to the route as a stream: it is read line by line, never whole. */
class NdjsonBody {
  constructor(
    readonly stream: Readable,
    readonly encoding: BodyEncoding,
    readonly contentLength: number | undefined,
  ) {}
}

const ndjsonTypes = ['application/x-ndjson', 'application/ndjson'];

/** Data rows a spreadsheet upload may hold: a city's communities fit many times over (the largest has ~3,000). */
const sheetRowLimit = 50_000;

const contentLengthOf = (request: FastifyRequest): number | undefined => {
  const raw = request.headers['content-length'];
  const value = raw === undefined ? Number.NaN : Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
};

/** Only UTF-8 is accepted (RFC 8259); a declared charset other than utf-8 is a 415. */
const requireUtf8 = (request: FastifyRequest): void => {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && charset.toLowerCase() !== 'utf-8' && charset.toLowerCase() !== 'utf8') {
    throw new CitycheckError('unsupported_media_type', `charset ${charset} is not supported: send UTF-8`);
  }
};

const shippedCatalogue = (version: string): Catalogue | undefined => {
  try {
    return loadCatalogue(version);
  } catch {
    return undefined;
  }
};

/** A catalogue as a city reports against it: each indicator with the fields a submission gives for it. */
const catalogueView = (catalogue: Catalogue): CatalogueVersion => ({
  id: catalogue.id,
  cycle: catalogue.cycle,
  title: catalogue.title,
  ...(catalogue.supersedes === undefined ? {} : { supersedes: catalogue.supersedes }),
  indicators: [...catalogue.indicators.values()].map((indicator) => ({
    code: indicator.code,
    nameZh: indicator.nameZh,
    nameEn: indicator.nameEn,
    dimension: indicator.dimension,
    kind: indicator.kind,
    aggregation: indicator.aggregation,
    direction: indicator.direction,
    unit: indicator.unit,
    range: indicator.range,
    ...(indicator.standard === undefined ? {} : { standard: indicator.standard }),
    unitLevels: indicator.unitLevels,
    fields: indicatorFields(indicator),
    status: indicator.status,
    since: indicator.since,
    ...(indicator.retiredIn === undefined ? {} : { retiredIn: indicator.retiredIn }),
  })),
});

/**
 * The city a look-up answers for: a city credential's own (a `city` naming another is refused), or for a
 * province or ministry credential the `city` it names, if it may read it.
 */
const cityOfLookup = (principal: Principal, named: string | undefined): string => {
  const city = principal.kind === 'city' ? (named ?? principal.cityCode) : named;
  if (city === undefined)
    throw new CitycheckError('invalid_request', 'name the city to answer for: ?city=<6-digit code>');
  if (!mayReadCity(principal, city))
    throw new CitycheckError('forbidden', `this credential may not read submissions of city ${city}`);
  return city;
};

/** The route's schema has checked `dryRun` against `dryRunValues`. */
const isDryRun = (query: unknown): boolean => {
  const raw = (query as { dryRun?: string } | undefined)?.dryRun;
  return raw !== undefined && (dryRunValues.true as readonly string[]).includes(raw);
};

export const buildIngestApp = ({
  producer,
  logger,
  authenticator,
  index,
  bodyLimitBytes = 1_048_576,
  idleTimeoutMs = 30_000,
  bulkLimitBytes = 512 * 1_048_576,
  bulkBatchSize = 500,
  rateLimit: limits = { max: 1_200, windowMs: 60_000 },
  receivedTopic = defaultTopics.submissionsReceived,
  receivedPartitionCount,
  brokerReady = async () => true,
  stateReady = () => true,
  stateCurrent = stateReady,
  semanticCheck,
  indicatorsOf,
  metrics,
  cycles,
  refusals,
  reviews,
  reviewsTopic,
  reviewClock,
  rectification,
  evidenceStore,
  rectificationTopic,
  rectificationClock,
  evidenceLimitBytes,
  catalogue = shippedCatalogue,
  divisions,
}: IngestAppOptions) => {
  const app = createServiceServer({
    logger,
    bodyLimitBytes,
    // A large NDJSON upload may take long but never goes silent: ingest reads it as it arrives and answers
    // each batch's acknowledgement within seconds.
    idleTimeoutMs,
    // One line per request, written by the onResponse hook below, instead of fastify's two ("incoming
    // request", "request completed") plus the outcome's own: at 1,000 requests/s logging was ~8% of the CPU.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const intake = new Intake({
    producer,
    index,
    receivedTopic,
    ...(receivedPartitionCount === undefined ? {} : { partitionCount: receivedPartitionCount }),
    ...(cycles === undefined ? {} : { deadlineOf: (cycle: number) => cycles.settingsOf(cycle)?.deadline }),
  });

  app.decorateRequest('outcome', undefined);

  app.addHook('onResponse', async (request, reply) => {
    const outcome = request.outcome;
    if (outcome?.logged === true) return;
    // Checked here, so a line that would be dropped is not even assembled.
    if (outcome?.debug === true && !logger.isLevelEnabled('debug')) return;
    request.log[outcome?.debug === true ? 'debug' : 'info'](
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
        ...outcome?.fields,
      },
      outcome?.message ?? 'request completed',
    );
  });

  app.register(httpPlumbing, {
    authenticator,
    credentialNeeded: 'a city credential',
    // Credentials and the submission index: a request checked against a stale index could be answered wrongly.
    credentialsCurrent: stateCurrent,
    notReady: {
      message: 'the service is loading its credentials and submission index, or has lost sight of them',
      retryAfterSeconds: 2,
    },
    mediaTypeHint:
      'send one submission as application/json, many as application/x-ndjson (UTF-8), or a sheet of the ' +
      'template as XLSX or text/csv',
    // A bulk upload stopped part way answers with the summary of the lines it got through.
    unwrapError: (error) =>
      error instanceof BulkInterrupted ? { error: error.error, body: { summary: error.summary } } : undefined,
    onErrorAnswered: (request, error) => {
      if (request.method === 'POST' && error.status < 500) {
        const principal = request.principal;
        const cityCode = principal?.kind === 'city' ? principal.cityCode : undefined;
        metrics?.submissionsRejected.inc({
          stage: 'ingest',
          reason: error.code,
          city: rejectionCity(cityCode),
        });
        const named = (request.body as { submissionId?: unknown } | undefined)?.submissionId;
        refusals?.record(
          {
            ...(cityCode === undefined ? {} : { cityCode }),
            ...(principal === undefined ? {} : { credentialId: principal.credentialId }),
            requestId: request.id,
          },
          [
            {
              ...(typeof named === 'string' && canonicalId.test(named) ? { submissionId: named } : {}),
              reasons: [error.code],
            },
          ],
        );
      }
      request.outcome = { message: error.message, logged: true };
    },
    openapi: {
      info: {
        title: 'citycheck ingest API',
        version: '1.0.0',
        summary:
          "How a city's platform delivers urban physical examination (城市体检) results to the ministry.",
        description:
          'Each request carries a city credential. A submission is one unit of one city in one cycle; its submissionId is ' +
          'the idempotency key. Send one submission as application/json, or many as application/x-ndjson (optionally ' +
          'gzip), and poll GET /v1/submissions/{submissionId} for the outcome. The vendor guide is docs/integration.md.',
      },
      servers: [{ url: 'http://127.0.0.1:8080', description: 'The local stack (scripts/demo.sh)' }],
      tags: [
        {
          name: 'submissions',
          description: 'Deliver submissions and follow them through validation into the lake.',
        },
        {
          name: 'reviews',
          description:
            "A city submits its cycle's data for review; its province returns or approves them, the ministry accepts them.",
        },
        {
          name: 'rectification',
          description:
            "A shortfall ledger item's rectification (整改): the city plans it, reports progress and attaches evidence; its province or the ministry verifies or returns it.",
        },
        {
          name: 'look-ups',
          description: 'The catalogue a city reports against and the units it is expected to report.',
        },
        { name: 'service', description: 'Health, readiness and this document.' },
      ],
      credential: {
        name: 'cityCredential',
        description:
          'A credential issued by `citycheck admin credentials issue --city <code>`, bound to one city.',
      },
      schemas: ingestBodySchemas,
      errorProperties: ingestErrorProperties,
      examples: Object.fromEntries(
        Object.entries(submissionExamples).map(([name, { summary, value }]) => [name, { summary, value }]),
      ),
    },
  });

  // Only the two media types of the API; fastify's text/plain parser would otherwise turn text into a string.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', async (request: FastifyRequest, payload: Readable) => {
    requireUtf8(request);
    const contentLength = contentLengthOf(request);
    const bytes = await readWholeBody(payload, {
      encoding: bodyEncodingOf(request.headers['content-encoding']),
      limitBytes: bodyLimitBytes,
      ...(contentLength === undefined ? {} : { contentLength }),
      tooLargeHint: 'send several submissions as NDJSON (application/x-ndjson)',
    });
    const parsed = parseJsonDocument(bytes);
    if (!parsed.ok) {
      throw new CitycheckError(
        parsed.code,
        parsed.code === 'invalid_encoding' ? 'the body is not valid UTF-8' : 'the body is not valid JSON',
        { problems: [parsed.problem] },
      );
    }
    return parsed.value;
  });
  app.addContentTypeParser(ndjsonTypes, async (request: FastifyRequest, payload: Readable) => {
    requireUtf8(request);
    return new NdjsonBody(
      payload,
      bodyEncodingOf(request.headers['content-encoding']),
      contentLengthOf(request),
    );
  });
  // A spreadsheet is read whole, within the single-body limit: a workbook is a zip, whose directory is at its end.
  const readSheet = async (request: FastifyRequest, payload: Readable, format: 'xlsx' | 'csv') => {
    const contentLength = contentLengthOf(request);
    const bytes = await readWholeBody(payload, {
      encoding: bodyEncodingOf(request.headers['content-encoding']),
      limitBytes: bodyLimitBytes,
      ...(contentLength === undefined ? {} : { contentLength }),
      tooLargeHint: 'split the sheet into several files, or send its rows as NDJSON (application/x-ndjson)',
    });
    return new SheetBody(format, bytes);
  };
  app.addContentTypeParser(xlsxMediaType, async (request: FastifyRequest, payload: Readable) =>
    readSheet(request, payload, 'xlsx'),
  );
  app.addContentTypeParser('text/csv', async (request: FastifyRequest, payload: Readable) => {
    requireUtf8(request);
    return readSheet(request, payload, 'csv');
  });

  // Routes are declared inside plugins, so they are declared after the plumbing (schemas, validator, the
  // document's route list) is in place.
  app.register(async (service) => {
    service.get('/healthz', { schema: healthSchema }, async () => ({ status: 'ok' }));
    service.get('/readyz', { schema: readySchema }, async (_request, reply) => {
      const broker = await brokerReady();
      const state = stateReady();
      void reply.status(broker && state ? 200 : 503);
      return { status: broker && state ? 'ready' : 'not_ready', checks: { broker, state } };
    });
  });

  app.register(
    async (v1) => {
      // Authentication first, then the rate limit keyed by the credential it found (route-level hooks that the
      // rate-limit plugin adds run after this context's own hooks).
      v1.addHook('onRequest', v1.authenticate);
      await v1.register(rateLimit, {
        max: limits.max,
        timeWindow: limits.windowMs,
        hook: 'onRequest',
        keyGenerator: (request) => request.principal?.credentialId ?? request.ip,
        errorResponseBuilder: (request, context) => {
          const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
          return new CitycheckError(
            'rate_limited',
            `credential ${request.principal?.credentialId ?? 'unknown'} sent more than ${context.max} requests in ` +
              `${Math.round(limits.windowMs / 1000)} s; retry after ${seconds} s`,
            { retryAfterSeconds: seconds },
          );
        },
      });

      v1.post('/submissions', { schema: submitSchema }, async (request, reply) => {
        const principal = principalOf(request);
        const dryRun = isDryRun(request.query);
        const body: unknown = request.body;
        if (body instanceof NdjsonBody || body instanceof SheetBody) {
          const language = problemLanguageOf(request.headers['accept-language']);
          const summary =
            body instanceof NdjsonBody
              ? await submitBulk(body, principal, dryRun, language)
              : await submitSheet(body, principal, dryRun, language);
          if (!dryRun) {
            metrics?.submissionsAccepted.inc({ stage: 'ingest' }, summary.accepted);
            const city = rejectionCity(principal.kind === 'city' ? principal.cityCode : undefined);
            const refused: Refusal[] = [];
            for (const line of summary.lines) {
              if (line.status === 'rejected') {
                const reasons = [...new Set((line.problems ?? []).map((problem) => problem.rule))];
                metrics?.submissionsRejected.inc({ stage: 'ingest', reason: reasons[0] ?? 'unknown', city });
                refused.push({
                  ...(line.submissionId === null ? {} : { submissionId: line.submissionId }),
                  reasons: reasons.length === 0 ? ['unknown'] : reasons,
                });
              }
            }
            refusals?.record(
              {
                ...(principal.kind === 'city' ? { cityCode: principal.cityCode } : {}),
                credentialId: principal.credentialId,
                requestId: request.id,
              },
              refused,
            );
          }
          request.outcome = {
            message: body instanceof SheetBody ? 'spreadsheet upload processed' : 'bulk upload processed',
            fields: {
              credentialId: principal.credentialId,
              dryRun,
              received: summary.received,
              accepted: summary.accepted,
              rejected: summary.rejected,
              duplicates: summary.duplicates,
            },
          };
          void reply.status(!dryRun && summary.accepted > 0 ? 202 : 200);
          return summary;
        }
        if (dryRun) return dryRunOne(body, principal, problemLanguageOf(request.headers['accept-language']));

        const checked = checkSchema(body);
        if (!checked.ok) {
          throw new CitycheckError('invalid_request', 'the submission does not match the submission schema', {
            problems: checked.problems,
          });
        }
        const { submission } = checked;
        const outOfScope = scopeProblem(principal, submission.cityCode);
        if (outOfScope !== undefined) {
          throw new CitycheckError(
            'forbidden',
            `this credential may not submit for city ${submission.cityCode}`,
            {
              problems: [outOfScope],
            },
          );
        }
        const closed = cycleProblem(cycles, submission.cycle, new Date());
        if (closed !== undefined) {
          throw new CitycheckError(
            'cycle_closed',
            `cycle ${submission.cycle} was closed at ${cycles?.settingsOf(submission.cycle)?.closesAt ?? ''}`,
            { problems: [closed] },
          );
        }
        const locked = lockProblem(
          submission.cityCode,
          submission.cycle,
          problemLanguageOf(request.headers['accept-language']),
        );
        if (locked !== undefined)
          throw new CitycheckError('city_cycle_locked', locked.message, { problems: [locked] });
        // The rules that need only the submission, the catalogue and the registry: answered here, at once, with
        // every problem, instead of a 202 that validate turns into a rejection a second later.
        const broken = semanticCheck?.({
          submission,
          contentHash: checked.contentHash,
          receivedAt: new Date().toISOString(),
        });
        if (broken !== undefined && broken.length > 0) {
          const language = problemLanguageOf(request.headers['accept-language']);
          throw new CitycheckError(
            'submission_invalid',
            language === 'en'
              ? `submission ${submission.submissionId} breaks ${broken.length} rule(s) and was not accepted`
              : `报送 ${submission.submissionId} 有 ${broken.length} 处不符合规则，未被接收`,
            { problems: inLanguage(broken, language, submission, indicatorsOf) },
          );
        }
        const outcome = await intake.submitOne(checked, principal.credentialId);
        const logged = {
          submissionId: submission.submissionId,
          cityCode: submission.cityCode,
          credentialId: principal.credentialId,
        };
        if (outcome.kind === 'conflict') {
          throw new CitycheckError(
            'submission_conflict',
            `submission ${submission.submissionId} conflicts with an earlier one`,
            {
              problems: [outcome.problem],
            },
          );
        }
        if (outcome.kind === 'duplicate') {
          request.outcome = {
            message: 'duplicate submission: original receipt returned',
            fields: logged,
            debug: true,
          };
          void reply.status(200).header('idempotent-replayed', 'true');
          return outcome.receipt satisfies Receipt;
        }
        request.outcome = { message: 'submission accepted', fields: logged, debug: true };
        metrics?.submissionsAccepted.inc({ stage: 'ingest' });
        metrics?.observationsAccepted.inc({ stage: 'ingest' }, submission.observations.length);
        void reply.status(202);
        return outcome.receipt satisfies Receipt;
      });

      v1.get('/submissions/:submissionId', { schema: submissionStateSchema }, async (request) => {
        const principal = principalOf(request);
        // The params schema takes the canonical UUID spelling only: an id is stored in that one alone.
        const { submissionId } = request.params as { submissionId: string };
        const state = index.get(submissionId);
        if (state === undefined)
          throw new CitycheckError('not_found', `no submission ${submissionId} was received`);
        if (!mayReadCity(principal, state.cityCode)) {
          throw new CitycheckError(
            'forbidden',
            `this credential may not read submissions of city ${state.cityCode}`,
          );
        }
        // Validate writes its problems in the rules' English; the city reads them in Chinese, as ingest's own
        // refusals. The index keeps what a message names (cycle, city, unit); the indicators are those of the
        // cycle's catalogue, the one a submission for it is checked against.
        const catalogueVersion =
          state.cycle === undefined ? undefined : cycles?.settingsOf(state.cycle)?.catalogueVersion;
        if (
          state.problems === undefined ||
          state.unit === undefined ||
          state.cycle === undefined ||
          catalogueVersion === undefined ||
          problemLanguageOf(request.headers['accept-language']) === 'en'
        )
          return state;
        const named = { cycle: state.cycle, catalogueVersion, cityCode: state.cityCode, unit: state.unit };
        return { ...state, problems: inLanguage(state.problems, 'zh', named, indicatorsOf) };
      });

      if (reviews !== undefined)
        await v1.register(reviewRoutes, {
          reviews,
          producer,
          ...(reviewsTopic === undefined ? {} : { topic: reviewsTopic }),
          ...(reviewClock === undefined ? {} : { now: reviewClock }),
        });
      if (rectification !== undefined && evidenceStore !== undefined)
        await v1.register(rectificationRoutes, {
          rectification,
          producer,
          store: evidenceStore,
          // Without followed cycles, the shipped ones name each cycle's catalogue and county-level cities.
          cycles: cycles ?? new CycleBook(),
          catalogue,
          divisions: () => divisions ?? loadDivisionRegistry(),
          ...(rectificationTopic === undefined ? {} : { topic: rectificationTopic }),
          ...(rectificationClock === undefined ? {} : { now: rectificationClock }),
          ...(evidenceLimitBytes === undefined ? {} : { evidenceLimitBytes }),
        });
      v1.get('/submissions', { schema: listSubmissionsSchema }, async (request): Promise<SubmissionList> => {
        const query = request.query as {
          cycle?: string;
          status?: SubmissionStatus;
          unit?: string;
          limit?: string;
          cursor?: string;
          city?: string;
        };
        const cityCode = cityOfLookup(principalOf(request), query.city);
        try {
          return index.list({
            cityCode,
            limit: query.limit === undefined ? 100 : Number(query.limit),
            ...(query.cycle === undefined ? {} : { cycle: Number(query.cycle) }),
            ...(query.status === undefined ? {} : { status: query.status }),
            ...(query.unit === undefined ? {} : { unitCode: query.unit }),
            ...(query.cursor === undefined ? {} : { after: query.cursor }),
          });
        } catch (error) {
          if (error instanceof InvalidCursor) throw new CitycheckError('invalid_request', error.message);
          throw error;
        }
      });

      v1.get(
        '/catalogue/:version',
        { schema: catalogueSchema },
        async (request): Promise<CatalogueVersion> => {
          const { version } = request.params as { version: string };
          const found = catalogue(version);
          if (found === undefined)
            throw new CitycheckError('not_found', `there is no catalogue version ${version}`);
          return catalogueView(found);
        },
      );

      v1.get('/units', { schema: unitsSchema }, async (request): Promise<ExpectedUnits> => {
        const query = request.query as { cycle: string; city?: string };
        const cityCode = cityOfLookup(principalOf(request), query.city);
        const cycle = Number(query.cycle);
        const registry = divisions ?? loadDivisionRegistry();
        const named = new Set(cycles?.settingsOf(cycle)?.countyLevelCities ?? []);
        const reported = index.reportedUnits(cityCode, cycle);
        const units = expectedCommunitiesOf(registry, cityCode, named).map((code) => ({
          level: 'community' as const,
          code,
          name: registry.name(code) ?? '',
          reported: reported.has(code),
        }));
        return {
          cityCode,
          cycle,
          expected: units.length,
          reported: units.filter((unit) => unit.reported).length,
          units,
        };
      });
    },
    { prefix: '/v1' },
  );

  /** The problem when the ministry accepted (locked) the city's data for the cycle, else undefined. */
  const lockProblem = (
    cityCode: string,
    cycle: number,
    language: ProblemLanguage,
  ): FieldProblem | undefined => {
    const record = reviews?.lockOf(cycle, cityCode);
    return record === undefined ? undefined : cityCycleLockedProblem(record, language);
  };

  /** What NDJSON and spreadsheet uploads share: who sends, where to, batch and line sizes, and the checks. */
  const batchOptions = (principal: Principal, dryRun: boolean, language: ProblemLanguage) => ({
    principal,
    intake,
    batchSize: bulkBatchSize,
    maxLineBytes: bodyLimitBytes,
    dryRun,
    ...(semanticCheck === undefined ? {} : { semanticCheck }),
    cycleCheck: (cycle: number) => cycleProblem(cycles, cycle, new Date()),
    lockCheck: (cycle: number, cityCode: string) => lockProblem(cityCode, cycle, language),
  });

  const submitBulk = async (
    body: NdjsonBody,
    principal: Principal,
    dryRun: boolean,
    language: ProblemLanguage,
  ): Promise<BulkSummary> => {
    const lines = ndjsonLines(body.stream, {
      encoding: body.encoding,
      maxLineBytes: bodyLimitBytes,
      maxTotalBytes: bulkLimitBytes,
      ...(body.contentLength === undefined ? {} : { contentLength: body.contentLength }),
    });
    try {
      // The rules are applied to every line before it is sent, as to a single submission: a line that breaks
      // one is refused in the summary, in the caller's language, instead of rejected by validate a second later.
      const options = batchOptions(principal, dryRun, language);
      const rules = options.semanticCheck;
      return await processBulk({
        lines,
        ...options,
        ...(rules === undefined
          ? {}
          : {
              // A received submission passed the schema, so it is a Submission (as sheet-upload.ts reads it too).
              semanticCheck: (received: Parameters<SemanticCheck>[0]) =>
                inLanguage(
                  rules(received),
                  language,
                  received.submission as unknown as Submission,
                  indicatorsOf,
                ),
            }),
        rulesAtDoor: true,
      });
    } catch (error) {
      if (error instanceof BulkInterrupted && !isCitycheckError(error.error)) {
        // Not a CitycheckError: the body stream itself failed, e.g. the client went away mid-upload.
        throw new BulkInterrupted(
          new CitycheckError('invalid_request', 'the upload ended before its end could be read', {
            cause: error.error,
          }),
          error.summary,
        );
      }
      throw error;
    }
  };

  /** A spreadsheet: its rows become submissions (sheet-upload.ts), processed like NDJSON lines with the rules at the door. */
  const submitSheet = async (
    body: SheetBody,
    principal: Principal,
    dryRun: boolean,
    language: ProblemLanguage,
  ): Promise<BulkSummary> =>
    processSheets({
      tables: await readSheetBody(body, sheetRowLimit),
      language,
      index,
      ...(indicatorsOf === undefined ? {} : { indicatorsOf }),
      ...batchOptions(principal, dryRun, language),
    });

  const dryRunOne = (body: unknown, principal: Principal, language: ProblemLanguage): DryRunReport => {
    const checks: DryRunReport['checks'] = ['schema', 'credential_scope', 'idempotency'];
    const checked = checkSchema(body);
    if (!checked.ok) {
      const id = (body as Record<string, unknown> | null)?.submissionId;
      return {
        dryRun: true,
        submissionId: typeof id === 'string' ? id : null,
        outcome: 'rejected',
        idempotency: 'unknown',
        checks,
        problems: checked.problems,
      };
    }
    const { submission, contentHash } = checked;
    const problems: FieldProblem[] = [];
    const outOfScope = scopeProblem(principal, submission.cityCode);
    if (outOfScope !== undefined) problems.push(outOfScope);
    const seen = intake.classify(submission.submissionId, contentHash);
    if (seen.kind === 'conflict') problems.push(seen.problem);
    const closed = cycleProblem(cycles, submission.cycle, new Date());
    if (closed !== undefined && semanticCheck === undefined) problems.push(closed);
    const locked = lockProblem(submission.cityCode, submission.cycle, language);
    if (locked !== undefined) problems.push(locked);
    if (semanticCheck !== undefined) {
      problems.push(...semanticCheck({ submission, contentHash, receivedAt: new Date().toISOString() }));
    }
    return {
      dryRun: true,
      submissionId: submission.submissionId,
      outcome: problems.length === 0 ? 'valid' : 'rejected',
      idempotency: seen.kind,
      checks: semanticCheck === undefined ? checks : [...checks, 'rules'],
      problems,
    };
  };

  return app;
};
