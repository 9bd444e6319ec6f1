// `citycheck admin credentials issue|list|rotate|revoke`: operations' side of per-city credentials. Talks to
// Kafka directly (whoever may write credentials.v1 is an administrator); reads the topic to its end first, so
// rotate and revoke act on the latest record. A token is printed once, by issue and rotate, and never stored.
import {
  type CredentialContact,
  CredentialStore,
  ensureCredentialsTopic,
  followCredentials,
  type IssuedCredential,
  issueCredential,
  type RoleName,
  revokeCredential,
  rotateCredential,
  setCredentialContact,
} from '@citycheck/credentials';
import { clientRetries, createKafka, createReliableProducer, type Kafka } from '@citycheck/kafka';
import { formatTextTable } from './text-table.js';

export interface AdminOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly replicationFactor: number;
  readonly topic?: string;
}

export type AdminCommand =
  | {
      readonly action: 'issue';
      readonly role: RoleName;
      readonly cityCode?: string;
      readonly name?: string;
      readonly contact?: CredentialContact;
    }
  | { readonly action: 'list' }
  | { readonly action: 'contact'; readonly id: string; readonly contact: CredentialContact }
  | { readonly action: 'rotate'; readonly id: string }
  | { readonly action: 'revoke'; readonly id: string };

export type AdminResult =
  | { readonly action: 'issue' | 'rotate'; readonly issued: IssuedCredential }
  | { readonly action: 'revoke' | 'contact'; readonly record: IssuedCredential['record'] }
  | { readonly action: 'list'; readonly records: readonly IssuedCredential['record'][] };

export const loadStore = async (kafka: Kafka, topic: string | undefined): Promise<CredentialStore> => {
  const store = new CredentialStore();
  const follower = followCredentials({
    kafka,
    store,
    ...(topic === undefined ? {} : { topic }),
    groupIdPrefix: 'citycheck-admin-credentials',
  });
  await follower.start();
  try {
    await follower.caughtUp();
  } finally {
    await follower.stop();
  }
  return store;
};

export const runCredentialsAdmin = async (
  options: AdminOptions,
  command: AdminCommand,
): Promise<AdminResult> => {
  const kafka = createKafka({
    brokers: options.brokers,
    clientId: `${options.clientId}-admin`,
    retries: clientRetries.tool,
  });
  await ensureCredentialsTopic(kafka, {
    ...(options.topic === undefined ? {} : { topic: options.topic }),
    replicationFactor: options.replicationFactor,
  });
  const store = await loadStore(kafka, options.topic);
  if (command.action === 'list') return { action: 'list', records: store.list() };
  const producer = createReliableProducer(kafka);
  await producer.connect();
  try {
    const context = { producer, store, ...(options.topic === undefined ? {} : { topic: options.topic }) };
    switch (command.action) {
      case 'issue':
        return {
          action: 'issue',
          issued: await issueCredential(context, {
            role: command.role,
            ...(command.cityCode === undefined ? {} : { cityCode: command.cityCode }),
            ...(command.name === undefined ? {} : { name: command.name }),
            ...(command.contact === undefined ? {} : { contact: command.contact }),
          }),
        };
      case 'rotate':
        return { action: 'rotate', issued: await rotateCredential(context, command.id) };
      case 'revoke':
        return { action: 'revoke', record: await revokeCredential(context, command.id) };
      case 'contact':
        return {
          action: 'contact',
          record: await setCredentialContact(context, command.id, command.contact),
        };
    }
  } finally {
    await producer.disconnect();
  }
};

/** A contact on one line: name, phone, e-mail. */
export const formatContact = (contact: CredentialContact | undefined): string =>
  contact === undefined
    ? '-'
    : [contact.name, contact.phone, contact.email].filter((part) => part !== undefined).join(', ');

/** A table of credentials for people: never a hash, never a secret. */
export const formatCredentialList = (records: readonly IssuedCredential['record'][]): string => {
  const rows = [
    ['ID', 'ROLE', 'CITY', 'STATUS', 'CREATED', 'ROTATED', 'REVOKED', 'NAME', 'CONTACT'],
    ...records.map((r) => [
      r.id,
      r.role,
      r.cityCode ?? '-',
      r.status,
      r.createdAt,
      r.rotatedAt ?? '-',
      r.revokedAt ?? '-',
      r.name,
      formatContact(r.contact),
    ]),
  ];
  return formatTextTable(rows).join('\n');
};
