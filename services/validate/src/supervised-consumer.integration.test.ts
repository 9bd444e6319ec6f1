// A worker's consumer that kafkajs stops for good (here: the batch handler throws an error kafkajs does not
// retry, as with a group coordinator it cannot find while the broker is down) is started again by runSupervised, on the same subscription, and the record is then processed;
// without supervision the same consumer stays stopped and the record waits forever.
import { NonRetriableKafkaError, runSupervised } from '@citycheck/kafka';
import { createFreshTopic, produceJson, uniqueName, waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';

const recordingLogger = () => {
  const lines: string[] = [];
  return {
    lines,
    warn: (_fields: Record<string, unknown>, message: string) => void lines.push(`warn ${message}`),
    error: (_fields: Record<string, unknown>, message: string) => void lines.push(`error ${message}`),
  };
};

describe('runSupervised', () => {
  it('starts a consumer kafkajs gave up on again, and the record gets processed', async () => {
    const { kafka, topic } = await createFreshTopic('supervised');
    await produceJson(kafka, topic, [{ key: 'k', value: { n: 1 } }]);

    /** A consumer whose handler fails the first `failures` deliveries with an error kafkajs does not retry. */
    const consume = async (failures: number, supervised: boolean) => {
      const consumer = kafka.consumer({ groupId: uniqueName('supervised-group') });
      const logger = recordingLogger();
      let deliveries = 0;
      const processed: string[] = [];
      let crashes = 0;
      consumer.on(consumer.events.CRASH, () => {
        crashes += 1;
      });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const config = {
        eachMessage: async ({ message }: { message: { offset: string } }) => {
          deliveries += 1;
          if (deliveries <= failures) throw new NonRetriableKafkaError('the handler failed');
          processed.push(message.offset);
        },
      };
      const supervision = supervised
        ? await runSupervised(consumer, config, { logger, initialDelayMs: 200 })
        : (await consumer.run(config), undefined);
      return { consumer, logger, supervision, state: () => ({ deliveries, processed, crashes }) };
    };

    const plain = await consume(1, false);
    await waitFor(async () => (plain.state().crashes > 0 ? true : undefined), { timeoutMs: 30_000 });
    // Given time in which a restart would long have happened, the plain consumer has done nothing more.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(plain.state()).toEqual({ deliveries: 1, processed: [], crashes: 1 });
    await plain.consumer.disconnect();

    const watched = await consume(2, true);
    const done = await waitFor(
      async () => (watched.state().processed.length > 0 ? watched.state() : undefined),
      { timeoutMs: 60_000, what: 'the record processed after two crashes' },
    );
    expect(done).toEqual({ deliveries: 3, processed: ['0'], crashes: 2 });
    expect(watched.supervision?.restarts).toBe(2);
    expect(watched.logger.lines.filter((line) => line.startsWith('error consumer stopped')).length).toBe(2);
    watched.supervision?.stop();
    await watched.consumer.disconnect();
  }, 120_000);
});
