// The fastify instance every citycheck HTTP service starts from: one set of server options.
import Fastify, { type FastifyBaseLogger, type FastifyServerOptions } from 'fastify';

export interface ServiceServerOptions<L extends FastifyBaseLogger> {
  readonly logger: L;
  readonly bodyLimitBytes: number;
  /** Socket inactivity, not the whole request: a long upload or answer that keeps moving is not cut. */
  readonly idleTimeoutMs: number;
  /** How fastify logs requests; its own two lines per request unless the service writes its own. */
  readonly logController?: FastifyServerOptions['logController'];
}

/**
 * A fastify instance logging through the service's logger, with every line about a request carrying its id
 * (a caller may pass its own in `x-request-id` for tracing), and answering 503 to requests while closing.
 */
export const createServiceServer = <L extends FastifyBaseLogger>({
  logger,
  bodyLimitBytes,
  idleTimeoutMs,
  logController,
}: ServiceServerOptions<L>) =>
  Fastify({
    loggerInstance: logger,
    bodyLimit: bodyLimitBytes,
    connectionTimeout: idleTimeoutMs,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    ...(logController === undefined ? {} : { logController }),
  });
