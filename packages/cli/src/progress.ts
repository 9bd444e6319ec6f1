// The progress line of `citycheck submit` on stderr: a bar redrawn in place on a terminal, one line per
// chunk otherwise (CI logs), and notes (retries, resumed files) that never mix with the summary on stdout.

export interface Counts {
  readonly sent: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
}

const number = new Intl.NumberFormat('en');

export class Progress {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly totalBytes: number,
    private readonly enabled = true,
  ) {}

  private get interactive(): boolean {
    return this.out.isTTY === true;
  }

  private doneBytes = 0;

  /** Draws the bar; `doneBytes` may come out of order (chunks finish in parallel): it never goes back. */
  update(doneBytes: number, counts: Counts, file: string, force = false): void {
    if (!this.enabled) return;
    this.doneBytes = Math.max(this.doneBytes, doneBytes);
    const now = Date.now();
    if (this.interactive && !force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const share = this.totalBytes === 0 ? 1 : Math.min(1, this.doneBytes / this.totalBytes);
    const width = 24;
    const filled = Math.round(share * width);
    const text =
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.floor(share * 100)
        .toString()
        .padStart(3)}%  ${number.format(counts.sent)} sent, ${number.format(counts.accepted)} accepted, ` +
      `${number.format(counts.duplicates)} duplicates, ${number.format(counts.rejected)} rejected  ${file}`;
    if (this.interactive) {
      const columns = this.out.columns ?? 120;
      this.out.write(`\r${text.slice(0, columns - 1).padEnd(Math.min(columns - 1, text.length))}\x1b[K`);
      this.drawn = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  note(message: string): void {
    if (!this.enabled) return;
    if (this.interactive && this.drawn) this.out.write('\r\x1b[K');
    this.out.write(`citycheck: ${message}\n`);
    this.drawn = false;
  }

  finish(): void {
    if (this.enabled && this.interactive && this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
