// credentials.v1: the admin CLI writes each credential's latest record under its id; every instance follows
// it into a CredentialStore, so a revocation reaches all within a second and survives restarts.
import {
  ensureCompactedTopic,
  type FollowerSettings,
  followKeyedRecords,
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
export const ensureCredentialsTopic = (
  kafka: Kafka,
  { topic = defaultCredentialsTopic, replicationFactor }: { topic?: string; replicationFactor?: number } = {},
): Promise<void> => ensureCompactedTopic(kafka, { topic, replicationFactor });

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
  store,
  topic = defaultCredentialsTopic,
  groupIdPrefix = 'citycheck-credentials',
  ...options
}: FollowCredentialsOptions): TopicFollower =>
  followKeyedRecords({
    ...options,
    topic,
    groupIdPrefix,
    recordName: 'credential',
    apply: (id, value) => {
      if (value === null) {
        store.apply(id, null);
        return;
      }
      const record = parseCredentialRecord(value);
      if (record.id !== id) throw new Error(`record of ${record.id} under key ${id}`);
      store.apply(id, record);
    },
  });
