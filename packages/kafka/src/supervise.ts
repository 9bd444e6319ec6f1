// Keeping a worker's consumer running. kafkajs restarts a crashed consumer only when the error is
// retriable; after an error it marks as not retriable (the group coordinator not found while the broker is
// down for more than a few seconds, an offset commit refused after the member left the group) it
// disconnects and stays stopped, and the worker would live on with its group empty and nothing consumed. runSupervised starts it again after a
// backoff, on the same subscriptions, for as long as the worker has not been stopped.
import { createRestartLoop } from '@citycheck/errors';
import type { Consumer, ConsumerRunConfig } from 'kafkajs';

/** The part of a pino logger the supervisor reports to. */
export interface SupervisorLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface SuperviseOptions {
  readonly logger: SupervisorLog;
  /** First pause before starting a stopped consumer again; doubles while it keeps stopping soon after a start. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A consumer that ran this long before it crashed counts as healthy: the pause starts short again. */
  readonly steadyAfterMs?: number;
}

export interface Supervision {
  /** How many times the consumer was started again after kafkajs gave up on it. */
  readonly restarts: number;
  /** Call before disconnecting the consumer: a stopped worker is not started again. */
  stop(): void;
}

/** `consumer.run(config)`, and again after a backoff whenever kafkajs stops the consumer for good. */
export const runSupervised = async (
  consumer: Consumer,
  config: ConsumerRunConfig,
  { logger, initialDelayMs = 1_000, maxDelayMs = 30_000, steadyAfterMs = 60_000 }: SuperviseOptions,
): Promise<Supervision> => {
  const restarts = createRestartLoop({
    start: () => consumer.run(config),
    backoff: { initialDelayMs, maxDelayMs, jitter: 'none' },
    steadyAfterMs,
    onStarted: (count) => logger.warn({ restarts: count }, 'consumer started again'),
    onStartFailed: (error, retryInMs) =>
      logger.error({ err: error, retryInMs }, 'starting the consumer again failed'),
  });

  const removeCrash = consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      logger.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    const retryInMs = restarts.afterCrash();
    if (retryInMs === undefined) return;
    logger.error(
      { err: payload.error, retryInMs },
      'consumer stopped after an error kafkajs does not retry; starting it again',
    );
  });

  await consumer.run(config);
  return {
    get restarts() {
      return restarts.restarts;
    },
    stop() {
      restarts.stop();
      removeCrash();
    },
  };
};
