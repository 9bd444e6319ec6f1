// Entry point of the query service: config -> logger -> object store, DuckDB query engine, Kafka (credentials
// and pipeline offsets) -> HTTP app -> listen -> refresh the lake views on a timer -> drain on SIGTERM.
import { objectStoreSettings, objectStoreVariables, readConfig, redactConfig } from '@citycheck/config';
import { CredentialStore, ensureCredentialsTopic, followCredentials } from '@citycheck/credentials';
import { CycleBook, cyclesTopic, loadCycles } from '@citycheck/cycles';
import { clientRetries, createKafka, faultWhileFileExists, topicNames } from '@citycheck/kafka';
import { createCommitLog, createObjectStore, datasets } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import { createMetricsRegistry, registerFollowerMetrics } from '@citycheck/metrics';
import { buildQueryApp } from './app.js';
import { createLakeViewDefiner } from './lake-views.js';
import { createPgDoor } from './pg-door.js';
import { createPipelineStatus } from './pipeline-status.js';
import { createQueryEngine } from './query-engine.js';
import { registerCycleMetrics } from './status-metrics.js';

const config = readConfig([
  'logLevel',
  'kafkaBrokers',
  'kafkaClientId',
  'topicReplicationFactor',
  'duckdbExtensionDirectory',
  'queryHost',
  'queryPort',
  'queryPgHost',
  'queryPgPort',
  'queryTimeoutMs',
  'queryMemoryLimit',
  'queryRowCap',
  'queryConcurrency',
  'queryQueueLimit',
  'queryThreads',
  'queryLakeRefreshMs',
  'queryExportDirectory',
  'validateGroupId',
  'aggregateGroupId',
  'statusWindowMs',
  'topicNamespace',
  'statusMetricsTargets',
  'followerStaleAfterMs',
  'httpIdleTimeoutMs',
  'followerFaultFile',
  ...objectStoreVariables,
]);
const logger = createLogger({ service: 'query', level: config.logLevel });
logger.info({ config: redactConfig(config) }, 'starting');

const s3 = objectStoreSettings(config);
const store = createObjectStore(s3);
await store.ensureBucket();
const engine = await createQueryEngine({
  extensionDirectory: config.duckdbExtensionDirectory,
  s3,
  defineViews: createLakeViewDefiner(store),
  limits: {
    timeoutMs: config.queryTimeoutMs,
    memoryLimit: config.queryMemoryLimit,
    rowCap: config.queryRowCap,
    concurrency: config.queryConcurrency,
    queueLimit: config.queryQueueLimit,
    threads: config.queryThreads,
  },
  exportDirectory: config.queryExportDirectory,
  logger,
});

const kafka = createKafka({
  brokers: config.kafkaBrokers,
  clientId: `${config.kafkaClientId}-query`,
  retries: clientRetries.tool,
  logger,
});
await ensureCredentialsTopic(kafka, { replicationFactor: config.topicReplicationFactor });
const credentials = new CredentialStore();
const follower = followCredentials({
  kafka,
  store: credentials,
  onInvalidRecord: (error, credentialId) =>
    logger.warn({ err: error, credentialId }, 'skipping an unreadable credential record'),
  // The consumer is restarted after any crash; a view not known current for followerStaleAfterMs makes
  // every authenticated request a 503, so a missed revocation never lets a query through.
  staleAfterMs: config.followerStaleAfterMs,
  onCrash: (error, restarting, retryInMs) =>
    logger.error({ err: error, restarting, retryInMs }, 'credentials consumer crashed'),
  onRestart: (restarts) => logger.warn({ restarts }, 'credentials consumer started again'),
  ...(config.followerFaultFile === '' ? {} : { injectFault: faultWhileFileExists(config.followerFaultFile) }),
});
await follower.start();
await follower.caughtUp();
logger.info({ credentials: credentials.size }, 'credentials loaded');
// The cycles operators run: the status page shows the one they designated current.
const cycles = new CycleBook();
const cycleFollower = await loadCycles({
  kafka,
  book: cycles,
  topic: cyclesTopic(config.topicNamespace),
  replicationFactor: config.topicReplicationFactor,
  groupIdPrefix: `${config.kafkaClientId}-query-cycles`,
  onInvalidRecord: (error, key) => logger.warn({ err: error, key }, 'skipping an unreadable cycles record'),
  onCrash: (error, restarting) => logger.error({ err: error, restarting }, 'cycles consumer crashed'),
});

const registry = createMetricsRegistry({ service: 'query' });
registerFollowerMetrics(registry, { credentials: follower });

const admin = kafka.admin();
await admin.connect();
const commitLog = createCommitLog(store, datasets.observations);
const status = createPipelineStatus({
  kafka,
  admin,
  engine,
  topics: (({ submissionsReceived, submissionsValidated, submissionsRejected, submissionsRefused }) => ({
    received: submissionsReceived,
    validated: submissionsValidated,
    rejected: submissionsRejected,
    refused: submissionsRefused,
  }))(topicNames(config.topicNamespace)),
  groups: { validate: config.validateGroupId, aggregate: config.aggregateGroupId },
  windowMs: config.statusWindowMs,
  metricsTargets: config.statusMetricsTargets,
  lakeCommits: () => commitLog.committed(),
  cycles,
  ownMetrics: () => registry.metrics(),
});
registerCycleMetrics(registry, () => status.latest()?.completeness);
await status.start();
const app = buildQueryApp({
  engine,
  authenticator: credentials,
  credentialsCurrent: () => follower.isCurrent,
  // A running query sends nothing until its first rows: silence up to its timeout is not a stall.
  idleTimeoutMs: config.httpIdleTimeoutMs + config.queryTimeoutMs,
  logger,
  registry,
  status,
  ready: async () => ({
    objectStore: await store.ping(),
    broker: await admin
      .describeCluster()
      .then(() => true)
      .catch(() => false),
    credentials: follower.isHealthy,
  }),
});
await app.listen({ host: config.queryHost, port: config.queryPort });
// The door for psql and BI tools: the same engine, guard and scope as POST /v1/query.
const pgDoor = createPgDoor({
  engine,
  authenticator: credentials,
  credentialsCurrent: () => follower.isCurrent,
  logger,
});
const pgAddress = await pgDoor.listen({ host: config.queryPgHost, port: config.queryPgPort });
logger.info({ host: pgAddress.address, port: pgAddress.port }, 'PostgreSQL door listening');

// New lake objects become queryable at the next refresh.
let refreshing = false;
const refreshTimer = setInterval(() => {
  if (refreshing) return;
  refreshing = true;
  engine
    .refresh()
    .catch((error: unknown) => logger.warn({ err: error }, 'lake refresh failed; serving the previous views'))
    .finally(() => {
      refreshing = false;
    });
}, config.queryLakeRefreshMs);

const shutdown = async (signal: string): Promise<void> => {
  logger.info({ signal }, 'draining');
  clearInterval(refreshTimer);
  // close() stops accepting connections and waits for queries being streamed to finish.
  await app.close();
  await pgDoor.close();
  await status.stop();
  await follower.stop();
  await cycleFollower.stop();
  await admin.disconnect();
  await engine.close();
  store.close();
  logger.info('stopped');
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
