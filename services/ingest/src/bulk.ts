// NDJSON bulk uploads: each line checked on its own, the good ones sent to Kafka in batches, and a per-line
// summary for the city.

import type { BulkSummary, LineResult } from '@citycheck/contracts';
import type { Principal } from '@citycheck/credentials';
import type { CitycheckError, FieldProblem } from '@citycheck/errors';
import type { Intake } from './intake.js';
import { parseJsonDocument } from './json-document.js';
import type { NdjsonLine } from './request-body.js';
import { checkSchema, type SemanticCheck, scopeProblem } from './submission-checks.js';
import type { Receipt } from './submission-index.js';

// The shapes of the answer are schemas/http/{bulk-summary,line-result}.v1.schema.json.
export type { BulkSummary, LineResult };
export type LineStatus = LineResult['status'];

/** A bulk upload that stopped part way (broker down, body too large, broken gzip): what happened up to there. */
export class BulkInterrupted extends Error {
  constructor(
    readonly error: CitycheckError,
    readonly summary: BulkSummary,
  ) {
    super(error.message);
    this.name = 'BulkInterrupted';
  }
}

export interface BulkOptions {
  readonly lines: AsyncIterable<NdjsonLine>;
  readonly principal: Principal;
  readonly intake: Intake;
  readonly batchSize: number;
  readonly maxLineBytes: number;
  readonly dryRun: boolean;
  readonly semanticCheck?: SemanticCheck;
  /** The problem when a submission's cycle is closed now (a dry run's semantic check applies it itself). */
  readonly cycleCheck?: (cycle: number) => FieldProblem | undefined;
  /**
   * The problem when the city's data for the cycle are locked by the ministry's acceptance: applied to dry
   * runs too, since ingest's semantic check leaves the lock to this.
   */
  readonly lockCheck?: (cycle: number, cityCode: string) => FieldProblem | undefined;
  /**
   * Apply `semanticCheck` to every line before it is sent, not only in a dry run: a line that breaks a rule is
   * refused at once instead of being rejected by validate a second later (spreadsheet uploads).
   */
  readonly rulesAtDoor?: boolean;
}

const readableId = (document: unknown): string | null => {
  if (typeof document !== 'object' || document === null) return null;
  const id = (document as Record<string, unknown>).submissionId;
  return typeof id === 'string' ? id : null;
};

/**
 * Reads the lines, checks and classifies each on its own, and sends the good ones to Kafka in batches. A
 * malformed line is reported with its number and never stops the lines around it. The next batch is checked
 * while the previous one is being sent, and sent only once that one was acknowledged: memory stays bounded by
 * two batches, and after a failed send nothing later is sent, so the lines stored are exactly those the summary
 * calls accepted (the failure is thrown as BulkInterrupted, carrying that summary).
 */
export const processBulk = async ({
  lines,
  principal,
  intake,
  batchSize,
  maxLineBytes,
  dryRun,
  semanticCheck,
  cycleCheck,
  lockCheck,
  rulesAtDoor = false,
}: BulkOptions): Promise<BulkSummary> => {
  const results: LineResult[] = [];
  const batch = intake.batch(principal.credentialId);
  // Lines waiting for the batch they are in, and duplicates of sends still in flight elsewhere.
  let queuedLines: number[] = [];
  const waitingDuplicates: { index: number; receipt: Promise<Receipt> }[] = [];
  // In a dry run nothing is queued, so the upload's own repeats are found here.
  const seenInDryRun = new Map<string, string>();

  const summary = (): BulkSummary => {
    let accepted = 0;
    let rejected = 0;
    let duplicates = 0;
    for (const result of results) {
      if (result.status === 'accepted') accepted += 1;
      else if (result.status === 'rejected') rejected += 1;
      else duplicates += 1;
    }
    return { dryRun, received: results.length, accepted, rejected, duplicates, lines: results };
  };

  const notStored = (indexes: readonly number[], message: string): void => {
    for (const index of indexes) {
      const result = results[index] as LineResult;
      results[index] = {
        ...result,
        status: 'rejected',
        problems: [{ pointer: '/', rule: 'not_stored', message }],
      };
    }
  };

  // The batch being sent (at most one per upload): the next is read and checked meanwhile.
  let sending: Promise<void> | undefined;
  let sendFailed = false;

  /** Hands what is queued to Kafka; the promise settles with the broker's answer. */
  const startFlush = (): Promise<void> => {
    if (batch.size === 0) return Promise.resolve();
    const sent = queuedLines;
    queuedLines = [];
    const flushed = batch.flush().then(
      () => undefined,
      (error: unknown) => {
        // The batch did not reach Kafka: its lines are reported as not accepted, with the reason.
        sendFailed = true;
        notStored(sent, 'the broker did not acknowledge this line; send it again');
        throw error;
      },
    );
    // Awaited later, at the next batch or at the end; until then a failure must not count as unhandled.
    flushed.catch(() => undefined);
    return flushed;
  };

  /**
   * A duplicate of a send in flight (elsewhere, or earlier in this upload) counts only once that send was
   * acknowledged; also when the upload was interrupted, so a line never says "duplicate" of a record that is
   * not in Kafka.
   */
  const settleDuplicates = async (): Promise<void> => {
    const settled = await Promise.allSettled(waitingDuplicates.map(({ receipt }) => receipt));
    settled.forEach((outcome, position) => {
      if (outcome.status === 'fulfilled') return;
      const index = (waitingDuplicates[position] as { index: number }).index;
      notStored([index], 'an earlier send of this submission failed; send it again');
    });
  };

  /** Waits for the batch in flight, if any; throws when it was not acknowledged. */
  const settle = async (): Promise<void> => {
    const previous = sending;
    sending = undefined;
    await previous;
  };

  const reject = (line: number, submissionId: string | null, problems: readonly FieldProblem[]): void => {
    results.push({ line, submissionId, status: 'rejected', problems });
  };

  try {
    for await (const item of lines) {
      if ('tooLongBytes' in item) {
        reject(item.line, null, [
          {
            pointer: '/',
            rule: 'line_too_long',
            message: `the line is ${item.tooLongBytes} bytes; one submission may be at most ${maxLineBytes} bytes`,
          },
        ]);
        continue;
      }
      const parsed = parseJsonDocument(item.bytes);
      if (!parsed.ok) {
        reject(item.line, null, [parsed.problem]);
        continue;
      }
      const checked = checkSchema(parsed.value);
      if (!checked.ok) {
        reject(item.line, readableId(parsed.value), checked.problems);
        continue;
      }
      const { submission, contentHash } = checked;
      const id = submission.submissionId;
      const outOfScope = scopeProblem(principal, submission.cityCode);
      if (outOfScope !== undefined) {
        reject(item.line, id, [outOfScope]);
        continue;
      }
      const closed = cycleCheck?.(submission.cycle);
      if (closed !== undefined && (!dryRun || semanticCheck === undefined)) {
        reject(item.line, id, [closed]);
        continue;
      }
      const locked = lockCheck?.(submission.cycle, submission.cityCode);
      if (locked !== undefined) {
        reject(item.line, id, [locked]);
        continue;
      }
      const seen = intake.classify(id, contentHash);
      if (seen.kind === 'conflict') {
        reject(item.line, id, [seen.problem]);
        continue;
      }
      if (seen.kind === 'duplicate') {
        if (seen.receipt instanceof Promise)
          waitingDuplicates.push({ index: results.length, receipt: seen.receipt });
        results.push({ line: item.line, submissionId: id, status: 'duplicate' });
        continue;
      }
      if (dryRun) {
        const earlier = seenInDryRun.get(id);
        if (earlier !== undefined) {
          if (earlier === contentHash)
            results.push({ line: item.line, submissionId: id, status: 'duplicate' });
          else
            reject(item.line, id, [
              {
                pointer: '/submissionId',
                rule: 'submission_conflict',
                message: `submission ${id} appears earlier in this upload with other content`,
                value: id,
              },
            ]);
          continue;
        }
        seenInDryRun.set(id, contentHash);
        const problems =
          semanticCheck?.({ submission, contentHash, receivedAt: new Date().toISOString() }) ?? [];
        if (problems.length > 0) reject(item.line, id, problems);
        else results.push({ line: item.line, submissionId: id, status: 'accepted' });
        continue;
      }
      if (rulesAtDoor && semanticCheck !== undefined) {
        const problems = semanticCheck({ submission, contentHash, receivedAt: new Date().toISOString() });
        if (problems.length > 0) {
          reject(item.line, id, problems);
          continue;
        }
      }
      batch.add(checked);
      queuedLines.push(results.length);
      results.push({ line: item.line, submissionId: id, status: 'accepted' });
      if (batch.size >= batchSize) {
        await settle();
        sending = startFlush();
      }
    }
    await settle();
    await startFlush();
  } catch (error) {
    // Reading stopped (too large, broken gzip) or a send failed. Let the send in flight finish; if every send
    // so far was acknowledged, keep what was already queued if Kafka takes it; after a failed send, send
    // nothing more, so no line is stored after one that was not. Then report the interruption together with
    // the lines processed so far.
    await settle().catch(() => undefined);
    if (!sendFailed) await startFlush().catch(() => undefined);
    if (sendFailed && batch.size > 0) {
      notStored(queuedLines, 'not sent: an earlier batch of this upload was not acknowledged; send it again');
      queuedLines = [];
      batch.discard(error);
    }
    await settleDuplicates();
    throw new BulkInterrupted(error as CitycheckError, summary());
  }

  await settleDuplicates();
  return summary();
};
