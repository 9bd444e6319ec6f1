// The value of topic credentials.v1 (compacted, keyed by credential id): who the credential speaks for, the
// SHA-256 of its secret, and whether it is active. The latest record of an id is the truth; revoking writes
// a record with status `revoked` (kept, so `list` shows it), never the secret.

import { type RoleName, roleProblem } from './role.js';
import { isCredentialId } from './token.js';

/** Who to call about a credential: for a city's, the person reminded before a deadline. */
export interface CredentialContact {
  readonly name: string;
  readonly phone?: string;
  readonly email?: string;
}

export interface CredentialRecord {
  readonly id: string;
  /** Who holds it, e.g. "Beijing municipal platform (vendor X)". */
  readonly name: string;
  readonly role: RoleName;
  /** The city a `city` credential submits for; absent for analysts. */
  readonly cityCode?: string;
  /** The person to reach about it (reminders, trouble); absent until an operator records one. */
  readonly contact?: CredentialContact;
  /** Hex SHA-256 of the secret part of the token. */
  readonly secretSha256: string;
  readonly status: 'active' | 'revoked';
  readonly createdAt: string;
  /** When the secret was last replaced (`rotate`); the previous secret stopped working then. */
  readonly rotatedAt?: string;
  readonly revokedAt?: string;
}

const isoInstant = (value: unknown): value is string =>
  typeof value === 'string' && !Number.isNaN(Date.parse(value)) && /^\d{4}-\d{2}-\d{2}T/.test(value);

/** Checks a decoded record; throws with every problem when it is not a credential record. */
export const parseCredentialRecord = (value: unknown): CredentialRecord => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('a credential record is a JSON object');
  }
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof record.id !== 'string' || !isCredentialId(record.id)) problems.push('id must be 16 hex digits');
  if (typeof record.name !== 'string') problems.push('name must be a string');
  if (typeof record.role !== 'string') problems.push('role must be a string');
  if (record.cityCode !== undefined && typeof record.cityCode !== 'string')
    problems.push('cityCode must be a string');
  if (typeof record.role === 'string') {
    const problem = roleProblem(record.role, record.cityCode as string | undefined);
    if (problem !== undefined) problems.push(problem);
  }
  const contact = record.contact === undefined ? undefined : parseContact(record.contact, problems);
  if (typeof record.secretSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(record.secretSha256)) {
    problems.push('secretSha256 must be 64 hex digits');
  }
  if (record.status !== 'active' && record.status !== 'revoked')
    problems.push('status must be active or revoked');
  if (!isoInstant(record.createdAt)) problems.push('createdAt must be an RFC 3339 instant');
  for (const field of ['rotatedAt', 'revokedAt'] as const) {
    if (record[field] !== undefined && !isoInstant(record[field]))
      problems.push(`${field} must be an RFC 3339 instant`);
  }
  if (problems.length > 0) throw new Error(`invalid credential record: ${problems.join('; ')}`);
  return {
    id: record.id as string,
    name: record.name as string,
    role: record.role as RoleName,
    ...(record.cityCode === undefined ? {} : { cityCode: record.cityCode as string }),
    ...(contact === undefined ? {} : { contact }),
    secretSha256: record.secretSha256 as string,
    status: record.status as 'active' | 'revoked',
    createdAt: record.createdAt as string,
    ...(record.rotatedAt === undefined ? {} : { rotatedAt: record.rotatedAt as string }),
    ...(record.revokedAt === undefined ? {} : { revokedAt: record.revokedAt as string }),
  };
};

/** Checks a contact, adding what is wrong with it to `problems`; returns it when it is one. */
const parseContact = (value: unknown, problems: string[]): CredentialContact | undefined => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('contact must be an object');
    return undefined;
  }
  const contact = value as Record<string, unknown>;
  const before = problems.length;
  if (typeof contact.name !== 'string' || contact.name.trim() === '')
    problems.push('contact.name must be a non-empty string');
  for (const field of ['phone', 'email'] as const)
    if (contact[field] !== undefined && typeof contact[field] !== 'string')
      problems.push(`contact.${field} must be a string`);
  if (problems.length > before) return undefined;
  return {
    name: contact.name as string,
    ...(contact.phone === undefined ? {} : { phone: contact.phone as string }),
    ...(contact.email === undefined ? {} : { email: contact.email as string }),
  };
};

/** Why a contact given by an operator is not usable (no name, neither phone nor a plausible e-mail), or undefined. */
export const contactProblem = (contact: CredentialContact): string | undefined => {
  if (contact.name.trim() === '') return 'a contact needs a name';
  if (contact.phone === undefined && contact.email === undefined)
    return 'a contact needs a phone number or an e-mail address';
  if (contact.phone !== undefined && !/^\+?[0-9][0-9 ()-]{4,}$/.test(contact.phone))
    return `${contact.phone} is not a phone number (digits, spaces, dashes, an optional leading +)`;
  if (contact.email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(contact.email))
    return `${contact.email} is not an e-mail address`;
  return undefined;
};
