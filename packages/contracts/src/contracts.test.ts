import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  compileContract,
  contentHash,
  describeSchemaErrors,
  type Submission,
} from './index.js';

const valid = {
  submissionId: '6f1c1f5e-3a52-4c55-9d0f-6c2b0f6c9e11',
  cycle: 2024,
  catalogueVersion: '2024.1',
  cityCode: '110100',
  unit: { level: 'community', code: '110101001001' },
  observations: [{ indicator: 'C01', value: 2 }],
};

describe('submission schema', () => {
  const validate = compileContract<Submission>('submission');

  it('accepts a well-formed submission', () => {
    expect(validate(valid)).toBe(true);
  });

  it('names the offending field for a wrong type, a missing field and an unknown one', () => {
    const body = { ...valid, cycle: '2024', extra: 1, unit: { level: 'community' } };
    expect(validate(body)).toBe(false);
    const problems = describeSchemaErrors(validate.errors);
    expect(problems.map((p) => p.pointer).sort()).toEqual(['/cycle', '/extra', '/unit/code']);
    expect(problems.find((p) => p.pointer === '/cycle')?.message).toBe('must be integer');
  });

  it('accepts a submissionId in canonical UUID form only', () => {
    const id = valid.submissionId;
    for (const other of [`urn:uuid:${id}`, `{${id}}`, id.toUpperCase(), id.replaceAll('-', '')]) {
      expect(validate({ ...valid, submissionId: other })).toBe(false);
      expect(describeSchemaErrors(validate.errors, { ...valid, submissionId: other })).toEqual([
        {
          pointer: '/submissionId',
          rule: 'schema.pattern',
          message:
            'must be a UUID in canonical form: 8-4-4-4-12 lowercase hex digits, without "urn:uuid:", braces or upper case',
          value: other,
        },
      ]);
    }
  });

  it('escapes property names in pointers as RFC 6901 says, and repeats the offending value', () => {
    const body = {
      ...valid,
      cycle: '2024',
      unit: { level: 'community', code: '110101001001', 'a/b': 1, 'c~d': 'x' },
    };
    expect(validate(body)).toBe(false);
    expect(
      describeSchemaErrors(validate.errors, body).sort((a, b) => a.pointer.localeCompare(b.pointer)),
    ).toEqual([
      { pointer: '/cycle', rule: 'schema.type', message: 'must be integer', value: '2024' },
      {
        pointer: '/unit/a~1b',
        rule: 'schema.additionalProperties',
        message: 'is not allowed here',
        value: 1,
      },
      {
        pointer: '/unit/c~0d',
        rule: 'schema.additionalProperties',
        message: 'is not allowed here',
        value: 'x',
      },
    ]);
    // A missing property has no value; an object is named by its pointer alone.
    const missing = { ...valid, unit: { level: 'community' }, observations: {} };
    expect(validate(missing)).toBe(false);
    expect(describeSchemaErrors(validate.errors, missing)).toEqual([
      { pointer: '/unit/code', rule: 'schema.required', message: 'is required' },
      { pointer: '/observations', rule: 'schema.type', message: 'must be array' },
    ]);
  });

  it('requires a 12-digit code for a community and a street-scoped id for a block', () => {
    expect(validate({ ...valid, unit: { level: 'community', code: '110101' } })).toBe(false);
    expect(describeSchemaErrors(validate.errors).map((p) => p.pointer)).toEqual(['/unit/code']);
    expect(validate({ ...valid, unit: { level: 'block', code: '110101001-B07' } })).toBe(true);
    expect(validate({ ...valid, unit: { level: 'block', code: '110101001001' } })).toBe(false);
  });

  it('refuses numbers beyond what is stored exactly, including ones that parsed to Infinity', () => {
    const huge = JSON.parse('{"indicator":"C01","value":1e400}');
    expect(huge.value).toBe(Number.POSITIVE_INFINITY);
    expect(validate({ ...valid, observations: [huge] })).toBe(false);
    expect(describeSchemaErrors(validate.errors)[0]?.pointer).toBe('/observations/0/value');
    expect(validate({ ...valid, observations: [{ indicator: 'C01', value: 2e15 }] })).toBe(false);
  });

  it('refuses an observation with no value of any kind', () => {
    expect(validate({ ...valid, observations: [{ indicator: 'C01' }] })).toBe(false);
  });
});

describe('canonical JSON and content hash', () => {
  it('ignores key order at every depth but not array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
    expect(contentHash([1, 2])).not.toBe(contentHash([2, 1]));
  });

  it('is the SHA-256 of the canonical text', () => {
    // sha256('{"a":1}') computed independently: printf '{"a":1}' | sha256sum
    expect(contentHash({ a: 1 })).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });
});
