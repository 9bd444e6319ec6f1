// The query engine: one locked-down DuckDB database over the lake, in which each query runs in a connection
// of its own where the documented views are re-created as views scoped to the caller (a province's rows, or
// all for the ministry) over the full ones, which the caller's SQL cannot name. Limits: a deadline per
// query (interrupt), a memory limit for the database, a row cap, and a bounded number of queries at once.
import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CitycheckError } from '@citycheck/errors';
import {
  type DuckDBConnection,
  type LakeDatabase,
  type ObjectStoreConfig,
  openLakeDatabase,
} from '@citycheck/lake';
import type { Logger } from '@citycheck/logging';
import type { DuckDBDataChunk, DuckDBResult, DuckDBType } from '@duckdb/node-api';
import {
  checkProvinceCode,
  documentedViews,
  lakeMacros,
  type MacroDoc,
  provinceCondition,
  type ViewDoc,
} from './lake-model.js';
import type { LakeViewDefiner } from './lake-views.js';
import { describeColumns, type ResultColumn } from './result-columns.js';
import { type CheckedQuery, checkQuery, duckdbMessage } from './sql-guard.js';

/** Whose rows a query may see. */
export type QueryScope =
  | { readonly kind: 'ministry' }
  | { readonly kind: 'province'; readonly provinceCode: string };

export interface QueryLimits {
  readonly timeoutMs: number;
  /** DuckDB memory limit for all running queries together, e.g. `2GB`. */
  readonly memoryLimit: string;
  readonly rowCap: number;
  readonly concurrency: number;
  readonly queueLimit: number;
  readonly threads: number;
}

export interface QueryEngineOptions {
  readonly extensionDirectory: string;
  /** The lake's store: DuckDB may read s3://<bucket>/ and nothing else. */
  readonly s3: ObjectStoreConfig;
  /** Creates the full views in the schema it is given (see lake-views.ts). */
  readonly defineViews: LakeViewDefiner;
  readonly limits: QueryLimits;
  /** Scratch directory for Parquet results; created with mode 0700. */
  readonly exportDirectory: string;
  /** Where DuckDB spills sorts and joins that outgrow memory. Defaults to `<exportDirectory>/../citycheck-query-spill`. */
  readonly spillDirectory?: string;
  readonly logger: Logger;
  readonly views?: readonly ViewDoc[];
  readonly macros?: readonly MacroDoc[];
}

export interface TableColumn {
  readonly name: string;
  readonly type: string;
  readonly doc?: string;
}

export interface TableDescription {
  readonly name: string;
  readonly doc: string;
  readonly columns: readonly TableColumn[];
  /** The column a provincial analyst's rows are chosen by; absent when every analyst reads the whole view. */
  readonly provinceColumn?: string;
}

export interface MacroDescription {
  readonly name: string;
  readonly doc: string;
  readonly parameters: readonly string[];
}

/** A running query's result, chunk by chunk. `chunks()` may be iterated once; `close()` is idempotent. */
export interface QueryResultStream {
  readonly columns: readonly ResultColumn[];
  readonly types: readonly DuckDBType[];
  chunks(): AsyncGenerator<DuckDBDataChunk>;
  /** Rows handed out so far. */
  readonly rowCount: number;
  close(): void;
}

export interface ParquetExport {
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  /** Removes the file and frees the query's slot. */
  release(): Promise<void>;
}

export interface QueryEngine {
  /** Re-reads the lake (new committed objects) and redefines the full views. */
  refresh(): Promise<void>;
  /** The documented views that exist now, with their columns. */
  tables(): readonly TableDescription[];
  /** The documented table macros that exist now, with their parameters. */
  macros(): readonly MacroDescription[];
  /** Checks the SQL without running it; throws query_invalid or query_not_allowed. */
  check(sql: string): Promise<CheckedQuery>;
  /** Checks and starts a query; resolves once its first rows (or its error) are known. */
  open(scope: QueryScope, sql: string): Promise<QueryResultStream>;
  /** Checks and runs a query into a Parquet file in the export directory. */
  exportParquet(scope: QueryScope, sql: string): Promise<ParquetExport>;
  /** A read-only scoped query for the service itself (status page); same limits, no guard. */
  internalRows(scope: QueryScope, views: readonly string[], sql: string): Promise<Record<string, unknown>[]>;
  /** True when DuckDB answers. */
  ping(): Promise<boolean>;
  readonly limits: QueryLimits;
  close(): Promise<void>;
}

const fullSchema = 'lake_full';

/** The documented names a query uses, each re-created scoped in the query's connection. */
interface Uses {
  readonly views: readonly string[];
  readonly macros: readonly string[];
}
const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** A FIFO of query slots: `concurrency` run, up to `queueLimit` wait, the rest are told to come back. */
const createSlots = (concurrency: number, queueLimit: number) => {
  let active = 0;
  const waiting: { grant: () => void; reject: (error: unknown) => void }[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) active -= 1;
    else next.grant();
  };
  return {
    async acquire(deadline: number): Promise<() => void> {
      let released = false;
      const once = (): void => {
        if (released) return;
        released = true;
        release();
      };
      if (active < concurrency) {
        active += 1;
        return once;
      }
      if (waiting.length >= queueLimit) {
        throw new CitycheckError(
          'rate_limited',
          `${active} queries are running and ${waiting.length} waiting; retry shortly`,
          {
            retryAfterSeconds: 2,
          },
        );
      }
      await new Promise<void>((resolve, reject) => {
        const entry = {
          grant: () => {
            clearTimeout(timer);
            resolve();
          },
          reject,
        };
        const timer = setTimeout(
          () => {
            const index = waiting.indexOf(entry);
            if (index >= 0) waiting.splice(index, 1);
            reject(
              new CitycheckError(
                'query_timeout',
                'the query waited in line for its whole time budget; retry later',
              ),
            );
          },
          Math.max(0, deadline - Date.now()),
        );
        waiting.push(entry);
      });
      return once;
    },
  };
};

/** Maps a DuckDB failure of a user query onto the error registry. */
const queryError = (error: unknown, timedOut: boolean, limits: QueryLimits): CitycheckError => {
  if (error instanceof CitycheckError) return error;
  const message = duckdbMessage(error);
  if (timedOut || message.startsWith('INTERRUPT')) {
    return new CitycheckError(
      'query_timeout',
      `the query ran longer than ${limits.timeoutMs} ms and was stopped; filter it (by cycle, province, indicator) or aggregate first`,
    );
  }
  if (message.startsWith('Out of Memory')) {
    return new CitycheckError(
      'query_memory_exceeded',
      `the query needed more than the ${limits.memoryLimit} the query service may use; aggregate or filter first, or select fewer columns`,
      { cause: error },
    );
  }
  if (message.startsWith('Permission Error')) {
    return new CitycheckError(
      'query_not_allowed',
      'the query tried to reach a file or setting; read the documented views only',
      {
        cause: error,
      },
    );
  }
  if (
    /^(Binder|Catalog|Conversion|Invalid Input|Parser|Not implemented|Out of Range|Constraint) Error/.test(
      message,
    )
  ) {
    return new CitycheckError('query_invalid', message, { cause: error });
  }
  if (/^(IO|HTTP) Error/.test(message)) {
    return new CitycheckError('object_store_unavailable', 'the lake could not be read; retry shortly', {
      cause: error,
      retryAfterSeconds: 5,
    });
  }
  return new CitycheckError('database_error', 'the query failed inside the database', { cause: error });
};

export const createQueryEngine = async ({
  extensionDirectory,
  s3,
  defineViews,
  limits,
  exportDirectory,
  spillDirectory = join(exportDirectory, '..', 'citycheck-query-spill'),
  logger,
  views: viewDocs = documentedViews,
  macros: macroDocs = lakeMacros,
}: QueryEngineOptions): Promise<QueryEngine> => {
  await mkdir(exportDirectory, { recursive: true, mode: 0o700 });
  await mkdir(spillDirectory, { recursive: true, mode: 0o700 });
  const lake: LakeDatabase = await openLakeDatabase({
    extensionDirectory,
    s3,
    threads: limits.threads,
    memoryLimit: limits.memoryLimit,
  });
  const admin = lake.connection;
  // Lock the database down before anything a caller wrote can run: DuckDB may read the lake bucket and
  // write Parquet results to the export directory, nothing else, and no setting can change afterwards.
  await admin.run(`SET temp_directory = ${quote(spillDirectory)}`);
  await admin.run('SET autoinstall_known_extensions = false');
  await admin.run('SET autoload_known_extensions = false');
  await admin.run(
    `SET allowed_directories = [${quote(`s3://${s3.bucket}/`)}, ${quote(`${exportDirectory}/`)}]`,
  );
  await admin.run('SET enable_external_access = false');
  await admin.run('SET lock_configuration = true');
  await admin.run(`CREATE SCHEMA IF NOT EXISTS ${fullSchema}`);

  const parser = await lake.instance.connect();
  let parserQueue: Promise<unknown> = Promise.resolve();
  const serialOnParser = <T>(work: () => Promise<T>): Promise<T> => {
    const next = parserQueue.then(work, work);
    parserQueue = next.catch(() => undefined);
    return next;
  };

  const slots = createSlots(limits.concurrency, limits.queueLimit);
  let tables: TableDescription[] = [];
  let macros: MacroDescription[] = [];
  let available = { views: new Set<string>(), macros: new Set<string>() };
  const viewByName = new Map(viewDocs.map((view) => [view.name, view]));
  const macroByName = new Map(macroDocs.map((macro) => [macro.name, macro]));

  let refreshing: Promise<void> | undefined;
  const refreshOnce = async (): Promise<void> => {
    await defineViews(admin, fullSchema);
    const present = new Set(
      (
        await admin.runAndReadAll(
          `SELECT view_name FROM duckdb_views() WHERE schema_name = ${quote(fullSchema)} AND NOT internal`,
        )
      )
        .getRowObjectsJS()
        .map((row) => String(row.view_name).toLowerCase()),
    );
    const described: TableDescription[] = [];
    for (const view of viewDocs) {
      if (!present.has(view.name)) continue;
      const columns = (await admin.runAndReadAll(`DESCRIBE ${fullSchema}.${ident(view.name)}`))
        .getRowObjectsJS()
        .map((row) => {
          const name = String(row.column_name);
          const doc = view.columns.find((column) => column.name === name)?.doc;
          return { name, type: String(row.column_type), ...(doc === undefined ? {} : { doc }) };
        });
      described.push({
        name: view.name,
        doc: view.doc,
        columns,
        ...(view.provinceColumn === undefined ? {} : { provinceColumn: view.provinceColumn }),
      });
    }
    const definedMacros = (
      await admin.runAndReadAll(
        `SELECT function_name, parameters FROM duckdb_functions() WHERE schema_name = ${quote(fullSchema)} AND function_type = 'table_macro'`,
      )
    ).getRowObjectsJS();
    macros = macroDocs.flatMap((macro) => {
      const found = definedMacros.find((row) => String(row.function_name).toLowerCase() === macro.name);
      if (found === undefined) return [];
      const parameters = Array.isArray(found.parameters) ? found.parameters.map(String) : [];
      return [{ name: macro.name, doc: macro.doc, parameters }];
    });
    tables = described;
    available = {
      views: new Set(described.map((table) => table.name)),
      macros: new Set(macros.map((macro) => macro.name)),
    };
  };
  const refresh = (): Promise<void> => {
    refreshing ??= refreshOnce().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  await refresh();

  const check = (sql: string): Promise<CheckedQuery> =>
    serialOnParser(() => checkQuery(parser, sql, available));

  /**
   * A connection in which each of `uses.views` is a temporary view, and each of `uses.macros` a temporary
   * table macro, scoped to `scope` over the full one in lake_full. Unqualified names resolve to these first;
   * the caller's SQL may not name lake_full, so the scoped ones are all it can reach.
   */
  const scopedConnection = async (scope: QueryScope, uses: Uses): Promise<DuckDBConnection> => {
    const connection = await lake.instance.connect();
    const where = (condition: string | undefined): string =>
      condition === undefined ? '' : ` WHERE ${condition}`;
    try {
      for (const name of uses.views) {
        const view = viewByName.get(name);
        if (view === undefined || !available.views.has(name))
          throw new CitycheckError('query_not_allowed', `there is no view ${name}`);
        const condition = scope.kind === 'province' ? provinceCondition(view, scope.provinceCode) : undefined;
        await connection.run(
          `CREATE TEMP VIEW ${ident(name)} AS SELECT * FROM memory.${fullSchema}.${ident(name)}${where(condition)}`,
        );
      }
      for (const name of uses.macros) {
        const macro = macroByName.get(name);
        const parameters = macros.find((item) => item.name === name)?.parameters;
        if (macro === undefined || parameters === undefined)
          throw new CitycheckError('query_not_allowed', `there is no table macro ${name}`);
        const condition =
          scope.kind === 'province'
            ? macro.provinceCondition(checkProvinceCode(scope.provinceCode))
            : undefined;
        const list = parameters.map(ident).join(', ');
        await connection.run(
          `CREATE TEMP MACRO ${ident(name)}(${list}) AS TABLE ` +
            `SELECT * FROM ${fullSchema}.${ident(name)}(${list})${where(condition)}`,
        );
      }
      return connection;
    } catch (error) {
      connection.closeSync();
      throw error;
    }
  };

  /** Runs `work` with a slot, a scoped connection and the deadline armed; `work` owns cleanup via `finish`. */
  const begin = async (scope: QueryScope, uses: Uses) => {
    const deadline = Date.now() + limits.timeoutMs;
    const release = await slots.acquire(deadline);
    let connection: DuckDBConnection | undefined;
    const state = { timedOut: false, closed: false };
    const timer = setTimeout(
      () => {
        state.timedOut = true;
        connection?.interrupt();
      },
      Math.max(0, deadline - Date.now()),
    );
    const finish = (): void => {
      if (state.closed) return;
      state.closed = true;
      clearTimeout(timer);
      if (connection !== undefined) {
        connection.interrupt();
        connection.closeSync();
      }
      release();
    };
    try {
      if (state.timedOut) throw queryError(undefined, true, limits);
      connection = await scopedConnection(scope, uses);
      if (state.timedOut) throw queryError(undefined, true, limits);
      return { connection, state, finish };
    } catch (error) {
      finish();
      throw queryError(error, state.timedOut, limits);
    }
  };

  const wrapped = (checked: CheckedQuery): string =>
    `SELECT * FROM (\n${checked.sql}\n) AS citycheck_result LIMIT ${limits.rowCap + 1}`;

  const rowCapError = (): CitycheckError =>
    new CitycheckError(
      'query_row_cap_exceeded',
      `the result has more than ${limits.rowCap} rows, the most one query may return; aggregate, filter or add LIMIT`,
    );

  const open = async (scope: QueryScope, sql: string): Promise<QueryResultStream> => {
    const checked = await check(sql);
    const { connection, state, finish } = await begin(scope, checked);
    let result: DuckDBResult;
    let first: DuckDBDataChunk | null;
    try {
      result = await connection.stream(wrapped(checked));
      first = await result.fetchChunk();
      if (state.timedOut) throw queryError(undefined, true, limits);
      if (first !== null && first.rowCount > limits.rowCap) throw rowCapError();
    } catch (error) {
      finish();
      throw queryError(error, state.timedOut, limits);
    }
    const types = result.columnTypes();
    const columns = describeColumns(result.columnNames(), types);
    let rowCount = 0;
    let started = false;
    return {
      columns,
      types,
      get rowCount() {
        return rowCount;
      },
      close: finish,
      async *chunks() {
        if (started) throw new Error('a query result can be read once');
        started = true;
        try {
          let chunk = first;
          first = null;
          while (chunk !== null && chunk.rowCount > 0) {
            if (rowCount + chunk.rowCount > limits.rowCap) throw rowCapError();
            rowCount += chunk.rowCount;
            yield chunk;
            try {
              chunk = await result.fetchChunk();
            } catch (error) {
              throw queryError(error, state.timedOut, limits);
            }
          }
          // An interrupted streaming result ends quietly in DuckDB: only the flag tells a timeout from the end.
          if (state.timedOut) throw queryError(undefined, true, limits);
        } finally {
          finish();
        }
      },
    };
  };

  const exportParquet = async (scope: QueryScope, sql: string): Promise<ParquetExport> => {
    const checked = await check(sql);
    const { connection, state, finish } = await begin(scope, checked);
    const path = join(exportDirectory, `${randomUUID()}.parquet`);
    const release = async (): Promise<void> => {
      finish();
      await rm(path, { force: true });
    };
    try {
      const reader = await connection.runAndReadAll(
        `COPY (${wrapped(checked)}) TO ${quote(path)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      if (state.timedOut) throw queryError(undefined, true, limits);
      const rows = Number(reader.getRowsJS()[0]?.[0] ?? 0);
      if (rows > limits.rowCap) throw rowCapError();
      const { size } = await stat(path);
      // The file is complete: the slot and the connection are no longer needed while it is sent.
      finish();
      return { path, rows, bytes: size, release };
    } catch (error) {
      await release();
      throw queryError(error, state.timedOut, limits);
    }
  };

  const internalRows = async (
    scope: QueryScope,
    views: readonly string[],
    sql: string,
  ): Promise<Record<string, unknown>[]> => {
    const { connection, state, finish } = await begin(scope, {
      views: views.filter((view) => available.views.has(view)),
      macros: [],
    });
    try {
      return (await connection.runAndReadAll(sql)).getRowObjectsJS();
    } catch (error) {
      throw queryError(error, state.timedOut, limits);
    } finally {
      finish();
    }
  };

  return {
    refresh,
    tables: () => tables,
    macros: () => macros,
    check,
    open,
    exportParquet,
    internalRows,
    limits,
    async ping() {
      try {
        await serialOnParser(() => parser.run('SELECT 1'));
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await refreshing?.catch(() => undefined);
      await parserQueue.catch(() => undefined);
      parser.closeSync();
      lake.close();
      logger.debug('query engine closed');
    },
  };
};
