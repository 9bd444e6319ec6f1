// What `citycheck submit` uploads: .json files (one submission, or an array of them), .ndjson / .jsonl files
// (one per line, optionally .gz), found in the given files and directories, cut into chunks of whole lines;
// and spreadsheets in the layout of `citycheck template` (.xlsx, .csv), each sent whole for ingest to read.
// Lines are cut as bytes, never decoded, so what the city wrote is exactly what ingest checks.
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createGunzip } from 'node:zlib';

const ndjsonPattern = /\.(ndjson|jsonl)(\.gz)?$/i;
const jsonPattern = /\.json$/i;
const sheetPattern = /\.(xlsx|csv)$/i;
const statePattern = /\.citycheck-state\.json$/i;
// Excel's lock file beside an open workbook (~$银川市.xlsx): never a city's data.
const lockPattern = /(^|[\\/])~\$[^\\/]*$/;

/** The media type ingest reads a spreadsheet as. */
export const sheetMediaTypes = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv; charset=utf-8',
} as const;

export const isInputFile = (path: string): boolean =>
  !statePattern.test(path) &&
  !lockPattern.test(path) &&
  (ndjsonPattern.test(path) || jsonPattern.test(path) || sheetPattern.test(path));

/** The input files under the given paths (directories searched recursively), in a stable order. */
export const findInputFiles = async (paths: readonly string[]): Promise<string[]> => {
  const found: string[] = [];
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    const info = await stat(path);
    if (info.isDirectory()) {
      const entries = (await readdir(path)).filter((name) => !name.startsWith('.')).sort();
      for (const entry of entries) await visit(join(path, entry), false);
    } else if (info.isFile() && (explicit || isInputFile(path))) {
      if (!isInputFile(path))
        throw new Error(`${path}: not a .json, .ndjson, .jsonl(.gz), .xlsx or .csv file`);
      found.push(path);
    }
  };
  for (const path of paths) await visit(path, true);
  return [...new Set(found)];
};

export interface Chunk {
  /** 0-based position of the chunk in its file. */
  readonly index: number;
  /**
   * ndjson: `body` holds lines; json: `body` is one JSON document sent as it is; sheet: `body` is a whole
   * workbook or CSV, sent as it is with `contentType`.
   */
  readonly kind: 'ndjson' | 'json' | 'sheet';
  readonly contentType?: string;
  readonly body: Buffer;
  /** For each line of `body`, where it came from: a line number (ndjson) or array position (json array, 1-based). */
  readonly origins: readonly number[];
  /** How origins are counted, for messages: `line 17`, `item 3`; a sheet's rows are named by ingest. */
  readonly unit: 'line' | 'item' | 'file' | 'row';
  /** Bytes of the file read once this chunk is done, for progress. */
  readonly readBytes: number;
}

export interface ChunkingOptions {
  readonly chunkLines: number;
  readonly maxChunkBytes: number;
}

/** Splits a byte stream into lines (LF; a CR before it is dropped), without decoding them. */
async function* byteLines(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer[] = [];
  for await (const chunk of stream) {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, newline);
      const line = carry.length === 0 ? Buffer.from(piece) : Buffer.concat([...carry, piece]);
      carry = [];
      start = newline + 1;
      yield line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
    }
    if (start < chunk.length) carry.push(Buffer.from(chunk.subarray(start)));
  }
  if (carry.length > 0) yield Buffer.concat(carry);
}

const isBlank = (line: Buffer): boolean => line.every((byte) => byte === 0x20 || byte === 0x09);

async function* ndjsonChunks(
  path: string,
  { chunkLines, maxChunkBytes }: ChunkingOptions,
): AsyncGenerator<Chunk> {
  const file = createReadStream(path, { highWaterMark: 256 * 1024 });
  const source: AsyncIterable<Buffer> = /\.gz$/i.test(path) ? file.pipe(createGunzip()) : file;
  let lines: Buffer[] = [];
  let origins: number[] = [];
  let bytes = 0;
  let index = 0;
  let lineNumber = 0;
  const cut = (): Chunk => {
    const chunk: Chunk = {
      index,
      kind: 'ndjson',
      body: Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])),
      origins,
      unit: 'line',
      readBytes: file.bytesRead,
    };
    index += 1;
    lines = [];
    origins = [];
    bytes = 0;
    return chunk;
  };
  for await (const line of byteLines(source)) {
    lineNumber += 1;
    if (isBlank(line)) continue;
    if (lines.length > 0 && (lines.length >= chunkLines || bytes + line.length + 1 > maxChunkBytes))
      yield cut();
    lines.push(line);
    origins.push(lineNumber);
    bytes += line.length + 1;
  }
  if (lines.length > 0) yield cut();
}

async function* jsonChunks(path: string, options: ChunkingOptions): AsyncGenerator<Chunk> {
  const bytes = await readFile(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) {
    // One submission, or something ingest will explain precisely: sent exactly as it is.
    yield { index: 0, kind: 'json', body: bytes, origins: [1], unit: 'file', readBytes: bytes.length };
    return;
  }
  // An array of submissions travels as NDJSON, chunked like any NDJSON file.
  for (let start = 0, index = 0; start < parsed.length; index += 1) {
    const lines: Buffer[] = [];
    const origins: number[] = [];
    let size = 0;
    while (start < parsed.length && lines.length < options.chunkLines) {
      const line = Buffer.from(JSON.stringify(parsed[start]));
      if (lines.length > 0 && size + line.length + 1 > options.maxChunkBytes) break;
      lines.push(line);
      origins.push(start + 1);
      size += line.length + 1;
      start += 1;
    }
    yield {
      index,
      kind: 'ndjson',
      body: Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')])),
      origins,
      unit: 'item',
      readBytes: Math.round((bytes.length * start) / parsed.length),
    };
  }
}

/** A spreadsheet is one chunk: ingest reads the workbook whole and answers per row. */
async function* sheetChunks(path: string): AsyncGenerator<Chunk> {
  const bytes = await readFile(path);
  const format = /\.xlsx$/i.test(path) ? 'xlsx' : 'csv';
  yield {
    index: 0,
    kind: 'sheet',
    contentType: sheetMediaTypes[format],
    body: bytes,
    origins: [],
    unit: 'row',
    readBytes: bytes.length,
  };
}

/** The chunks of one input file, cut the same way every time for the same file and options (resume relies on it). */
export const chunksOf = (path: string, options: ChunkingOptions): AsyncGenerator<Chunk> =>
  ndjsonPattern.test(basename(path))
    ? ndjsonChunks(path, options)
    : sheetPattern.test(basename(path))
      ? sheetChunks(path)
      : jsonChunks(path, options);
