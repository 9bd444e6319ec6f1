// A worker whose consumer kafkajs will not restart must end its process (so its supervisor starts a fresh
// one) rather than live on with its consumer group empty; a crash kafkajs restarts from is left to it.
import { createReliableProducer, exitWhenConsumerStops, sendJson } from '@citycheck/kafka';
import { createTestTopics, testKafka, uniqueName, waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';

const recordingLogger = () => {
  const lines: string[] = [];
  return {
    lines,
    warn: (_fields: Record<string, unknown>, message: string) => void lines.push(`warn ${message}`),
    error: (_fields: Record<string, unknown>, message: string) => void lines.push(`error ${message}`),
  };
};

describe('exitWhenConsumerStops', () => {
  it('exits with 1 when the consumer crashed for good, and only then', async () => {
    const kafka = testKafka();
    const topic = uniqueName('crash');
    await createTestTopics(kafka, [topic], 1);
    const producer = createReliableProducer(kafka);
    await producer.connect();
    await sendJson(producer, topic, [{ key: 'k', value: { n: 1 } }]);
    await producer.disconnect();

    const run = async (restart: boolean) => {
      const consumer = kafka.consumer({
        groupId: uniqueName('crash-group'),
        retry: { retries: 0, restartOnFailure: async () => restart },
      });
      const logger = recordingLogger();
      const exits: number[] = [];
      exitWhenConsumerStops(consumer, logger, (code) => exits.push(code));
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async () => {
          throw new Error('the handler failed');
        },
      });
      await waitFor(async () => (logger.lines.length > 0 ? true : undefined), { timeoutMs: 30_000 });
      await consumer.disconnect();
      return { exits, lines: logger.lines };
    };

    const given = await run(false);
    expect(given.exits).toEqual([1]);
    expect(given.lines).toEqual(['error consumer stopped for good; exiting so the worker is restarted']);

    const restarted = await run(true);
    expect(restarted.exits).toEqual([]);
    expect(restarted.lines[0]).toBe('warn consumer crashed; kafkajs restarts it');
  }, 90_000);
});
