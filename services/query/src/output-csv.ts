// CSV results (RFC 4180), streamed: a header of column names, then one line per row. NULL is an empty
// field; an empty string is `""`. A failure after rows were sent aborts the response, so a client sees an
// incomplete transfer rather than a short file that looks whole.
import type { QueryResultStream } from './query-engine.js';
import { columnValues, toText } from './result-columns.js';

export const csvMediaType = 'text/csv';

const field = (text: string | undefined): string => {
  if (text === undefined) return '';
  if (text === '' || /[",\r\n]/.test(text) || text.trim() !== text) return `"${text.replaceAll('"', '""')}"`;
  return text;
};

export async function* writeCsv(result: QueryResultStream): AsyncGenerator<string> {
  yield `${result.columns.map((column) => field(column.name)).join(',')}\r\n`;
  for await (const chunk of result.chunks()) {
    const values = result.columns.map((_, index) => columnValues(chunk, index));
    const lines: string[] = [];
    for (let row = 0; row < chunk.rowCount; row += 1) {
      lines.push(
        result.columns
          .map((column, index) =>
            field(toText(column, values[index]?.[row] ?? null, result.types[index] as never)),
          )
          .join(','),
      );
    }
    if (lines.length > 0) yield `${lines.join('\r\n')}\r\n`;
  }
}
