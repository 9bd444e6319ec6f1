// Spreadsheet uploads (XLSX workbooks and CSV in the layout of `citycheck template`): each filled row becomes a
// submission with an id derived from its content (@citycheck/sheets), checked and sent like an NDJSON line with
// the rules applied at the door, and answered per row by sheet, row and column, in the city's language.
import { type BulkSummary, contentHash, type LineResult, type Submission } from '@citycheck/contracts';
import { CitycheckError } from '@citycheck/errors';
import {
  locateProblem,
  type ReadColumn,
  readCsv,
  readWorkbook,
  rowSubmission,
  type SheetTable,
  supersedingSubmissionId,
  UnreadableSheet,
} from '@citycheck/sheets';
import { BulkInterrupted, type BulkOptions, processBulk } from './bulk.js';
import { type IndicatorsOf, inLanguage, type ProblemLanguage } from './problem-language.js';
import type { NdjsonLine } from './request-body.js';
import type { SubmissionIndex } from './submission-index.js';

/** A spreadsheet body, read whole (it is at most the single-body limit), parsed by the route. */
export class SheetBody {
  constructor(
    readonly format: 'xlsx' | 'csv',
    readonly bytes: Buffer,
  ) {}
}

/** The name a CSV upload's rows give as their sheet. */
export const csvSheetName = 'csv';

/** The results tables of the upload; an unreadable one is a 400 (415 would wrongly say the type is unknown). */
export const readSheetBody = async (body: SheetBody, maxRows: number): Promise<SheetTable[]> => {
  try {
    return body.format === 'xlsx'
      ? await readWorkbook(body.bytes, { maxRows })
      : [readCsv(body.bytes, csvSheetName, { maxRows })];
  } catch (error) {
    if (error instanceof UnreadableSheet) {
      throw new CitycheckError(
        error.rule === 'sheet_too_large' ? 'payload_too_large' : 'invalid_request',
        error.message,
        {
          problems: [{ pointer: '/', rule: error.rule, message: error.message }],
        },
      );
    }
    throw error;
  }
};

export interface SheetOptions extends Omit<BulkOptions, 'lines' | 'maxLineBytes' | 'rulesAtDoor'> {
  readonly tables: readonly SheetTable[];
  readonly language: ProblemLanguage;
  readonly indicatorsOf?: IndicatorsOf;
  readonly maxLineBytes: number;
  /** What the index knows, to give a row changed back to earlier values an id of its own (see `idOfRow`). */
  readonly index: Pick<SubmissionIndex, 'get' | 'latestByUnit'>;
}

interface Placed {
  readonly sheet: string;
  readonly row: number;
  readonly submission?: Record<string, unknown>;
  readonly columns?: ReadonlyMap<string, ReadColumn>;
}

/**
 * Processes the rows of every table in order: empty rows are counted as skipped, rows with a cell that is no
 * number (or yes/no) are refused with that cell, and the rest go through `processBulk` with the rules applied
 * before anything is sent. Each line of the answer carries its sheet and row; each problem its column and
 * header, in the asked language.
 */
export const processSheets = async ({
  tables,
  language,
  indicatorsOf,
  index,
  ...bulk
}: SheetOptions): Promise<BulkSummary> => {
  const latest = new Map<string, ReturnType<SheetOptions['index']['latestByUnit']>>();
  /**
   * A row's id: the one derived from its content, unless that submission was sent and has since been
   * superseded by other values for its unit (a cell changed back). Then, unless the unit's latest submission
   * already holds these very values, the row supersedes that one under an id of its own: resending the earlier
   * id would be a duplicate and leave the later values current.
   */
  const idOfRow = (submission: Record<string, unknown> & { submissionId: string }): string => {
    const { submissionId: derived, ...content } = submission;
    const unit = content.unit as { level?: unknown; code?: unknown };
    const city = String(content.cityCode);
    const cycle = Number(content.cycle);
    if (!Number.isInteger(cycle)) return derived;
    const key = `${city}|${cycle}`;
    let units = latest.get(key);
    if (units === undefined) {
      units = index.latestByUnit(city, cycle);
      latest.set(key, units);
    }
    const current = units.get(`${String(unit.level)}|${String(unit.code)}`);
    if (current === undefined || current.submissionId === derived) return derived;
    if (contentHash({ ...content, submissionId: current.submissionId }) === current.contentHash)
      return current.submissionId;
    if (index.get(derived) === undefined) return derived;
    return supersedingSubmissionId(content, current.submissionId);
  };
  // Ordinals are the "lines" processBulk sees: one per row that became a submission, in upload order.
  const placed: Placed[] = [];
  const refused: { at: number; result: LineResult }[] = [];
  const lines: NdjsonLine[] = [];
  let skipped = 0;
  for (const table of tables) {
    for (const row of table.rows) {
      const outcome = rowSubmission(table, row, language);
      if (outcome.kind === 'empty') {
        if (outcome.unitGiven) skipped += 1;
        continue;
      }
      if (outcome.kind === 'refused') {
        refused.push({
          at: placed.length,
          result: {
            line: outcome.row,
            sheet: outcome.sheet,
            row: outcome.row,
            submissionId: null,
            status: 'rejected',
            problems: outcome.problems,
          },
        });
        continue;
      }
      const submission = { ...outcome.submission, submissionId: idOfRow(outcome.submission) };
      placed.push({ sheet: outcome.sheet, row: outcome.row, submission, columns: outcome.columns });
      lines.push({ line: placed.length, bytes: Buffer.from(JSON.stringify(submission)) });
    }
  }

  const placedSummary = (summary: BulkSummary): BulkSummary => {
    const rows: LineResult[] = [];
    let next = 0;
    const flushRefused = (before: number): void => {
      while (next < refused.length && (refused[next] as { at: number }).at <= before) {
        rows.push((refused[next] as { result: LineResult }).result);
        next += 1;
      }
    };
    for (const line of summary.lines) {
      flushRefused(line.line - 1);
      const where = placed[line.line - 1] as Placed;
      const problems =
        line.problems === undefined
          ? undefined
          : inLanguage(line.problems, language, where.submission as unknown as Submission, indicatorsOf).map(
              (problem) => locateProblem(problem, where.columns ?? new Map(), language),
            );
      rows.push({
        ...line,
        line: where.row,
        sheet: where.sheet,
        row: where.row,
        ...(problems === undefined ? {} : { problems }),
      });
    }
    flushRefused(Number.POSITIVE_INFINITY);
    return {
      ...summary,
      received: summary.received + refused.length,
      rejected: summary.rejected + refused.length,
      skipped,
      lines: rows,
    };
  };

  try {
    return placedSummary(await processBulk({ ...bulk, lines: fromArray(lines), rulesAtDoor: true }));
  } catch (error) {
    if (error instanceof BulkInterrupted)
      throw new BulkInterrupted(error.error, placedSummary(error.summary));
    throw error;
  }
};

async function* fromArray(lines: readonly NdjsonLine[]): AsyncGenerator<NdjsonLine> {
  yield* lines;
}
