// How a DuckDB result column travels in each wire format: one decision per column type, so JSON, CSV and
// Arrow agree on every value. Parquet keeps DuckDB's own types (see output-parquet.ts).
//
// | DuckDB                         | JSON                        | CSV              | Arrow                  |
// | BOOLEAN                        | true / false                | true / false     | Bool                   |
// | TINYINT ... INTEGER, U...      | number                      | digits           | Int8..32 / Uint8..32   |
// | BIGINT, UBIGINT                | number (string past 2^53)   | digits           | Int64 / Uint64         |
// | HUGEINT, UHUGEINT, DECIMAL     | number (double)             | exact digits     | Float64                |
// | FLOAT, DOUBLE                  | number ("NaN", "Infinity")  | shortest text    | Float32 / Float64      |
// | DATE                           | "2024-06-01"                | same             | DateDay                |
// | TIMESTAMP (_S, _MS, _NS)       | "2024-06-01T08:00:00.000000"| same             | Timestamp[us]          |
// | TIMESTAMP WITH TIME ZONE       | "2024-06-01T08:00:00.000000Z" | same           | Timestamp[us, UTC]     |
// | VARCHAR, ENUM, UUID            | string                      | text             | Utf8                   |
// | anything else (LIST, STRUCT,   | DuckDB's JSON rendering     | JSON text        | Utf8 (JSON text)       |
// |  MAP, INTERVAL, TIME, BLOB...) |                             |                  |                        |
import type { DuckDBDataChunk, DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { DuckDBTypeId, JsonDuckDBValueConverter } from '@duckdb/node-api';
import {
  Bool,
  type DataType,
  DateDay,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  TimestampMicrosecond,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from 'apache-arrow';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** How a column's values are carried: decides the JSON, CSV and Arrow rendering together. */
export type WireKind =
  | 'boolean'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'exactNumber'
  | 'float32'
  | 'float64'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'text'
  | 'json';

export interface ResultColumn {
  readonly name: string;
  /** DuckDB's name for the type, e.g. VARCHAR, DECIMAL(38,6), TIMESTAMP. */
  readonly type: string;
  readonly kind: WireKind;
}

/** The wire kind of each DuckDB type; any type not listed travels as JSON. */
const kindByTypeId: Partial<Record<DuckDBTypeId, WireKind>> = {
  [DuckDBTypeId.BOOLEAN]: 'boolean',
  [DuckDBTypeId.TINYINT]: 'int8',
  [DuckDBTypeId.SMALLINT]: 'int16',
  [DuckDBTypeId.INTEGER]: 'int32',
  [DuckDBTypeId.UTINYINT]: 'uint8',
  [DuckDBTypeId.USMALLINT]: 'uint16',
  [DuckDBTypeId.UINTEGER]: 'uint32',
  [DuckDBTypeId.BIGINT]: 'int64',
  [DuckDBTypeId.UBIGINT]: 'uint64',
  [DuckDBTypeId.HUGEINT]: 'exactNumber',
  [DuckDBTypeId.UHUGEINT]: 'exactNumber',
  [DuckDBTypeId.DECIMAL]: 'exactNumber',
  [DuckDBTypeId.BIGNUM]: 'exactNumber',
  [DuckDBTypeId.FLOAT]: 'float32',
  [DuckDBTypeId.DOUBLE]: 'float64',
  [DuckDBTypeId.DATE]: 'date',
  [DuckDBTypeId.TIMESTAMP]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_S]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_MS]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_NS]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_TZ]: 'timestamptz',
  [DuckDBTypeId.VARCHAR]: 'text',
  [DuckDBTypeId.ENUM]: 'text',
  [DuckDBTypeId.UUID]: 'text',
};

const kindOf = (type: DuckDBType): WireKind => kindByTypeId[type.typeId] ?? 'json';

export const describeColumns = (names: readonly string[], types: readonly DuckDBType[]): ResultColumn[] =>
  names.map((name, index) => {
    const type = types[index] as DuckDBType;
    return { name, type: type.toString(), kind: kindOf(type) };
  });

/** Microseconds since the epoch of any DuckDB timestamp value. */
const timestampMicros = (value: DuckDBValue): bigint | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  if ('micros' in value && typeof value.micros === 'bigint') return value.micros;
  if ('millis' in value && typeof value.millis === 'bigint') return value.millis * 1000n;
  if ('seconds' in value && typeof value.seconds === 'bigint') return value.seconds * 1_000_000n;
  if ('nanos' in value && typeof value.nanos === 'bigint') return value.nanos / 1000n;
  return undefined;
};

const isoMicros = (micros: bigint, zone: boolean): string => {
  const remainder = ((micros % 1000n) + 1000n) % 1000n;
  const millis = (micros - remainder) / 1000n;
  const date = new Date(Number(millis));
  if (Number.isNaN(date.getTime())) return micros > 0n ? 'infinity' : '-infinity';
  const iso = date.toISOString(); // 2024-06-01T08:00:00.123Z
  return `${iso.slice(0, 23)}${remainder.toString().padStart(3, '0')}${zone ? 'Z' : ''}`;
};

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const jsonNumber = (value: number): number | string => (Number.isFinite(value) ? value : String(value));

/** A column value as JSON. */
export const toJson = (column: ResultColumn, value: DuckDBValue, type: DuckDBType): JsonValue => {
  if (value === null) return null;
  switch (column.kind) {
    case 'boolean':
      return value as boolean;
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint8':
    case 'uint16':
    case 'uint32':
      return value as number;
    case 'int64':
    case 'uint64': {
      const big = value as bigint;
      return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big.toString();
    }
    case 'exactNumber':
      return jsonNumber(Number(String(value)));
    case 'float32':
    case 'float64':
      return jsonNumber(value as number);
    case 'date':
      return String(value);
    case 'timestamp':
    case 'timestamptz': {
      const micros = timestampMicros(value);
      return micros === undefined ? String(value) : isoMicros(micros, column.kind === 'timestamptz');
    }
    case 'text':
      return String(value);
    case 'json':
      return JsonDuckDBValueConverter(value, type, JsonDuckDBValueConverter) as JsonValue;
  }
};

/** A column value as one CSV field's text (before quoting); NULL is undefined. */
export const toText = (column: ResultColumn, value: DuckDBValue, type: DuckDBType): string | undefined => {
  if (value === null) return undefined;
  switch (column.kind) {
    case 'exactNumber':
    case 'int64':
    case 'uint64':
      return String(value);
    case 'json':
      return JSON.stringify(toJson(column, value, type));
    default: {
      const json = toJson(column, value, type);
      return typeof json === 'string' ? json : String(json);
    }
  }
};

/** The Arrow type a column is sent as. */
export const arrowTypeOf = (column: ResultColumn): DataType => {
  switch (column.kind) {
    case 'boolean':
      return new Bool();
    case 'int8':
      return new Int8();
    case 'int16':
      return new Int16();
    case 'int32':
      return new Int32();
    case 'uint8':
      return new Uint8();
    case 'uint16':
      return new Uint16();
    case 'uint32':
      return new Uint32();
    case 'int64':
      return new Int64();
    case 'uint64':
      return new Uint64();
    case 'float32':
      return new Float32();
    case 'exactNumber':
    case 'float64':
      return new Float64();
    case 'date':
      return new DateDay();
    case 'timestamp':
      return new TimestampMicrosecond();
    case 'timestamptz':
      return new TimestampMicrosecond('UTC');
    case 'text':
    case 'json':
      return new Utf8();
  }
};

/** Values of one column of a chunk, as DuckDB gives them. */
export const columnValues = (chunk: DuckDBDataChunk, index: number): (DuckDBValue | null)[] =>
  chunk.getColumnVector(index).toArray();

export { timestampMicros };
