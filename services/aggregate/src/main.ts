// Entry point of the aggregate service: object store, DuckDB, Kafka, the ops server, the cycles, reviews and rectification,
// then the worker, run by @citycheck/service (drained on SIGTERM: the batch in hand, the pending rollup).
import { setPriority } from 'node:os';
import { listCatalogueVersions, loadCatalogue, loadCycleSettings } from '@citycheck/catalogue';
import { objectStoreSettings, objectStoreVariables } from '@citycheck/config';
import { CycleBook } from '@citycheck/cycles';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { createGroupConsumer, createReliableProducer } from '@citycheck/kafka';
import { createCommitLog, createObjectStore, datasets, openLakeDatabase } from '@citycheck/lake';
import { createMetricsRegistry, createPipelineMetrics, registerConsumerLag } from '@citycheck/metrics';
import { RectificationBook } from '@citycheck/rectification';
import { ReviewBook } from '@citycheck/reviews';
import {
  brokerAnswers,
  clientRetries,
  connectKafka,
  followCyclesOf,
  followRectificationOf,
  followReviewsOf,
  runService,
  startWorkerOps,
} from '@citycheck/service';
import { writeReference } from './reference.js';
import { createAggregateWorker } from './worker.js';

await runService({
  service: 'aggregate',
  variables: [
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
  ],
  start: async (context) => {
    const { config, logger, onClose } = context;
    // A batch worker yields the CPU to ingest when they share a box (WORKER_NICENESS).
    if (config.workerNiceness > 0) setPriority(config.workerNiceness);

    const s3 = objectStoreSettings(config);
    const store = createObjectStore(s3);
    onClose(() => store.close());
    await store.ensureBucket();
    const lake = await openLakeDatabase({
      extensionDirectory: config.duckdbExtensionDirectory,
      s3,
      memoryLimit: config.aggregateDuckdbMemoryLimit,
    });
    onClose(() => lake.close());

    // Derivation runs on a connection of its own, beside the lake writer's (DuckDB runs one statement at a
    // time per connection; the two share the instance's threads, memory limit and attached databases).
    const derivationConnection = await lake.instance.connect();
    onClose(() => derivationConnection.closeSync());

    // Reference data first: the rollups join against it.
    const catalogues = listCatalogueVersions().map((version) => loadCatalogue(version));
    await writeReference(lake.connection, store, catalogues, loadDivisionRegistry());

    const { kafka, admin, topics } = await connectKafka(context, {
      retries: clientRetries.worker,
      pipelineTopicPartitions: config.topicPartitions,
    });

    const registry = createMetricsRegistry({ service: 'aggregate' });
    const metrics = createPipelineMetrics(registry, { lakeWriter: true });
    registerConsumerLag(registry, {
      admin,
      groupId: config.aggregateGroupId,
      topics: [topics.submissionsValidated],
    });
    await startWorkerOps(context, {
      registry,
      port: config.aggregateOpsPort,
      ready: async () => {
        const [broker, objectStore, duckdb] = await Promise.all([
          brokerAnswers(admin),
          store.ping(),
          lake.connection
            .run('SELECT 1')
            .then(() => true)
            .catch(() => false),
        ]);
        return { broker, objectStore, duckdb };
      },
    });
    const consumer = createGroupConsumer(kafka, {
      groupId: config.aggregateGroupId,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
      // Up to a second of records per fetch, so objects are not tiny under light load.
      largeFetches: true,
    });
    await consumer.connect();
    const producer = createReliableProducer(kafka);
    await producer.connect();
    onClose(() => producer.disconnect());

    // The cycles operators run (cycles.v1): expected cities and deadlines of completeness, and the lake's copy.
    const cycleBook = new CycleBook();
    await followCyclesOf(context, kafka, cycleBook);
    // The reviews of each city's data (reviews.v1): the lake's copy, for the reviews views.
    const reviewBook = new ReviewBook();
    await followReviewsOf(context, kafka, reviewBook);
    // The rectification of the ledger's items (rectification.v1): the lake's copy, for the rectification views.
    const rectificationBook = new RectificationBook();
    await followRectificationOf(context, kafka, rectificationBook);

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
      rectificationBook,
      rotation: {
        maxRecords: config.aggregateFlushRecords,
        maxBytes: config.aggregateFlushBytes,
        maxRecordSpanMs: config.aggregateFlushRecordSpanMs,
      },
      rollupDebounceMs: config.rollupDebounceMs,
      validatedTopic: topics.submissionsValidated,
      announce: { producer, topic: topics.lakeBatchesCommitted, derivedTopic: topics.lakeRollupsDerived },
      metrics,
      // Fault tests kill the worker at the two points where a crash matters most; see test/faults.
      ...(config.aggregateFault === 'before-lake-commit' ? { beforeLakeCommit: killNow } : {}),
      ...(config.aggregateFault === 'after-lake-commit' ? { afterChunkCommitted: killNow } : {}),
    });
    await worker.start();
    // Drain: finish the batch in hand and run the pending rollup, then close the rest.
    onClose(() => worker.stop());
    logger.info('consuming');
    return () => ({ ...worker.stats });
  },
});
