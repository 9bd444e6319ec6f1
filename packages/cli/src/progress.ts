// The progress of `citycheck submit` on stderr, counted in lines ingest acknowledged (never bytes read, which
// run far ahead of the answers). On a terminal: one bar redrawn in place, with the rate and the time left. In
// a log (not a terminal): one line per file once it is done, and a summary at the end; nothing twice.
// Notes (retries, resumed files) never mix with the report on stdout.
import { type CliLanguage, formatCount, formatDuration } from './language.js';

export interface Counts {
  readonly sent: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
}

export type ProgressStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface ProgressOptions {
  readonly out: ProgressStream;
  /**
   * Lines (submissions) of every file of the run, the ones acknowledged in an earlier run included; a
   * spreadsheet's rows are added when ingest has read them (`uncounted` below).
   */
  readonly totalLines: number;
  readonly enabled?: boolean;
  readonly language?: CliLanguage;
  readonly dryRun?: boolean;
  /** Milliseconds since some fixed moment; tests pass a fake clock. */
  readonly now?: () => number;
}

const barWidth = 24;
/** Redraws on a terminal at most this often. */
const redrawMs = 100;
/** No rate nor time left before this much time and one answer: the first figures would be noise. */
const settleMs = 1_000;

const seconds = (milliseconds: number, language: CliLanguage): string =>
  `${(milliseconds / 1000).toFixed(1)}${language === 'en' ? ' s' : ' 秒'}`;

/** The counts as a phrase: `920 accepted, 0 duplicates, 4 rejected` / `已接收 920，重复 0，拒绝 4`. */
export const formatCounts = (counts: Counts, language: CliLanguage, dryRun = false): string =>
  language === 'en'
    ? `${formatCount(counts.accepted)} ${dryRun ? 'would be accepted' : 'accepted'}, ` +
      `${formatCount(counts.duplicates)} duplicates, ${formatCount(counts.rejected)} rejected`
    : `${dryRun ? '可接收' : '已接收'} ${formatCount(counts.accepted)}，重复 ${formatCount(counts.duplicates)}，` +
      `拒绝 ${formatCount(counts.rejected)}`;

const minus = (a: Counts, b: Counts): Counts => ({
  sent: a.sent - b.sent,
  accepted: a.accepted - b.accepted,
  duplicates: a.duplicates - b.duplicates,
  rejected: a.rejected - b.rejected,
});

const none: Counts = { sent: 0, accepted: 0, duplicates: 0, rejected: 0 };

export class Progress {
  private readonly out: ProgressStream;
  /** Grows when a spreadsheet is answered: its rows are counted by ingest, not before. */
  private totalLines: number;
  private readonly enabled: boolean;
  private readonly language: CliLanguage;
  private readonly dryRun: boolean;
  private readonly now: () => number;
  private readonly startedAt: number;
  private files = 0;
  /** Lines acknowledged, in this run or (resumed) an earlier one. */
  private doneLines = 0;
  /** Lines acknowledged by ingest in this run: what the rate is made of. */
  private sentLines = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private drawn = false;
  private fileStartedAt: number;
  private fileCountsBefore: Counts = none;
  private fileResumedLines = 0;
  private counts: Counts = none;

  constructor({
    out,
    totalLines,
    enabled = true,
    language = 'zh',
    dryRun = false,
    now = Date.now,
  }: ProgressOptions) {
    this.out = out;
    this.totalLines = totalLines;
    this.enabled = enabled;
    this.language = language;
    this.dryRun = dryRun;
    this.now = now;
    this.startedAt = now();
    this.fileStartedAt = this.startedAt;
  }

  private get interactive(): boolean {
    return this.out.isTTY === true;
  }

  /** A file begins; `counts` are the run's totals so far. */
  startFile(counts: Counts): void {
    this.fileStartedAt = this.now();
    this.fileCountsBefore = counts;
    this.fileResumedLines = 0;
    this.counts = counts;
  }

  /** `lines` of `file` that an earlier run had acknowledged, skipped now (`uncounted`: not in the total yet). */
  resumed(lines: number, counts: Counts, file: string, uncounted = false): void {
    if (uncounted) this.totalLines += lines;
    this.doneLines += lines;
    this.fileResumedLines += lines;
    this.counts = counts;
    this.draw(file);
  }

  /**
   * Ingest answered for `lines` more lines of `file`; `counts` are the run's totals after them. `uncounted`:
   * lines the total did not hold yet (a spreadsheet's rows, which only ingest counts).
   */
  acknowledged(lines: number, counts: Counts, file: string, uncounted = false): void {
    if (uncounted) this.totalLines += lines;
    this.doneLines += lines;
    this.sentLines += lines;
    this.counts = counts;
    this.draw(file);
  }

  /** Lines acknowledged per second in this run, or undefined while too early to tell. */
  rate(): number | undefined {
    const elapsed = this.now() - this.startedAt;
    if (elapsed < settleMs || this.sentLines === 0) return undefined;
    return (this.sentLines * 1000) / elapsed;
  }

  /** The bar a terminal shows: share of lines, lines, counts, rate, time left, file. */
  barText(file: string): string {
    const en = this.language === 'en';
    const share = this.totalLines === 0 ? 1 : Math.min(1, this.doneLines / this.totalLines);
    const filled = Math.round(share * barWidth);
    const rate = this.rate();
    const left = Math.max(0, this.totalLines - this.doneLines);
    const speed =
      rate === undefined
        ? ''
        : en
          ? `  ${formatCount(Math.round(rate))} lines/s  ETA ${formatDuration((left / rate) * 1000, 'en')}`
          : `  ${formatCount(Math.round(rate))} 行/秒  剩余约 ${formatDuration((left / rate) * 1000, 'zh')}`;
    return (
      `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${Math.floor(share * 100)
        .toString()
        .padStart(
          3,
        )}%  ${formatCount(this.doneLines)}/${formatCount(this.totalLines)} ${en ? 'lines' : '行'}  ` +
      `${formatCounts(this.counts, this.language, this.dryRun)}${speed}  ${file}`
    );
  }

  private draw(file: string, force = false): void {
    if (!this.enabled || !this.interactive) return;
    const now = this.now();
    if (!force && now - this.lastDraw < redrawMs) return;
    this.lastDraw = now;
    const text = this.barText(file);
    const columns = this.out.columns ?? 120;
    this.out.write(`\r${text.slice(0, columns - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** `file` is done, `counts` the run's totals after it: in a log, its one line. */
  fileDone(file: string, counts: Counts): void {
    this.files += 1;
    this.counts = counts;
    if (!this.enabled) return;
    if (this.interactive) {
      this.draw(file, true);
      return;
    }
    const own = minus(counts, this.fileCountsBefore);
    const elapsed = seconds(this.now() - this.fileStartedAt, this.language);
    const resumed =
      this.fileResumedLines === 0
        ? ''
        : this.language === 'en'
          ? `, ${formatCount(this.fileResumedLines)} of them acknowledged in an earlier run`
          : `，其中 ${formatCount(this.fileResumedLines)} 行上次已确认`;
    this.out.write(
      this.language === 'en'
        ? `${file}: ${formatCount(own.sent)} line${own.sent === 1 ? '' : 's'}, ${formatCounts(own, 'en', this.dryRun)} (${elapsed}${resumed})\n`
        : `${file}：${formatCount(own.sent)} 行，${formatCounts(own, 'zh', this.dryRun)}（用时 ${elapsed}${resumed}）\n`,
    );
  }

  /** A retry, a resumed file: on a line of its own, the bar drawn again after it. */
  note(message: string): void {
    if (!this.enabled) return;
    if (this.interactive && this.drawn) this.out.write('\r\x1b[K');
    this.out.write(`citycheck: ${message}\n`);
    this.drawn = false;
  }

  /** Ingest asked to wait (429, 503) or could not be reached: the chunk is sent again after `waitMs`. */
  retrying(file: string, chunk: number, reason: string, waitMs: number): void {
    const wait = (waitMs / 1000).toFixed(1);
    this.note(
      this.language === 'en'
        ? `${file} chunk ${chunk}: ${reason}, retrying in ${wait} s`
        : `${file} 第 ${chunk} 块：${reason}，${wait} 秒后重试`,
    );
  }

  /** A file an earlier run had begun: how many of its chunks are skipped. */
  resuming(file: string, chunks: number): void {
    this.note(
      this.language === 'en'
        ? `${file}: resuming, ${chunks} chunk(s) already acknowledged`
        : `${file}：接着上次继续，已确认 ${chunks} 块`,
    );
  }

  /** The run is over (or stopped): the bar's last state on a terminal; in a log, the summary line. */
  finish(): void {
    if (!this.enabled) return;
    if (this.interactive) {
      if (this.drawn) this.out.write('\n');
      this.drawn = false;
      return;
    }
    const elapsed = this.now() - this.startedAt;
    const rate = elapsed > 0 ? Math.round((this.sentLines * 1000) / elapsed) : undefined;
    const speed =
      rate === undefined || this.sentLines === 0
        ? ''
        : this.language === 'en'
          ? ` (${formatCount(rate)} lines/s)`
          : `（${formatCount(rate)} 行/秒）`;
    this.out.write(
      this.language === 'en'
        ? `total: ${formatCount(this.files)} file(s), ${formatCount(this.doneLines)} of ${formatCount(this.totalLines)} lines, ` +
            `${formatCounts(this.counts, 'en', this.dryRun)}, in ${seconds(elapsed, 'en')}${speed}\n`
        : `合计：${formatCount(this.files)} 个文件，${formatCount(this.doneLines)}/${formatCount(this.totalLines)} 行，` +
            `${formatCounts(this.counts, 'zh', this.dryRun)}，用时 ${seconds(elapsed, 'zh')}${speed}\n`,
    );
  }
}
