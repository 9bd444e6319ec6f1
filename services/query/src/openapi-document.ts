// The query service's OpenAPI document without a running service, for scripts/generate-openapi.mjs: the app
// is built with parts that are never called (no request is made) and asked what @fastify/swagger generated.
import type { Authenticator } from '@citycheck/credentials';
import { openApiDocument } from '@citycheck/http';
import { createLogger } from '@citycheck/logging';
import { createMetricsRegistry } from '@citycheck/metrics';
import { buildQueryApp } from './app.js';
import type { PipelineStatusSource } from './pipeline-status.js';
import type { QueryEngine } from './query-engine.js';

export const queryOpenApiDocument = async (): Promise<Record<string, unknown>> => {
  const nobody: Authenticator = { authenticate: () => ({ ok: false, reason: 'unknown' }) };
  const app = buildQueryApp({
    engine: {} as QueryEngine,
    authenticator: nobody,
    logger: createLogger({ service: 'query', level: 'silent' }),
    registry: createMetricsRegistry({ service: 'query', processMetrics: false }),
    status: {} as PipelineStatusSource,
  });
  await app.ready();
  const document = openApiDocument(app);
  await app.close();
  return document;
};
