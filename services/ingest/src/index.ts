// The ingest service as a library: the app factory and the state it is built from, for main.ts, the CLI's
// tests and the benchmark, which run ingest in-process against the real Kafka.
export {
  buildIngestApp,
  type DryRunReport,
  type IngestApp,
  type IngestAppOptions,
  type RateLimit,
} from './app.js';
export type { BulkSummary, LineResult, LineStatus } from './bulk.js';
export {
  applyToIndex,
  defaultIndexTopics,
  followSubmissionIndex,
  type IndexTopics,
  receivedHeaders,
} from './index-follower.js';
export { ingestOpenApiDocument } from './openapi-document.js';
export { ndjsonExample, submissionExamples } from './route-schemas.js';
export type { SemanticCheck } from './submission-checks.js';
export {
  type Receipt,
  SubmissionIndex,
  type SubmissionState,
  type SubmissionStatus,
} from './submission-index.js';
