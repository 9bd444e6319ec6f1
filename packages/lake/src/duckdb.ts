// DuckDB over the lake: an instance that reads s3:// through the httpfs extension provisioned offline by
// infra/duckdb/install-extensions.sh, and the Parquet encoding every lake object goes through.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { ObjectStoreConfig } from './object-store.js';

export type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

export interface LakeDatabaseConfig {
  readonly extensionDirectory: string;
  /** The lake's store; omit for a database that only encodes Parquet locally. */
  readonly s3?: ObjectStoreConfig;
  readonly threads?: number;
  readonly memoryLimit?: string;
  /** Where DuckDB spills what does not fit in `memoryLimit`; a private folder under the OS temp by default. */
  readonly tempDirectory?: string;
}

export interface LakeDatabase {
  readonly instance: DuckDBInstance;
  readonly connection: DuckDBConnection;
  close(): void;
}

/** `text` as a SQL string literal. */
export const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;
/** `name` as a quoted SQL identifier. */
export const sqlIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quote = sqlString;

export const openLakeDatabase = async ({
  extensionDirectory,
  s3,
  threads = 2,
  memoryLimit = '1GB',
  tempDirectory = join(tmpdir(), `citycheck-duckdb-${process.pid}`),
}: LakeDatabaseConfig): Promise<LakeDatabase> => {
  const instance = await DuckDBInstance.create(':memory:', {
    extension_directory: extensionDirectory,
    // No network here (nor on many government networks): never try to download an extension.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'true',
    threads: String(threads),
    memory_limit: memoryLimit,
    temp_directory: tempDirectory,
  });
  const connection = await instance.connect();
  if (s3 !== undefined) {
    try {
      await connection.run('LOAD httpfs');
    } catch (error) {
      throw new Error(
        `DuckDB could not load the httpfs extension from ${extensionDirectory}; run bash infra/duckdb/install-extensions.sh`,
        { cause: error },
      );
    }
    const url = new URL(s3.endpoint);
    await connection.run(
      `CREATE OR REPLACE SECRET lake (TYPE s3, KEY_ID ${quote(s3.accessKeyId)}, SECRET ${quote(s3.secretAccessKey)}, ` +
        `ENDPOINT ${quote(url.host)}, URL_STYLE 'path', USE_SSL ${url.protocol === 'https:'}, REGION ${quote(s3.region)})`,
    );
  }
  return {
    instance,
    connection,
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
};

export const s3Url = (bucket: string, key: string): string => `s3://${bucket}/${key}`;

/**
 * Encodes rows as one Parquet object (zstd, microsecond timestamps, sorted by `orderBy` so row-group
 * statistics let readers skip what they do not need). `columns` maps each column to its DuckDB type; rows
 * are objects with those keys. The rows pass through newline-delimited JSON, which DuckDB parses natively.
 */
export const encodeParquet = async (
  connection: DuckDBConnection,
  rows: readonly Record<string, unknown>[],
  columns: Readonly<Record<string, string>>,
  orderBy: readonly string[],
): Promise<Uint8Array> => {
  const dir = await mkdtemp(join(tmpdir(), 'citycheck-parquet-'));
  try {
    const input = join(dir, 'rows.ndjson');
    const output = join(dir, 'rows.parquet');
    await writeFile(input, `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`);
    const columnSpec = Object.entries(columns)
      .map(([name, type]) => `${quote(name)}: ${quote(type)}`)
      .join(', ');
    const names = Object.keys(columns).map((name) => `"${name}"`);
    await connection.run(
      `COPY (SELECT ${names.join(', ')} FROM read_json(${quote(input)}, format = 'newline_delimited', ` +
        `columns = {${columnSpec}}) ORDER BY ${orderBy.map((name) => `"${name}"`).join(', ')}) ` +
        `TO ${quote(output)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
    );
    return new Uint8Array(await readFile(output));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/**
 * Encodes the rows of `query` (a SELECT over tables DuckDB already holds) as one Parquet object, as
 * encodeParquet does, with no rows passing through JavaScript.
 */
export const encodeQueryParquet = async (
  connection: DuckDBConnection,
  query: string,
  orderBy: readonly string[],
): Promise<Uint8Array> => {
  const dir = await mkdtemp(join(tmpdir(), 'citycheck-parquet-'));
  try {
    const output = join(dir, 'rows.parquet');
    await connection.run(
      `COPY (${query} ORDER BY ${orderBy.map((name) => `"${name}"`).join(', ')}) ` +
        `TO ${quote(output)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
    );
    return new Uint8Array(await readFile(output));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
