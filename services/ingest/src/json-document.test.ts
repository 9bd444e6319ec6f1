// Unit tests of strict JSON parsing: each kind of malformed document gets one precise problem.
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8, locateSyntaxError, parseJsonDocument } from './json-document.js';

const parse = (text: string | Buffer) =>
  parseJsonDocument(typeof text === 'string' ? Buffer.from(text) : text);

/** The message of the problem parse finds in `text`; undefined when it finds none. */
const messageOf = (text: string) => {
  const parsed = parse(text);
  return parsed.ok ? undefined : parsed.problem.message;
};

/** What parse answers for a body that is not acceptable JSON: one problem, under invalid_json. */
const invalidJson = (pointer: string, rule: string, message: string) => ({
  ok: false,
  code: 'invalid_json',
  problem: { pointer, rule, message },
});

describe('parseJsonDocument', () => {
  it('parses a document, ignoring a UTF-8 byte-order mark', () => {
    expect(parse('{"a":[1,2,{"b":"东城区"}]}')).toEqual({ ok: true, value: { a: [1, 2, { b: '东城区' }] } });
    expect(parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]))).toEqual({
      ok: true,
      value: { a: 1 },
    });
  });

  it('locates truncation and syntax errors by line and column', () => {
    expect(parse('{"submissionId": "abc", "cycle": 20')).toMatchObject(
      invalidJson(
        '/',
        'json_syntax',
        "the body is not valid JSON: expected ',' or '}' after a property value, found the end of the body at line 1, column 36",
      ),
    );
    expect(messageOf('{\n  "a": 1,\n  "b": tru\n}')).toBe(
      'the body is not valid JSON: expected a JSON value (true?), found "t" at line 3, column 8',
    );
    expect(messageOf('{"a": NaN}')).toBe(
      'the body is not valid JSON: expected a JSON value (NaN, Infinity and undefined are not JSON), found "N" at line 1, column 7',
    );
    expect(messageOf('{"a": 1} {"b": 2}')).toContain('expected the end of the body after one JSON value');
    expect(parse('   ')).toMatchObject({
      problem: { rule: 'json_syntax', message: 'the body is empty: send one JSON object' },
    });
  });

  it('refuses nesting deeper than 32 levels before parsing, at the bracket that goes too deep', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parse(deep)).toEqual(
      invalidJson('/', 'json_depth', 'JSON nests deeper than 32 levels at line 1, column 33'),
    );
    // Brackets inside strings do not count.
    expect(parse(JSON.stringify({ a: '['.repeat(100) }))).toMatchObject({ ok: true });
  });

  it('refuses __proto__ and constructor.prototype keys with the pointer of the key', () => {
    expect(parse('{"unit": {"__proto__": {"admin": true}}}')).toEqual(
      invalidJson(
        '/unit/__proto__',
        'json_forbidden_key',
        'the key __proto__ is not allowed (prototype poisoning guard); remove it',
      ),
    );
    expect(parse('{"observations": [{"constructor": {"prototype": {"x": 1}}}]}')).toMatchObject({
      problem: { pointer: '/observations/0/constructor', rule: 'json_forbidden_key' },
    });
    // A harmless "constructor" string value is fine.
    expect(parse('{"name": "constructor"}')).toMatchObject({ ok: true });
  });

  it('refuses invalid UTF-8 with the offset of the first bad byte', () => {
    const bytes = Buffer.concat([Buffer.from('{"name": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expect(parse(bytes)).toMatchObject({
      ok: false,
      code: 'invalid_encoding',
      problem: { rule: 'utf8', message: expect.stringContaining('byte 0x28 at byte offset 11') },
    });
  });
});

describe('firstInvalidUtf8', () => {
  it('finds stray continuation bytes, overlongs, surrogates and truncated sequences', () => {
    expect(firstInvalidUtf8(Buffer.from('ok 东城'))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x80]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0); // overlong '/'
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // UTF-16 surrogate
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xe4, 0xb8]))).toBe(1); // cut in the middle
    expect(firstInvalidUtf8(Buffer.from([0xff]))).toBe(0);
  });
});

describe('locateSyntaxError', () => {
  it('accepts what JSON.parse accepts', () => {
    for (const text of ['0', '-1.5e-3', '"\\u00e9\\n"', '[]', '{}', ' {"a":[true,false,null]} ']) {
      expect(locateSyntaxError(text)).toBeUndefined();
    }
  });

  it('names what was expected', () => {
    expect(locateSyntaxError('{"a":1,}')).toEqual({
      offset: 7,
      expected: 'expected a double-quoted property name, found "}"',
    });
    expect(locateSyntaxError('["a\tb"]')).toMatchObject({ offset: 3 });
    expect(locateSyntaxError('[01]')).toEqual({
      offset: 2,
      expected: "expected ',' or ']' after an array element, found \"1\"",
    });
  });
});
