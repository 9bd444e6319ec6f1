// HTTP request latency for a fastify app, labelled by route template (not raw URL, which would explode the
// label set), and the app's `GET /metrics`. Call right after creating the app, before its routes.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import { Histogram, type Registry } from 'prom-client';
import { metricNames } from './pipeline-metrics.js';

/** Latency buckets in seconds: sub-millisecond health checks up to long analyst queries. */
export const httpLatencyBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface InstrumentFastifyOptions {
  readonly registry: Registry;
  /** Where the registry is served; set to undefined to serve it elsewhere. */
  readonly metricsPath?: string | undefined;
}

const startedAt = Symbol('citycheck.metrics.startedAt');
type Timed = { [startedAt]?: bigint };

export const instrumentFastify = <Logger extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>,
  { registry, metricsPath = '/metrics' }: InstrumentFastifyOptions,
): Histogram<'method' | 'route' | 'status_code'> => {
  const duration = new Histogram({
    name: metricNames.httpRequestDuration,
    help: 'HTTP request duration in seconds, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: httpLatencyBuckets,
    registers: [registry],
  });
  app.addHook('onRequest', async (request) => {
    (request as Timed)[startedAt] = process.hrtime.bigint();
  });
  app.addHook('onResponse', async (request, reply) => {
    const start = (request as Timed)[startedAt];
    if (start === undefined) return;
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      Number(process.hrtime.bigint() - start) / 1e9,
    );
  });
  if (metricsPath !== undefined) {
    app.get(metricsPath, async (_request, reply) => {
      void reply.header('content-type', registry.contentType);
      return registry.metrics();
    });
  }
  return duration;
};
