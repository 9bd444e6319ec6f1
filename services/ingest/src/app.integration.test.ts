// The ingest endpoint against the real Kafka broker: what gets a 202 is in the topic, what is malformed or
// too large is refused with a precise 4xx and never reaches it, and an unreachable broker means 503.
import { randomUUID } from 'node:crypto';
import { createKafka, createReliableProducer, decodeJson, type Kafka, type Producer } from '@citycheck/kafka';
import { createLogger } from '@citycheck/logging';
import { createTestTopics, readTopic, testKafka, uniqueName } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIngestApp } from './app.js';

const logger = createLogger({ service: 'ingest-test', level: 'silent' });

const submission = (overrides: Record<string, unknown> = {}) => ({
  submissionId: randomUUID(),
  cycle: 2024,
  catalogueVersion: '2024.1',
  cityCode: '110100',
  unit: { level: 'community', code: '110101001001' },
  observations: [{ indicator: 'C01', value: 2 }],
  ...overrides,
});

describe('POST /v1/submissions with a real broker', () => {
  let kafka: Kafka;
  let producer: Producer;
  let topic: string;
  let app: ReturnType<typeof buildIngestApp>;

  beforeAll(async () => {
    kafka = testKafka();
    topic = uniqueName('submissions-received');
    await createTestTopics(kafka, [topic]);
    producer = createReliableProducer(kafka);
    await producer.connect();
    app = buildIngestApp({ producer, logger, bodyLimitBytes: 64 * 1024, receivedTopic: topic });
  });

  afterAll(async () => {
    await app.close();
    await producer.disconnect();
  });

  it('accepts a well-formed submission with 202 only after the broker stored it, keyed by city', async () => {
    const body = submission();
    const response = await app.inject({ method: 'POST', url: '/v1/submissions', payload: body });
    expect(response.statusCode).toBe(202);
    const receipt = response.json();
    expect(receipt).toMatchObject({ submissionId: body.submissionId, status: 'accepted' });
    expect(receipt.contentHash).toMatch(/^[0-9a-f]{64}$/);

    const messages = await readTopic(kafka, topic);
    const stored = messages.find((m) => m.partition === receipt.partition && m.offset === receipt.offset);
    expect(stored?.key?.toString()).toBe('110100');
    expect((decodeJson(stored?.value ?? null) as { submission: unknown }).submission).toEqual(body);
  });

  it('refuses wrong-shaped, non-JSON and oversized bodies precisely, and none reaches Kafka', async () => {
    const before = (await readTopic(kafka, topic)).length;

    const wrongType = await app.inject({
      method: 'POST',
      url: '/v1/submissions',
      payload: submission({ cycle: 'twenty-twenty-four' }),
    });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error.code).toBe('invalid_request');
    expect(wrongType.json().error.problems).toEqual([
      { pointer: '/cycle', rule: 'schema.type', message: 'must be integer' },
    ]);

    const missing = await app.inject({
      method: 'POST',
      url: '/v1/submissions',
      payload: { ...submission(), unit: undefined },
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.problems.map((p: { pointer: string }) => p.pointer)).toEqual(['/unit']);

    const truncated = await app.inject({
      method: 'POST',
      url: '/v1/submissions',
      headers: { 'content-type': 'application/json' },
      payload: '{"submissionId": "abc", "cycle": 20',
    });
    expect(truncated.statusCode).toBe(400);
    expect(truncated.json().error.code).toBe('invalid_json');

    const huge = await app.inject({
      method: 'POST',
      url: '/v1/submissions',
      payload: submission({
        unit: { level: 'community', code: '110101001001', name: 'x'.repeat(70 * 1024) },
      }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('payload_too_large');

    const after = await readTopic(kafka, topic);
    expect(after.length).toBe(before);
  });

  it('answers 503 with Retry-After, never 202, when the broker cannot be reached', async () => {
    // Nothing listens on port 1: every attempt fails fast, as during a broker outage.
    const unreachable = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'ingest-test-down',
      retries: 1,
      connectionTimeoutMs: 300,
    });
    const downProducer = createReliableProducer(unreachable);
    const downApp = buildIngestApp({ producer: downProducer, logger, receivedTopic: topic });
    const response = await downApp.inject({ method: 'POST', url: '/v1/submissions', payload: submission() });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json().error).toMatchObject({ code: 'broker_unavailable', retriable: true });
    await downApp.close();
  });
});
