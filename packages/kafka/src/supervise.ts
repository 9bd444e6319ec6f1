// Keeping a worker's consumer running. kafkajs restarts a crashed consumer only when the error is
// retriable; after an error it marks as not retriable (the group coordinator not found while the broker is
// down for more than a few seconds, an offset commit refused after the member left the group) it
// disconnects and stays stopped, and the worker would live on with its group empty and nothing consumed. runSupervised starts it again after a
// backoff, on the same subscriptions, for as long as the worker has not been stopped.
import type { Consumer, ConsumerRunConfig } from 'kafkajs';

/** The part of a pino logger the supervisor reports to. */
export interface SupervisorLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface SuperviseOptions {
  readonly logger: SupervisorLog;
  /** First pause before starting a stopped consumer again; doubles while starting fails. */
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
  let stopped = false;
  let restarts = 0;
  let delayMs = initialDelayMs;
  let timer: NodeJS.Timeout | undefined;
  let startedAt = Date.now();

  const startAgain = (): void => {
    if (stopped || timer !== undefined) return;
    const wait = delayMs;
    delayMs = Math.min(maxDelayMs, delayMs * 2);
    timer = setTimeout(async () => {
      timer = undefined;
      if (stopped) return;
      restarts += 1;
      startedAt = Date.now();
      try {
        await consumer.run(config);
        logger.warn({ restarts }, 'consumer started again');
      } catch (error) {
        logger.error({ err: error, retryInMs: delayMs }, 'starting the consumer again failed');
        startAgain();
      }
    }, wait);
  };

  const removeCrash = consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) {
      logger.warn({ err: payload.error }, 'consumer crashed; kafkajs restarts it');
      return;
    }
    if (stopped) return;
    // A consumer that ran a while before this crash starts again after the short pause; one that keeps
    // crashing soon after each start waits longer each time.
    if (Date.now() - startedAt > steadyAfterMs) delayMs = initialDelayMs;
    logger.error(
      { err: payload.error, retryInMs: delayMs },
      'consumer stopped after an error kafkajs does not retry; starting it again',
    );
    startAgain();
  });

  await consumer.run(config);
  return {
    get restarts() {
      return restarts;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      removeCrash();
    },
  };
};
