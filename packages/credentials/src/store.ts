// The in-memory credential store every ingest instance keeps: the latest record of each credential, as read
// from credentials.v1, and the one question a request asks of it: who does this bearer token speak for?

import type { CredentialRecord } from './record.js';
import { type Principal, principalOf } from './role.js';
import { hashSecret, parseToken, secretMatches } from './token.js';

export type Authentication =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      /** `malformed`: not a citycheck token; `unknown`: no such credential or a wrong secret; `revoked`:
       * the right secret of a revoked credential (only its holder can learn that it was revoked). */
      readonly reason: 'malformed' | 'unknown' | 'revoked';
      /** The credential id the token names, when it is shaped like one: safe to log. */
      readonly credentialId?: string;
    };

/** What the HTTP layer needs from a credential store. */
export interface Authenticator {
  authenticate(token: string): Authentication;
}

// Compared against when the id is unknown, so an unknown id costs the same hash and comparison as a known one.
const decoyHash = hashSecret('citycheck-decoy-secret');

export class CredentialStore implements Authenticator {
  private readonly records = new Map<string, CredentialRecord>();

  /** Applies the latest record of a credential; `null` (a tombstone) forgets it. */
  apply(id: string, record: CredentialRecord | null): void {
    if (record === null) this.records.delete(id);
    else this.records.set(id, record);
  }

  get(id: string): CredentialRecord | undefined {
    return this.records.get(id);
  }

  /** Every credential, oldest first. */
  list(): CredentialRecord[] {
    return [...this.records.values()].sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id),
    );
  }

  get size(): number {
    return this.records.size;
  }

  authenticate(token: string): Authentication {
    const parsed = parseToken(token);
    if (parsed === undefined) return { ok: false, reason: 'malformed' };
    const record = this.records.get(parsed.id);
    const matches = secretMatches(parsed.secret, record?.secretSha256 ?? decoyHash);
    if (record === undefined || !matches) return { ok: false, reason: 'unknown', credentialId: parsed.id };
    if (record.status !== 'active') return { ok: false, reason: 'revoked', credentialId: parsed.id };
    return { ok: true, principal: principalOf(record) };
  }
}
