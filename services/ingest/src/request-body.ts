// Reading request bodies without trusting them: Content-Encoding (identity or gzip), byte limits counted after
// decompression (so a gzip bomb stops at the limit, not at the end of memory), and NDJSON split into lines
// with a bound on each line, streamed so that an upload is never held whole.
import type { Duplex, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CitycheckError } from '@citycheck/errors';

export type BodyEncoding = 'identity' | 'gzip';

/** The body's Content-Encoding; anything but gzip or identity is refused with 415. */
export const bodyEncodingOf = (header: string | string[] | undefined): BodyEncoding => {
  const value = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  throw new CitycheckError(
    'unsupported_encoding',
    `Content-Encoding ${JSON.stringify(value)} is not supported: send the body uncompressed or with gzip`,
  );
};

const zlibCodes = new Set(['Z_DATA_ERROR', 'Z_BUF_ERROR', 'Z_STREAM_ERROR', 'Z_NEED_DICT']);

/** Maps a failure while reading the body to what the sender did wrong, if it was the sender. */
const readFailure = (error: unknown): unknown => {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && zlibCodes.has(code)) {
    return new CitycheckError(
      'invalid_encoding',
      `the body says Content-Encoding: gzip but is not valid gzip (${(error as Error).message})`,
      { cause: error },
    );
  }
  return error;
};

/**
 * The body's bytes as they were before compression, as a stream. The request itself is never destroyed here:
 * destroying an unfinished request destroys its socket, and the sender would get no answer.
 */
export const decodedBody = (raw: Readable, encoding: BodyEncoding): Readable => {
  if (encoding === 'identity') return raw;
  const gunzip = createGunzip();
  raw.once('error', (error) => gunzip.destroy(error));
  raw.once('close', () => {
    if (!raw.readableEnded) gunzip.destroy(new Error('the request ended before its body was complete'));
  });
  raw.pipe(gunzip);
  return gunzip;
};

/** Reads a stream without destroying it when the reader stops early (see decodedBody). */
const chunksOf = (source: Readable): AsyncIterable<Buffer> => source.iterator({ destroyOnReturn: false });

/**
 * Stops reading early: decompression ends, and the rest of the request is read and discarded so the answer
 * reaches the sender (closing a socket with unread data in it resets the connection, answer and all).
 */
const stop = (source: Readable, raw: Readable): void => {
  if (source !== raw) {
    raw.unpipe(source as Duplex);
    source.destroy();
  }
  raw.resume();
};

export interface ReadBodyOptions {
  readonly encoding: BodyEncoding;
  /** Largest body, counted after decompression. */
  readonly limitBytes: number;
  /** The Content-Length header, when given: an identity body announced as too large is refused unread. */
  readonly contentLength?: number;
  /** Says what to send instead of a body that is too large. */
  readonly tooLargeHint: string;
}

const tooLarge = (limitBytes: number, decompressed: boolean, hint: string): CitycheckError =>
  new CitycheckError(
    'payload_too_large',
    `the body ${decompressed ? 'decompresses to' : 'is'} more than ${limitBytes} bytes; ${hint}`,
  );

/** Reads a whole (single-document) body into memory, up to `limitBytes`. */
export const readWholeBody = async (raw: Readable, options: ReadBodyOptions): Promise<Buffer> => {
  const { encoding, limitBytes, contentLength, tooLargeHint } = options;
  if (encoding === 'identity' && contentLength !== undefined && contentLength > limitBytes) {
    throw tooLarge(limitBytes, false, tooLargeHint);
  }
  const source = decodedBody(raw, encoding);
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const bytes of chunksOf(source)) {
      length += bytes.length;
      if (length > limitBytes) throw tooLarge(limitBytes, encoding === 'gzip', tooLargeHint);
      chunks.push(bytes);
    }
  } catch (error) {
    stop(source, raw);
    throw readFailure(error);
  }
  return Buffer.concat(chunks, length);
};

export type NdjsonLine =
  | { readonly line: number; readonly bytes: Buffer }
  | { readonly line: number; readonly tooLongBytes: number };

export interface NdjsonOptions {
  readonly encoding: BodyEncoding;
  /** Largest line (one submission); a longer one is reported by number and skipped, the rest still read. */
  readonly maxLineBytes: number;
  /** Largest upload after decompression; past it reading stops with 413. */
  readonly maxTotalBytes: number;
  readonly contentLength?: number;
}

/**
 * Splits an NDJSON body into lines (LF or CRLF; blank lines are skipped but counted), pulling the body only as
 * fast as the caller consumes lines. Memory is bounded by one line plus one read chunk.
 */
export async function* ndjsonLines(raw: Readable, options: NdjsonOptions): AsyncGenerator<NdjsonLine> {
  const { encoding, maxLineBytes, maxTotalBytes, contentLength } = options;
  const hint = 'split the upload into several requests';
  if (encoding === 'identity' && contentLength !== undefined && contentLength > maxTotalBytes) {
    throw tooLarge(maxTotalBytes, false, hint);
  }
  const source = decodedBody(raw, encoding);
  let parts: Buffer[] = [];
  let partLength = 0;
  let overflow = 0; // bytes of the current line dropped because it is too long
  let lineNumber = 0;
  let total = 0;

  const finishLine = (tail: Buffer): NdjsonLine | undefined => {
    lineNumber += 1;
    if (overflow > 0) {
      const length = overflow + tail.length;
      overflow = 0;
      parts = [];
      partLength = 0;
      return { line: lineNumber, tooLongBytes: length };
    }
    let bytes = parts.length === 0 ? tail : Buffer.concat([...parts, tail], partLength + tail.length);
    parts = [];
    partLength = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length > maxLineBytes) return { line: lineNumber, tooLongBytes: bytes.length };
    // A line of only spaces or tabs is blank too.
    for (const byte of bytes) {
      if (byte !== 0x20 && byte !== 0x09) return { line: lineNumber, bytes };
    }
    return undefined;
  };

  const keep = (piece: Buffer): void => {
    if (overflow > 0) {
      overflow += piece.length;
    } else if (partLength + piece.length > maxLineBytes + 1) {
      // Past the bound (+1 for a CR): drop what was kept and count the rest.
      overflow = partLength + piece.length;
      parts = [];
      partLength = 0;
    } else if (piece.length > 0) {
      // Copied: the chunk may be a view into a pooled buffer that the stream reuses.
      parts.push(Buffer.from(piece));
      partLength += piece.length;
    }
  };

  try {
    for await (const bytes of chunksOf(source)) {
      total += bytes.length;
      if (total > maxTotalBytes) throw tooLarge(maxTotalBytes, encoding === 'gzip', hint);
      let start = 0;
      for (let newline = bytes.indexOf(0x0a, start); newline !== -1; newline = bytes.indexOf(0x0a, start)) {
        const tail = bytes.subarray(start, newline);
        start = newline + 1;
        if (overflow > 0 || partLength + tail.length > maxLineBytes + 1) {
          keep(tail);
          const result = finishLine(Buffer.alloc(0));
          if (result !== undefined) yield result;
          continue;
        }
        const result = finishLine(tail);
        if (result !== undefined) yield result;
      }
      keep(bytes.subarray(start));
    }
  } catch (error) {
    stop(source, raw);
    throw readFailure(error);
  }
  if (overflow > 0 || partLength > 0) {
    const result = finishLine(Buffer.alloc(0));
    if (result !== undefined) yield result;
  }
}
