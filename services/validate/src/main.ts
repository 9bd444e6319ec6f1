// Entry point of the validate service: config -> logger -> catalogue and divisions -> Kafka -> worker ->
// drain on SIGTERM.
import { setPriority } from 'node:os';
import { readConfig, redactConfig } from '@citycheck/config';
import { CycleBook, cyclesTopic, loadCycles } from '@citycheck/cycles';
import {
  clientRetries,
  createGroupConsumer,
  createKafka,
  createTransactionalProducer,
  ensureTopics,
  pipelineTopicSpecs,
  topicNames,
} from '@citycheck/kafka';
import { createLogger } from '@citycheck/logging';
import {
  createMetricsRegistry,
  createPipelineMetrics,
  registerConsumerLag,
  startOpsServer,
} from '@citycheck/metrics';
import { loadReviews, ReviewBook, reviewsTopic } from '@citycheck/reviews';
import { createRuleContext } from '@citycheck/rules';
import { createValidateWorker, transactionalIdFor } from './worker.js';

const config = readConfig([
  'logLevel',
  'kafkaBrokers',
  'kafkaClientId',
  'topicPartitions',
  'topicReplicationFactor',
  'validateGroupId',
  'topicNamespace',
  'kafkaSessionTimeoutMs',
  'workerNiceness',
  'opsHost',
  'validateOpsPort',
]);
const logger = createLogger({ service: 'validate', level: config.logLevel });
logger.info({ config: redactConfig(config) }, 'starting');
// A batch worker yields the CPU to ingest when they share a box (WORKER_NICENESS).
if (config.workerNiceness > 0) setPriority(config.workerNiceness);

const kafka = createKafka({
  brokers: config.kafkaBrokers,
  clientId: `${config.kafkaClientId}-validate`,
  logger,
  retries: clientRetries.worker,
});
const admin = kafka.admin();
await admin.connect();
await ensureTopics(
  admin,
  pipelineTopicSpecs(config.topicPartitions, config.topicReplicationFactor, config.topicNamespace),
);
const names = topicNames(config.topicNamespace);

const registry = createMetricsRegistry({ service: 'validate' });
const metrics = createPipelineMetrics(registry);
registerConsumerLag(registry, {
  admin,
  groupId: config.validateGroupId,
  topics: [names.submissionsReceived],
});
const ops = await startOpsServer({
  registry,
  host: config.opsHost,
  port: config.validateOpsPort,
  ready: async () => ({
    broker: await admin
      .describeCluster()
      .then(() => true)
      .catch(() => false),
  }),
  onError: (error) => logger.error({ err: error }, 'ops server error'),
});
logger.info({ url: ops.url }, 'ops server listening');

const consumer = createGroupConsumer(kafka, {
  groupId: config.validateGroupId,
  sessionTimeoutMs: config.kafkaSessionTimeoutMs,
});
await consumer.connect();
// One transactional id per partition of the received topic, the same in every process (see worker.ts).
const transactionalProducer = async (partition: number) => {
  const producer = createTransactionalProducer(
    kafka,
    transactionalIdFor(config.validateGroupId, names.submissionsReceived, partition),
  );
  await producer.connect();
  return producer;
};

// The cycles operators open, close and reopen on cycles.v1, followed for as long as the worker runs.
const cycles = new CycleBook();
const cycleFollower = await loadCycles({
  kafka,
  book: cycles,
  topic: cyclesTopic(config.topicNamespace),
  replicationFactor: config.topicReplicationFactor,
  groupIdPrefix: `${config.kafkaClientId}-validate-cycles`,
  onInvalidRecord: (error, key) => logger.error({ err: error, key }, 'unreadable cycles record skipped'),
  onCrash: (error, restarting) => logger.error({ err: error, restarting }, 'cycles consumer crashed'),
});

// The reviews on reviews.v1: a record received while its city's data for its cycle stood accepted by the
// ministry is rejected (city_cycle_locked), as ingest refuses it at its door.
const reviews = new ReviewBook();
const reviewFollower = await loadReviews({
  kafka,
  book: reviews,
  topic: reviewsTopic(config.topicNamespace),
  replicationFactor: config.topicReplicationFactor,
  groupIdPrefix: `${config.kafkaClientId}-validate-reviews`,
  onInvalidRecord: (error, key) => logger.error({ err: error, key }, 'unreadable reviews record skipped'),
  onCrash: (error, restarting) => logger.error({ err: error, restarting }, 'reviews consumer crashed'),
});

const worker = createValidateWorker({
  consumer,
  transactionalProducer,
  admin,
  groupId: config.validateGroupId,
  metrics,
  logger,
  rules: createRuleContext(undefined, cycles, reviews.lockRule),
  topics: {
    received: names.submissionsReceived,
    validated: names.submissionsValidated,
    rejected: names.submissionsRejected,
  },
});
await worker.start();
logger.info('consuming');

const shutdown = async (signal: string): Promise<void> => {
  logger.info({ signal, ...worker.counts }, 'draining');
  await worker.stop();
  await cycleFollower.stop();
  await reviewFollower.stop();
  await ops.close();
  await admin.disconnect();
  logger.info('stopped');
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
