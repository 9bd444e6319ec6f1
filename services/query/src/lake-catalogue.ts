// What the lake database holds of the documented views and macros, and a fingerprint that tells it changed.
import type { MacroDescription, TableDescription } from '@citycheck/contracts';
import { type DuckDBConnection, sqlIdentifier as ident, sqlString as quote } from '@citycheck/lake';
import type { MacroDoc, ViewDoc } from './lake-model.js';

export interface LakeCatalogue {
  /** What GET /v1/tables lists: the documented views present in `schema`, with their columns' types. */
  readonly tables: TableDescription[];
  /** The documented table macros present in `schema`, with their parameters. */
  readonly macros: MacroDescription[];
}

/** Describes the documented views and macros that `schema` of the lake database defines; absent ones are left out. */
export const describeCatalogue = async (
  admin: DuckDBConnection,
  schema: string,
  viewDocs: readonly ViewDoc[],
  macroDocs: readonly MacroDoc[],
): Promise<LakeCatalogue> => {
  const present = new Set(
    (
      await admin.runAndReadAll(
        `SELECT view_name FROM duckdb_views() WHERE schema_name = ${quote(schema)} AND NOT internal`,
      )
    )
      .getRowObjectsJS()
      .map((row) => String(row.view_name).toLowerCase()),
  );
  const tables: TableDescription[] = [];
  for (const view of viewDocs) {
    if (!present.has(view.name)) continue;
    const columns = (await admin.runAndReadAll(`DESCRIBE ${schema}.${ident(view.name)}`))
      .getRowObjectsJS()
      .map((row) => {
        const name = String(row.column_name);
        const doc = view.columns.find((column) => column.name === name)?.doc;
        return { name, type: String(row.column_type), ...(doc === undefined ? {} : { doc }) };
      });
    tables.push({
      name: view.name,
      doc: view.doc,
      columns,
      ...(view.provinceColumn === undefined ? {} : { provinceColumn: view.provinceColumn }),
    });
  }
  const definedMacros = (
    await admin.runAndReadAll(
      `SELECT function_name, parameters FROM duckdb_functions() WHERE schema_name = ${quote(schema)} AND function_type = 'table_macro'`,
    )
  ).getRowObjectsJS();
  const macros = macroDocs.flatMap((macro) => {
    const found = definedMacros.find((row) => String(row.function_name).toLowerCase() === macro.name);
    if (found === undefined) return [];
    const parameters = Array.isArray(found.parameters) ? found.parameters.map(String) : [];
    return [{ name: macro.name, doc: macro.doc, parameters }];
  });
  return { tables, macros };
};

/**
 * A string that changes when the views of `schema` are redefined or a derived object (rollups, reference) in
 * `bucket` is replaced: those are rewritten in place under the same key, so their size and time tell a new version.
 */
export const lakeFingerprint = async (
  admin: DuckDBConnection,
  schema: string,
  bucket: string,
): Promise<string> => {
  const definitions = (
    await admin.runAndReadAll(
      `SELECT string_agg(sql, ';' ORDER BY view_name) AS sql FROM duckdb_views() WHERE schema_name = ${quote(schema)}`,
    )
  ).getRowObjectsJS()[0]?.sql;
  let derived = '';
  try {
    derived = String(
      (
        await admin.runAndReadAll(
          `SELECT string_agg(filename || ' ' || size || ' ' || last_modified, ';' ORDER BY filename) AS objects FROM read_blob([${[
            `s3://${bucket}/rollups/*/*.parquet`,
            `s3://${bucket}/reference/*.parquet`,
          ]
            .map(quote)
            .join(', ')}])`,
        )
      ).getRowObjectsJS()[0]?.objects ?? '',
    );
  } catch {
    derived = `unknown ${Date.now()}`;
  }
  return `${String(definitions)}|${derived}`;
};
