// Entry point of the aggregate service: config -> logger -> object store, DuckDB and Kafka -> worker ->
// drain on SIGTERM (finish the batch in hand, run the pending rollup, then close).
import { setPriority } from 'node:os';
import { listCatalogueVersions, loadCatalogue, loadCycleSettings } from '@citycheck/catalogue';
import { objectStoreSettings, objectStoreVariables, readConfig, redactConfig } from '@citycheck/config';
import { CycleBook, cyclesTopic, loadCycles } from '@citycheck/cycles';
import { loadDivisionRegistry } from '@citycheck/divisions';
import {
  clientRetries,
  createGroupConsumer,
  createKafka,
  createReliableProducer,
  ensureTopics,
  pipelineTopicSpecs,
  topicNames,
} from '@citycheck/kafka';
import { createCommitLog, createObjectStore, datasets, openLakeDatabase } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import {
  createMetricsRegistry,
  createPipelineMetrics,
  registerConsumerLag,
  startOpsServer,
} from '@citycheck/metrics';
import { loadReviews, ReviewBook, reviewsTopic } from '@citycheck/reviews';
import { writeReference } from './reference.js';
import { createAggregateWorker } from './worker.js';

const config = readConfig([
  'logLevel',
  'kafkaBrokers',
  'kafkaClientId',
  'topicPartitions',
  'topicReplicationFactor',
  'aggregateGroupId',
  'topicNamespace',
  'kafkaSessionTimeoutMs',
  'workerNiceness',
  'opsHost',
  'aggregateOpsPort',
  'aggregateDuckdbMemoryLimit',
  'aggregateFault',
  'duckdbExtensionDirectory',
  'aggregateFlushRecords',
  'aggregateFlushBytes',
  'aggregateFlushRecordSpanMs',
  'rollupDebounceMs',
  ...objectStoreVariables,
]);
const logger = createLogger({ service: 'aggregate', level: config.logLevel });
logger.info({ config: redactConfig(config) }, 'starting');
// A batch worker yields the CPU to ingest when they share a box (WORKER_NICENESS).
if (config.workerNiceness > 0) setPriority(config.workerNiceness);

const s3 = objectStoreSettings(config);
const store = createObjectStore(s3);
await store.ensureBucket();
const lake = await openLakeDatabase({
  extensionDirectory: config.duckdbExtensionDirectory,
  s3,
  memoryLimit: config.aggregateDuckdbMemoryLimit,
});

// Derivation runs on a connection of its own, beside the lake writer's (DuckDB runs one statement at a time
// per connection; the two share the instance's threads, memory limit and attached databases).
const derivationConnection = await lake.instance.connect();

// Reference data first: the rollups join against it.
const catalogues = listCatalogueVersions().map((version) => loadCatalogue(version));
await writeReference(lake.connection, store, catalogues, loadDivisionRegistry());

const kafka = createKafka({
  brokers: config.kafkaBrokers,
  clientId: `${config.kafkaClientId}-aggregate`,
  logger,
  retries: clientRetries.worker,
});
const admin = kafka.admin();
await admin.connect();
const names = topicNames(config.topicNamespace);
await ensureTopics(
  admin,
  pipelineTopicSpecs(config.topicPartitions, config.topicReplicationFactor, config.topicNamespace),
);

const registry = createMetricsRegistry({ service: 'aggregate' });
const metrics = createPipelineMetrics(registry, { lakeWriter: true });
registerConsumerLag(registry, {
  admin,
  groupId: config.aggregateGroupId,
  topics: [names.submissionsValidated],
});
const ops = await startOpsServer({
  registry,
  host: config.opsHost,
  port: config.aggregateOpsPort,
  ready: async () => {
    const [broker, objectStore, duckdb] = await Promise.all([
      admin
        .describeCluster()
        .then(() => true)
        .catch(() => false),
      store.ping(),
      lake.connection
        .run('SELECT 1')
        .then(() => true)
        .catch(() => false),
    ]);
    return { broker, objectStore, duckdb };
  },
  onError: (error) => logger.error({ err: error }, 'ops server error'),
});
logger.info({ url: ops.url }, 'ops server listening');
const consumer = createGroupConsumer(kafka, {
  groupId: config.aggregateGroupId,
  sessionTimeoutMs: config.kafkaSessionTimeoutMs,
  // Up to a second of records per fetch, so objects are not tiny under light load.
  largeFetches: true,
});
await consumer.connect();
const producer = createReliableProducer(kafka);
await producer.connect();

// The cycles operators run (cycles.v1): expected cities and deadlines of completeness, and the lake's copy.
const cycleBook = new CycleBook();
const cycleFollower = await loadCycles({
  kafka,
  book: cycleBook,
  topic: cyclesTopic(config.topicNamespace),
  replicationFactor: config.topicReplicationFactor,
  groupIdPrefix: `${config.kafkaClientId}-aggregate-cycles`,
  onInvalidRecord: (error, key) => logger.error({ err: error, key }, 'unreadable cycles record skipped'),
  onCrash: (error, restarting) => logger.error({ err: error, restarting }, 'cycles consumer crashed'),
});

// The reviews of each city's data (reviews.v1): the lake's copy, for the reviews views.
const reviewBook = new ReviewBook();
const reviewFollower = await loadReviews({
  kafka,
  book: reviewBook,
  topic: reviewsTopic(config.topicNamespace),
  replicationFactor: config.topicReplicationFactor,
  groupIdPrefix: `${config.kafkaClientId}-aggregate-reviews`,
  onInvalidRecord: (error, key) => logger.error({ err: error, key }, 'unreadable reviews record skipped'),
  onCrash: (error, restarting) => logger.error({ err: error, restarting }, 'reviews consumer crashed'),
});

const killNow = (): void => {
  logger.warn({ fault: config.aggregateFault }, 'fault injection: killing this process');
  process.kill(process.pid, 'SIGKILL');
};
const worker = createAggregateWorker({
  consumer,
  store,
  commitLog: createCommitLog(store, datasets.observations),
  duckdb: lake.connection,
  derivationDuckdb: derivationConnection,
  logger,
  cycles: loadCycleSettings(),
  cycleBook,
  reviewBook,
  rotation: {
    maxRecords: config.aggregateFlushRecords,
    maxBytes: config.aggregateFlushBytes,
    maxRecordSpanMs: config.aggregateFlushRecordSpanMs,
  },
  rollupDebounceMs: config.rollupDebounceMs,
  validatedTopic: names.submissionsValidated,
  announce: { producer, topic: names.lakeBatchesCommitted, derivedTopic: names.lakeRollupsDerived },
  metrics,
  // Fault tests kill the worker at the two points where a crash matters most; see test/faults.
  ...(config.aggregateFault === 'before-lake-commit' ? { beforeLakeCommit: killNow } : {}),
  ...(config.aggregateFault === 'after-lake-commit' ? { afterChunkCommitted: killNow } : {}),
});
await worker.start();
logger.info('consuming');

const shutdown = async (signal: string): Promise<void> => {
  logger.info({ signal }, 'draining');
  await worker.stop();
  await cycleFollower.stop();
  await reviewFollower.stop();
  await producer.disconnect();
  await ops.close();
  await admin.disconnect();
  derivationConnection.closeSync();
  lake.close();
  store.close();
  logger.info({ ...worker.stats }, 'stopped');
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
