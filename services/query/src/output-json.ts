// JSON results, streamed: `{"columns":[{name,type}],"rows":[[...],...],"rowCount":N,"complete":true}`.
// Rows are arrays in column order (names may repeat in SQL). A failure after rows were sent (timeout, row
// cap) still ends in valid JSON: `"complete":false,"error":{...}` replaces the success marker.
import { CitycheckError } from '@citycheck/errors';
import type { QueryResultStream } from './query-engine.js';
import { columnValues, type JsonValue, toJson } from './result-columns.js';

export const jsonMediaType = 'application/json';

export async function* writeJson(result: QueryResultStream): AsyncGenerator<string> {
  const columns = result.columns.map((column) => ({ name: column.name, type: column.type }));
  yield `{"columns":${JSON.stringify(columns)},"rows":[`;
  let first = true;
  let rowCount = 0;
  try {
    for await (const chunk of result.chunks()) {
      const values = result.columns.map((_, index) => columnValues(chunk, index));
      const lines: string[] = [];
      for (let row = 0; row < chunk.rowCount; row += 1) {
        const cells: JsonValue[] = result.columns.map((column, index) =>
          toJson(column, values[index]?.[row] ?? null, result.types[index] as never),
        );
        lines.push(`${first ? '' : ','}\n${JSON.stringify(cells)}`);
        first = false;
      }
      rowCount += chunk.rowCount;
      yield lines.join('');
    }
  } catch (error) {
    const known =
      error instanceof CitycheckError
        ? error
        : new CitycheckError('internal', 'the query failed while sending rows');
    yield `\n],"rowCount":${rowCount},"complete":false,"error":${JSON.stringify(known.toResponse().error)}}\n`;
    return;
  }
  yield `\n],"rowCount":${rowCount},"complete":true}\n`;
}
