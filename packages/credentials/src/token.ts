// Credential tokens: `cc_<id>_<secret>`, an id anyone may see (logs, lists) and a 256-bit random secret that
// only the holder has. The store keeps the secret's SHA-256, and checks a presented secret in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 16 hex digits: enough to never collide among a few thousand credentials, short enough to read aloud. */
const idPattern = /^[0-9a-f]{16}$/;
/** `cc_`, the id, `_`, then 32 random bytes in base64url (43 characters, which may themselves contain `_`). */
const tokenPattern = /^cc_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export const isCredentialId = (value: string): boolean => idPattern.test(value);

export const generateCredentialId = (): string => randomBytes(8).toString('hex');

/** 256 bits from the system's CSPRNG. */
export const generateSecret = (): string => randomBytes(32).toString('base64url');

export const formatToken = (id: string, secret: string): string => `cc_${id}_${secret}`;

export interface ParsedToken {
  readonly id: string;
  readonly secret: string;
}

/** Splits a token into id and secret, or undefined when it is not shaped like a citycheck token. */
export const parseToken = (token: string): ParsedToken | undefined => {
  const match = tokenPattern.exec(token);
  if (match === null) return undefined;
  return { id: match[1] as string, secret: match[2] as string };
};

/**
 * SHA-256 of the secret, hex. A slow password hash is not needed: the secret is 256 random bits, so there
 * is nothing to guess, and a fast hash keeps authentication off the request's critical path.
 */
export const hashSecret = (secret: string): string =>
  createHash('sha256').update(secret, 'utf8').digest('hex');

/** Whether `secret` hashes to `expectedSha256Hex`, compared in constant time. */
export const secretMatches = (secret: string, expectedSha256Hex: string): boolean => {
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  const expected = Buffer.from(expectedSha256Hex, 'hex');
  // A malformed stored hash still costs one comparison, against itself, so timing says nothing.
  if (expected.length !== actual.length) {
    timingSafeEqual(actual, actual);
    return false;
  }
  return timingSafeEqual(actual, expected);
};
