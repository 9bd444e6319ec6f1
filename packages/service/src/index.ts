// How every citycheck service runs: config -> logger -> clients -> start -> drain on SIGTERM or SIGINT ->
// close in the reverse order things opened -> exit 0 (1 after a failed start; an uncaught error crashes).
import { type Config, readConfig, redactConfig, type VariableName } from '@citycheck/config';
import { type CycleBook, cyclesTopic, loadCycles } from '@citycheck/cycles';
import {
  type Admin,
  clientRetries,
  createKafka,
  ensureTopics,
  type FollowBookOptions,
  type Kafka,
  pipelineTopicSpecs,
  type TopicFollower,
  type TopicNames,
  topicNames,
} from '@citycheck/kafka';
import { createLogger, type Logger } from '@citycheck/logging';
import { type OpsServer, type OpsServerOptions, startOpsServer } from '@citycheck/metrics';
import { loadRectification, type RectificationBook, rectificationTopic } from '@citycheck/rectification';
import { loadReviews, type ReviewBook, reviewsTopic } from '@citycheck/reviews';
import closeWithGrace from 'close-with-grace';

export interface ServiceContext<K extends VariableName> {
  readonly service: string;
  readonly config: Config<K | 'logLevel'>;
  readonly logger: Logger;
  /** `close` runs on stop before everything registered earlier, so things close in reverse order of opening. */
  onClose(close: () => unknown): void;
}

export interface ServiceDefinition<K extends VariableName> {
  readonly service: string;
  /** The variables the service reads; LOG_LEVEL is always read. */
  readonly variables: readonly K[];
  /** Opens the clients and starts; may return the fields the `draining` and `stopped` lines carry. */
  readonly start: (context: ServiceContext<K>) => Promise<(() => Record<string, unknown>) | undefined>;
}

/** The signals close-with-grace would also drain on; the services never did, so they keep Node's defaults. */
const otherSignals = [
  'SIGHUP',
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGSEGV',
  'SIGUSR2',
] as const;

/**
 * Runs a service until SIGTERM or SIGINT, then drains it: each close registered with `onClose`, latest
 * first, waits for the work in hand (no deadline: a second signal exits at once, with 1), then exits 0. A
 * failed start closes what it had opened and exits 1.
 */
export const runService = async <K extends VariableName>({
  service,
  variables,
  start,
}: ServiceDefinition<K>): Promise<void> => {
  const config = readConfig([...variables, 'logLevel']);
  const logger = createLogger({ service, level: config.logLevel });
  logger.info({ config: redactConfig(config) }, 'starting');
  const closes: (() => unknown)[] = [];
  let fields: () => Record<string, unknown> = () => ({});
  const closeAll = async (): Promise<void> => {
    for (const close of [...closes].reverse()) await close();
  };
  closeWithGrace(
    {
      // SIGTERM and SIGINT drain, as they always did. An uncaught error does not: the state it leaves is not
      // known, so the process ends at once with 1 (Node's own way) and the next one reads its records again.
      skip: [...otherSignals, 'uncaughtException', 'unhandledRejection'],
      delay: false,
      logger: { error: (message: unknown) => logger.error({ err: message }, 'closing failed') },
      onSecondSignal: (signal) => logger.error({ signal }, 'second signal while draining; exiting'),
    },
    async ({ signal }) => {
      logger.info({ ...(signal === undefined ? {} : { signal }), ...fields() }, 'draining');
      await closeAll();
      logger.info(fields(), 'stopped');
    },
  );
  try {
    fields =
      (await start({ service, config, logger, onClose: (close) => void closes.push(close) })) ?? fields;
  } catch (error) {
    logger.error({ err: error }, 'start failed');
    await closeAll().catch((closing: unknown) => logger.error({ err: closing }, 'closing failed'));
    process.exit(1);
  }
};

type KafkaVariables = 'kafkaBrokers' | 'kafkaClientId' | 'topicReplicationFactor' | 'topicNamespace';

export interface ServiceKafka {
  readonly kafka: Kafka;
  /** Connected; disconnected on close. */
  readonly admin: Admin;
  readonly topics: TopicNames;
}

/** The service's Kafka client and a connected admin, and the pipeline topics created when missing. */
export const connectKafka = async (
  { service, config, logger, onClose }: ServiceContext<KafkaVariables>,
  {
    retries,
    pipelineTopicPartitions,
  }: {
    readonly retries: number;
    /** Creates the missing pipeline topics with this many partitions (TOPIC_PARTITIONS); none if undefined. */
    readonly pipelineTopicPartitions?: number;
  },
): Promise<ServiceKafka> => {
  const kafka = createKafka({
    brokers: config.kafkaBrokers,
    clientId: `${config.kafkaClientId}-${service}`,
    retries,
    logger,
  });
  const admin = kafka.admin();
  await admin.connect();
  onClose(() => admin.disconnect());
  if (pipelineTopicPartitions !== undefined)
    await ensureTopics(
      admin,
      pipelineTopicSpecs(pipelineTopicPartitions, config.topicReplicationFactor, config.topicNamespace),
    );
  return { kafka, admin, topics: topicNames(config.topicNamespace) };
};

export { clientRetries };

/** Whether the broker answers, for readiness. */
export const brokerAnswers = (admin: Admin): Promise<boolean> =>
  admin
    .describeCluster()
    .then(() => true)
    .catch(() => false);

/** What a state topic's `load` takes (loadCycles, loadReviews). */
type LoadBook<Book> = (
  options: FollowBookOptions<Book> & { replicationFactor?: number },
) => Promise<TopicFollower>;

/** A state topic of the namespace read to its end into `book`, then followed until the service stops. */
const loadBookOf = async <Book>(
  { service, config, logger, onClose }: ServiceContext<KafkaVariables>,
  kafka: Kafka,
  book: Book,
  name: string,
  topicIn: (namespace: string) => string,
  load: LoadBook<Book>,
): Promise<TopicFollower> => {
  const follower = await load({
    kafka,
    book,
    topic: topicIn(config.topicNamespace),
    replicationFactor: config.topicReplicationFactor,
    groupIdPrefix: `${config.kafkaClientId}-${service}-${name}`,
    onInvalidRecord: (error, key) => logger.error({ err: error, key }, `unreadable ${name} record skipped`),
    onCrash: (error, restarting) => logger.error({ err: error, restarting }, `${name} consumer crashed`),
  });
  onClose(() => follower.stop());
  return follower;
};

/** The cycles operators run, read to the end of cycles.v1 and followed until the service stops. */
export const followCyclesOf = (context: ServiceContext<KafkaVariables>, kafka: Kafka, book: CycleBook) =>
  loadBookOf(context, kafka, book, 'cycles', cyclesTopic, loadCycles);

/** The reviews of each city's data, read to the end of reviews.v1 and followed until the service stops. */
export const followReviewsOf = (context: ServiceContext<KafkaVariables>, kafka: Kafka, book: ReviewBook) =>
  loadBookOf(context, kafka, book, 'reviews', reviewsTopic, loadReviews);

/** The rectification of the ledger's items, read to the end of rectification.v1 and followed until the service stops. */
export const followRectificationOf = (
  context: ServiceContext<KafkaVariables>,
  kafka: Kafka,
  book: RectificationBook,
) => loadBookOf(context, kafka, book, 'rectification', rectificationTopic, loadRectification);

/** A worker's ops server (metrics, liveness, readiness) on OPS_HOST, closed on stop. */
export const startWorkerOps = async (
  { config, logger, onClose }: ServiceContext<'opsHost'>,
  { registry, port, ready }: Pick<OpsServerOptions, 'registry' | 'port' | 'ready'>,
): Promise<OpsServer> => {
  const ops = await startOpsServer({
    registry,
    host: config.opsHost,
    port,
    ready,
    onError: (error) => logger.error({ err: error }, 'ops server error'),
  });
  onClose(() => ops.close());
  logger.info({ url: ops.url }, 'ops server listening');
  return ops;
};
