// credentials.v1: the admin CLI writes each credential's latest record under its id; every instance follows
// it into a CredentialStore, so a revocation reaches all within a second and survives restarts.
import { createStateTopic, type FollowBookOptions, stateTopics, type TopicFollower } from '@citycheck/kafka';
import { type CredentialRecord, parseCredentialRecord } from './record.js';
import type { CredentialStore } from './store.js';

export const defaultCredentialsTopic = stateTopics.credentials;

const credentials = createStateTopic<CredentialStore, CredentialRecord>({
  name: 'credentials',
  parse: (id, value) => {
    const record = parseCredentialRecord(value);
    if (record.id !== id) throw new Error(`record of ${record.id} under key ${id}`);
    return record;
  },
  keyOf: (record) => record.id,
});

/** Creates the compacted credentials topic when it does not exist. */
export const ensureCredentialsTopic = credentials.ensure;

/** Writes a credential's latest record; resolves once every in-sync replica has it. */
export const publishCredential = credentials.publish;

export interface FollowCredentialsOptions extends Omit<FollowBookOptions<CredentialStore>, 'book'> {
  readonly store: CredentialStore;
  /** Told about records that cannot be read (they are skipped). Never given a secret: records hold none. */
  readonly onInvalidRecord?: (error: unknown, credentialId: string | undefined) => void;
}

/** Follows credentials.v1 from the beginning into `store`. Call start(), then await caughtUp(). */
export const followCredentials = ({ store, ...options }: FollowCredentialsOptions): TopicFollower =>
  credentials.follow({ ...options, book: store });
