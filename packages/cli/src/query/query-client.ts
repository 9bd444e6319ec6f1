// The analyst's side of the query service for the CLI: `citycheck query "<sql>"` prints the rows as a table
// or writes them to a file in the format its extension names (streamed to disk, never held whole);
// `citycheck tables` lists the documented views. Plain fetch; the token is CITYCHECK_TOKEN or --token.

import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { QueryResult, TableCatalogue } from '@citycheck/contracts';

export interface QueryTarget {
  /** Base URL of the query service, e.g. http://127.0.0.1:8090 */
  readonly url: string;
  readonly token: string;
}

/** A JSON answer of POST /v1/query (schemas/http/query-result.v1.schema.json). */
export type JsonResult = QueryResult;

/** The service's error, as its message; thrown for any answer that is not the result. */
export class QueryFailed extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'QueryFailed';
  }
}

const mediaTypes: Record<string, string> = {
  '.csv': 'text/csv',
  '.parquet': 'application/vnd.apache.parquet',
  '.arrow': 'application/vnd.apache.arrow.stream',
  '.arrows': 'application/vnd.apache.arrow.stream',
  '.json': 'application/json',
};

/** The Accept header a file name asks for; undefined when the extension names no format. */
export const mediaTypeFor = (file: string): string | undefined => mediaTypes[extname(file).toLowerCase()];

const endpoint = (target: QueryTarget, path: string): string => `${target.url.replace(/\/+$/, '')}${path}`;

const failure = async (response: Response): Promise<QueryFailed> => {
  const text = await response.text();
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string } };
    return new QueryFailed(body.error?.message ?? text, response.status, body.error?.code);
  } catch {
    return new QueryFailed(
      `the query service answered ${response.status}: ${text.slice(0, 500)}`,
      response.status,
      undefined,
    );
  }
};

const post = (target: QueryTarget, sql: string, accept: string): Promise<Response> =>
  fetch(endpoint(target, '/v1/query'), {
    method: 'POST',
    headers: { authorization: `Bearer ${target.token}`, accept, 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  });

/** Runs `sql` and returns the whole JSON result (for printing); a failure after rows started is thrown too. */
export const queryRows = async (target: QueryTarget, sql: string): Promise<JsonResult> => {
  const response = await post(target, sql, 'application/json');
  if (!response.ok) throw await failure(response);
  const result = (await response.json()) as JsonResult;
  if (!result.complete) {
    throw new QueryFailed(result.error?.message ?? 'the result ended early', 422, result.error?.code);
  }
  return result;
};

/**
 * Runs `sql` and streams the result into `file`, in the format its extension names. A transfer that breaks
 * (a limit hit after rows were sent) removes the partial file and throws, so no short file looks whole.
 */
export const queryToFile = async (
  target: QueryTarget,
  sql: string,
  file: string,
): Promise<{ bytes: number }> => {
  const accept = mediaTypeFor(file);
  if (accept === undefined) {
    throw new QueryFailed(
      `cannot tell the format of ${file}: use .csv, .parquet, .arrow or .json`,
      0,
      undefined,
    );
  }
  const response = await post(target, sql, accept);
  if (!response.ok) throw await failure(response);
  if (response.body === null)
    throw new QueryFailed('the query service sent no body', response.status, undefined);
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(file));
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (accept === 'application/json') {
        // JSON carries a limit hit after rows were sent in-band: check the closing member.
        const tail = Buffer.alloc(Math.min(size, 4096));
        await handle.read(tail, 0, tail.length, size - tail.length);
        const ending = tail.toString('utf8');
        if (!ending.includes('"complete":true')) {
          const error = /"error":(\{.*\})\}\s*$/.exec(ending)?.[1];
          const parsed =
            error === undefined ? undefined : (JSON.parse(error) as { code?: string; message?: string });
          throw new QueryFailed(parsed?.message ?? 'the result ended early', 422, parsed?.code);
        }
      }
      return { bytes: size };
    } finally {
      await handle.close();
    }
  } catch (error) {
    await rm(file, { force: true });
    if (error instanceof QueryFailed) throw error;
    throw new QueryFailed(
      `the result broke off before its end (a limit was hit after rows were sent, or the connection dropped): ${
        error instanceof Error ? error.message : String(error)
      }`,
      0,
      undefined,
    );
  }
};

/** The answer of GET /v1/tables (schemas/http/table-catalogue.v1.schema.json). */
export type TableListing = TableCatalogue;

export const listTables = async (target: QueryTarget): Promise<TableListing> => {
  const response = await fetch(endpoint(target, '/v1/tables'), {
    headers: { authorization: `Bearer ${target.token}` },
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as TableListing;
};

const cell = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

/** Rows as an aligned text table with a header rule; numbers right-aligned. */
export const formatTable = (result: Pick<JsonResult, 'columns' | 'rows'>): string => {
  const header = result.columns.map((column) => column.name);
  const body = result.rows.map((row) => row.map(cell));
  const numeric = result.columns.map((_, index) =>
    result.rows.every((row) => row[index] === null || typeof row[index] === 'number'),
  );
  // East Asian characters take two columns in a terminal.
  const width = (text: string): number =>
    [...text].reduce((total, char) => total + (/[\u1100-\uffe6]/.test(char) ? 2 : 1), 0);
  const widths = header.map((name, index) =>
    Math.max(width(name), ...body.map((row) => width(row[index] ?? ''))),
  );
  const pad = (text: string, index: number): string => {
    const gap = ' '.repeat((widths[index] ?? 0) - width(text));
    return numeric[index] === true ? `${gap}${text}` : `${text}${gap}`;
  };
  const line = (cells: readonly string[]): string => cells.map(pad).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
};

export const formatTables = (listing: TableListing): string => {
  const parts: string[] = [];
  for (const table of listing.tables) {
    const scope =
      table.provinceColumn === undefined
        ? 'every analyst sees all rows'
        : `by province: ${table.provinceColumn}`;
    parts.push(`${table.name}  (${scope})\n  ${table.doc}`);
    parts.push(
      formatTable({
        columns: [
          { name: 'column', type: '' },
          { name: 'type', type: '' },
          { name: 'meaning', type: '' },
        ],
        rows: table.columns.map((column) => [column.name, column.type, column.doc ?? '']),
      })
        .split('\n')
        .map((text) => `    ${text}`)
        .join('\n'),
    );
  }
  for (const macro of listing.macros)
    parts.push(`${macro.name}(${macro.parameters.join(', ')})  (table macro)\n  ${macro.doc}`);
  return parts.join('\n\n');
};
