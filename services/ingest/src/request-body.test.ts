// Unit tests of body reading: gzip, limits after decompression, and NDJSON line splitting across chunks.
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bodyEncodingOf, type NdjsonLine, ndjsonLines, readWholeBody } from './request-body.js';

const chunks = (...parts: (string | Buffer)[]) =>
  Readable.from(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));

const lines = async (source: Readable, options: Partial<Parameters<typeof ndjsonLines>[1]> = {}) => {
  const out: (string | { line: number; tooLongBytes: number })[] = [];
  for await (const item of ndjsonLines(source, {
    encoding: 'identity',
    maxLineBytes: 20,
    maxTotalBytes: 1000,
    ...options,
  })) {
    out.push(
      'bytes' in item
        ? `${item.line}:${item.bytes.toString()}`
        : (item as Extract<NdjsonLine, { tooLongBytes: number }>),
    );
  }
  return out;
};

describe('bodyEncodingOf', () => {
  it('knows identity and gzip and refuses the rest with 415', () => {
    expect(bodyEncodingOf(undefined)).toBe('identity');
    expect(bodyEncodingOf('GZIP')).toBe('gzip');
    expect(() => bodyEncodingOf('br')).toThrow(
      expect.objectContaining({ code: 'unsupported_encoding', status: 415 }),
    );
  });
});

describe('readWholeBody', () => {
  it('decompresses gzip', async () => {
    const body = await readWholeBody(chunks(gzipSync('{"a":1}')), {
      encoding: 'gzip',
      limitBytes: 100,
      tooLargeHint: 'x',
    });
    expect(body.toString()).toBe('{"a":1}');
  });

  it('stops a gzip bomb at the limit, counted after decompression', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1_048_576, 0x20));
    expect(bomb.length).toBeLessThan(100_000);
    await expect(
      readWholeBody(chunks(bomb), { encoding: 'gzip', limitBytes: 1_048_576, tooLargeHint: 'x' }),
    ).rejects.toMatchObject({
      code: 'payload_too_large',
      message: 'the body decompresses to more than 1048576 bytes; x',
    });
  });

  it('refuses what is not gzip, and a body announced too large without reading it', async () => {
    await expect(
      readWholeBody(chunks('{"a":1}'), { encoding: 'gzip', limitBytes: 100, tooLargeHint: 'x' }),
    ).rejects.toMatchObject({ code: 'invalid_encoding', status: 400 });
    await expect(
      readWholeBody(chunks(gzipSync('{"a":1}').subarray(0, 15)), {
        encoding: 'gzip',
        limitBytes: 100,
        tooLargeHint: 'x',
      }),
    ).rejects.toMatchObject({ code: 'invalid_encoding' });
    await expect(
      readWholeBody(chunks('x'), {
        encoding: 'identity',
        limitBytes: 100,
        contentLength: 101,
        tooLargeHint: 'x',
      }),
    ).rejects.toMatchObject({ code: 'payload_too_large' });
  });
});

describe('ndjsonLines', () => {
  it('splits lines across chunk boundaries, CRLF or LF, skipping blank lines but counting them', async () => {
    expect(await lines(chunks('{"a":', '1}\r\n\n  \n{"b"', ':2}\n{"c":3}'))).toEqual([
      '1:{"a":1}',
      '4:{"b":2}',
      '5:{"c":3}',
    ]);
  });

  it('reports an over-long line by number and goes on with the next', async () => {
    expect(
      await lines(chunks('{"a":1}\n', `{"long":"${'x'.repeat(30)}`, `${'y'.repeat(30)}"}\n{"b":2}\n`)),
    ).toEqual(['1:{"a":1}', { line: 2, tooLongBytes: 9 + 30 + 30 + 2 }, '3:{"b":2}']);
  });

  it('stops with 413 past the total limit, after the lines before it', async () => {
    const seen: string[] = [];
    const read = async () => {
      for await (const item of ndjsonLines(chunks('{"a":1}\n', '{"b":2}\n', 'x'.repeat(50)), {
        encoding: 'identity',
        maxLineBytes: 100,
        maxTotalBytes: 30,
      })) {
        if ('bytes' in item) seen.push(item.bytes.toString());
      }
    };
    await expect(read()).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(seen).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reads gzip NDJSON', async () => {
    expect(await lines(chunks(gzipSync('{"a":1}\n{"b":2}\n')), { encoding: 'gzip' })).toEqual([
      '1:{"a":1}',
      '2:{"b":2}',
    ]);
  });
});
