// `citycheck submit <file|dir>...`: uploads a city's submissions to ingest in chunks (NDJSON, gzip), a few
// chunks in flight at a time, retrying on 429/503/network errors, recording each acknowledged chunk next to
// its input so an interrupted run resumes where it stopped, and gathering every rejection for the summary.
// Spreadsheets (.xlsx, .csv) go whole, each as its media type; with `wait`, every accepted line is followed to
// its final state (wait.ts).
import { gzipSync } from 'node:zlib';
import {
  type BulkSummary,
  type FieldProblem,
  isBulkSummary,
  isDryRunReport,
  isErrorBody,
} from './answers.js';
import { type Answer, defaultRetryPolicy, type RetryPolicy, send } from './http.js';
import { type Chunk, chunksOf, findInputFiles } from './input-files.js';
import { acceptLanguage, type CliLanguage, formatCount, problemValue } from './language.js';
import { Progress } from './progress.js';
import {
  type ChunkResult,
  type FollowedLine,
  fingerprintOf,
  loadState,
  type Rejection,
  type ResumeState,
  saveState,
} from './resume-state.js';
import { type FollowedOutcome, followSubmissions, tally, type WaitTally } from './wait.js';

export interface SubmitOptions {
  readonly paths: readonly string[];
  /** Base URL of ingest, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly token: string;
  readonly dryRun?: boolean;
  /** Lines per request (NDJSON chunk). */
  readonly chunkLines?: number;
  /** Bytes per request at most, before compression. */
  readonly maxChunkBytes?: number;
  /** Requests in flight at once. */
  readonly parallel?: number;
  readonly gzip?: boolean;
  readonly retry?: RetryPolicy;
  /** Ignore resume state and send everything again. */
  readonly restart?: boolean;
  readonly signal?: AbortSignal;
  /** Where progress goes (stderr); `false` for none. */
  readonly progress?: (NodeJS.WritableStream & { isTTY?: boolean; columns?: number }) | false;
  /** The language of the progress lines (Chinese by default). */
  readonly language?: CliLanguage;
  /** Milliseconds since a fixed moment, for the rate and time left of the progress (tests pass a fake). */
  readonly now?: () => number;
  /** Told after each acknowledged chunk (tests interrupt a run here). */
  readonly onChunkAcknowledged?: (file: string, chunk: number) => void;
  /** Follow every accepted (or already received) line to counted or rejected, at most `waitTimeoutMs`. */
  readonly wait?: boolean;
  readonly waitTimeoutMs?: number;
  readonly waitIntervalMs?: number;
}

export interface FileRejection extends Rejection {
  readonly file: string;
}

export interface SubmitReport {
  readonly files: number;
  readonly sent: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  /** Chunks skipped because an earlier run had them acknowledged. */
  readonly resumedChunks: number;
  readonly rejections: readonly FileRejection[];
  readonly dryRun: boolean;
  /** With `wait`: how each followed line ended, per file and in all. */
  readonly waited?: WaitReport;
}

export interface WaitReport extends WaitTally {
  readonly files: readonly ({ readonly file: string } & WaitTally)[];
  /** Lines of chunks acknowledged by an earlier run without `--wait`, whose ids were not kept. */
  readonly notFollowed: number;
  /** The lines validate rejected, with its reasons. */
  readonly rejections: readonly FollowedOutcome[];
}

/** Something no retry fixes (bad credential, chunk too large): the run stops, the state keeps what was done. */
export class SubmitFailed extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SubmitFailed';
  }
}

const problemsOf = (answer: Answer): readonly FieldProblem[] =>
  isErrorBody(answer.body)
    ? (answer.body.error.problems ?? [
        { pointer: '/', rule: answer.body.error.code, message: answer.body.error.message },
      ])
    : [{ pointer: '/', rule: `http_${answer.status}`, message: String(answer.body ?? '') }];

const describe = (answer: Answer): string =>
  isErrorBody(answer.body)
    ? `${answer.body.error.code}: ${answer.body.error.message}`
    : `HTTP ${answer.status}`;

/** Turns ingest's answer to one chunk into counts and rejections; throws SubmitFailed when the run must stop. */
export const resultOf = (chunk: Chunk, answer: Answer, dryRun: boolean, follow = false): ChunkResult => {
  if (answer.status === 401) throw new SubmitFailed(`the credential was refused (${describe(answer)})`);
  if (chunk.kind === 'sheet') {
    if ((answer.status === 200 || answer.status === 202) && isBulkSummary(answer.body))
      return fromSummary(chunk, answer.body, follow);
    // A file ingest could not read as a sheet (not XLSX, not UTF-8, no template headers, too large) is one
    // rejection of the file; the other files still go.
    if (answer.status >= 400 && answer.status < 500)
      return {
        sent: 1,
        accepted: 0,
        duplicates: 0,
        rejected: 1,
        rejections: [{ at: 1, unit: 'file', submissionId: null, problems: problemsOf(answer) }],
      };
    throw new SubmitFailed(`unexpected answer to a spreadsheet: ${describe(answer)}`);
  }
  if (chunk.kind === 'json') {
    const single = (
      status: 'accepted' | 'duplicates' | 'rejected',
      problems: readonly FieldProblem[] = [],
    ) => ({
      sent: 1,
      accepted: status === 'accepted' ? 1 : 0,
      duplicates: status === 'duplicates' ? 1 : 0,
      rejected: status === 'rejected' ? 1 : 0,
      rejections:
        status === 'rejected'
          ? [{ at: 1, unit: chunk.unit, submissionId: submissionIdIn(chunk.body), problems }]
          : [],
    });
    const followedId = (): Pick<ChunkResult, 'followed'> => {
      const id = (answer.body as { submissionId?: unknown } | undefined)?.submissionId;
      return follow && !dryRun && typeof id === 'string'
        ? {
            followed: [{ submissionId: id, at: 1, status: answer.status === 202 ? 'accepted' : 'duplicate' }],
          }
        : {};
    };
    if (answer.status === 202) return { ...single('accepted'), ...followedId() };
    if (answer.status === 200 && dryRun && isDryRunReport(answer.body)) {
      if (answer.body.outcome === 'rejected') return single('rejected', answer.body.problems);
      return single(answer.body.idempotency === 'duplicate' ? 'duplicates' : 'accepted');
    }
    if (answer.status === 200) return { ...single('duplicates'), ...followedId() };
    if (answer.status >= 400 && answer.status < 500) return single('rejected', problemsOf(answer));
    throw new SubmitFailed(`unexpected answer to a submission: ${describe(answer)}`);
  }
  if ((answer.status === 200 || answer.status === 202) && isBulkSummary(answer.body)) {
    return fromSummary(chunk, answer.body, follow);
  }
  if (answer.status === 413) {
    throw new SubmitFailed(`a chunk was too large for ingest (${describe(answer)}); lower --chunk-lines`);
  }
  throw new SubmitFailed(`ingest refused a chunk: ${describe(answer)}`);
};

const fromSummary = (chunk: Chunk, summary: BulkSummary, follow: boolean): ChunkResult => {
  const rejections: Rejection[] = [];
  const followed: FollowedLine[] = [];
  for (const line of summary.lines) {
    const at = line.row ?? chunk.origins[line.line - 1] ?? line.line;
    const sheet = line.sheet === undefined ? {} : { sheet: line.sheet };
    if (line.status !== 'rejected') {
      if (follow && !summary.dryRun && line.submissionId !== null)
        followed.push({ submissionId: line.submissionId, at, ...sheet, status: line.status });
      continue;
    }
    rejections.push({
      at,
      unit: chunk.unit,
      ...sheet,
      submissionId: line.submissionId,
      problems: line.problems ?? [],
    });
  }
  return {
    sent: summary.received,
    accepted: summary.accepted,
    duplicates: summary.duplicates,
    rejected: summary.rejected,
    rejections,
    ...(follow ? { followed } : {}),
  };
};

const submissionIdIn = (body: Buffer): string | null => {
  try {
    const id = (JSON.parse(body.toString('utf8')) as { submissionId?: unknown }).submissionId;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
};

export const runSubmit = async ({
  paths,
  url,
  token,
  dryRun = false,
  chunkLines = 1_000,
  maxChunkBytes = 8 * 1_048_576,
  parallel = 2,
  gzip = true,
  retry = defaultRetryPolicy,
  restart = false,
  signal,
  progress: progressOut = process.stderr,
  language = 'zh',
  now = Date.now,
  onChunkAcknowledged = () => undefined,
  wait = false,
  waitTimeoutMs = 600_000,
  waitIntervalMs = 1_000,
}: SubmitOptions): Promise<SubmitReport> => {
  const files = await findInputFiles(paths);
  if (files.length === 0)
    throw new SubmitFailed(`no .json, .ndjson, .jsonl, .xlsx or .csv files in ${paths.join(', ')}`);
  const follow = wait && !dryRun;
  const followed: (FollowedLine & { file: string })[] = [];
  let notFollowed = 0;
  // Progress counts lines, so their number is read first (a pass over the files that sends nothing).
  let totalLines = 0;
  if (progressOut !== false)
    for (const file of files)
      for await (const chunk of chunksOf(file, { chunkLines, maxChunkBytes }))
        totalLines += chunk.origins.length;
  const progress = new Progress({
    out: progressOut === false ? process.stderr : progressOut,
    totalLines,
    enabled: progressOut !== false,
    language,
    dryRun,
    now,
  });
  const endpoint = `${url.replace(/\/+$/, '')}/v1/submissions${dryRun ? '?dryRun=true' : ''}`;
  const totals = { sent: 0, accepted: 0, duplicates: 0, rejected: 0 };
  const rejections: FileRejection[] = [];
  let resumedChunks = 0;

  const count = (file: string, result: ChunkResult): void => {
    totals.sent += result.sent;
    totals.accepted += result.accepted;
    totals.duplicates += result.duplicates;
    totals.rejected += result.rejected;
    for (const rejection of result.rejections) rejections.push({ file, ...rejection });
    if (!follow) return;
    if (result.followed === undefined) notFollowed += result.accepted + result.duplicates;
    else for (const line of result.followed) followed.push({ file, ...line });
  };

  const post = (chunk: Chunk, file: string): Promise<Answer> => {
    // A workbook is a zip already: compressing it again gains nothing.
    const compress = gzip && !(chunk.kind === 'sheet' && /\.xlsx$/i.test(file));
    const body = compress ? gzipSync(chunk.body) : chunk.body;
    return send({
      method: 'POST',
      url: endpoint,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type':
          chunk.contentType ?? (chunk.kind === 'json' ? 'application/json' : 'application/x-ndjson'),
        ...(compress ? { 'content-encoding': 'gzip' } : {}),
        'accept-language': acceptLanguage(language),
      },
      body,
      retry,
      ...(signal === undefined ? {} : { signal }),
      onRetry: (reason, waitMs) => progress.retrying(file, chunk.index + 1, reason, waitMs),
    });
  };

  for (const file of files) {
    const fingerprint = await fingerprintOf(file, { chunkLines, maxChunkBytes, url });
    const loaded = restart || dryRun ? undefined : await loadState(file, fingerprint);
    const state: ResumeState = loaded?.state ?? { version: 1, ...fingerprint, chunks: {} };
    if (loaded?.resumed === true) {
      progress.resuming(file, Object.keys(state.chunks).length);
    }
    progress.startFile({ ...totals });
    // Saves are serialised: chunks finish out of order, and each save writes the whole state.
    let saving: Promise<void> = Promise.resolve();
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    for await (const chunk of chunksOf(file, { chunkLines, maxChunkBytes })) {
      if (failure !== undefined) break;
      const recorded = state.chunks[String(chunk.index)];
      if (recorded !== undefined) {
        resumedChunks += 1;
        count(file, recorded);
        progress.resumed(linesOf(chunk, recorded), { ...totals }, file, chunk.origins.length === 0);
        continue;
      }
      const task = (async () => {
        const result = resultOf(chunk, await post(chunk, file), dryRun, follow);
        count(file, result);
        if (!dryRun) {
          state.chunks[String(chunk.index)] = result;
          saving = saving.then(() => saveState(file, state));
          await saving;
        }
        progress.acknowledged(linesOf(chunk, result), { ...totals }, file, chunk.origins.length === 0);
        onChunkAcknowledged(file, chunk.index);
      })().catch((error: unknown) => {
        failure ??= error;
      });
      const tracked = task.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= parallel) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await saving;
    if (failure !== undefined) {
      progress.finish();
      throw failure;
    }
    progress.fileDone(file, { ...totals });
  }
  progress.finish();
  const report = { files: files.length, ...totals, resumedChunks, rejections, dryRun };
  if (!follow) return report;
  const outcomes = await followSubmissions({
    url,
    token,
    lines: followed,
    timeoutMs: waitTimeoutMs,
    intervalMs: waitIntervalMs,
    retry,
    ...(signal === undefined ? {} : { signal }),
  });
  return {
    ...report,
    waited: {
      ...tally(outcomes),
      files: files.map((file) => ({ file, ...tally(outcomes.filter((outcome) => outcome.file === file)) })),
      notFollowed,
      rejections: outcomes.filter((outcome) => outcome.finalStatus === 'rejected'),
    },
  };
};

/** The lines a chunk answered for: its own, or for a spreadsheet (rows known only to ingest) those ingest read. */
const linesOf = (chunk: Chunk, result: ChunkResult): number =>
  chunk.origins.length > 0 ? chunk.origins.length : result.sent;

/** Where a line was, for people: `file:7`, `file:[3]`, `file 社区 community!5` for a spreadsheet row. */
const placeOf = (file: string, unit: Rejection['unit'], at: number, sheet?: string): string =>
  unit === 'file'
    ? file
    : unit === 'row'
      ? `${file} ${sheet ?? ''}!${at}`
      : `${file}:${unit === 'item' ? `[${at}]` : at}`;

const problemText = (problem: FieldProblem, language: CliLanguage): string => {
  const en = language === 'en';
  const column =
    problem.column === undefined
      ? ''
      : en
        ? `column ${problem.column} "${problem.header ?? ''}" `
        : `第 ${problem.column} 列“${problem.header ?? ''}” `;
  return `${column}${problem.pointer} ${problem.rule}: ${problem.message}${problemValue(problem.value, language)}`;
};

/** Whether the run should exit non-zero: a line refused at the door, rejected by validate, or not final in time. */
export const anyFailed = (report: SubmitReport): boolean =>
  report.rejected > 0 ||
  (report.waited !== undefined && (report.waited.rejected > 0 || report.waited.pending > 0));

/**
 * The summary printed at the end of a run: totals, then one line per problem of each rejected submission, then
 * (after --wait) what became of the accepted ones. In the language asked for; places, ids and rule codes are
 * the same in both.
 */
export const formatReport = (report: SubmitReport, limit = 200, language: CliLanguage = 'en'): string => {
  const en = language === 'en';
  const n = (value: number) => formatCount(value);
  const more = en
    ? '... and more: run with --json for the full list'
    : '……还有更多，完整清单请用 --json 输出';
  const refused = en ? 'rejected' : '已拒收';
  const lines = [
    en
      ? `${report.dryRun ? 'dry run: ' : ''}${n(report.files)} file(s), ${n(report.sent)} submission(s): ` +
        `${n(report.accepted)} ${report.dryRun ? 'would be accepted' : 'accepted'}, ` +
        `${n(report.duplicates)} already received, ${n(report.rejected)} rejected` +
        (report.resumedChunks > 0 ? ` (${report.resumedChunks} chunk(s) from an earlier run)` : '')
      : `${report.dryRun ? '试运行：' : ''}${n(report.files)} 个文件，${n(report.sent)} 条报送：` +
        `${report.dryRun ? '可接收' : '已接收'} ${n(report.accepted)} 条，此前已收到 ${n(report.duplicates)} 条，` +
        `被拒收 ${n(report.rejected)} 条` +
        (report.resumedChunks > 0 ? `（其中 ${report.resumedChunks} 块为上次运行已确认）` : ''),
  ];
  let shown = 0;
  for (const rejection of report.rejections) {
    for (const problem of rejection.problems.length > 0 ? rejection.problems : [undefined]) {
      if (shown === limit) {
        lines.push(more);
        return lines.join('\n');
      }
      const where = placeOf(rejection.file, rejection.unit, rejection.at, rejection.sheet);
      const detail = problem === undefined ? refused : problemText(problem, language);
      lines.push(`  ${where} ${rejection.submissionId ?? '-'} ${detail}`);
      shown += 1;
    }
  }
  const waited = report.waited;
  if (waited === undefined) return lines.join('\n');
  for (const file of waited.files)
    lines.push(
      en
        ? `${file.file}: ${n(file.counted)} counted, ${n(file.rejected)} rejected by validate` +
            (file.pending > 0 ? `, ${n(file.pending)} not final yet` : '')
        : `${file.file}：计入汇总 ${n(file.counted)} 条，校验驳回 ${n(file.rejected)} 条` +
            (file.pending > 0 ? `，尚无最终结果 ${n(file.pending)} 条` : ''),
    );
  for (const outcome of waited.rejections) {
    const unit = outcome.sheet === undefined ? 'line' : 'row';
    for (const problem of outcome.problems.length > 0 ? outcome.problems : [undefined]) {
      if (shown === limit) {
        lines.push(more);
        return lines.join('\n');
      }
      const detail = problem === undefined ? refused : problemText(problem, language);
      lines.push(
        `  ${placeOf(outcome.file, unit, outcome.at, outcome.sheet)} ${outcome.submissionId} ${detail}`,
      );
      shown += 1;
    }
  }
  lines.push(
    en
      ? `after waiting: ${n(waited.counted)} counted, ${n(waited.rejected)} rejected by validate, ` +
          `${n(report.rejected)} refused by ingest` +
          (waited.pending > 0 ? `, ${n(waited.pending)} not final yet` : '') +
          (waited.notFollowed > 0 ? ` (${n(waited.notFollowed)} from an earlier run not followed)` : '')
      : `等待结果：计入汇总 ${n(waited.counted)} 条，校验驳回 ${n(waited.rejected)} 条，` +
          `接收时拒收 ${n(report.rejected)} 条` +
          (waited.pending > 0 ? `，尚无最终结果 ${n(waited.pending)} 条` : '') +
          (waited.notFollowed > 0 ? `（上次运行的 ${n(waited.notFollowed)} 条未跟踪）` : ''),
  );
  return lines.join('\n');
};
