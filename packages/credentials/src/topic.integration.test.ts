// credentials.v1 against the real broker: what the admin operations write, a follower (as in every ingest
// instance) reads; a revocation reaches a running follower, and a new follower (a restart) rebuilds it all.
import { createReliableProducer, type Producer } from '@citycheck/kafka';
import { readTopic, testKafka, uniqueName, waitFor } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCredential, revokeCredential, rotateCredential } from './admin.js';
import { CredentialStore } from './store.js';
import { ensureCredentialsTopic, followCredentials } from './topic.js';

describe('credentials on Kafka', () => {
  const kafka = testKafka();
  const topic = uniqueName('credentials');
  let producer: Producer;

  beforeAll(async () => {
    await ensureCredentialsTopic(kafka, { topic });
    producer = createReliableProducer(kafka);
    await producer.connect();
  });

  afterAll(async () => {
    await producer.disconnect();
  });

  it('creates the topic compacted, with one partition', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
      expect(metadata?.partitions.length).toBe(1);
      const configs = await admin.describeConfigs({
        resources: [{ type: 2, name: topic, configNames: ['cleanup.policy'] }],
        includeSynonyms: false,
      });
      expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
  });

  it('issues, rotates and revokes; running and restarted followers agree, and no secret reaches the topic', async () => {
    const adminStore = new CredentialStore();
    const context = { producer, store: adminStore, topic };
    const running = new CredentialStore();
    const follower = followCredentials({ kafka, store: running, topic, groupIdPrefix: uniqueName('follow') });
    await follower.start();
    await follower.caughtUp();

    const beijing = await issueCredential(context, {
      role: 'city',
      cityCode: '110100',
      name: 'Beijing platform',
    });
    const tianjin = await issueCredential(context, { role: 'city', cityCode: '120100' });
    await waitFor(
      () =>
        running.authenticate(beijing.token).ok && running.authenticate(tianjin.token).ok ? true : undefined,
      { what: 'issued credentials' },
    );
    expect(running.authenticate(tianjin.token)).toMatchObject({
      ok: true,
      principal: { cityCode: '120100' },
    });

    const rotated = await rotateCredential(context, beijing.record.id);
    expect(rotated.record.id).toBe(beijing.record.id);
    await waitFor(() => (running.authenticate(rotated.token).ok ? true : undefined), {
      what: 'rotated credential',
    });
    expect(running.authenticate(beijing.token)).toMatchObject({ ok: false, reason: 'unknown' });

    await revokeCredential(context, tianjin.record.id);
    await waitFor(
      () => {
        const result = running.authenticate(tianjin.token);
        return !result.ok && result.reason === 'revoked' ? true : undefined;
      },
      { what: 'revocation reaching the running follower' },
    );
    await follower.stop();

    const restarted = new CredentialStore();
    const again = followCredentials({ kafka, store: restarted, topic, groupIdPrefix: uniqueName('follow') });
    await again.start();
    await again.caughtUp();
    await again.stop();
    expect(restarted.list().map((r) => [r.id, r.status, r.cityCode])).toEqual([
      [beijing.record.id, 'active', '110100'],
      [tianjin.record.id, 'revoked', '120100'],
    ]);
    expect(restarted.authenticate(rotated.token).ok).toBe(true);
    expect(restarted.authenticate(tianjin.token)).toMatchObject({ ok: false, reason: 'revoked' });

    const raw = (await readTopic(kafka, topic)).map((m) => m.value?.toString() ?? '').join('\n');
    for (const token of [beijing.token, tianjin.token, rotated.token]) {
      expect(raw).not.toContain(token.slice(token.indexOf('_', 3) + 1));
    }
  });
});
