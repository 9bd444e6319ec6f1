// Where accepted submissions go: idempotency against the submission index and against sends still in flight,
// then submissions.received.v1 with acks from every in-sync replica. Concurrent requests share produce
// requests (group commit): while one send is in flight the next ones queue, and go out together when it
// returns, so throughput does not stop at one broker round trip per submission. One produce request is in
// flight at a time, as the idempotent producer requires (kafkajs guarantees exactly-once only with
// maxInFlightRequests 1), and records go out in the order they were queued, so one city's records keep their
// order. A receipt exists only after the broker acknowledged that very record; a failed produce request fails
// every record in it with the retriable broker_unavailable (503), and the same ids may then be sent again.
import type { Submission } from '@citycheck/contracts';
import { CitycheckError, type FieldProblem } from '@citycheck/errors';
import {
  type KeyedMessage,
  type Message,
  type Producer,
  partitionOfKey,
  type RecordMetadata,
} from '@citycheck/kafka';
import { receivedHeaders } from './index-follower.js';
import type { CheckedSubmission } from './submission-checks.js';
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
  /**
   * Partitions of the received topic. With it, a produce request that mixes cities still yields each
   * record's offset for its receipt; without it such receipts say offset -1 until the index reads the record.
   */
  readonly partitionCount?: () => Promise<number | undefined>;
  /** Largest produce request, in records and in bytes (kept well under the broker's 1 MiB default batch). */
  readonly maxSendRecords?: number;
  readonly maxSendBytes?: number;
  /**
   * How long the first record after an idle spell waits for others to join its produce request. 0 (the
   * default) waits one turn of the event loop: requests whose bodies arrived together go together, and a lone
   * request is not delayed. While a send is in flight, records wait for it anyway and need no linger.
   */
  readonly lingerMs?: number;
  /** The reporting deadline of a cycle (ISO), to mark a submission received after it late in its receipt. */
  readonly deadlineOf?: (cycle: number) => string | undefined;
}

interface Pending {
  readonly hash: string;
  readonly receipt: Promise<Receipt>;
}

/** One record waiting for a produce request, and who is waiting for its position. */
interface Outgoing {
  readonly message: KeyedMessage;
  readonly size: number;
  readonly resolve: (position: { partition: number; offset: string }) => void;
  readonly reject: (error: unknown) => void;
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
  private readonly partitionCount: () => Promise<number | undefined>;
  private readonly maxSendRecords: number;
  private readonly maxSendBytes: number;
  private readonly lingerMs: number;
  private readonly deadlineOf: (cycle: number) => string | undefined;
  private knownPartitionCount: number | undefined;
  private queue: Outgoing[] = [];
  private sending = false;

  constructor({
    producer,
    index,
    receivedTopic,
    partitionCount = async () => undefined,
    maxSendRecords = 1_000,
    maxSendBytes = 900 * 1024,
    lingerMs = 0,
    deadlineOf = () => undefined,
  }: IntakeOptions) {
    this.deadlineOf = deadlineOf;
    this.producer = producer;
    this.index = index;
    this.receivedTopic = receivedTopic;
    this.partitionCount = partitionCount;
    this.maxSendRecords = maxSendRecords;
    this.maxSendBytes = maxSendBytes;
    this.lingerMs = lingerMs;
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

  /**
   * Sends one submission unless it is a duplicate or a conflict; resolves after the broker acknowledged its
   * record, which may share a produce request with other requests' records.
   */
  async submitOne(checked: CheckedSubmission, credentialId: string): Promise<IntakeOutcome> {
    const seen = this.classify(checked.submission.submissionId, checked.contentHash);
    if (seen.kind === 'conflict') return seen;
    if (seen.kind === 'duplicate') return { kind: 'duplicate', receipt: await seen.receipt };
    const batch = this.batch(credentialId);
    batch.add(checked);
    const [receipt] = await batch.flush();
    return { kind: 'accepted', receipt: receipt as Receipt };
  }

  /** A batch of new submissions sent together (NDJSON bulk); add only what `classify` called new. */
  batch(credentialId: string): IntakeBatch {
    return new IntakeBatch(this, credentialId);
  }

  /** @internal Whether a submission of `cycle` received at `receivedAt` (ISO) is after the deadline. */
  isLate(cycle: number, receivedAt: string): boolean {
    const deadline = this.deadlineOf(cycle);
    return deadline !== undefined && Date.parse(receivedAt) > Date.parse(deadline);
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
  record(receipt: Receipt, { cityCode, cycle, unit }: Submission): void {
    this.index.recordAccepted({ ...receipt, cityCode, cycle, unit: { level: unit.level, code: unit.code } });
  }

  /** @internal Queues records for the next produce request; resolves with each one's partition and offset. */
  send(messages: readonly KeyedMessage[]): Promise<{ partition: number; offset: string }[]> {
    const positions = messages.map((message) => {
      const { promise, resolve, reject } = deferred<{ partition: number; offset: string }>();
      const size = message.value.length + message.key.length + 256; // headers and record overhead
      this.queue.push({ message, size, resolve, reject });
      return promise;
    });
    if (!this.sending) void this.pump();
    return Promise.all(positions);
  }

  /** Sends what is queued, one produce request at a time, each as large as the limits allow. */
  private async pump(): Promise<void> {
    this.sending = true;
    try {
      await (this.lingerMs > 0
        ? new Promise((resolve) => setTimeout(resolve, this.lingerMs))
        : new Promise((resolve) => setImmediate(resolve)));
      while (this.queue.length > 0) {
        let count = 0;
        let bytes = 0;
        while (count < this.queue.length && count < this.maxSendRecords) {
          const size = (this.queue[count] as Outgoing).size;
          if (count > 0 && bytes + size > this.maxSendBytes) break;
          bytes += size;
          count += 1;
        }
        const batch = this.queue.splice(0, count);
        try {
          const metadata = await this.produce(batch.map((item) => item.message));
          const positions = await this.positionsOf(batch, metadata);
          batch.forEach((item, i) => {
            item.resolve(positions[i] as { partition: number; offset: string });
          });
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** producer.send with acks from every in-sync replica; a failure is the retriable broker_unavailable. */
  private async produce(messages: Message[]): Promise<RecordMetadata[]> {
    try {
      return await this.producer.send({ topic: this.receivedTopic, acks: -1, messages });
    } catch (error) {
      throw new CitycheckError('broker_unavailable', 'the message broker did not acknowledge the message', {
        cause: error,
        retryAfterSeconds: 5,
      });
    }
  }

  /**
   * Each record's partition and offset. Records of one partition take consecutive offsets from the
   * partition's base offset, in the order they were sent; which partition a record went to follows from its
   * key. When the partitions the broker reports are not the ones predicted (the topic grew), offsets are left
   * at -1 for the index to learn, and the partition count is read again next time.
   */
  private async positionsOf(
    batch: readonly Outgoing[],
    metadata: readonly RecordMetadata[],
  ): Promise<{ partition: number; offset: string }[]> {
    const unknown = batch.map(() => ({ partition: -1, offset: '-1' }));
    const base = new Map(metadata.map((entry) => [entry.partition, BigInt(entry.baseOffset ?? '-1')]));
    let partitions: number[];
    const firstKey = batch[0]?.message.key;
    if (metadata.length === 1 && batch.every((item) => item.message.key === firstKey)) {
      partitions = batch.map(() => (metadata[0] as RecordMetadata).partition);
    } else {
      this.knownPartitionCount ??= await this.partitionCount().catch(() => undefined);
      const count = this.knownPartitionCount;
      if (count === undefined) return unknown;
      partitions = batch.map((item) => partitionOfKey(item.message.key, count));
      if (partitions.some((partition) => !base.has(partition)) || new Set(partitions).size !== base.size) {
        this.knownPartitionCount = undefined;
        return unknown;
      }
    }
    const next = new Map(base);
    return partitions.map((partition) => {
      const offset = next.get(partition) ?? -1n;
      if (offset < 0n) return { partition: -1, offset: '-1' };
      next.set(partition, offset + 1n);
      return { partition, offset: String(offset) };
    });
  }
}

/** A record built for submissions.received.v1, and who waits for its receipt. */
interface Queued {
  readonly submission: Submission;
  readonly hash: string;
  readonly receivedAt: string;
  readonly late: boolean;
  readonly message: KeyedMessage;
  readonly done: ReturnType<typeof deferred<Receipt>>;
}

/**
 * The received record: the submission as the canonical text its hash was taken of (the same JSON value as the
 * submission the city sent), with what ingest adds. Built by hand so the submission is serialised once.
 */
const receivedValue = (canonical: string, hash: string, receivedAt: string, credentialId: string): Buffer =>
  Buffer.from(
    `{"submission":${canonical},"contentHash":"${hash}","receivedAt":"${receivedAt}",` +
      `"credentialId":${JSON.stringify(credentialId)}}`,
  );

export class IntakeBatch {
  private queue: Queued[] = [];

  constructor(
    private readonly intake: Intake,
    private readonly credentialId: string,
  ) {}

  get size(): number {
    return this.queue.length;
  }

  /** Queues a submission `classify` called new; from now on, the same id in any request is its duplicate. */
  add({ submission, contentHash: hash, canonical }: CheckedSubmission): void {
    const done = deferred<Receipt>();
    const receivedAt = new Date().toISOString();
    const late = this.intake.isLate(submission.cycle, receivedAt);
    this.intake.hold(submission.submissionId, { hash, receipt: done.promise });
    this.queue.push({
      submission,
      hash,
      receivedAt,
      late,
      message: {
        key: submission.cityCode,
        value: receivedValue(canonical, hash, receivedAt, this.credentialId),
        headers: {
          'content-type': 'application/json',
          [receivedHeaders.submissionId]: submission.submissionId,
          [receivedHeaders.contentHash]: hash,
          [receivedHeaders.receivedAt]: receivedAt,
          [receivedHeaders.credentialId]: this.credentialId,
          [receivedHeaders.cycle]: String(submission.cycle),
          [receivedHeaders.unitLevel]: submission.unit.level,
          [receivedHeaders.unitCode]: submission.unit.code,
          ...(late ? { [receivedHeaders.late]: 'true' } : {}),
        },
      },
      done,
    });
  }

  /**
   * Sends what is queued; resolves with the receipts in queue order once the broker acknowledged them all.
   * What is added while a flush is in flight belongs to the next flush.
   */
  async flush(): Promise<Receipt[]> {
    const queued = this.queue;
    this.queue = [];
    if (queued.length === 0) return [];
    try {
      const positions = await this.intake.send(queued.map(({ message }) => message));
      const receipts = queued.map(
        ({ submission, hash, receivedAt, late }, i): Receipt => ({
          submissionId: submission.submissionId,
          status: 'accepted',
          contentHash: hash,
          receivedAt,
          ...(positions[i] as { partition: number; offset: string }),
          ...(late ? { late: true as const } : {}),
        }),
      );
      queued.forEach(({ submission, done }, i) => {
        const receipt = receipts[i] as Receipt;
        this.intake.record(receipt, submission);
        this.intake.release(submission.submissionId);
        done.resolve(receipt);
      });
      return receipts;
    } catch (error) {
      this.fail(queued, error);
      throw error;
    }
  }

  /**
   * Drops what is queued without sending it: its ids are free again, and requests waiting on them as
   * duplicates learn it was not stored.
   */
  discard(error: unknown): void {
    const queued = this.queue;
    this.queue = [];
    this.fail(queued, error);
  }

  private fail(queued: readonly Queued[], error: unknown): void {
    for (const { submission, done } of queued) {
      this.intake.release(submission.submissionId);
      done.reject(error);
    }
  }
}
