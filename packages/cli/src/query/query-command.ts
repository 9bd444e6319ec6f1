// `citycheck query "<sql>" [--out FILE]` and `citycheck tables`: argument parsing and printing around
// query-client.ts. Registered in ../main.ts. Exit codes: 0 answered, 2 refused or failed, 64 usage.
import { parseArgs } from 'node:util';
import { readConfig } from '@citycheck/config';
import {
  formatTable,
  formatTables,
  listTables,
  QueryFailed,
  type QueryTarget,
  queryRows,
  queryToFile,
} from './query-client.js';

export const queryUsage = `  citycheck query "<sql>" [--out result.csv|.parquet|.arrow|.json] [--json] [--url URL] [--token TOKEN]
  citycheck tables [--json] [--url URL] [--token TOKEN]`;

const target = (values: { url?: string | undefined; token?: string | undefined }): QueryTarget => {
  const config = readConfig(['citycheckQueryUrl', 'citycheckToken']);
  const token = values.token ?? config.citycheckToken;
  if (token === '')
    throw new QueryFailed(
      'no credential: set CITYCHECK_TOKEN to your analyst token or pass --token',
      0,
      undefined,
    );
  return { url: values.url ?? config.citycheckQueryUrl, token };
};

const reported = (error: unknown): number => {
  if (error instanceof QueryFailed) {
    console.error(`citycheck: ${error.code === undefined ? '' : `${error.code}: `}${error.message}`);
    return error.status === 0 && error.code === undefined && error.message.startsWith('no credential')
      ? 64
      : 2;
  }
  throw error;
};

export const queryCommand = async (args: string[]): Promise<number> => {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const sql = positionals.join(' ').trim();
  if (sql === '') {
    console.error(`citycheck: query needs the SQL as its argument\n\n${queryUsage}`);
    return 64;
  }
  try {
    const service = target(values);
    if (values.out !== undefined) {
      const { bytes } = await queryToFile(service, sql, values.out);
      console.error(`citycheck: wrote ${values.out} (${bytes} bytes)`);
      return 0;
    }
    const result = await queryRows(service, sql);
    if (values.json) console.log(JSON.stringify(result));
    else {
      console.log(formatTable(result));
      console.error(`(${result.rowCount} row${result.rowCount === 1 ? '' : 's'})`);
    }
    return 0;
  } catch (error) {
    return reported(error);
  }
};

export const tablesCommand = async (args: string[]): Promise<number> => {
  const { values } = parseArgs({
    args,
    options: {
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
    },
  });
  try {
    const listing = await listTables(target(values));
    console.log(values.json ? JSON.stringify(listing, null, 2) : formatTables(listing));
    return 0;
  } catch (error) {
    return reported(error);
  }
};
