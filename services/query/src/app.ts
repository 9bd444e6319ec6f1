// The query service's HTTP app: analysts POST one SELECT to /v1/query and get its rows streamed back; /status
// and /v1/status show the pipeline's health. Built from its clients; it never connects on its own.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { QueryRequest } from '@citycheck/contracts';
import type { Authenticator, Principal } from '@citycheck/credentials';
import { CitycheckError, isCitycheckError } from '@citycheck/errors';
import { createServiceServer, healthSchema, httpPlumbing, principalOf } from '@citycheck/http';
import type { Logger } from '@citycheck/logging';
import { instrumentFastify, metricNames, type Registry } from '@citycheck/metrics';
import type { FastifyReply } from 'fastify';
import { Counter, Histogram } from 'prom-client';
import { negotiateFormat, type ResultFormat, resultFormats } from './accept.js';
import { registerConsoleRoutes } from './console-route.js';
import { registerExportRoute } from './export-route.js';
import { writeArrow } from './output-arrow.js';
import { writeCsv } from './output-csv.js';
import { writeJson } from './output-json.js';
import { analystStatus, type PipelineStatusSource } from './pipeline-status.js';
import type { QueryEngine, QueryResultStream, QueryScope } from './query-engine.js';
import {
  queryBodySchemas,
  querySchema,
  readySchema,
  statusPageSchema,
  statusSchema,
  tablesSchema,
} from './route-schemas.js';

export interface QueryAppOptions {
  readonly engine: QueryEngine;
  readonly authenticator: Authenticator;
  /**
   * Whether the credentials the authenticator holds are known to be current (credentials.v1 followed within
   * its staleness bound). While they are not, every authenticated request is answered 503 not_ready: a
   * revocation the service may have missed must not let a query through. Defaults to always current.
   */
  readonly credentialsCurrent?: () => boolean;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly status?: PipelineStatusSource;
  /** Named readiness checks for /readyz (Kafka, object store, credentials loaded...). DuckDB is always checked. */
  readonly ready?: () => Promise<Record<string, boolean>>;
  readonly bodyLimitBytes?: number;
  /**
   * How long a connection may send nothing before it is closed (a body that stops short of its
   * Content-Length); must exceed the query timeout, during which a running query sends nothing.
   */
  readonly idleTimeoutMs?: number;
}

/** The static status page: plain HTML, CSS and a script, no build step, no CDN. */
const statusPageDir = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'status-page');
const statusFiles: Record<string, { file: string; type: string }> = {
  '/status': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/status/status.js': { file: 'status.js', type: 'text/javascript; charset=utf-8' },
  '/status/status.css': { file: 'status.css', type: 'text/css; charset=utf-8' },
};

/** What a credential lets its holder query: the nation, a province, or a city's own results. */
export const scopeOf = (principal: Principal): { scope: QueryScope; role: string; id: string } => {
  switch (principal.kind) {
    case 'analyst:ministry':
    case 'reviewer:ministry':
    case 'operator':
      // Operators answer "who has not reported" for the whole nation, as the ministry does.
      return { scope: { kind: 'ministry' }, role: principal.kind, id: principal.credentialId };
    case 'analyst:province':
    case 'reviewer:province':
      return {
        scope: { kind: 'province', provinceCode: principal.provinceCode },
        role: principal.kind,
        id: principal.credentialId,
      };
    case 'city':
      return {
        scope: { kind: 'city', cityCode: principal.cityCode },
        role: principal.kind,
        id: principal.credentialId,
      };
  }
};

export const buildQueryApp = ({
  engine,
  authenticator,
  credentialsCurrent = () => true,
  logger,
  registry,
  status,
  ready = async () => ({}),
  bodyLimitBytes = 262_144,
  idleTimeoutMs = 60_000,
}: QueryAppOptions) => {
  const app = createServiceServer({ logger, bodyLimitBytes, idleTimeoutMs });
  instrumentFastify(app, { registry });
  const queries = new Counter({
    name: metricNames.queries,
    help: 'Analyst queries by outcome (ok or an error code), format and role',
    labelNames: ['outcome', 'format', 'role'],
    registers: [registry],
  });
  const queryDuration = new Histogram({
    name: metricNames.queryDuration,
    help: 'Seconds from receiving a query to its last byte, by format',
    labelNames: ['format'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const queryRows = new Counter({
    name: metricNames.queryRows,
    help: 'Rows returned to analysts',
    registers: [registry],
  });

  app.register(httpPlumbing, {
    authenticator,
    credentialNeeded: 'an analyst or city credential',
    credentialsCurrent,
    notReady: {
      message:
        'the service has lost sight of credentials.v1 and cannot tell revoked credentials apart; retry shortly',
      retryAfterSeconds: 5,
    },
    mediaTypeHint: 'send {"sql": "..."} as application/json',
    openapi: {
      info: {
        title: 'citycheck query API',
        version: '1.0.0',
        summary:
          'SQL over the Parquet lake for ministry and provincial analysts and for cities, and the pipeline status.',
        description:
          'Each request under /v1 carries an analyst or city credential; a provincial analyst sees that province only, a city its own results only. ' +
          'POST /v1/query takes one SELECT over the documented views (GET /v1/tables) and answers by the Accept header.',
      },
      servers: [{ url: 'http://127.0.0.1:8090', description: 'The local stack (scripts/demo.sh)' }],
      tags: [
        { name: 'query', description: 'SQL over the documented views of the lake.' },
        { name: 'status', description: "The pipeline's health." },
        { name: 'service', description: 'Health, readiness and this document.' },
      ],
      schemas: queryBodySchemas,
      credential: {
        name: 'analystCredential',
        description:
          'A credential issued by `citycheck admin credentials issue --role analyst:ministry`, `--role analyst:province:<code>` or `--role city --city <code>`.',
      },
    },
  });

  // Inside a plugin, so the routes are declared once the plumbing (authenticate, schemas, the document's
  // route list) is in place.
  app.register(async (api) => {
    api.get('/healthz', { schema: healthSchema }, async () => ({ status: 'ok' }));
    api.get('/readyz', { schema: readySchema }, async (_request, reply) => {
      const checks = { duckdb: await engine.ping(), ...(await ready().catch(() => ({ checks: false }))) };
      const ok = Object.values(checks).every(Boolean);
      void reply.status(ok ? 200 : 503);
      return { status: ok ? 'ready' : 'not_ready', checks };
    });

    api.get('/v1/tables', { onRequest: api.authenticate, schema: tablesSchema }, async (request) => {
      scopeOf(principalOf(request));
      return { tables: engine.tables(), macros: engine.macros() };
    });

    api.post('/v1/query', { onRequest: api.authenticate, schema: querySchema }, async (request, reply) => {
      const started = process.hrtime.bigint();
      const caller = scopeOf(principalOf(request));
      const format = negotiateFormat(request.headers.accept);
      // The route's body schema has checked that `sql` is a string.
      const { sql } = request.body as QueryRequest;
      const log = request.log.child({ credentialId: caller.id, role: caller.role, format });
      const done = (outcome: string, rows: number): void => {
        queries.inc({ outcome, format, role: caller.role });
        queryRows.inc(rows);
        queryDuration.observe({ format }, Number(process.hrtime.bigint() - started) / 1e9);
      };
      try {
        if (format === 'parquet') {
          const exported = await engine.exportParquet(caller.scope, sql);
          const stream = createReadStream(exported.path);
          reply.raw.once('close', () => void exported.release());
          log.info(
            { sql: sql.slice(0, 2_000), rows: exported.rows, bytes: exported.bytes },
            'query answered',
          );
          done('ok', exported.rows);
          void reply
            .header('content-type', resultFormats.parquet)
            .header('content-length', String(exported.bytes))
            .header('content-disposition', 'attachment; filename="result.parquet"')
            .header('cache-control', 'no-store')
            .header('x-citycheck-rows', String(exported.rows));
          return reply.send(stream);
        }
        const result = await engine.open(caller.scope, sql);
        reply.raw.once('close', () => {
          result.close();
          const outcome = reply.raw.writableFinished ? 'ok' : 'aborted';
          log.info({ sql: sql.slice(0, 2_000), rows: result.rowCount, outcome }, 'query answered');
          done(outcome, result.rowCount);
        });
        void reply
          .header(
            'content-type',
            format === 'csv' ? `${resultFormats.csv}; charset=utf-8; header=present` : resultFormats[format],
          )
          .header('cache-control', 'no-store')
          .header('x-citycheck-row-cap', String(engine.limits.rowCap));
        return reply.send(Readable.from(encode(format, result), { objectMode: false }));
      } catch (error) {
        if (isCitycheckError(error)) done(error.code, 0);
        throw error;
      }
    });

    registerExportRoute(api, { engine });
    registerConsoleRoutes(api);

    if (status !== undefined) {
      // Who may see what of the status: see "Scope policy" in the README. The page itself holds no figures.
      api.get('/v1/status', { onRequest: api.authenticate, schema: statusSchema }, async (request) => {
        const caller = scopeOf(principalOf(request));
        if (caller.scope.kind === 'city')
          throw new CitycheckError('forbidden', 'the pipeline status is for analysts and operators');
        const report = await status.current();
        if (caller.role === 'operator') return report;
        return analystStatus(
          report,
          caller.scope.kind === 'ministry' ? undefined : caller.scope.provinceCode,
        );
      });
      for (const [path, { file, type }] of Object.entries(statusFiles)) {
        api.get(path, { schema: statusPageSchema(path) }, async (_request, reply: FastifyReply) => {
          void reply.header('content-type', type).header('cache-control', 'no-cache');
          return readFile(join(statusPageDir, file));
        });
      }
    }
  });

  return app;
};

const encode = (
  format: Exclude<ResultFormat, 'parquet'>,
  result: QueryResultStream,
): AsyncGenerator<string | Uint8Array> => {
  switch (format) {
    case 'json':
      return writeJson(result);
    case 'csv':
      return writeCsv(result);
    case 'arrow':
      return writeArrow(result);
  }
};
