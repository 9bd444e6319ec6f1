// The malformed-input corpus against the real broker: truncated JSON, wrong types, huge and non-finite
// numbers, prototype-poisoning keys, deep nesting, invalid UTF-8, oversized bodies, wrong media types and
// encodings, gzip bombs. Each gets a precise 4xx, the service keeps answering, and nothing malformed reaches
// submissions.received.v1: afterwards the topic holds exactly the good submissions.
import { gzipSync } from 'node:zlib';
import { decodeJson } from '@citycheck/kafka';
import { readTopic } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import { openapiProblems, submission, useIngestApp } from '../test/ingest-fixture.js';

const goodIds: string[] = [];

const bodyLimitBytes = 64 * 1024;
const ingest = useIngestApp({ beijing: '110100' }, { bodyLimitBytes, bulkLimitBytes: 8 * 1_048_576 });
const valid = JSON.stringify(submission());

interface Case {
  readonly name: string;
  readonly payload: string | Buffer;
  readonly headers?: Record<string, string>;
  readonly status: number;
  readonly code: string;
  /** What the first problem (or, without problems, the message) must say. */
  readonly problem?: Record<string, unknown>;
  readonly message?: string | RegExp;
}

const json = { 'content-type': 'application/json' };
const observationWith = (value: string) =>
  `{"submissionId":"7d1e0c36-8a8b-4bb5-9d3e-0f9f3c9a1b11","cycle":2024,"catalogueVersion":"2024.1","cityCode":"110100",` +
  `"unit":{"level":"community","code":"110101001001"},"observations":[{"indicator":"C01","value":${value}}]}`;

const corpus: Case[] = [
  {
    name: 'truncated JSON',
    payload: valid.slice(0, 60),
    headers: json,
    status: 400,
    code: 'invalid_json',
    problem: {
      pointer: '/',
      rule: 'json_syntax',
      message: expect.stringMatching(/found the end of the body at line 1, column 61$/),
    },
  },
  {
    name: 'a trailing comma',
    payload: '{"submissionId": "x",}',
    headers: json,
    status: 400,
    code: 'invalid_json',
    problem: {
      message:
        'the body is not valid JSON: expected a double-quoted property name, found "}" at line 1, column 22',
    },
  },
  {
    name: 'wrong types',
    payload: JSON.stringify(submission({ cycle: '2024', observations: [{ indicator: 'C01', value: '2' }] })),
    headers: json,
    status: 400,
    code: 'invalid_request',
    problem: { pointer: '/cycle', rule: 'schema.type', message: 'must be integer' },
  },
  {
    name: 'a JSON array instead of an object',
    payload: `[${valid}]`,
    headers: json,
    status: 400,
    code: 'invalid_request',
    problem: { pointer: '/', rule: 'schema.type', message: 'must be object' },
  },
  {
    name: 'null',
    payload: 'null',
    headers: json,
    status: 400,
    code: 'invalid_request',
    problem: { pointer: '/', rule: 'schema.type' },
  },
  {
    name: 'a number that overflows to infinity (1e400)',
    payload: observationWith('1e400'),
    headers: json,
    status: 400,
    code: 'invalid_request',
    problem: { pointer: '/observations/0/value', rule: 'finite_number' },
  },
  {
    name: 'a negative overflow (-1e400)',
    payload: observationWith('-1e400'),
    headers: json,
    status: 400,
    code: 'invalid_request',
    problem: { pointer: '/observations/0/value', rule: 'finite_number' },
  },
  {
    name: 'a huge finite number (1e300)',
    payload: observationWith('1e300'),
    headers: json,
    status: 400,
    code: 'invalid_request',
    problem: {
      pointer: '/observations/0/value',
      rule: 'schema.maximum',
      message: 'must be <= 1000000000000000',
    },
  },
  {
    name: 'an integer beyond double precision',
    payload: observationWith('123456789012345678901234567890'),
    headers: json,
    status: 400,
    code: 'invalid_request',
    problem: { pointer: '/observations/0/value', rule: 'schema.maximum' },
  },
  {
    name: 'NaN',
    payload: observationWith('NaN'),
    headers: json,
    status: 400,
    code: 'invalid_json',
    problem: {
      rule: 'json_syntax',
      message: expect.stringContaining('NaN, Infinity and undefined are not JSON'),
    },
  },
  {
    name: 'a __proto__ key',
    payload: valid.replace('"unit":{', '"unit":{"__proto__":{"isAdmin":true},'),
    headers: json,
    status: 400,
    code: 'invalid_json',
    problem: { pointer: '/unit/__proto__', rule: 'json_forbidden_key' },
  },
  {
    name: 'a constructor.prototype key',
    payload: valid.replace('{', '{"constructor":{"prototype":{"isAdmin":true}},'),
    headers: json,
    status: 400,
    code: 'invalid_json',
    problem: {
      pointer: '/constructor',
      rule: 'json_forbidden_key',
      message: expect.stringContaining('constructor.prototype'),
    },
  },
  {
    name: '100,000 nested arrays',
    payload: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
    headers: json,
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: '10,000 nested arrays (within the size limit)',
    payload: `{"observations":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    headers: json,
    status: 400,
    code: 'invalid_json',
    problem: { rule: 'json_depth', message: 'JSON nests deeper than 32 levels at line 1, column 48' },
  },
  {
    name: 'invalid UTF-8',
    payload: Buffer.concat([
      Buffer.from(valid.slice(0, 20)),
      Buffer.from([0xc3, 0x28, 0xa0]),
      Buffer.from(valid.slice(20)),
    ]),
    headers: json,
    status: 400,
    code: 'invalid_encoding',
    problem: { rule: 'utf8', message: expect.stringContaining('byte 0x28 at byte offset 21') },
  },
  {
    name: 'a body over the limit',
    payload: JSON.stringify(
      submission({ unit: { level: 'community', code: '110101001001', name: 'x'.repeat(70 * 1024) } }),
    ),
    headers: json,
    status: 413,
    code: 'payload_too_large',
    message: `the body is more than ${bodyLimitBytes} bytes; send several submissions as NDJSON (application/x-ndjson)`,
  },
  {
    name: 'an empty body',
    payload: '',
    headers: json,
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'text/plain',
    payload: valid,
    headers: { 'content-type': 'text/plain' },
    status: 415,
    code: 'unsupported_media_type',
    message:
      'send one submission as application/json, many as application/x-ndjson (UTF-8), or a sheet of the ' +
      'template as XLSX or text/csv',
  },
  {
    name: 'application/xml',
    payload: '<submission/>',
    headers: { 'content-type': 'application/xml' },
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'multipart/form-data',
    payload: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--',
    headers: { 'content-type': 'multipart/form-data; boundary=x' },
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'a charset other than UTF-8',
    payload: Buffer.from(valid, 'utf16le'),
    headers: { 'content-type': 'application/json; charset=utf-16' },
    status: 415,
    code: 'unsupported_media_type',
    message: 'charset utf-16 is not supported: send UTF-8',
  },
  {
    name: 'a Content-Encoding other than gzip',
    payload: valid,
    headers: { ...json, 'content-encoding': 'br' },
    status: 415,
    code: 'unsupported_encoding',
  },
  {
    name: 'gzip that is not gzip',
    payload: valid,
    headers: { ...json, 'content-encoding': 'gzip' },
    status: 400,
    code: 'invalid_encoding',
    message: /^the body says Content-Encoding: gzip but is not valid gzip/,
  },
  {
    name: 'a gzip bomb (64 MiB of spaces in about 64 KiB)',
    payload: gzipSync(Buffer.alloc(64 * 1_048_576, 0x20)),
    headers: { ...json, 'content-encoding': 'gzip' },
    status: 413,
    code: 'payload_too_large',
    message: `the body decompresses to more than ${bodyLimitBytes} bytes; send several submissions as NDJSON (application/x-ndjson)`,
  },
  {
    name: 'an NDJSON gzip bomb',
    payload: gzipSync(Buffer.alloc(64 * 1_048_576, 0x0a)),
    headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
    status: 413,
    code: 'payload_too_large',
  },
];

describe('the malformed-input corpus', () => {
  it.each(corpus)(
    '$name: $status $code, and a good submission right after is still accepted',
    async (entry) => {
      const response = await ingest.app.inject({
        method: 'POST',
        url: '/v1/submissions',
        headers: { authorization: `Bearer ${ingest.tokens.beijing}`, ...entry.headers },
        payload: entry.payload,
      });
      expect(response.statusCode).toBe(entry.status);
      const body = response.json();
      expect(openapiProblems('Error', body)).toEqual([]);
      expect(body.error.code).toBe(entry.code);
      if (entry.problem !== undefined) expect(body.error.problems[0]).toMatchObject(entry.problem);
      if (entry.message !== undefined) {
        if (typeof entry.message === 'string') expect(body.error.message).toBe(entry.message);
        else expect(body.error.message).toMatch(entry.message);
      }

      const good = submission();
      const after = await ingest.app.inject({
        method: 'POST',
        url: '/v1/submissions',
        headers: { authorization: `Bearer ${ingest.tokens.beijing}` },
        payload: good,
      });
      expect(after.statusCode).toBe(202);
      goodIds.push(good.submissionId);
    },
  );

  it('left only the good submissions in the topic', async () => {
    const stored = (await readTopic(ingest.fixture.kafka, ingest.fixture.topics.received)).map(
      (m) => (decodeJson(m.value) as { submission: { submissionId: string } }).submission.submissionId,
    );
    expect(stored.sort()).toEqual([...goodIds].sort());
    expect(stored).toHaveLength(corpus.length);
  });
});
