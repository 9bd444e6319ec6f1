// The submission index every ingest instance keeps in memory (id -> content hash, receipt, status), rebuilt on
// start from the pipeline's own topics (index-follower.ts); it answers idempotency and GET /v1/submissions/{id}.
import type { Receipt, SubmissionState } from '@citycheck/contracts';
import type { FieldProblem } from '@citycheck/errors';

// A receipt is what a city gets back when a submission is accepted, and again, unchanged, when it resends it;
// both shapes are schemas/http/{receipt,submission-state}.v1.schema.json.
export type { Receipt, SubmissionState };
export type SubmissionStatus = SubmissionState['status'];

// accepted < valid | rejected < stored: records of one submission may be read in any order across topics,
// and the index keeps the furthest status it has seen.
const statusCodes = { accepted: 0, valid: 1, rejected: 2, stored: 3 } as const;
const statusNames: readonly SubmissionStatus[] = ['accepted', 'valid', 'rejected', 'stored'];
const rank = [0, 1, 1, 2] as const;

/** One submission, in as few bytes as V8 allows without going to typed arrays (about 250 bytes with its key). */
class Entry {
  constructor(
    /** Hex SHA-256 of the canonical content; '' while unknown. */
    public hash: string,
    /** Interned: one string per city, shared by all its entries. */
    public city: string,
    public status: 0 | 1 | 2 | 3,
    public partition: number,
    /** Offset in submissions.received.v1; -1 while unknown. Safe as a double up to 2^53. */
    public offset: number,
    /** Milliseconds since the epoch; NaN while unknown. */
    public receivedAt: number,
    public problems: readonly FieldProblem[] | undefined,
    public late = false,
    /** The lake batch holding it (`<partition>/<startOffset>` of submissions.validated.v1); '' while unknown. */
    public batch = '',
  ) {}
}

export interface AcceptedFacts {
  readonly submissionId: string;
  readonly cityCode: string;
  readonly contentHash: string;
  readonly receivedAt: string;
  readonly partition: number;
  readonly offset: string;
  readonly late?: boolean;
}

/** How a lake batch is named between lake.batches-committed.v1 and lake.rollups-derived.v1. */
export const lakeBatchKey = (partition: number | string, startOffset: string): string =>
  `${partition}/${startOffset}`;

/** Same id and content: the original receipt; other content: a conflict. About 130k entries per national cycle. */
export class SubmissionIndex {
  private readonly entries = new Map<string, Entry>();
  // When each lake batch was first counted by a derivation (lake.rollups-derived.v1), in ms since the epoch.
  private readonly countedBatches = new Map<string, number>();
  private readonly cities = new Map<string, string>();

  get size(): number {
    return this.entries.size;
  }

  private intern(city: string): string {
    const known = this.cities.get(city);
    if (known !== undefined) return known;
    this.cities.set(city, city);
    return city;
  }

  private entry(submissionId: string, cityCode: string, hash: string): Entry {
    let entry = this.entries.get(submissionId);
    if (entry === undefined) {
      entry = new Entry(hash, this.intern(cityCode), 0, -1, -1, Number.NaN, undefined);
      this.entries.set(submissionId, entry);
    } else if (entry.hash === '' && hash !== '') {
      entry.hash = hash;
    }
    return entry;
  }

  /**
   * Records an accepted submission, from this instance's own send or from reading submissions.received.v1.
   * When two records of one id disagree on content (two instances raced on the same id), the one earlier in
   * the topic wins, so every instance ends up with the same answer.
   */
  recordAccepted(facts: AcceptedFacts): void {
    const offset = Number(facts.offset);
    const existing = this.entries.get(facts.submissionId);
    if (existing !== undefined && existing.hash !== '' && existing.hash !== facts.contentHash) {
      const earlier =
        existing.offset !== -1 &&
        offset !== -1 &&
        existing.partition === facts.partition &&
        offset < existing.offset;
      if (!earlier) return;
      existing.hash = facts.contentHash;
      existing.status = 0;
      existing.problems = undefined;
      existing.offset = -1;
      existing.receivedAt = Number.NaN;
    }
    const entry = this.entry(facts.submissionId, facts.cityCode, facts.contentHash);
    if (entry.offset === -1 && offset !== -1) {
      entry.partition = facts.partition;
      entry.offset = offset;
    }
    if (Number.isNaN(entry.receivedAt)) {
      entry.receivedAt = Date.parse(facts.receivedAt);
      entry.late = facts.late === true;
    }
    if (entry.city === '') entry.city = this.intern(facts.cityCode);
  }

  /** A submission validate passed (submissions.validated.v1). */
  recordValid(submissionId: string, cityCode: string, contentHash: string): void {
    this.advance(submissionId, cityCode, contentHash, 'valid');
  }

  /** A submission validate rejected (submissions.rejected.v1), with every reason. */
  recordRejected(
    submissionId: string,
    cityCode: string,
    contentHash: string,
    problems: readonly FieldProblem[],
  ): void {
    const entry = this.advance(submissionId, cityCode, contentHash, 'rejected');
    if (entry?.status === statusCodes.rejected) entry.problems = problems;
  }

  /**
   * A submission the aggregate service committed to the lake (lake.batches-committed.v1), in the batch
   * `batch` (`<partition>/<startOffset>`, see lakeBatchKey).
   */
  recordStored(submissionId: string, batch = ''): void {
    const entry = this.advance(submissionId, '', '', 'stored');
    if (entry !== undefined && entry.batch === '' && batch !== '') entry.batch = this.intern(batch);
  }

  /**
   * A lake batch a derivation counted (lake.rollups-derived.v1). The earliest time wins: records of the two
   * topics are read in any order, and a batch may be announced again by a later derivation.
   */
  recordCounted(batch: string, countedAt: string): void {
    const at = Date.parse(countedAt);
    const known = this.countedBatches.get(batch);
    if (!Number.isNaN(at) && (known === undefined || at < known)) this.countedBatches.set(batch, at);
  }

  private advance(
    submissionId: string,
    cityCode: string,
    contentHash: string,
    status: Exclude<SubmissionStatus, 'counted'>,
  ): Entry | undefined {
    const existing = this.entries.get(submissionId);
    // An outcome for other content than the one this index holds belongs to a losing duplicate: ignore it.
    if (
      existing !== undefined &&
      existing.hash !== '' &&
      contentHash !== '' &&
      existing.hash !== contentHash
    ) {
      return undefined;
    }
    const entry = existing ?? this.entry(submissionId, cityCode, contentHash);
    if (entry.hash === '' && contentHash !== '') entry.hash = contentHash;
    if (entry.city === '' && cityCode !== '') entry.city = this.intern(cityCode);
    const code = statusCodes[status];
    if (rank[code] >= rank[entry.status]) entry.status = code;
    return entry;
  }

  get(submissionId: string): SubmissionState | undefined {
    const entry = this.entries.get(submissionId);
    if (entry === undefined) return undefined;
    const receipt: Receipt | undefined = Number.isNaN(entry.receivedAt)
      ? undefined
      : {
          submissionId,
          status: 'accepted',
          contentHash: entry.hash,
          receivedAt: new Date(entry.receivedAt).toISOString(),
          partition: entry.partition,
          offset: String(entry.offset),
          ...(entry.late ? { late: true as const } : {}),
        };
    const countedAt =
      entry.status === statusCodes.stored && entry.batch !== ''
        ? this.countedBatches.get(entry.batch)
        : undefined;
    return {
      submissionId,
      cityCode: entry.city,
      status: countedAt === undefined ? (statusNames[entry.status] as SubmissionStatus) : 'counted',
      contentHash: entry.hash,
      ...(entry.late ? { late: true as const } : {}),
      ...(countedAt === undefined ? {} : { countedAt: new Date(countedAt).toISOString() }),
      ...(receipt === undefined ? {} : { receipt }),
      ...(entry.problems === undefined ? {} : { problems: entry.problems }),
    };
  }
}
