// A credentials follower whose consumer kafkajs stops for good (the non-retriable "Failed to find group
// coordinator") starts it again by itself, resumes where its view stood (a revocation read before the crash
// is not undone by replaying the older "active" record), reports itself unhealthy while down and not current
// once records it has not read wait on the topic; and a view read to the end of a transactional topic
// counts as current although the topic's end offset includes a commit marker no consumer ever receives.
import {
  coordinatorNotFound,
  createReliableProducer,
  createTopicFollower,
  type FollowedMessage,
  type Kafka,
  sendJson,
  type TopicFollower,
} from '@citycheck/kafka';
import { createFreshTopic, testKafka, uniqueName, waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import { issueCredential, revokeCredential } from './admin.js';
import type { CredentialRecord } from './record.js';
import { CredentialStore } from './store.js';
import { ensureCredentialsTopic, followCredentials } from './topic.js';

/** A store that also lists every record applied to it, in order. */
class RecordingStore extends CredentialStore {
  readonly seen: string[] = [];
  override apply(id: string, record: CredentialRecord | null): void {
    this.seen.push(`${id}:${record?.status ?? 'deleted'}`);
    super.apply(id, record);
  }
}

/** Starts `follower`, waits until it has read its topic, runs `check`, and stops it whatever happens. */
const whileFollowing = async (follower: TopicFollower, check: () => Promise<void>): Promise<void> => {
  try {
    await follower.start();
    await follower.caughtUp();
    await check();
  } finally {
    await follower.stop();
  }
};

/** A follower of `topic` that probes its lag every 200 ms and calls itself stale 1.5 s behind. */
const probedFollower = (
  kafka: Kafka,
  topic: string,
  apply: (message: FollowedMessage) => void,
): TopicFollower =>
  createTopicFollower({
    kafka,
    topics: [topic],
    groupIdPrefix: uniqueName('follow'),
    probeIntervalMs: 200,
    staleAfterMs: 1_500,
    apply,
  });

describe('a followed view after its consumer crashed', () => {
  it('restarts the consumer, resumes without replaying, and says when it is down or stale', async () => {
    const kafka = testKafka();
    const topic = uniqueName('credentials');
    await ensureCredentialsTopic(kafka, { topic });
    const producer = createReliableProducer(kafka);
    await producer.connect();
    const adminStore = new CredentialStore();
    const context = { producer, store: adminStore, topic };
    const early = await issueCredential(context, { role: 'city', cityCode: '110100', name: 'early' });

    const store = new RecordingStore();
    const seen = store.seen;
    let fault = false;
    const follower = followCredentials({
      kafka,
      store,
      topic,
      groupIdPrefix: uniqueName('follow'),
      restartDelayMs: 200,
      maxRestartDelayMs: 400,
      probeIntervalMs: 200,
      staleAfterMs: 1_500,
      injectFault: () => (fault ? coordinatorNotFound() : undefined),
    });
    try {
      await whileFollowing(follower, async () => {
        await waitFor(async () => (follower.isHealthy ? true : undefined), { what: 'a healthy follower' });
        expect(store.authenticate(early.token).ok).toBe(true);

        // The next batch fails as kafkajs fails when it gives up; every start attempt fails while `fault` holds.
        fault = true;
        await revokeCredential(context, early.record.id);
        await waitFor(async () => (follower.health().running ? undefined : true), {
          timeoutMs: 30_000,
          what: 'the consumer stopped',
        });
        expect(follower.isHealthy).toBe(false);
        // The revocation is on the topic but not in the view: after the bound the view says it is stale.
        await waitFor(async () => (follower.isCurrent ? undefined : true), {
          timeoutMs: 10_000,
          what: 'the view reported stale',
        });
        expect(follower.health().lagRecords).toBe(1);
        expect(store.authenticate(early.token).ok).toBe(true);

        fault = false;
        const late = await issueCredential(context, { role: 'city', cityCode: '310100', name: 'late' });
        await waitFor(
          async () => (store.authenticate(late.token).ok && follower.isHealthy ? true : undefined),
          {
            timeoutMs: 30_000,
            what: 'the follower back and current',
          },
        );
        expect(store.authenticate(early.token)).toMatchObject({ ok: false, reason: 'revoked' });
        expect(follower.health().restarts).toBeGreaterThanOrEqual(1);
        expect(follower.health().lagRecords).toBe(0);
        // Each record applied once, in order: the restarted consumer did not read the topic again from the start.
        expect(seen).toEqual([
          `${early.record.id}:active`,
          `${early.record.id}:revoked`,
          `${late.record.id}:active`,
        ]);
      });
    } finally {
      await producer.disconnect();
    }
  }, 120_000);

  it('stays current while its topic is written without pause', async () => {
    const { kafka, topic } = await createFreshTopic('busy', { partitions: 2 });
    const producer = createReliableProducer(kafka);
    await producer.connect();
    let applied = 0;
    const follower = probedFollower(kafka, topic, () => {
      applied += 1;
    });
    try {
      await whileFollowing(follower, async () => {
        await waitFor(async () => (follower.isCurrent ? true : undefined), { what: 'a current view' });
        // A record every few milliseconds for three bounds' time: the end offsets move at every reading, and
        // the view, a fetch behind, must still count as current throughout.
        let sent = 0;
        const until = Date.now() + 4_500;
        const samples: boolean[] = [];
        const sampler = setInterval(() => samples.push(follower.isCurrent), 100);
        while (Date.now() < until) {
          await sendJson(producer, topic, [{ key: String(sent % 7), value: { n: sent } }]);
          sent += 1;
        }
        clearInterval(sampler);
        expect(sent).toBeGreaterThan(100);
        expect(samples.length).toBeGreaterThan(30);
        expect(samples.filter((current) => !current)).toEqual([]);
        await waitFor(async () => (applied === sent ? true : undefined), { what: 'every record applied' });
      });
    } finally {
      await producer.disconnect();
    }
  }, 60_000);

  it('counts a view read to the end of a transactional topic as current', async () => {
    const { kafka, topic } = await createFreshTopic('transactional', { partitions: 2 });
    const producer = kafka.producer({
      transactionalId: uniqueName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    // Two committed transactions: the partitions end on commit markers, which the end offsets count.
    for (const n of [1, 2]) {
      const transaction = await producer.transaction();
      await transaction.send({
        topic,
        messages: [
          { key: `a${n}`, value: '{}', partition: 0 },
          { key: `b${n}`, value: '{}', partition: 1 },
        ],
      });
      await transaction.commit();
    }
    await producer.disconnect();

    const keys: string[] = [];
    const follower = probedFollower(
      kafka,
      topic,
      ({ message }) => void keys.push(message.key?.toString('utf8') ?? ''),
    );
    await whileFollowing(follower, async () => {
      await waitFor(async () => (follower.health().lagRecords === 0 ? true : undefined), {
        timeoutMs: 10_000,
        what: 'lag 0',
      });
      // Well past the bound, still current: nothing readable is left, the markers do not count as behind.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      expect(follower.isCurrent).toBe(true);
      expect(follower.health().lagRecords).toBe(0);
      expect(keys.sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
    });
  }, 60_000);
});
