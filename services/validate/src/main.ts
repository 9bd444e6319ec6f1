// Entry point of the validate service: Kafka, the ops server, the cycles and reviews, then the worker, run by
// @citycheck/service (drained on SIGTERM).
import { setPriority } from 'node:os';
import { CycleBook } from '@citycheck/cycles';
import { createGroupConsumer, createTransactionalProducer } from '@citycheck/kafka';
import { createMetricsRegistry, createPipelineMetrics, registerConsumerLag } from '@citycheck/metrics';
import { ReviewBook } from '@citycheck/reviews';
import { createRuleContext } from '@citycheck/rules';
import {
  brokerAnswers,
  clientRetries,
  connectKafka,
  followCyclesOf,
  followReviewsOf,
  runService,
  startWorkerOps,
} from '@citycheck/service';
import { createValidateWorker, transactionalIdFor } from './worker.js';

await runService({
  service: 'validate',
  variables: [
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
  ],
  start: async (context) => {
    const { config, logger, onClose } = context;
    // A batch worker yields the CPU to ingest when they share a box (WORKER_NICENESS).
    if (config.workerNiceness > 0) setPriority(config.workerNiceness);
    const { kafka, admin, topics } = await connectKafka(context, {
      retries: clientRetries.worker,
      pipelineTopicPartitions: config.topicPartitions,
    });

    const registry = createMetricsRegistry({ service: 'validate' });
    const metrics = createPipelineMetrics(registry);
    registerConsumerLag(registry, {
      admin,
      groupId: config.validateGroupId,
      topics: [topics.submissionsReceived],
    });
    await startWorkerOps(context, {
      registry,
      port: config.validateOpsPort,
      ready: async () => ({ broker: await brokerAnswers(admin) }),
    });

    const consumer = createGroupConsumer(kafka, {
      groupId: config.validateGroupId,
      sessionTimeoutMs: config.kafkaSessionTimeoutMs,
    });
    await consumer.connect();
    // One transactional id per partition of the received topic, the same in every process (see worker.ts).
    const transactionalProducer = async (partition: number) => {
      const producer = createTransactionalProducer(
        kafka,
        transactionalIdFor(config.validateGroupId, topics.submissionsReceived, partition),
      );
      await producer.connect();
      return producer;
    };

    // The cycles operators open, close and reopen on cycles.v1, followed for as long as the worker runs.
    const cycles = new CycleBook();
    const cyclesFollower = await followCyclesOf(context, kafka, cycles);
    // The reviews on reviews.v1: a record received while its city's data for its cycle stood accepted by the
    // ministry is rejected (city_cycle_locked), as ingest refuses it at its door.
    const reviews = new ReviewBook();
    const reviewsFollower = await followReviewsOf(context, kafka, reviews);

    const worker = createValidateWorker({
      consumer,
      transactionalProducer,
      admin,
      groupId: config.validateGroupId,
      metrics,
      logger,
      rules: createRuleContext(undefined, cycles, reviews.lockRule),
      // A record is judged by when it was received: both books first hear every change made before then.
      stateAsOf: async (receivedAt) => {
        await Promise.all([
          reviewsFollower.heardBy(receivedAt.getTime()),
          cyclesFollower.heardBy(receivedAt.getTime()),
        ]);
      },
      topics: {
        received: topics.submissionsReceived,
        validated: topics.submissionsValidated,
        rejected: topics.submissionsRejected,
      },
    });
    await worker.start();
    onClose(() => worker.stop());
    logger.info('consuming');
    return () => ({ ...worker.counts });
  },
});
