// Reads an uploaded results sheet (XLSX or CSV) into tables of cells, without trusting it: the workbook is read
// by exceljs's streaming reader (rows and cells only: no styles, data validations or drawings, whose ranges a
// hostile file could make enormous), after its zip directory has said how much it unpacks to.
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { columnLetter, headerRows, keyOfHeader } from './sheet-layout.js';

/** A cell as read: text, a number, a boolean, or nothing. */
export type CellValue = string | number | boolean | undefined;

/** A column ingest reads: its key (`C01.value`), where it is and the headers it carries. */
export interface ReadColumn {
  readonly key: string;
  /** 1-based column number and its letters (H, AA). */
  readonly column: number;
  readonly letter: string;
  readonly headerZh: string;
  readonly headerEn: string;
}

export interface ReadRow {
  /** 1-based row number as the spreadsheet shows it (header rows included). */
  readonly row: number;
  /** Cells by 1-based column number. */
  readonly cells: ReadonlyMap<number, CellValue>;
}

export interface SheetTable {
  readonly sheet: string;
  readonly columns: readonly ReadColumn[];
  readonly rows: readonly ReadRow[];
}

/** A file that is no sheet of ours: not a workbook or CSV, too large unpacked, or without the template's headers. */
export class UnreadableSheet extends Error {
  constructor(
    message: string,
    /** A stable code for the city: `sheet_unreadable`, `sheet_too_large`, `sheet_headers`. */
    readonly rule: 'sheet_unreadable' | 'sheet_too_large' | 'sheet_headers',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UnreadableSheet';
  }
}

export interface ReadLimits {
  /** Data rows across all sheets. */
  readonly maxRows?: number;
  /** What the workbook's files unpack to, as its zip directory declares. */
  readonly maxUnpackedBytes?: number;
}

const defaultLimits = { maxRows: 50_000, maxUnpackedBytes: 64 * 1_048_576 };

/**
 * The sum of the uncompressed sizes the zip's central directory declares, or undefined when the bytes are no
 * zip. A ZIP64 size (0xffffffff) counts as infinite: no results sheet needs 4 GiB.
 */
export const declaredUnpackedBytes = (bytes: Buffer): number | undefined => {
  const minimum = 22;
  if (bytes.length < minimum) return undefined;
  for (let at = bytes.length - minimum; at >= Math.max(0, bytes.length - minimum - 65_535); at -= 1) {
    if (bytes.readUInt32LE(at) !== 0x06054b50) continue;
    const entries = bytes.readUInt16LE(at + 10);
    let offset = bytes.readUInt32LE(at + 16);
    let total = 0;
    for (let entry = 0; entry < entries; entry += 1) {
      if (offset + 46 > bytes.length || bytes.readUInt32LE(offset) !== 0x02014b50) return undefined;
      const size = bytes.readUInt32LE(offset + 24);
      if (size === 0xffffffff) return Number.POSITIVE_INFINITY;
      total += size;
      offset +=
        46 +
        bytes.readUInt16LE(offset + 28) +
        bytes.readUInt16LE(offset + 30) +
        bytes.readUInt16LE(offset + 32);
    }
    return total;
  }
  return undefined;
};

const textOf = (value: unknown): CellValue => {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const object = value as {
      result?: unknown;
      richText?: { text: string }[];
      text?: unknown;
      error?: unknown;
    };
    if ('result' in object) return textOf(object.result);
    if (Array.isArray(object.richText)) return object.richText.map((part) => part.text).join('');
    if ('text' in object) return textOf(object.text);
    if ('error' in object) return String(object.error);
  }
  return String(value);
};

const headerText = (value: CellValue): string => (value === undefined ? '' : String(value).trim());

/**
 * A table from the rows of one sheet: the two header rows name the columns (the key is read from the English
 * row, or from the Chinese one if a city kept only that); undefined when neither names a unit code, which is
 * how a sheet that is not a results sheet (说明, a city's own notes) is told apart and left alone.
 */
const tableOf = (sheet: string, rows: readonly ReadRow[]): SheetTable | undefined => {
  const first = rows.find((row) => row.row === 1)?.cells ?? new Map();
  const second = rows.find((row) => row.row === 2)?.cells ?? new Map();
  const numbers = new Set([...first.keys(), ...second.keys()]);
  const columns: ReadColumn[] = [];
  for (const column of [...numbers].sort((a, b) => a - b)) {
    const headerZh = headerText(first.get(column));
    const headerEn = headerText(second.get(column));
    const key = keyOfHeader(headerEn) ?? keyOfHeader(headerZh);
    if (key === undefined) continue;
    columns.push({ key, column, letter: columnLetter(column), headerZh, headerEn });
  }
  if (!columns.some((column) => column.key === 'unit.code')) return undefined;
  return { sheet, columns, rows: rows.filter((row) => row.row > headerRows) };
};

/** The results tables of an XLSX workbook, in sheet order; sheets without the template's headers are left out. */
export const readWorkbook = async (bytes: Buffer, limits: ReadLimits = {}): Promise<SheetTable[]> => {
  const { maxRows, maxUnpackedBytes } = { ...defaultLimits, ...limits };
  const unpacked = declaredUnpackedBytes(bytes);
  if (unpacked === undefined)
    throw new UnreadableSheet(
      'the file is not an XLSX workbook (no zip directory found)',
      'sheet_unreadable',
    );
  if (unpacked > maxUnpackedBytes)
    throw new UnreadableSheet(
      `the workbook unpacks to ${unpacked} bytes, more than ${maxUnpackedBytes}: split it into several files`,
      'sheet_too_large',
    );
  const tables: SheetTable[] = [];
  let rowsRead = 0;
  try {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from([bytes]), {
      sharedStrings: 'cache',
      styles: 'ignore',
      hyperlinks: 'ignore',
      worksheets: 'emit',
      entries: 'ignore',
    });
    for await (const worksheet of reader) {
      const rows: ReadRow[] = [];
      for await (const row of worksheet) {
        rowsRead += 1;
        if (rowsRead > maxRows + 20 * headerRows)
          throw new UnreadableSheet(
            `the workbook has more than ${maxRows} rows: split it into several files`,
            'sheet_too_large',
          );
        const cells = new Map<number, CellValue>();
        const values = row.values as unknown[];
        values.forEach((value, column) => {
          const cell = textOf(value);
          if (cell !== undefined && !(typeof cell === 'string' && cell.trim() === ''))
            cells.set(column, cell);
        });
        if (cells.size > 0) rows.push({ row: row.number, cells });
      }
      const name = (worksheet as unknown as { name?: string }).name ?? 'Sheet';
      const table = tableOf(name, rows);
      if (table !== undefined) tables.push(table);
    }
  } catch (error) {
    if (error instanceof UnreadableSheet) throw error;
    throw new UnreadableSheet('the workbook could not be read as XLSX', 'sheet_unreadable', { cause: error });
  }
  if (tables.length === 0)
    throw new UnreadableSheet(
      'no sheet of the workbook has the template headers (row 2 naming unit.code and the indicator fields): ' +
        'start from `citycheck template`',
      'sheet_headers',
    );
  return tables;
};

/** Splits CSV text into records of fields (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
const csvRecords = (text: string): string[][] => {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i] as string;
    if (quoted) {
      if (char === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 1;
        } else quoted = false;
      } else field += char;
    } else if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      record.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i += 1;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
};

/**
 * The table of a CSV results sheet: UTF-8 with or without a byte-order mark (Excel writes one, most programs
 * do not), any line ending. Bytes that are not UTF-8 are refused, rather than read as mojibake.
 */
export const readCsv = (bytes: Buffer, sheet: string, limits: ReadLimits = {}): SheetTable => {
  const { maxRows } = { ...defaultLimits, ...limits };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (error) {
    throw new UnreadableSheet(
      'the CSV is not UTF-8: save it as "CSV UTF-8 (逗号分隔)" in Excel',
      'sheet_unreadable',
      { cause: error },
    );
  }
  const records = csvRecords(text);
  if (records.length > maxRows + headerRows)
    throw new UnreadableSheet(
      `the CSV has more than ${maxRows} rows: split it into several files`,
      'sheet_too_large',
    );
  const rows: ReadRow[] = [];
  records.forEach((fields, index) => {
    const cells = new Map<number, CellValue>();
    fields.forEach((field, column) => {
      if (field.trim() !== '') cells.set(column + 1, field);
    });
    if (cells.size > 0) rows.push({ row: index + 1, cells });
  });
  const table = tableOf(sheet, rows);
  if (table === undefined)
    throw new UnreadableSheet(
      'the CSV does not have the template headers (row 2 naming unit.code and the indicator fields): ' +
        'start from `citycheck template --format csv`',
      'sheet_headers',
    );
  return table;
};
