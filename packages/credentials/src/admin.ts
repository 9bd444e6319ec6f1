// The admin operations behind `citycheck admin credentials ...`: issue, rotate and revoke write a new latest
// record to credentials.v1; the token (id and secret) is returned once and never stored or logged.
import { type DivisionRegistry, loadDivisionRegistry } from '@citycheck/divisions';
import type { Producer } from '@citycheck/kafka';
import { type CredentialContact, type CredentialRecord, contactProblem } from './record.js';
import { type RoleName, registryProblem, roleProblem } from './role.js';
import type { CredentialStore } from './store.js';
import { formatToken, generateCredentialId, generateSecret, hashSecret } from './token.js';
import { defaultCredentialsTopic, publishCredential } from './topic.js';

export interface AdminContext {
  readonly producer: Producer;
  /** The current credentials, read to the end of the topic (needed by rotate and revoke). */
  readonly store: CredentialStore;
  readonly topic?: string;
  readonly now?: () => Date;
  /** The registry new credentials' codes are checked against; the shipped one by default. */
  readonly divisions?: DivisionRegistry;
}

export interface IssuedCredential {
  readonly record: CredentialRecord;
  /** `cc_<id>_<secret>`: show it to the operator once; it cannot be recovered. */
  readonly token: string;
}

export class CredentialAdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialAdminError';
  }
}

/**
 * Why a credential of this role and city may not be issued (its shape, or a code the registry does not know
 * as a reporting city or province), or undefined.
 */
export const credentialCodesProblem = (
  role: string,
  cityCode: string | undefined,
  divisions: DivisionRegistry = loadDivisionRegistry(),
): string | undefined => roleProblem(role, cityCode) ?? registryProblem(role, cityCode, divisions);

export const issueCredential = async (
  { producer, store, topic = defaultCredentialsTopic, now = () => new Date(), divisions }: AdminContext,
  {
    role,
    cityCode,
    name,
    contact,
  }: { role: RoleName; cityCode?: string; name?: string; contact?: CredentialContact },
): Promise<IssuedCredential> => {
  const problem =
    credentialCodesProblem(role, cityCode, divisions) ??
    (contact === undefined ? undefined : contactProblem(contact));
  if (problem !== undefined) throw new CredentialAdminError(problem);
  let id = generateCredentialId();
  while (store.get(id) !== undefined) id = generateCredentialId();
  const secret = generateSecret();
  const record: CredentialRecord = {
    id,
    name: name ?? (role === 'city' ? `city ${cityCode}` : role),
    role,
    ...(cityCode === undefined ? {} : { cityCode }),
    ...(contact === undefined ? {} : { contact }),
    secretSha256: hashSecret(secret),
    status: 'active',
    createdAt: now().toISOString(),
  };
  await publishCredential(producer, record, topic);
  store.apply(id, record);
  return { record, token: formatToken(id, secret) };
};

const existing = (store: CredentialStore, id: string): CredentialRecord => {
  const record = store.get(id);
  if (record === undefined) throw new CredentialAdminError(`there is no credential ${id}`);
  return record;
};

/** Gives the credential a new secret; the old token stops working as soon as ingest reads the record. */
export const rotateCredential = async (
  { producer, store, topic = defaultCredentialsTopic, now = () => new Date() }: AdminContext,
  id: string,
): Promise<IssuedCredential> => {
  const current = existing(store, id);
  if (current.status !== 'active')
    throw new CredentialAdminError(`credential ${id} is revoked; issue a new one`);
  const secret = generateSecret();
  const record: CredentialRecord = {
    ...current,
    secretSha256: hashSecret(secret),
    rotatedAt: now().toISOString(),
  };
  await publishCredential(producer, record, topic);
  store.apply(id, record);
  return { record, token: formatToken(id, secret) };
};

export const revokeCredential = async (
  { producer, store, topic = defaultCredentialsTopic, now = () => new Date() }: AdminContext,
  id: string,
): Promise<CredentialRecord> => {
  const current = existing(store, id);
  if (current.status === 'revoked') return current;
  const record: CredentialRecord = { ...current, status: 'revoked', revokedAt: now().toISOString() };
  await publishCredential(producer, record, topic);
  store.apply(id, record);
  return record;
};

/** Records who to reach about a credential (replacing any earlier contact); its secret is untouched. */
export const setCredentialContact = async (
  { producer, store, topic = defaultCredentialsTopic }: AdminContext,
  id: string,
  contact: CredentialContact,
): Promise<CredentialRecord> => {
  const current = existing(store, id);
  const problem = contactProblem(contact);
  if (problem !== undefined) throw new CredentialAdminError(problem);
  const record: CredentialRecord = { ...current, contact };
  await publishCredential(producer, record, topic);
  store.apply(id, record);
  return record;
};
