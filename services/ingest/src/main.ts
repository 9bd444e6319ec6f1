// Entry point of the ingest service: Kafka, the credentials, submission index, cycles, reviews and
// rectification loaded from their topics, the lake bucket for evidence files, then the HTTP server, run by
// @citycheck/service (drained on SIGTERM).
import { objectStoreSettings, objectStoreVariables } from '@citycheck/config';
import { CredentialStore, ensureCredentialsTopic, followCredentials } from '@citycheck/credentials';
import { CycleBook, cyclesTopic, ensureCyclesTopic, followCycles } from '@citycheck/cycles';
import { createReliableProducer, type FollowerSettings, faultWhileFileExists } from '@citycheck/kafka';
import { createObjectStore } from '@citycheck/lake';
import {
  createMetricsRegistry,
  createPipelineMetrics,
  instrumentFastify,
  registerFollowerMetrics,
} from '@citycheck/metrics';
import {
  ensureRectificationTopic,
  followRectification,
  RectificationBook,
  rectificationTopic,
} from '@citycheck/rectification';
import { ensureReviewsTopic, followReviews, ReviewBook, reviewsTopic } from '@citycheck/reviews';
import { createRuleContext } from '@citycheck/rules';
import { brokerAnswers, clientRetries, connectKafka, runService } from '@citycheck/service';
import { buildIngestApp } from './app.js';
import { followSubmissionIndex } from './index-follower.js';
import { createRefusalLog } from './output-refusals.js';
import { rulesAtTheDoor } from './submission-checks.js';
import { SubmissionIndex } from './submission-index.js';

await runService({
  service: 'ingest',
  variables: [
    'kafkaBrokers',
    'kafkaClientId',
    'topicPartitions',
    'topicReplicationFactor',
    'ingestHost',
    'ingestPort',
    'ingestBodyLimitBytes',
    'ingestBulkLimitBytes',
    'ingestBulkBatchSize',
    'ingestRateLimitMax',
    'ingestRateLimitWindowMs',
    'ingestStartTimeoutMs',
    'httpIdleTimeoutMs',
    'topicNamespace',
    'followerStaleAfterMs',
    'followerFaultFile',
    ...objectStoreVariables,
  ],
  start: async (context) => {
    const { config, logger, onClose } = context;
    // Short retries: a city waiting on an HTTP answer should get a 503 quickly, not hang while Kafka is away.
    const { kafka, admin, topics } = await connectKafka(context, {
      retries: clientRetries.ingest,
      pipelineTopicPartitions: config.topicPartitions,
    });
    // Pipeline topics live under TOPIC_NAMESPACE; credentials.v1 is the cluster's, shared by every namespace.
    await ensureCredentialsTopic(kafka, { replicationFactor: config.topicReplicationFactor });
    await ensureCyclesTopic(kafka, {
      topic: cyclesTopic(config.topicNamespace),
      replicationFactor: config.topicReplicationFactor,
    });
    await ensureReviewsTopic(kafka, {
      topic: reviewsTopic(config.topicNamespace),
      replicationFactor: config.topicReplicationFactor,
    });
    await ensureRectificationTopic(kafka, {
      topic: rectificationTopic(config.topicNamespace),
      replicationFactor: config.topicReplicationFactor,
    });
    // Evidence files of the rectification routes go to the lake bucket (aggregate creates it), beside the data
    // they are about. Nothing is asked of the store at start: ingest takes submissions while it is away.
    const evidenceStore = createObjectStore(objectStoreSettings(config));
    onClose(() => evidenceStore.close());
    const producer = createReliableProducer(kafka);
    await producer.connect();
    onClose(() => producer.disconnect());

    // State read from Kafka: every credential, and every submission with its status. The followers restart
    // their consumers after any crash; a view not known current for followerStaleAfterMs closes /v1 (503).
    const followerSettings = (view: string): FollowerSettings => ({
      staleAfterMs: config.followerStaleAfterMs,
      onCrash: (error, restarting, retryInMs) =>
        logger.error({ err: error, restarting, retryInMs }, `${view} consumer crashed`),
      onRestart: (restarts) => logger.warn({ restarts }, `${view} consumer started again`),
      ...(config.followerFaultFile === ''
        ? {}
        : { injectFault: faultWhileFileExists(config.followerFaultFile) }),
    });
    const credentials = new CredentialStore();
    const credentialFollower = followCredentials({
      kafka,
      store: credentials,
      groupIdPrefix: `${config.kafkaClientId}-ingest-credentials`,
      onInvalidRecord: (error, credentialId) =>
        logger.error({ err: error, credentialId }, 'unreadable credential record skipped'),
      ...followerSettings('credentials'),
    });
    const index = new SubmissionIndex();
    const indexFollower = followSubmissionIndex({
      kafka,
      index,
      topics: {
        received: topics.submissionsReceived,
        validated: topics.submissionsValidated,
        rejected: topics.submissionsRejected,
        committed: topics.lakeBatchesCommitted,
        derived: topics.lakeRollupsDerived,
      },
      groupIdPrefix: `${config.kafkaClientId}-ingest-index`,
      onInvalidRecord: (error, where) =>
        logger.warn({ err: error, ...where }, 'unreadable record skipped by the submission index'),
      ...followerSettings('submission index'),
    });
    // The cycles operators open, close and reopen: closing refuses, the deadline marks receipts late.
    const cycles = new CycleBook();
    const cycleFollower = followCycles({
      kafka,
      book: cycles,
      topic: cyclesTopic(config.topicNamespace),
      groupIdPrefix: `${config.kafkaClientId}-ingest-cycles`,
      onInvalidRecord: (error, key) => logger.error({ err: error, key }, 'unreadable cycles record skipped'),
      ...followerSettings('cycles'),
    });
    // The reviews of each city's data: an accepted city's submissions are refused until a reviewer reopens it.
    const reviews = new ReviewBook();
    const reviewFollower = followReviews({
      kafka,
      book: reviews,
      topic: reviewsTopic(config.topicNamespace),
      groupIdPrefix: `${config.kafkaClientId}-ingest-reviews`,
      onInvalidRecord: (error, key) => logger.error({ err: error, key }, 'unreadable reviews record skipped'),
      ...followerSettings('reviews'),
    });
    // The ledger items' rectification: each action starts from the item as it stands.
    const rectification = new RectificationBook();
    const rectificationFollower = followRectification({
      kafka,
      book: rectification,
      topic: rectificationTopic(config.topicNamespace),
      groupIdPrefix: `${config.kafkaClientId}-ingest-rectification`,
      onInvalidRecord: (error, key) =>
        logger.error({ err: error, key }, 'unreadable rectification record skipped'),
      ...followerSettings('rectification'),
    });
    const followers = [
      credentialFollower,
      indexFollower,
      cycleFollower,
      reviewFollower,
      rectificationFollower,
    ];
    await Promise.all(followers.map((follower) => follower.start()));
    onClose(() => Promise.all(followers.map((follower) => follower.stop())));
    const loaded = Promise.all(followers.map((follower) => follower.caughtUp()));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () =>
          reject(
            new Error(`credentials and submission index not loaded within ${config.ingestStartTimeoutMs} ms`),
          ),
        config.ingestStartTimeoutMs,
      ).unref(),
    );
    await Promise.race([loaded, timeout]);
    logger.info(
      { credentials: credentials.size, submissions: index.size },
      'credentials and submission index loaded',
    );

    const registry = createMetricsRegistry({ service: 'ingest' });
    registerFollowerMetrics(registry, { credentials: credentialFollower, submissionIndex: indexFollower });
    // Dry runs apply exactly the rules validate applies.
    const rules = createRuleContext(undefined, cycles);
    // Refusals go out on a producer of their own, so their sends never queue behind a city's accepted records.
    const refusalProducer = kafka.producer({ allowAutoTopicCreation: false });
    await refusalProducer.connect();
    onClose(() => refusalProducer.disconnect());
    const refusals = createRefusalLog({
      producer: refusalProducer,
      topic: topics.submissionsRefused,
      logger,
    });
    onClose(() => refusals.stop());
    const app = buildIngestApp({
      producer,
      refusals,
      receivedTopic: topics.submissionsReceived,
      metrics: createPipelineMetrics(registry),
      ...rulesAtTheDoor(rules),
      catalogue: rules.catalogue,
      divisions: rules.divisions,
      logger,
      authenticator: credentials,
      index,
      cycles,
      reviews,
      reviewsTopic: reviewsTopic(config.topicNamespace),
      rectification,
      rectificationTopic: rectificationTopic(config.topicNamespace),
      evidenceStore,
      bodyLimitBytes: config.ingestBodyLimitBytes,
      idleTimeoutMs: config.httpIdleTimeoutMs,
      bulkLimitBytes: config.ingestBulkLimitBytes,
      bulkBatchSize: config.ingestBulkBatchSize,
      rateLimit: { max: config.ingestRateLimitMax, windowMs: config.ingestRateLimitWindowMs },
      receivedPartitionCount: async () =>
        (await admin.fetchTopicMetadata({ topics: [topics.submissionsReceived] })).topics[0]?.partitions
          .length,
      stateReady: () => followers.every((follower) => follower.isHealthy),
      stateCurrent: () => followers.every((follower) => follower.isCurrent),
      brokerReady: () => brokerAnswers(admin),
    });
    instrumentFastify(app, { registry });
    // close() stops accepting connections and waits for in-flight requests to finish.
    onClose(() => app.close());
    await app.listen({ host: config.ingestHost, port: config.ingestPort });
    return undefined;
  },
});
