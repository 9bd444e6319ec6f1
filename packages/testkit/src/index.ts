// Test kit for citycheck's integration and end-to-end tests: real Kafka, object store and DuckDB from one
// fixture (global-setup.ts), and helpers that keep tests apart and wait by polling, never by sleeping.

export type { InfraEndpoints, S3Endpoint } from './containers.js';
export { bearer, createTestCredentials, type TestCredentials } from './credentials.js';
export { closedAfterStall, expectClosedWhenIdle, submitEach } from './http.js';
export { realInfra, uniqueName } from './infra.js';
export {
  createFreshTopic,
  createTestTopics,
  produceJson,
  type ReadMessage,
  readTopic,
  sendReceivedUnchecked,
  testKafka,
} from './kafka.js';
export { createTestStore, openTestDatabase, testExtensionDirectory } from './lake.js';
export * from './stack.js';
export { testSubmission } from './submission.js';
