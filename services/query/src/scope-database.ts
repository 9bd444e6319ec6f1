// Scope by construction: a provincial analyst's (or a city's) statement runs in a DuckDB database of its own
// that holds that province's (city's) rows and nothing else, copied from the lake before the database is opened read-only,
// without extensions, without file or network access and with its configuration locked. Whatever a
// statement says there, the other provinces, the nation, the bucket and the machine's files are not in reach.
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, sqlIdentifier as ident, sqlString as quote } from '@citycheck/lake';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  computedWholeViews,
  type RestrictedScope,
  scopeCondition,
  scopeKey,
  type ViewDoc,
} from './lake-model.js';

export interface ScopeDatabase {
  /** Whose rows it holds (`44`, `city-640100`). */
  readonly key: string;
  /** The lake generation it was copied from. */
  readonly generation: number;
  connect(): Promise<DuckDBConnection>;
  close(): Promise<void>;
}

export interface BuildScopeOptions {
  /** A connection of the lake database that may write under `directory` (never runs a caller's SQL). */
  readonly lake: DuckDBConnection;
  /** Schema of the lake database holding the full views and macros. */
  readonly fullSchema: string;
  readonly scope: RestrictedScope;
  readonly generation: number;
  readonly directory: string;
  readonly views: readonly ViewDoc[];
  readonly threads: number;
  readonly memoryLimit: string;
}

/**
 * What a province sees of a view: its own rows only (the nation's rows carry no province and are left out),
 * and of the quality flags against the national median neither the median nor the score, which would give
 * it back (see the scope policy in the README). A city sees its own rows, and neither the national nor the
 * provincial median.
 */
const scopedSelect = (view: ViewDoc, fullSchema: string, scope: RestrictedScope): string => {
  const condition = scopeCondition(view, scope, `${fullSchema}.observations`);
  const from = `${fullSchema}.${ident(view.name)}${condition === undefined ? '' : ` WHERE ${condition}`}`;
  if (view.name === 'quality_flags') {
    const hidden =
      scope.kind === 'province'
        ? "flag = 'national_outlier'"
        : "flag IN ('national_outlier', 'provincial_outlier')";
    return (
      `SELECT * REPLACE (CASE WHEN ${hidden} THEN NULL ELSE score END AS score, ` +
      `CASE WHEN ${hidden} THEN NULL ELSE reference END AS reference) FROM ${from}`
    );
  }
  return `SELECT * FROM ${from}`;
};

/**
 * Copies `scope`'s part of the lake into a new database file and opens it locked. Views of
 * the lake that are defined over other views (observations_current) and the table macros are re-created
 * over the copied tables, so they are scoped by what they read; those computed whole (rectification and its
 * rates, see computedWholeViews) are copied like the rest.
 */
export const buildScopeDatabase = async ({
  lake,
  fullSchema,
  scope,
  generation,
  directory,
  views,
  threads,
  memoryLimit,
}: BuildScopeOptions): Promise<ScopeDatabase> => {
  const code = scopeKey(scope);
  const home = join(directory, `${code}-${generation}-${randomUUID()}`);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const path = join(home, 'lake.duckdb');
  const alias = `scope_${code.replace('-', '_')}_${randomUUID().replaceAll('-', '')}`;
  const strip = (sql: string): string => sql.replaceAll(`${fullSchema}.`, '');
  try {
    const definitions = new Map(
      (
        await lake.runAndReadAll(
          `SELECT view_name, sql FROM duckdb_views() WHERE schema_name = ${quote(fullSchema)} AND NOT internal`,
        )
      )
        .getRowObjectsJS()
        .map((row) => [String(row.view_name), String(row.sql)]),
    );
    const macros = (
      await lake.runAndReadAll(
        `SELECT function_name, parameters, macro_definition FROM duckdb_functions() WHERE schema_name = ${quote(fullSchema)} AND function_type = 'table_macro'`,
      )
    ).getRowObjectsJS();
    await lake.run(`ATTACH ${quote(path)} AS ${alias}`);
    try {
      const derived: [string, string][] = [];
      for (const view of views) {
        const sql = definitions.get(view.name);
        if (sql === undefined) continue;
        // A view over other views of the lake is re-created over the copies (unless it is computed whole,
        // see computedWholeViews); anything else is copied.
        const body = sql.slice(sql.indexOf(' AS ') + 4);
        if (body.includes(`${fullSchema}.`) && !computedWholeViews.has(view.name))
          derived.push([view.name, strip(sql)]);
        else
          await lake.run(
            `CREATE TABLE ${alias}.main.${ident(view.name)} AS ${scopedSelect(view, fullSchema, scope)}`,
          );
      }
      await lake.run(`USE ${alias}`);
      try {
        for (const [, sql] of derived) await lake.run(sql);
        for (const macro of macros) {
          const parameters = Array.isArray(macro.parameters) ? macro.parameters.map(String) : [];
          await lake.run(
            `CREATE MACRO ${ident(String(macro.function_name))}(${parameters.map(ident).join(', ')}) AS TABLE ${strip(String(macro.macro_definition))}`,
          );
        }
      } finally {
        await lake.run('USE memory');
      }
    } finally {
      await lake.run(`DETACH ${alias}`);
    }
    const instance = await DuckDBInstance.create(path, {
      access_mode: 'READ_ONLY',
      enable_external_access: 'false',
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      threads: String(threads),
      memory_limit: memoryLimit,
    });
    const locker = await instance.connect();
    await locker.run('SET lock_configuration = true');
    locker.closeSync();
    return {
      key: code,
      generation,
      connect: () => instance.connect(),
      async close() {
        instance.closeSync();
        await rm(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(home, { recursive: true, force: true });
    throw error;
  }
};
