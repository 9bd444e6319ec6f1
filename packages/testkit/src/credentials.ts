// Credentials for tests and benchmarks, put straight into a store the app authenticates against (no Kafka);
// tokens look as the admin CLI prints them. Free of vitest, so plain-Node benchmarks can import it.
import { CredentialStore, formatToken, hashSecret, type RoleName } from '@citycheck/credentials';

export interface TestCredentials {
  /** The store to hand an app as its authenticator. */
  readonly store: CredentialStore;
  /** Adds an active credential with this 16-hex-digit id and role; its token. */
  issue(id: string, role: RoleName, options?: { readonly cityCode?: string; readonly name?: string }): string;
}

export const createTestCredentials = (): TestCredentials => {
  const store = new CredentialStore();
  return {
    store,
    issue(id, role, { cityCode, name = role } = {}) {
      const secret = id.padEnd(43, 'x').slice(0, 43);
      store.apply(id, {
        id,
        name,
        role,
        ...(cityCode === undefined ? {} : { cityCode }),
        secretSha256: hashSecret(secret),
        status: 'active',
        createdAt: new Date().toISOString(),
      });
      return formatToken(id, secret);
    },
  };
};

/** Request headers that present a token as a bearer credential. */
export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` });
