// Arrow IPC stream results (application/vnd.apache.arrow.stream): one record batch per DuckDB chunk, written
// as it arrives. A failure after batches were sent aborts the response (no end-of-stream marker), so an
// Arrow reader reports a truncated stream instead of returning part of the result.
import type { DuckDBDataChunk, DuckDBValue } from '@duckdb/node-api';
import {
  type Data,
  type DataType,
  type DateDay,
  Field,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  type TimestampMicrosecond,
  vectorFromArray,
} from 'apache-arrow';
import type { QueryResultStream } from './query-engine.js';
import {
  arrowTypeOf,
  columnValues,
  type ResultColumn,
  timestampMicros,
  toJson,
  toText,
} from './result-columns.js';

export const arrowMediaType = 'application/vnd.apache.arrow.stream';

const validityBitmap = (values: readonly unknown[]): { bitmap: Uint8Array; nullCount: number } => {
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  values.forEach((value, index) => {
    if (value === null || value === undefined) nullCount += 1;
    else bitmap[index >> 3] = (bitmap[index >> 3] as number) | (1 << (index & 7));
  });
  return { bitmap, nullCount };
};

/** One column of a chunk as Arrow data of the column's wire type. */
const columnData = (
  column: ResultColumn,
  type: DataType,
  values: readonly (DuckDBValue | null)[],
  duckType: never,
): Data => {
  switch (column.kind) {
    case 'exactNumber':
      return vectorFromArray(
        values.map((value) => (value === null ? null : Number(String(value)))),
        type,
      ).data[0] as Data;
    case 'date': {
      const { bitmap, nullCount } = validityBitmap(values);
      const days = Int32Array.from(values, (value) =>
        value !== null && typeof value === 'object' && 'days' in value ? Number(value.days) : 0,
      );
      return makeData({
        type: type as DateDay,
        length: values.length,
        nullCount,
        nullBitmap: bitmap,
        data: days,
      });
    }
    case 'timestamp':
    case 'timestamptz': {
      const { bitmap, nullCount } = validityBitmap(values);
      const micros = BigInt64Array.from(values, (value) =>
        value === null ? 0n : (timestampMicros(value) ?? 0n),
      );
      return makeData({
        type: type as TimestampMicrosecond,
        length: values.length,
        nullCount,
        nullBitmap: bitmap,
        data: micros,
      });
    }
    case 'text':
      return vectorFromArray(
        values.map((value) => (value === null ? null : String(value))),
        type,
      ).data[0] as Data;
    case 'json':
      return vectorFromArray(
        values.map((value) =>
          value === null
            ? null
            : (toText(column, value, duckType) ?? JSON.stringify(toJson(column, value, duckType))),
        ),
        type,
      ).data[0] as Data;
    default:
      // boolean, the integers and the floats: DuckDB's values are already those of the Arrow type.
      return vectorFromArray(values as never[], type).data[0] as Data;
  }
};

/** The IPC stream's end-of-stream marker: a continuation token and a zero length. */
const endOfStream = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

/**
 * Encodes one batch as IPC stream bytes. apache-arrow's writer buffers what it writes until the stream ends,
 * so each batch gets a writer of its own and the schema message it repeats is cut off after the first.
 */
const encodeBatch = (batch: RecordBatch): Uint8Array => {
  const writer = new RecordBatchStreamWriter();
  writer.write(batch);
  writer.finish();
  return writer.toUint8Array(true);
};

export async function* writeArrow(result: QueryResultStream): AsyncGenerator<Uint8Array> {
  const types = result.columns.map(arrowTypeOf);
  const schema = new Schema(
    result.columns.map((column, index) => new Field(column.name, types[index] as DataType, true)),
  );
  const schemaOnly = (() => {
    const writer = new RecordBatchStreamWriter();
    writer.reset(undefined, schema);
    writer.finish();
    return writer.toUint8Array(true);
  })();
  const schemaLength = schemaOnly.byteLength - endOfStream.byteLength;
  yield schemaOnly.subarray(0, schemaLength);

  const toBatch = (chunk: DuckDBDataChunk): RecordBatch => {
    const children = result.columns.map((column, index) =>
      columnData(column, types[index] as DataType, columnValues(chunk, index), result.types[index] as never),
    );
    return new RecordBatch(
      schema,
      makeData({ type: new Struct(schema.fields), length: chunk.rowCount, nullCount: 0, children }),
    );
  };

  for await (const chunk of result.chunks()) {
    if (chunk.rowCount === 0) continue;
    const bytes = encodeBatch(toBatch(chunk));
    yield bytes.subarray(schemaLength, bytes.byteLength - endOfStream.byteLength);
  }
  yield endOfStream;
}
