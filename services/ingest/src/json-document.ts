// Turns the bytes of one JSON document (a request body or one NDJSON line) into a value, or into one precise
// problem a sender can act on: where the UTF-8 is broken, where the syntax fails (line and column), how deep
// the nesting went, which key would poison a prototype. Nothing here throws on bad input.
import { isUtf8 } from 'node:buffer';
import type { FieldProblem } from '@citycheck/errors';
import secureJson from 'secure-json-parse';

/** Far deeper than any submission (4 levels); deep enough that no legitimate document is refused. */
export const maxJsonDepth = 32;

export type ParsedDocument =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly code: 'invalid_json' | 'invalid_encoding';
      readonly problem: FieldProblem;
    };

const fail = (
  code: 'invalid_json' | 'invalid_encoding',
  rule: string,
  message: string,
  pointer = '/',
): ParsedDocument => ({
  ok: false,
  code,
  problem: { pointer, rule, message },
});

/** Parses one JSON document from UTF-8 bytes (a leading byte-order mark is ignored). */
export const parseJsonDocument = (bytes: Uint8Array): ParsedDocument => {
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  const body = bytes.subarray(start);
  const badByte = firstInvalidUtf8(body);
  if (badByte !== -1) {
    return fail(
      'invalid_encoding',
      'utf8',
      `the body is not valid UTF-8: byte 0x${(body[badByte] ?? 0).toString(16).padStart(2, '0')} at byte offset ${badByte + start} ` +
        'cannot start or continue a character (send UTF-8 text)',
    );
  }
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.trim() === '')
    return fail('invalid_json', 'json_syntax', 'the body is empty: send one JSON object');

  const tooDeep = firstTooDeep(text, maxJsonDepth);
  if (tooDeep !== -1) {
    return fail(
      'invalid_json',
      'json_depth',
      `JSON nests deeper than ${maxJsonDepth} levels at ${where(text, tooDeep)}`,
    );
  }
  // secure-json-parse, as fastify's default parser uses it: JSON.parse, then a walk for prototype-poisoning
  // keys only when the text mentions __proto__ or constructor at all.
  try {
    return {
      ok: true,
      value: secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' }),
    };
  } catch (error) {
    if (error instanceof SyntaxError && error.message.startsWith('Object contains forbidden')) {
      const found = forbiddenKey(JSON.parse(text));
      return fail(
        'invalid_json',
        'json_forbidden_key',
        `the key ${found?.key ?? '__proto__'} is not allowed (prototype poisoning guard); remove it`,
        found?.pointer ?? '/',
      );
    }
    const located = locateSyntaxError(text);
    const detail =
      located === undefined
        ? (error as Error).message
        : `${located.expected} at ${where(text, located.offset)}`;
    return fail('invalid_json', 'json_syntax', `the body is not valid JSON: ${detail}`);
  }
};

/** Line and column (1-based) of a character offset, for messages. */
const where = (text: string, offset: number): string => {
  let line = 1;
  let lineStart = 0;
  for (
    let index = text.indexOf('\n');
    index !== -1 && index < offset;
    index = text.indexOf('\n', index + 1)
  ) {
    line += 1;
    lineStart = index + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
};

/** Offset of the first byte that breaks UTF-8 (overlongs, surrogates and values past U+10FFFF included), or -1. */
export const firstInvalidUtf8 = (bytes: Uint8Array): number => {
  // The common case, checked natively: valid text costs one pass in C++.
  if (isUtf8(bytes)) return -1;
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index] as number;
    let extra: number;
    let min: number;
    let code: number;
    if (byte < 0x80) {
      index += 1;
      continue;
    } else if (byte >= 0xc2 && byte <= 0xdf) {
      extra = 1;
      min = 0x80;
      code = byte & 0x1f;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      extra = 2;
      min = 0x800;
      code = byte & 0x0f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      extra = 3;
      min = 0x10000;
      code = byte & 0x07;
    } else {
      return index;
    }
    for (let k = 1; k <= extra; k += 1) {
      const next = bytes[index + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return index + k < bytes.length ? index + k : index;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return index;
    index += extra + 1;
  }
  return -1;
};

/** Offset of the bracket that opens level `limit + 1`, outside strings, or -1. Linear and allocation-free. */
const firstTooDeep = (text: string, limit: number): number => {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index += 1; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      depth += 1;
      if (depth > limit) return index;
    } else if (char === 0x5d || char === 0x7d) {
      depth -= 1;
    }
  }
  return -1;
};

/** The first `__proto__` key, or `constructor` key holding a `prototype`, in a parsed value, and its pointer. */
const forbiddenKey = (value: unknown): { pointer: string; key: string } | undefined => {
  const pending: { node: unknown; pointer: string }[] = [{ node: value, pointer: '' }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const { node, pointer } = item;
    if (typeof node !== 'object' || node === null) continue;
    for (const key of Object.keys(node)) {
      const child = (node as Record<string, unknown>)[key];
      const childPointer = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (key === '__proto__') return { pointer: childPointer, key };
      if (
        key === 'constructor' &&
        typeof child === 'object' &&
        child !== null &&
        Object.hasOwn(child, 'prototype')
      ) {
        return { pointer: childPointer, key: 'constructor.prototype' };
      }
      pending.push({ node: child, pointer: childPointer });
    }
  }
  return undefined;
};

/**
 * Finds where JSON.parse failed and what was expected there. Only run on text JSON.parse refused, and after
 * the depth check, so its recursion is bounded by `maxJsonDepth`.
 */
export const locateSyntaxError = (text: string): { offset: number; expected: string } | undefined => {
  let at = 0;
  class SyntaxFault extends Error {
    constructor(
      readonly offset: number,
      readonly expected: string,
    ) {
      super(expected);
    }
  }
  const fault = (expected: string): never => {
    const found = at < text.length ? `found ${JSON.stringify(text[at])}` : 'found the end of the body';
    throw new SyntaxFault(at, `expected ${expected}, ${found}`);
  };
  const space = (): void => {
    while (at < text.length && ' \t\n\r'.includes(text[at] as string)) at += 1;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, at)) at += word.length;
    else fault(`a JSON value (${word}?)`);
  };
  const string = (): void => {
    at += 1;
    for (;;) {
      if (at >= text.length) fault('a closing quote');
      const code = text.charCodeAt(at);
      if (code === 0x22) {
        at += 1;
        return;
      }
      if (code < 0x20) fault('an escaped control character (\\n, \\t, \\u00XX) inside the string');
      if (code === 0x5c) {
        const escaped = text[at + 1];
        if (escaped === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) {
            at += 2;
            fault('four hex digits after \\u');
          }
          at += 6;
        } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) {
          at += 2;
        } else {
          at += 1;
          fault('a valid escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        }
      } else {
        at += 1;
      }
    }
  };
  const number = (): void => {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(at, at + 400));
    if (match === null || match[0] === '' || match[0] === '-') fault('a JSON value');
    at += (match as RegExpExecArray)[0].length;
  };
  // After `{` or `[`: whether the container is closed at once (`{}`, `[]`), stepping over the closer if so.
  const closesEmpty = (close: string): boolean => {
    at += 1;
    space();
    if (text[at] !== close) return false;
    at += 1;
    return true;
  };
  // After a member or element: whether another follows (`,`), or the container closes; any other is a fault.
  const another = (close: string, after: string): boolean => {
    space();
    const char = text[at];
    if (char !== ',' && char !== close) fault(`',' or '${close}' after ${after}`);
    at += 1;
    return char === ',';
  };
  const value = (): void => {
    space();
    const char = text[at];
    if (char === '{') {
      if (closesEmpty('}')) return;
      do {
        space();
        if (text[at] !== '"') fault('a double-quoted property name');
        string();
        space();
        if (text[at] !== ':') fault("':' after the property name");
        at += 1;
        value();
      } while (another('}', 'a property value'));
    } else if (char === '[') {
      if (closesEmpty(']')) return;
      do {
        value();
      } while (another(']', 'an array element'));
    } else if (char === '"') {
      string();
    } else if (char === 't') {
      literal('true');
    } else if (char === 'f') {
      literal('false');
    } else if (char === 'n') {
      literal('null');
    } else if (char === '-' || (char !== undefined && char >= '0' && char <= '9')) {
      number();
    } else {
      fault('a JSON value (NaN, Infinity and undefined are not JSON)');
    }
  };
  try {
    value();
    space();
    if (at < text.length) fault('the end of the body after one JSON value');
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxFault) return { offset: error.offset, expected: error.expected };
    throw error;
  }
};
