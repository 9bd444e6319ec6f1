// Entry point of the ingest service: config -> logger -> Kafka producer -> HTTP server -> drain on SIGTERM.
import { readConfig, redactConfig } from '@citycheck/config';
import { createKafka, createReliableProducer, ensureTopics, pipelineTopicSpecs } from '@citycheck/kafka';
import { createLogger } from '@citycheck/logging';
import { buildIngestApp } from './app.js';

const config = readConfig([
  'logLevel',
  'kafkaBrokers',
  'kafkaClientId',
  'topicPartitions',
  'topicReplicationFactor',
  'ingestHost',
  'ingestPort',
  'ingestBodyLimitBytes',
]);
const logger = createLogger({ service: 'ingest', level: config.logLevel });
logger.info({ config: redactConfig(config) }, 'starting');

// Short retries: a city waiting on an HTTP answer should get a 503 quickly, not hang while Kafka is away.
const kafka = createKafka({ brokers: config.kafkaBrokers, clientId: `${config.kafkaClientId}-ingest`, retries: 2 });
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, pipelineTopicSpecs(config.topicPartitions, config.topicReplicationFactor));
const producer = createReliableProducer(kafka);
await producer.connect();

const app = buildIngestApp({
  producer,
  logger,
  bodyLimitBytes: config.ingestBodyLimitBytes,
  brokerReady: async () => {
    try {
      await admin.describeCluster();
      return true;
    } catch {
      return false;
    }
  },
});
await app.listen({ host: config.ingestHost, port: config.ingestPort });

const shutdown = async (signal: string): Promise<void> => {
  logger.info({ signal }, 'draining');
  // close() stops accepting connections and waits for in-flight requests to finish.
  await app.close();
  await producer.disconnect();
  await admin.disconnect();
  logger.info('stopped');
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
