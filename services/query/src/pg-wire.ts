// PostgreSQL wire-protocol messages the door sends (protocol 3.0, backend side), and how a DuckDB result
// column travels in it: one PostgreSQL type per column kind, values in PostgreSQL's text form (or binary,
// when a client asks for it in Bind). The kinds are those of result-columns.ts, so the door agrees with the
// HTTP formats on every value.
//
// | column kind                  | PostgreSQL type (OID)  | text form                          |
// | boolean                      | bool (16)              | t / f                              |
// | int8, int16, uint8           | int2 (21)              | digits                             |
// | int32, uint16                | int4 (23)              | digits                             |
// | int64, uint32                | int8 (20)              | digits                             |
// | uint64, exactNumber          | numeric (1700)         | exact digits                       |
// | float32 / float64            | float4 (700) / float8 (701) | shortest text, NaN, Infinity  |
// | date                         | date (1082)            | 2024-06-01                         |
// | timestamp                    | timestamp (1114)       | 2024-06-01 08:00:00.000000 (UTC)   |
// | timestamptz                  | timestamptz (1184)     | 2024-06-01 08:00:00.000000+00      |
// | text (UUID)                  | text (25) (uuid, 2950) | the text                           |
// | json (LIST, STRUCT, ...)     | json (114)             | JSON text                          |
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { type ResultColumn, timestampMicros, toJson, type WireKind } from './result-columns.js';

export interface PgType {
  readonly oid: number;
  /** pg_type.typlen: bytes of a fixed-size value, -1 for variable length. */
  readonly size: number;
  readonly name: string;
}

const pgTypes = {
  bool: { oid: 16, size: 1, name: 'bool' },
  int2: { oid: 21, size: 2, name: 'int2' },
  int4: { oid: 23, size: 4, name: 'int4' },
  int8: { oid: 20, size: 8, name: 'int8' },
  numeric: { oid: 1700, size: -1, name: 'numeric' },
  float4: { oid: 700, size: 4, name: 'float4' },
  float8: { oid: 701, size: 8, name: 'float8' },
  date: { oid: 1082, size: 4, name: 'date' },
  timestamp: { oid: 1114, size: 8, name: 'timestamp' },
  timestamptz: { oid: 1184, size: 8, name: 'timestamptz' },
  text: { oid: 25, size: -1, name: 'text' },
  uuid: { oid: 2950, size: 16, name: 'uuid' },
  json: { oid: 114, size: -1, name: 'json' },
} as const satisfies Record<string, PgType>;

/** The PostgreSQL type of each column kind (a UUID column, of kind text, is sent as uuid). */
const pgTypeByKind: Record<WireKind, PgType> = {
  boolean: pgTypes.bool,
  int8: pgTypes.int2,
  int16: pgTypes.int2,
  uint8: pgTypes.int2,
  int32: pgTypes.int4,
  uint16: pgTypes.int4,
  int64: pgTypes.int8,
  uint32: pgTypes.int8,
  uint64: pgTypes.numeric,
  exactNumber: pgTypes.numeric,
  float32: pgTypes.float4,
  float64: pgTypes.float8,
  date: pgTypes.date,
  timestamp: pgTypes.timestamp,
  timestamptz: pgTypes.timestamptz,
  text: pgTypes.text,
  json: pgTypes.json,
};

export const pgTypeOf = (column: ResultColumn): PgType =>
  column.kind === 'text' && column.type === 'UUID' ? pgTypes.uuid : pgTypeByKind[column.kind];

/** PostgreSQL's text form of a value; NULL is undefined. */
export const pgText = (column: ResultColumn, value: DuckDBValue, type: DuckDBType): string | undefined => {
  if (value === null) return undefined;
  switch (column.kind) {
    case 'boolean':
      return value === true ? 't' : 'f';
    case 'float32':
    case 'float64': {
      const number = value as number;
      if (Number.isNaN(number)) return 'NaN';
      if (!Number.isFinite(number)) return number > 0 ? 'Infinity' : '-Infinity';
      return String(number);
    }
    case 'timestamp':
    case 'timestamptz': {
      const iso = toJson(column, value, type);
      const text = String(iso).replace('T', ' ');
      return column.kind === 'timestamptz' ? `${text.replace(/Z$/, '')}+00` : text;
    }
    case 'json':
      return JSON.stringify(toJson(column, value, type));
    default:
      return String(value);
  }
};

const pgEpochDays = 10_957; // 2000-01-01 in days since 1970-01-01
const pgEpochMicros = BigInt(pgEpochDays) * 86_400_000_000n;

/** PostgreSQL's binary form of a value (for a client that asks for format 1); NULL is undefined. */
export const pgBinary = (column: ResultColumn, value: DuckDBValue, type: DuckDBType): Buffer | undefined => {
  if (value === null) return undefined;
  const pg = pgTypeOf(column);
  const fixed = (size: number, write: (buffer: Buffer) => void): Buffer => {
    const buffer = Buffer.alloc(size);
    write(buffer);
    return buffer;
  };
  switch (pg.oid) {
    case pgTypes.bool.oid:
      return Buffer.from([value === true ? 1 : 0]);
    case pgTypes.int2.oid:
      return fixed(2, (buffer) => buffer.writeInt16BE(Number(value)));
    case pgTypes.int4.oid:
      return fixed(4, (buffer) => buffer.writeInt32BE(Number(value)));
    case pgTypes.int8.oid:
      return fixed(8, (buffer) => buffer.writeBigInt64BE(BigInt(String(value))));
    case pgTypes.float4.oid:
      return fixed(4, (buffer) => buffer.writeFloatBE(value as number));
    case pgTypes.float8.oid:
      return fixed(8, (buffer) => buffer.writeDoubleBE(value as number));
    case pgTypes.numeric.oid:
      return numericBinary(String(value));
    case pgTypes.date.oid: {
      const days = Math.round(Date.parse(`${String(value)}T00:00:00Z`) / 86_400_000) - pgEpochDays;
      return fixed(4, (buffer) => buffer.writeInt32BE(days));
    }
    case pgTypes.timestamp.oid:
    case pgTypes.timestamptz.oid: {
      const micros = timestampMicros(value) ?? 0n;
      return fixed(8, (buffer) => buffer.writeBigInt64BE(micros - pgEpochMicros));
    }
    case pgTypes.uuid.oid:
      return Buffer.from(String(value).replaceAll('-', ''), 'hex');
    default:
      return Buffer.from(pgText(column, value, type) ?? '', 'utf8');
  }
};

/** numeric's binary form: base-10000 digits, the weight of the first, the sign and the display scale. */
const numericBinary = (text: string): Buffer => {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = text.replace(/^[-+]/, '').split('.');
  const scale = fraction.length;
  const wholePadded = whole.padStart(Math.ceil(whole.length / 4) * 4, '0');
  const fractionPadded = fraction.padEnd(Math.ceil(fraction.length / 4) * 4, '0');
  let digits: number[] = [];
  for (let index = 0; index < wholePadded.length; index += 4)
    digits.push(Number(wholePadded.slice(index, index + 4)));
  let weight = digits.length - 1;
  for (let index = 0; index < fractionPadded.length; index += 4)
    digits.push(Number(fractionPadded.slice(index, index + 4)));
  while (digits.length > 0 && digits[0] === 0) {
    digits = digits.slice(1);
    weight -= 1;
  }
  while (digits.length > 0 && digits[digits.length - 1] === 0) digits.pop();
  if (digits.length === 0) weight = 0;
  const buffer = Buffer.alloc(8 + digits.length * 2);
  buffer.writeInt16BE(digits.length, 0);
  buffer.writeInt16BE(weight, 2);
  buffer.writeUInt16BE(negative && digits.length > 0 ? 0x4000 : 0, 4);
  buffer.writeInt16BE(scale, 6);
  for (const [index, digit] of digits.entries()) buffer.writeInt16BE(digit, 8 + index * 2);
  return buffer;
};

/** One backend message: its type byte, its length, its body. */
const message = (type: string, ...parts: readonly Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
};
const cstring = (text: string): Buffer => Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
const int16 = (value: number): Buffer => {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16BE(value);
  return buffer;
};
const int32 = (value: number): Buffer => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};

export interface RowField {
  readonly name: string;
  readonly type: PgType;
  /** 0 text, 1 binary. */
  readonly format: 0 | 1;
}

export const wire = {
  rowDescription: (fields: readonly RowField[]): Buffer =>
    message(
      'T',
      int16(fields.length),
      ...fields.flatMap((field) => [
        cstring(field.name),
        int32(0),
        int16(0),
        int32(field.type.oid),
        int16(field.type.size),
        int32(-1),
        int16(field.format),
      ]),
    ),
  dataRow: (values: readonly (Buffer | undefined)[]): Buffer =>
    message(
      'D',
      int16(values.length),
      ...values.flatMap((value) => (value === undefined ? [int32(-1)] : [int32(value.length), value])),
    ),
  commandComplete: (tag: string): Buffer => message('C', cstring(tag)),
  readyForQuery: (status: 'I' | 'T' | 'E' = 'I'): Buffer => message('Z', Buffer.from(status, 'latin1')),
  emptyQuery: (): Buffer => message('I'),
  parseComplete: (): Buffer => message('1'),
  bindComplete: (): Buffer => message('2'),
  closeComplete: (): Buffer => message('3'),
  noData: (): Buffer => message('n'),
  parameterDescription: (oids: readonly number[]): Buffer =>
    message('t', int16(oids.length), ...oids.map((oid) => int32(oid))),
  parameterStatus: (name: string, value: string): Buffer => message('S', cstring(name), cstring(value)),
  backendKeyData: (processId: number, secret: number): Buffer =>
    message('K', int32(processId), int32(secret)),
  error: (fields: {
    readonly severity: 'ERROR' | 'FATAL';
    readonly code: string;
    readonly message: string;
    readonly detail?: string;
    readonly hint?: string;
  }): Buffer =>
    message(
      'E',
      Buffer.from('S', 'latin1'),
      cstring(fields.severity),
      Buffer.from('V', 'latin1'),
      cstring(fields.severity),
      Buffer.from('C', 'latin1'),
      cstring(fields.code),
      Buffer.from('M', 'latin1'),
      cstring(fields.message),
      ...(fields.detail === undefined ? [] : [Buffer.from('D', 'latin1'), cstring(fields.detail)]),
      ...(fields.hint === undefined ? [] : [Buffer.from('H', 'latin1'), cstring(fields.hint)]),
      Buffer.from([0]),
    ),
};

/** Reads the frontend messages' fields (after the type byte and length). */
export class MessageReader {
  private offset = 5;
  constructor(private readonly buffer: Buffer) {}
  get type(): string {
    return String.fromCharCode(this.buffer[0] ?? 0);
  }
  int16(): number {
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  int32(): number {
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  byte(): string {
    const value = String.fromCharCode(this.buffer[this.offset] ?? 0);
    this.offset += 1;
    return value;
  }
  cstring(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw new Error('a string in the message has no terminator');
    const text = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return text;
  }
  bytes(length: number): Buffer {
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}
