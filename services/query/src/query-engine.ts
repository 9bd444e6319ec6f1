// The query engine: where an analyst's statement runs (a province's own database, or the lake database for the
// ministry), and the limits it runs under.
import { randomUUID } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MacroDescription, TableColumn, TableDescription } from '@citycheck/contracts';
import { CitycheckError } from '@citycheck/errors';
import {
  type DuckDBConnection,
  sqlIdentifier as ident,
  type LakeDatabase,
  type ObjectStoreConfig,
  openLakeDatabase,
  sqlString as quote,
} from '@citycheck/lake';
import type { Logger } from '@citycheck/logging';
import type { DuckDBDataChunk, DuckDBResult, DuckDBType } from '@duckdb/node-api';
import { describeCatalogue, lakeFingerprint } from './lake-catalogue.js';
import {
  documentedViews,
  lakeMacros,
  type MacroDoc,
  macroScopeCondition,
  type RestrictedScope,
  scopeCondition,
  scopeKey,
  type ViewDoc,
} from './lake-model.js';
import type { LakeViewDefiner } from './lake-views.js';
import { queryError } from './query-errors.js';
import { createSlots } from './query-slots.js';
import { describeColumns, type ResultColumn } from './result-columns.js';
import { buildScopeDatabase, type ScopeDatabase } from './scope-database.js';
import { type CheckedQuery, checkQuery } from './sql-guard.js';

/** Whose rows a query may see. */
export type QueryScope = { readonly kind: 'ministry' } | RestrictedScope;

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
  /** Where the provinces' databases are written. Defaults to `<exportDirectory>/../citycheck-query-scopes-<id>`. */
  readonly scopeDirectory?: string;
  /**
   * How long a province's copy may go on answering after the lake changed (30 s): copying a large province
   * takes seconds, so within this window its statements are answered from the copy they have while a newer
   * one is built behind them, and only past it do they wait for the new copy.
   */
  readonly scopeStaleMs?: number;
  /** Resident memory of the process past which running statements are stopped. Defaults to 2 × memoryLimit + 512 MB. */
  readonly processMemoryBytes?: number;
  readonly logger: Logger;
  readonly views?: readonly ViewDoc[];
  readonly macros?: readonly MacroDoc[];
}

// What GET /v1/tables lists: schemas/http/table-catalogue.v1.schema.json.
export type { MacroDescription, TableColumn, TableDescription };

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

/** The longest statement accepted: DuckDB's parser needs about 0.9 s for 200 KB on this hardware. */
export const maxStatementLength = 65_536;

/** Bytes of a DuckDB size such as `2GB`, `512MiB`, `100MB`. */
export const parseByteSize = (size: string): number => {
  const match = /^\s*([0-9.]+)\s*([kmgt]?i?b?)?\s*$/i.exec(size);
  if (match === null) throw new Error(`${size} is not a size`);
  const unit = (match[2] ?? '').toLowerCase().replace('b', '');
  const powers: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4, ki: 1, mi: 2, gi: 3, ti: 4 };
  const power = powers[unit] ?? 0;
  return Number(match[1]) * (unit.endsWith('i') ? 1024 : 1000) ** power;
};

/** The documented names a query uses, each re-created scoped in the query's connection. */
interface Uses {
  readonly views: readonly string[];
  readonly macros: readonly string[];
}

/**
 * A provincial analyst's statement runs in a database of the province's own (scope-database.ts): its rows
 * copied from the lake, no file or network access, configuration locked. A ministry analyst's runs in the lake
 * database, which reads the lake's data prefixes and nothing else, through views re-created per connection.
 * Limits: one deadline per statement covering its wait, parse and run; a memory limit per database and a
 * watch on the process's resident memory; a row cap; a bounded number of statements at once.
 */
export const createQueryEngine = async ({
  extensionDirectory,
  s3,
  defineViews,
  limits,
  exportDirectory,
  spillDirectory = join(exportDirectory, '..', 'citycheck-query-spill'),
  scopeDirectory = join(exportDirectory, '..', `citycheck-query-scopes-${randomUUID()}`),
  processMemoryBytes = parseByteSize(limits.memoryLimit) * 2 + 512 * 1024 ** 2,
  scopeStaleMs = 30_000,
  logger,
  views: viewDocs = documentedViews,
  macros: macroDocs = lakeMacros,
}: QueryEngineOptions): Promise<QueryEngine> => {
  await mkdir(exportDirectory, { recursive: true, mode: 0o700 });
  await mkdir(spillDirectory, { recursive: true, mode: 0o700 });
  await mkdir(scopeDirectory, { recursive: true, mode: 0o700 });
  const lake: LakeDatabase = await openLakeDatabase({
    extensionDirectory,
    s3,
    threads: limits.threads,
    memoryLimit: limits.memoryLimit,
  });
  const admin = lake.connection;
  // Lock the database down before anything a caller wrote can run: DuckDB may read the lake's data (not its
  // commit log), write Parquet results to the export directory and the provinces' databases to theirs, and
  // no setting can change afterwards. Only ministry statements run here, and none can name those directories.
  await admin.run(`SET temp_directory = ${quote(spillDirectory)}`);
  await admin.run('SET autoinstall_known_extensions = false');
  await admin.run('SET autoload_known_extensions = false');
  const dataPrefixes = ['observations/', 'rollups/', 'reference/'].map(
    (prefix) => `s3://${s3.bucket}/${prefix}`,
  );
  await admin.run(
    `SET allowed_directories = [${[...dataPrefixes, `${exportDirectory}/`, `${scopeDirectory}/`].map(quote).join(', ')}]`,
  );
  await admin.run('SET enable_external_access = false');
  await admin.run('SET lock_configuration = true');
  await admin.run(`CREATE SCHEMA IF NOT EXISTS ${fullSchema}`);

  const slots = createSlots(limits.concurrency, limits.queueLimit);
  let tables: TableDescription[] = [];
  let macros: MacroDescription[] = [];
  let available = { views: new Set<string>(), macros: new Set<string>() };
  const viewByName = new Map(viewDocs.map((view) => [view.name, view]));
  const macroByName = new Map(macroDocs.map((macro) => [macro.name, macro]));

  /** Bumped when a refresh finds the lake changed; a province's database of an older generation is rebuilt. */
  let generation = 0;
  let fingerprint = '';
  let refreshing: Promise<void> | undefined;
  const refreshOnce = async (): Promise<void> => {
    await defineViews(admin, fullSchema);
    const catalogue = await describeCatalogue(admin, fullSchema, viewDocs, macroDocs);
    macros = catalogue.macros;
    tables = catalogue.tables;
    available = {
      views: new Set(tables.map((table) => table.name)),
      macros: new Set(macros.map((macro) => macro.name)),
    };
    const next = await lakeFingerprint(admin, fullSchema, s3.bucket);
    if (next !== fingerprint) {
      fingerprint = next;
      generation += 1;
    }
  };
  const refresh = (): Promise<void> => {
    refreshing ??= refreshOnce().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  await refresh();

  /**
   * The provinces' databases: one per province, of the latest generation it was asked for, shared by its
   * queries; one that is outdated or evicted is closed (and its file removed) once its last query ends. At
   * most `concurrency + 2` are kept open, the least recently used idle ones closed first.
   */
  interface ScopeEntry {
    readonly database: ScopeDatabase;
    users: number;
    retired: boolean;
    lastUsed: number;
    /** When the copy was started: its rows are the lake's as of then. */
    readonly copiedAt: number;
  }
  const scopes = new Map<string, ScopeEntry>();
  const building = new Map<string, Promise<ScopeEntry>>();
  const retire = (entry: ScopeEntry): void => {
    entry.retired = true;
    if (entry.users === 0) void entry.database.close().catch(() => undefined);
  };
  const build = async (code: string, scope: RestrictedScope): Promise<ScopeEntry> => {
    const wanted = generation;
    const copiedAt = Date.now();
    const connection = await lake.instance.connect();
    try {
      await refreshing;
      const started = Date.now();
      const database = await buildScopeDatabase({
        lake: connection,
        fullSchema,
        scope,
        generation: wanted,
        directory: scopeDirectory,
        views: viewDocs.filter((view) => available.views.has(view.name)),
        threads: limits.threads,
        // The provinces' databases open at once share one QUERY_MEMORY_LIMIT; the lake database has another.
        memoryLimit: `${Math.max(64, Math.floor(parseByteSize(limits.memoryLimit) / (limits.concurrency + 2) / 1024 ** 2))}MiB`,
      });
      logger.info({ scope: code, generation: wanted, ms: Date.now() - started }, 'province database built');
      const entry: ScopeEntry = { database, users: 0, retired: false, lastUsed: Date.now(), copiedAt };
      const previous = scopes.get(code);
      scopes.set(code, entry);
      if (previous !== undefined) retire(previous);
      const idle = [...scopes.entries()]
        .filter(([, candidate]) => candidate.users === 0 && candidate !== entry)
        .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
      while (scopes.size > limits.concurrency + 2 && idle.length > 0) {
        const [evicted, oldest] = idle.shift() as [string, ScopeEntry];
        scopes.delete(evicted);
        retire(oldest);
      }
      return entry;
    } finally {
      connection.closeSync();
    }
  };
  const startBuild = (scope: RestrictedScope): Promise<ScopeEntry> => {
    const code = scopeKey(scope);
    let pending = building.get(code);
    if (pending === undefined) {
      pending = build(code, scope).finally(() => building.delete(code));
      building.set(code, pending);
    }
    return pending;
  };
  const acquireScope = async (
    scope: RestrictedScope,
  ): Promise<{ entry: ScopeEntry; release: () => void }> => {
    const code = scopeKey(scope);
    let entry = scopes.get(code);
    const age = entry === undefined ? Number.POSITIVE_INFINITY : Date.now() - entry.copiedAt;
    if (entry !== undefined && entry.database.generation < generation && age < scopeStaleMs) {
      // Behind the lake but within the window: answer from it, and copy anew behind it once it is half way.
      if (age >= scopeStaleMs / 2)
        void startBuild(scope).catch((error: unknown) =>
          logger.warn(
            { err: error, scope: code },
            'province database rebuild failed; keeping the previous one',
          ),
        );
    } else {
      // One copy, even if the lake moved again meanwhile: it is as fresh as the moment it was started.
      if (entry === undefined || entry.database.generation < generation) entry = await startBuild(scope);
    }
    const held = entry;
    held.users += 1;
    held.lastUsed = Date.now();
    let released = false;
    return {
      entry: held,
      release: () => {
        if (released) return;
        released = true;
        held.users -= 1;
        if (held.retired && held.users === 0) void held.database.close().catch(() => undefined);
      },
    };
  };

  /**
   * A connection of the lake database in which each of `uses.views` is a temporary view, and each of
   * `uses.macros` a temporary table macro, scoped to `scope` over the full one in lake_full. Unqualified
   * names resolve to these first. Ministry statements, and the service's own (status page), run in these.
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
        const condition =
          scope.kind === 'ministry'
            ? undefined
            : scopeCondition(view, scope, `memory.${fullSchema}.observations`);
        await connection.run(
          `CREATE TEMP VIEW ${ident(name)} AS SELECT * FROM memory.${fullSchema}.${ident(name)}${where(condition)}`,
        );
      }
      for (const name of uses.macros) {
        const macro = macroByName.get(name);
        const parameters = macros.find((item) => item.name === name)?.parameters;
        if (macro === undefined || parameters === undefined)
          throw new CitycheckError('query_not_allowed', `there is no table macro ${name}`);
        const condition = scope.kind === 'ministry' ? undefined : macroScopeCondition(macro, scope);
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

  interface Running {
    stopped: false | 'timeout' | 'memory';
    connection: DuckDBConnection | undefined;
  }
  const running = new Set<Running>();
  // DuckDB's memory_limit covers its buffer manager, not every allocation (a huge string, an aggregate's
  // state): past the process bound every running statement is stopped.
  const memoryWatch = setInterval(() => {
    if (running.size === 0 || process.memoryUsage.rss() < processMemoryBytes) return;
    logger.warn(
      { rss: process.memoryUsage.rss(), bound: processMemoryBytes },
      'stopping queries: memory bound',
    );
    for (const statement of running) {
      if (statement.stopped === false) statement.stopped = 'memory';
      statement.connection?.interrupt();
    }
  }, 100);
  memoryWatch.unref();

  const stoppedError = (statement: Running): CitycheckError =>
    queryError(undefined, statement.stopped === 'memory' ? 'memory' : true, limits);

  /**
   * Takes a slot, checks the SQL (on a connection of its own, inside the deadline), and opens the connection
   * the statement runs in. The deadline's interrupt is repeated until the statement ends: one that fires
   * before DuckDB has started executing is lost.
   */
  const begin = async (scope: QueryScope, sql: string) => {
    if (sql.length > maxStatementLength) {
      throw new CitycheckError(
        'query_not_allowed',
        `the statement is ${sql.length} characters long; at most ${maxStatementLength} are accepted`,
      );
    }
    const deadline = Date.now() + limits.timeoutMs;
    const release = await slots.acquire(deadline);
    const statement: Running = { stopped: false, connection: undefined };
    running.add(statement);
    let closed = false;
    let repeat: NodeJS.Timeout | undefined;
    let scopeLease: { release: () => void } | undefined;
    const timer = setTimeout(
      () => {
        if (statement.stopped === false) statement.stopped = 'timeout';
        statement.connection?.interrupt();
        repeat = setInterval(() => statement.connection?.interrupt(), 50);
      },
      Math.max(0, deadline - Date.now()),
    );
    const finish = (): void => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      clearInterval(repeat);
      running.delete(statement);
      if (statement.connection !== undefined) {
        statement.connection.interrupt();
        statement.connection.closeSync();
        statement.connection = undefined;
      }
      scopeLease?.release();
      release();
    };
    try {
      statement.connection = await lake.instance.connect();
      const checked = await checkQuery(statement.connection, sql, available);
      statement.connection.closeSync();
      statement.connection = undefined;
      if (statement.stopped !== false) throw stoppedError(statement);
      if (scope.kind !== 'ministry') {
        // A province's (city's) database may still be being built: the statement waits for it within its deadline only.
        const pending = acquireScope(scope);
        let expiry: NodeJS.Timeout | undefined;
        const lease = await Promise.race([
          pending,
          new Promise<undefined>((resolve) => {
            expiry = setTimeout(() => resolve(undefined), Math.max(0, deadline - Date.now()));
          }),
        ]).finally(() => clearTimeout(expiry));
        if (lease === undefined) {
          void pending.then(
            (late) => late.release(),
            () => undefined,
          );
          statement.stopped = 'timeout';
          throw stoppedError(statement);
        }
        scopeLease = lease;
        statement.connection = await lease.entry.database.connect();
      } else {
        statement.connection = await scopedConnection(scope, checked);
      }
      if (statement.stopped !== false) throw stoppedError(statement);
      return { connection: statement.connection, statement, checked, finish };
    } catch (error) {
      const stopped = statement.stopped;
      finish();
      throw queryError(error, stopped === 'memory' ? 'memory' : stopped === 'timeout', limits);
    }
  };
  const failure = (error: unknown, statement: Running): CitycheckError =>
    queryError(error, statement.stopped === 'memory' ? 'memory' : statement.stopped === 'timeout', limits);

  const wrapped = (checked: CheckedQuery): string =>
    `SELECT * FROM (\n${checked.sql}\n) AS citycheck_result LIMIT ${limits.rowCap + 1}`;

  const rowCapError = (): CitycheckError =>
    new CitycheckError(
      'query_row_cap_exceeded',
      `the result has more than ${limits.rowCap} rows, the most one query may return; aggregate, filter or add LIMIT`,
    );

  const open = async (scope: QueryScope, sql: string): Promise<QueryResultStream> => {
    const { connection, statement, checked, finish } = await begin(scope, sql);
    let result: DuckDBResult;
    let first: DuckDBDataChunk | null;
    try {
      result = await connection.stream(wrapped(checked));
      first = await result.fetchChunk();
      if (statement.stopped !== false) throw stoppedError(statement);
      if (first !== null && first.rowCount > limits.rowCap) throw rowCapError();
    } catch (error) {
      finish();
      throw failure(error, statement);
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
              throw failure(error, statement);
            }
          }
          // An interrupted streaming result ends quietly in DuckDB: only the flag tells a timeout from the end.
          if (statement.stopped !== false) throw stoppedError(statement);
        } finally {
          finish();
        }
      },
    };
  };

  /**
   * The result is written by the lake database, never by the one the statement ran in: its rows are
   * appended, chunk by chunk, to a table of a connection no caller's SQL runs on, which DuckDB then copies to
   * a Parquet file in the export directory. No statement can name that directory or reach it.
   */
  const exportParquet = async (scope: QueryScope, sql: string): Promise<ParquetExport> => {
    const { connection, statement, checked, finish } = await begin(scope, sql);
    const path = join(exportDirectory, `${randomUUID()}.parquet`);
    const writer = await lake.instance.connect();
    const release = async (): Promise<void> => {
      finish();
      await rm(path, { force: true });
    };
    try {
      const result = await connection.stream(wrapped(checked));
      const names = result.columnNames();
      const types = result.columnTypes();
      const table = `export_${randomUUID().replaceAll('-', '')}`;
      await writer.run(
        `CREATE TEMP TABLE ${table} (${names.map((name, index) => `${ident(name === '' ? `column${index}` : name)} ${String(types[index])}`).join(', ')})`,
      );
      const appender = await writer.createAppender(table, 'main', 'temp');
      let rows = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (statement.stopped !== false) throw stoppedError(statement);
        if (chunk === null || chunk.rowCount === 0) break;
        rows += chunk.rowCount;
        if (rows > limits.rowCap) throw rowCapError();
        appender.appendDataChunk(chunk);
      }
      appender.closeSync();
      if (statement.stopped !== false) throw stoppedError(statement);
      await writer.run(`COPY ${table} TO ${quote(path)} (FORMAT parquet, COMPRESSION zstd)`);
      const { size } = await stat(path);
      // The file is complete: the slot and the connections are no longer needed while it is sent.
      finish();
      return { path, rows, bytes: size, release };
    } catch (error) {
      await release();
      throw failure(error, statement);
    } finally {
      writer.closeSync();
    }
  };

  /** The service's own statements (status page): the lake database, scoped views, same slots and deadline. */
  const internalRows = async (
    scope: QueryScope,
    views: readonly string[],
    sql: string,
  ): Promise<Record<string, unknown>[]> => {
    const deadline = Date.now() + limits.timeoutMs;
    const release = await slots.acquire(deadline);
    const statement: Running = { stopped: false, connection: undefined };
    let repeat: NodeJS.Timeout | undefined;
    const timer = setTimeout(
      () => {
        statement.stopped = 'timeout';
        statement.connection?.interrupt();
        repeat = setInterval(() => statement.connection?.interrupt(), 50);
      },
      Math.max(0, deadline - Date.now()),
    );
    try {
      statement.connection = await scopedConnection(scope, {
        views: views.filter((view) => available.views.has(view)),
        macros: [],
      });
      return (await statement.connection.runAndReadAll(sql)).getRowObjectsJS();
    } catch (error) {
      throw failure(error, statement);
    } finally {
      clearTimeout(timer);
      clearInterval(repeat);
      statement.connection?.closeSync();
      release();
    }
  };

  return {
    refresh,
    tables: () => tables,
    macros: () => macros,
    async check(sql) {
      const connection = await lake.instance.connect();
      try {
        return await checkQuery(connection, sql, available);
      } finally {
        connection.closeSync();
      }
    },
    open,
    exportParquet,
    internalRows,
    limits,
    async ping() {
      try {
        const connection = await lake.instance.connect();
        try {
          await connection.run('SELECT 1');
        } finally {
          connection.closeSync();
        }
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      clearInterval(memoryWatch);
      await refreshing?.catch(() => undefined);
      await Promise.allSettled([...building.values()]);
      for (const entry of scopes.values()) retire(entry);
      scopes.clear();
      // Statements still running hold their province's database until they end.
      for (let waited = 0; running.size > 0 && waited < 2_000; waited += 50) await sleep(50);
      lake.close();
      await rm(scopeDirectory, { recursive: true, force: true });
      logger.debug('query engine closed');
    },
  };
};
