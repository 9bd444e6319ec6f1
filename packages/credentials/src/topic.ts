// credentials.v1 on Kafka: the admin CLI writes a credential's latest record keyed by its id, and every ingest
// instance follows the topic from the beginning into a CredentialStore, so a revocation reaches all of them
// within about a second and the credentials survive restarts.
import {
  compactedTopicSpec,
  createTopicFollower,
  ensureTopics,
  type FollowerSettings,
  type Kafka,
  type Producer,
  sendJson,
  stateTopics,
  type TopicFollower,
} from '@citycheck/kafka';
import { type CredentialRecord, parseCredentialRecord } from './record.js';
import type { CredentialStore } from './store.js';

export const defaultCredentialsTopic = stateTopics.credentials;

/** Creates the compacted credentials topic when it does not exist. */
export const ensureCredentialsTopic = async (
  kafka: Kafka,
  {
    topic = defaultCredentialsTopic,
    replicationFactor = 1,
  }: { topic?: string; replicationFactor?: number } = {},
): Promise<void> => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // kafkajs waits for leaders by reading metadata, and a KRaft broker may briefly answer "unknown topic"
    // for a topic it just created; kafkajs gives up on that, so a few more tries settle it.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await ensureTopics(admin, [compactedTopicSpec(topic, replicationFactor)]);
        return;
      } catch (error) {
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  } finally {
    await admin.disconnect();
  }
};

/** Writes a credential's latest record; resolves once every in-sync replica has it. */
export const publishCredential = async (
  producer: Producer,
  record: CredentialRecord,
  topic: string = defaultCredentialsTopic,
): Promise<void> => {
  await sendJson(producer, topic, [{ key: record.id, value: record }]);
};

export interface FollowCredentialsOptions extends FollowerSettings {
  readonly kafka: Kafka;
  readonly store: CredentialStore;
  readonly topic?: string;
  readonly groupIdPrefix?: string;
  /** Told about records that cannot be read (they are skipped). Never given a secret: records hold none. */
  readonly onInvalidRecord?: (error: unknown, credentialId: string | undefined) => void;
}

/** Follows credentials.v1 from the beginning into `store`. Call start(), then await caughtUp(). */
export const followCredentials = ({
  kafka,
  store,
  topic = defaultCredentialsTopic,
  groupIdPrefix = 'citycheck-credentials',
  onInvalidRecord = () => undefined,
  ...settings
}: FollowCredentialsOptions): TopicFollower =>
  createTopicFollower({
    kafka,
    topics: [topic],
    groupIdPrefix,
    ...settings,
    apply: ({ message }) => {
      const id = message.key?.toString('utf8');
      if (id === undefined) throw new Error('credential record without a key');
      if (message.value === null) {
        store.apply(id, null);
        return;
      }
      const record = parseCredentialRecord(JSON.parse(message.value.toString('utf8')));
      if (record.id !== id) throw new Error(`record of ${record.id} under key ${id}`);
      store.apply(id, record);
    },
    onError: (error, { message }) => onInvalidRecord(error, message.key?.toString('utf8')),
  });
