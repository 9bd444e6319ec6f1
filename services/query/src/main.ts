// Entry point of the query service: object store, DuckDB query engine, Kafka (credentials, cycles and
// pipeline offsets), the HTTP app and the PostgreSQL door, run by @citycheck/service (drained on SIGTERM).
import { objectStoreSettings, objectStoreVariables } from '@citycheck/config';
import { CredentialStore, ensureCredentialsTopic, followCredentials } from '@citycheck/credentials';
import { CycleBook } from '@citycheck/cycles';
import { faultWhileFileExists } from '@citycheck/kafka';
import { createCommitLog, createObjectStore, datasets } from '@citycheck/lake';
import { createMetricsRegistry, registerFollowerMetrics } from '@citycheck/metrics';
import { brokerAnswers, clientRetries, connectKafka, followCyclesOf, runService } from '@citycheck/service';
import { buildQueryApp } from './app.js';
import { createLakeViewDefiner } from './lake-views.js';
import { createPgDoor } from './pg-door.js';
import { createPipelineStatus } from './pipeline-status.js';
import { createQueryEngine } from './query-engine.js';
import { registerCycleMetrics } from './status-metrics.js';

await runService({
  service: 'query',
  variables: [
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
  ],
  start: async (context) => {
    const { config, logger, onClose } = context;
    const s3 = objectStoreSettings(config);
    const store = createObjectStore(s3);
    onClose(() => store.close());
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
    onClose(() => engine.close());

    const { kafka, admin, topics } = await connectKafka(context, { retries: clientRetries.tool });
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
      ...(config.followerFaultFile === ''
        ? {}
        : { injectFault: faultWhileFileExists(config.followerFaultFile) }),
    });
    await follower.start();
    onClose(() => follower.stop());
    await follower.caughtUp();
    logger.info({ credentials: credentials.size }, 'credentials loaded');
    // The cycles operators run: the status page shows the one they designated current.
    const cycles = new CycleBook();
    await followCyclesOf(context, kafka, cycles);

    const registry = createMetricsRegistry({ service: 'query' });
    registerFollowerMetrics(registry, { credentials: follower });

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
      }))(topics),
      groups: { validate: config.validateGroupId, aggregate: config.aggregateGroupId },
      windowMs: config.statusWindowMs,
      metricsTargets: config.statusMetricsTargets,
      lakeCommits: () => commitLog.committed(),
      cycles,
      ownMetrics: () => registry.metrics(),
    });
    registerCycleMetrics(registry, () => status.latest()?.completeness);
    await status.start();
    onClose(() => status.stop());
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
        broker: await brokerAnswers(admin),
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
    onClose(() => pgDoor.close());
    // Closed before the door: close() stops accepting connections and waits for queries being streamed.
    onClose(() => app.close());
    const pgAddress = await pgDoor.listen({ host: config.queryPgHost, port: config.queryPgPort });
    logger.info({ host: pgAddress.address, port: pgAddress.port }, 'PostgreSQL door listening');

    // New lake objects become queryable at the next refresh.
    let refreshing = false;
    const refreshTimer = setInterval(() => {
      if (refreshing) return;
      refreshing = true;
      engine
        .refresh()
        .catch((error: unknown) =>
          logger.warn({ err: error }, 'lake refresh failed; serving the previous views'),
        )
        .finally(() => {
          refreshing = false;
        });
    }, config.queryLakeRefreshMs);
    onClose(() => clearInterval(refreshTimer));
    return undefined;
  },
});
