// Ingest's OpenAPI document without a running service, for scripts/generate-openapi.mjs: the app is built
// with parts that are never called (no request is made) and asked what @fastify/swagger generated.
import type { Authenticator } from '@citycheck/credentials';
import { openApiDocument } from '@citycheck/http';
import type { Producer } from '@citycheck/kafka';
import type { ObjectStore } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import { RectificationBook } from '@citycheck/rectification';
import { ReviewBook } from '@citycheck/reviews';
import { buildIngestApp } from './app.js';
import { SubmissionIndex } from './submission-index.js';

export const ingestOpenApiDocument = async (): Promise<Record<string, unknown>> => {
  const nobody: Authenticator = { authenticate: () => ({ ok: false, reason: 'unknown' }) };
  const app = buildIngestApp({
    producer: {} as Producer,
    logger: createLogger({ service: 'ingest', level: 'silent' }),
    authenticator: nobody,
    index: new SubmissionIndex(),
    // Given, so the review routes (served only with the reviews followed) are in the document.
    reviews: new ReviewBook(),
    // And the rectification routes (served with the items followed and a bucket for evidence).
    rectification: new RectificationBook(),
    evidenceStore: {} as ObjectStore,
  });
  await app.ready();
  const document = openApiDocument(app);
  await app.close();
  return document;
};
