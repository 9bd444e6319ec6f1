// One filled row of a results sheet becomes one submission whose id follows from its content: the same row sent
// again is the same submission (already received), a changed cell gives a new id for the same unit, which
// supersedes the earlier one downstream (a correction). Problems are named by sheet, row and column.
import { createHash } from 'node:crypto';
import { canonicalJson } from '@citycheck/contracts';
import type { ReadColumn, ReadRow, SheetTable } from './sheet-read.js';

/** A problem with one row, in the shape of an HTTP problem, with where in the sheet it lies. */
export interface CellProblem {
  readonly pointer: string;
  readonly rule: string;
  readonly message: string;
  readonly value?: unknown;
  readonly indicator?: string;
  /** The column's letters and its header, as the city sees them. */
  readonly column?: string;
  readonly header?: string;
}

/** The submission a row stands for, with the column each of its fields came from (by JSON pointer). */
export interface RowSubmission {
  readonly kind: 'submission';
  readonly sheet: string;
  readonly row: number;
  /** A document in the submission's shape; the schema and rules check it as they check any submission. */
  readonly submission: Record<string, unknown> & { readonly submissionId: string };
  readonly columns: ReadonlyMap<string, ReadColumn>;
}

export type RowOutcome =
  /** Nothing to send: a unit without values, or a row without anything. */
  | { readonly kind: 'empty'; readonly sheet: string; readonly row: number; readonly unitGiven: boolean }
  | RowSubmission
  | {
      readonly kind: 'refused';
      readonly sheet: string;
      readonly row: number;
      readonly submissionId: null;
      readonly problems: readonly CellProblem[];
    };

/** The UUID namespace of submission ids derived from sheet rows (RFC 9562 version 5). */
export const sheetIdNamespace = 'b7e7c7a2-4f1e-5b8e-9c1a-6c69747963686b';

/** An RFC 9562 version-5 UUID: SHA-1 of the namespace's bytes and the name, with version and variant set. */
export const uuidV5 = (name: string, namespace: string = sheetIdNamespace): string => {
  const hash = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

/**
 * The id of a row's submission: a v5 UUID over city, cycle, unit and the canonical JSON of everything else it
 * says (catalogue version, the unit's name, every observation), so it is the same for the same content however
 * the row's columns are ordered, and another for any changed value.
 */
export const stableSubmissionId = (content: Record<string, unknown>): string => {
  const unit = (content.unit ?? {}) as { level?: unknown; code?: unknown };
  return uuidV5(
    [content.cityCode, content.cycle, unit.level, unit.code, canonicalJson(content)].map(String).join('|'),
  );
};

/**
 * The id of a row whose content was sent before but has since been superseded by other content for its unit
 * (a cell changed back): the earlier id would be a duplicate and leave the later values current, so the row
 * takes an id derived from its content and the submission it now supersedes, the same for every resend until
 * the unit changes again.
 */
export const supersedingSubmissionId = (content: Record<string, unknown>, superseded: string): string =>
  uuidV5(`${stableSubmissionId(content)}|supersedes|${superseded}`);

const numberPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

const booleanWords: Readonly<Record<string, boolean>> = {
  是: true,
  否: false,
  达标: true,
  未达标: false,
  不达标: false,
  true: true,
  false: false,
  yes: true,
  no: false,
  y: true,
  n: false,
  '1': true,
  '0': false,
};

/** The language of a sheet's problems: Chinese for the city, English on request. */
export type SheetLanguage = 'zh' | 'en';

const headerIn = (column: ReadColumn, language: SheetLanguage): string =>
  language === 'en' ? column.headerEn || column.headerZh : column.headerZh || column.headerEn;

const where = (column: ReadColumn, language: SheetLanguage) => ({
  column: column.letter,
  header: headerIn(column, language),
});

/** The number a cell holds (a number, or text of one: CSV cells are always text), else undefined. */
const numberIn = (cell: string | number | boolean): number | undefined => {
  if (typeof cell === 'number') return cell;
  if (typeof cell === 'string' && numberPattern.test(cell.trim())) return Number(cell.trim());
  return undefined;
};

/** A code as text: Excel may have turned 640104001001 into a number. */
const codeText = (cell: string | number | boolean): string =>
  typeof cell === 'number' && Number.isSafeInteger(cell) ? String(cell) : String(cell).trim();

const fieldOrder = ['value', 'numerator', 'denominator', 'quantity', 'population', 'weight', 'meets'];

/**
 * What one data row says. A row whose indicator cells are all empty is `empty` (skipped, never refused); a cell
 * that holds no number (or no yes/no) where one belongs refuses the row with rule `cell_number` (`cell_boolean`);
 * otherwise the row is a submission, checked afterwards by the submission schema and rules like any other.
 */
export const rowSubmission = (
  table: SheetTable,
  row: ReadRow,
  language: SheetLanguage = 'zh',
): RowOutcome => {
  const identity: Record<string, string | number | boolean> = {};
  const byPointer = new Map<string, ReadColumn>();
  const observations = new Map<string, Record<string, number | boolean | string>>();
  const observationColumns = new Map<string, Map<string, ReadColumn>>();
  const problems: CellProblem[] = [];
  for (const column of table.columns) {
    const cell = row.cells.get(column.column);
    const fieldMatch = /^([A-Z][0-9]{2,3})\.([a-z]+)$/.exec(column.key);
    if (fieldMatch === null) {
      if (cell !== undefined) identity[column.key] = cell;
      continue;
    }
    const [, indicator = '', field = ''] = fieldMatch;
    const columns = observationColumns.get(indicator) ?? new Map<string, ReadColumn>();
    columns.set(field, column);
    observationColumns.set(indicator, columns);
    if (cell === undefined || (typeof cell === 'string' && cell.trim() === '')) continue;
    const observation = observations.get(indicator) ?? {};
    observations.set(indicator, observation);
    if (field === 'meets') {
      const word = typeof cell === 'boolean' ? cell : booleanWords[String(cell).trim().toLowerCase()];
      if (word === undefined) {
        problems.push({
          pointer: `/observations/${indicator}/${field}`,
          rule: 'cell_boolean',
          message:
            language === 'en'
              ? `${headerIn(column, language)}: write 是 (yes) or 否 (no), not ${String(cell)}`
              : `${headerIn(column, language)} 应填写“是”或“否”，实为 ${String(cell)}`,
          value: cell,
          indicator,
          ...where(column, language),
        });
      } else observation[field] = word;
      continue;
    }
    const number = numberIn(cell);
    if (number === undefined) {
      problems.push({
        pointer: `/observations/${indicator}/${field}`,
        rule: 'cell_number',
        message:
          language === 'en'
            ? `${headerIn(column, language)}: write a number, not ${String(cell)}`
            : `${headerIn(column, language)} 应填写数字，实为 ${String(cell)}`,
        value: cell,
        indicator,
        ...where(column, language),
      });
    } else observation[field] = number;
  }
  const unitGiven = identity['unit.code'] !== undefined;
  if (observations.size === 0 && problems.length === 0)
    return { kind: 'empty', sheet: table.sheet, row: row.row, unitGiven };
  if (problems.length > 0)
    return { kind: 'refused', sheet: table.sheet, row: row.row, submissionId: null, problems };

  const columnOf = (key: string): ReadColumn | undefined =>
    table.columns.find((column) => column.key === key);
  const submission: Record<string, unknown> = {};
  const cycle = identity.cycle;
  if (cycle !== undefined) submission.cycle = numberIn(cycle) ?? cycle;
  if (identity.catalogueVersion !== undefined)
    submission.catalogueVersion = String(identity.catalogueVersion).trim();
  if (identity.cityCode !== undefined) submission.cityCode = codeText(identity.cityCode);
  const unit: Record<string, unknown> = {};
  if (identity['unit.level'] !== undefined) unit.level = String(identity['unit.level']).trim();
  if (identity['unit.code'] !== undefined) unit.code = codeText(identity['unit.code']);
  if (identity['unit.name'] !== undefined) unit.name = String(identity['unit.name']).trim();
  submission.unit = unit;
  for (const key of ['cycle', 'catalogueVersion', 'cityCode'] as const) {
    const column = columnOf(key);
    if (column !== undefined) byPointer.set(`/${key}`, column);
  }
  for (const key of ['level', 'code', 'name'] as const) {
    const column = columnOf(`unit.${key}`);
    if (column !== undefined) byPointer.set(`/unit/${key}`, column);
  }
  const unitCode = columnOf('unit.code');
  if (unitCode !== undefined) byPointer.set('/unit', unitCode);

  const list: Record<string, unknown>[] = [];
  // By indicator code, not by column: the same values give the same submission (and id) however the columns
  // were ordered.
  const byCode = [...observations].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [indicator, fields] of byCode) {
    const position = list.length;
    const ordered: Record<string, unknown> = { indicator };
    for (const field of fieldOrder) if (field in fields) ordered[field] = fields[field];
    list.push(ordered);
    const columns = observationColumns.get(indicator) ?? new Map();
    const firstColumn = [...columns.values()][0];
    if (firstColumn !== undefined) byPointer.set(`/observations/${position}`, firstColumn);
    for (const [field, column] of columns) byPointer.set(`/observations/${position}/${field}`, column);
  }
  submission.observations = list;
  const submissionId = stableSubmissionId(submission);
  return {
    kind: 'submission',
    sheet: table.sheet,
    row: row.row,
    submission: { submissionId, ...submission },
    columns: byPointer,
  };
};

/**
 * Where in the sheet a problem with a row's submission lies: the column of the field its pointer names (or of
 * the indicator, or of the unit), with that column's letters and header; the problem as it is when none fits.
 */
export const locateProblem = <P extends { readonly pointer: string }>(
  problem: P,
  columns: ReadonlyMap<string, ReadColumn>,
  language: SheetLanguage = 'zh',
): P & { column?: string; header?: string } => {
  for (let pointer = problem.pointer; pointer !== ''; pointer = pointer.slice(0, pointer.lastIndexOf('/'))) {
    const column = columns.get(pointer);
    if (column !== undefined) return { ...problem, ...where(column, language) };
  }
  return problem;
};
