// Where accepted submissions go: idempotency against the submission index and against sends still in flight,
// then submissions.received.v1 with acks from every in-sync replica. A receipt exists only after the broker
// acknowledged; a broker failure is a retriable 503, and the same id may then be sent again harmlessly.
import type { Submission } from '@citycheck/contracts';
import type { FieldProblem } from '@citycheck/errors';
import { type OutgoingMessage, type Producer, sendJson } from '@citycheck/kafka';
import { receivedHeaders } from './index-follower.js';
import type { Receipt, SubmissionIndex } from './submission-index.js';

/** What happens to a submission with this id and content now. */
export type Classification =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate'; readonly receipt: Receipt | Promise<Receipt> }
  | { readonly kind: 'conflict'; readonly problem: FieldProblem };

export type IntakeOutcome =
  | { readonly kind: 'accepted'; readonly receipt: Receipt }
  | { readonly kind: 'duplicate'; readonly receipt: Receipt }
  | { readonly kind: 'conflict'; readonly problem: FieldProblem };

export interface IntakeOptions {
  readonly producer: Producer;
  readonly index: SubmissionIndex;
  readonly receivedTopic: string;
}

interface Pending {
  readonly hash: string;
  readonly receipt: Promise<Receipt>;
}

const conflictProblem = (submissionId: string, existingHash: string): FieldProblem => ({
  pointer: '/submissionId',
  rule: 'submission_conflict',
  message:
    `submission ${submissionId} was already received with other content (content hash ${existingHash}); ` +
    'resend the original content, or send a correction under a new submissionId',
  value: submissionId,
});

const deferred = <T>() => {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting; a failure is reported to the request that sent, not as an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
};

export class Intake {
  private readonly inFlight = new Map<string, Pending>();
  private readonly producer: Producer;
  private readonly index: SubmissionIndex;
  private readonly receivedTopic: string;

  constructor({ producer, index, receivedTopic }: IntakeOptions) {
    this.producer = producer;
    this.index = index;
    this.receivedTopic = receivedTopic;
  }

  classify(submissionId: string, hash: string): Classification {
    const known = this.index.get(submissionId);
    if (known !== undefined && known.contentHash !== '') {
      if (known.contentHash !== hash)
        return { kind: 'conflict', problem: conflictProblem(submissionId, known.contentHash) };
      if (known.receipt !== undefined) return { kind: 'duplicate', receipt: known.receipt };
    }
    const pending = this.inFlight.get(submissionId);
    if (pending !== undefined) {
      if (pending.hash !== hash)
        return { kind: 'conflict', problem: conflictProblem(submissionId, pending.hash) };
      return { kind: 'duplicate', receipt: pending.receipt };
    }
    return { kind: 'new' };
  }

  /** Sends one submission unless it is a duplicate or a conflict; resolves after the broker's ack. */
  async submitOne(submission: Submission, hash: string, credentialId: string): Promise<IntakeOutcome> {
    const seen = this.classify(submission.submissionId, hash);
    if (seen.kind === 'conflict') return seen;
    if (seen.kind === 'duplicate') return { kind: 'duplicate', receipt: await seen.receipt };
    const batch = this.batch(credentialId);
    batch.add(submission, hash);
    const [receipt] = await batch.flush();
    return { kind: 'accepted', receipt: receipt as Receipt };
  }

  /** A batch of new submissions sent together (NDJSON bulk); add only what `classify` called new. */
  batch(credentialId: string): IntakeBatch {
    return new IntakeBatch(this, credentialId);
  }

  /** @internal */
  hold(submissionId: string, pending: Pending): void {
    this.inFlight.set(submissionId, pending);
  }

  /** @internal */
  release(submissionId: string): void {
    this.inFlight.delete(submissionId);
  }

  /** @internal */
  async send(messages: readonly OutgoingMessage[]) {
    return sendJson(this.producer, this.receivedTopic, messages);
  }

  /** @internal */
  record(receipt: Receipt, cityCode: string): void {
    this.index.recordAccepted({ ...receipt, cityCode });
  }
}

export class IntakeBatch {
  private queue: {
    submission: Submission;
    hash: string;
    receivedAt: string;
    done: ReturnType<typeof deferred<Receipt>>;
  }[] = [];

  constructor(
    private readonly intake: Intake,
    private readonly credentialId: string,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  /** Queues a submission `classify` called new; from now on, the same id in any request is its duplicate. */
  add(submission: Submission, hash: string): void {
    const done = deferred<Receipt>();
    this.intake.hold(submission.submissionId, { hash, receipt: done.promise });
    this.queue.push({ submission, hash, receivedAt: new Date().toISOString(), done });
  }

  /** Sends what is queued in one produce request; resolves with the receipts in queue order after the ack. */
  async flush(): Promise<Receipt[]> {
    const queued = this.queue;
    this.queue = [];
    if (queued.length === 0) return [];
    try {
      const metadata = await this.intake.send(
        queued.map(({ submission, hash, receivedAt }) => ({
          key: submission.cityCode,
          value: { submission, contentHash: hash, receivedAt, credentialId: this.credentialId },
          headers: {
            [receivedHeaders.submissionId]: submission.submissionId,
            [receivedHeaders.contentHash]: hash,
            [receivedHeaders.receivedAt]: receivedAt,
            [receivedHeaders.credentialId]: this.credentialId,
          },
        })),
      );
      // One key (the city) means one partition, where the batch's records take consecutive offsets in order.
      // Otherwise the offsets are learned when the index reads the records back.
      const sameKey = queued.every(
        ({ submission }) => submission.cityCode === queued[0]?.submission.cityCode,
      );
      const only = metadata.length === 1 && sameKey ? metadata[0] : undefined;
      const base = only === undefined ? undefined : BigInt(only.baseOffset ?? '-1');
      const receipts = queued.map(
        ({ submission, hash, receivedAt }, position): Receipt => ({
          submissionId: submission.submissionId,
          status: 'accepted',
          contentHash: hash,
          receivedAt,
          partition: only?.partition ?? -1,
          offset: base === undefined || base < 0n ? '-1' : String(base + BigInt(position)),
        }),
      );
      queued.forEach(({ submission, done }, position) => {
        const receipt = receipts[position] as Receipt;
        this.intake.record(receipt, submission.cityCode);
        this.intake.release(submission.submissionId);
        done.resolve(receipt);
      });
      return receipts;
    } catch (error) {
      for (const { submission, done } of queued) {
        this.intake.release(submission.submissionId);
        done.reject(error);
      }
      throw error;
    }
  }
}
