// The submission index every ingest instance keeps in memory (id -> content hash, receipt, status), rebuilt on
// start from the pipeline's own topics (index-follower.ts); it answers idempotency and GET /v1/submissions/{id}.
import type { Receipt, SubmissionState } from '@citycheck/contracts';
import type { FieldProblem } from '@citycheck/errors';

// A receipt is what a city gets back when a submission is accepted, and again, unchanged, when it resends it;
// both shapes are schemas/http/{receipt,submission-state}.v1.schema.json.
export type { Receipt, SubmissionState };
export type SubmissionStatus = SubmissionState['status'];
type Unit = NonNullable<SubmissionState['unit']>;

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
    /** The cycle it reports for; 0 while unknown. */
    public cycle = 0,
    /** Its unit's level (interned) and code; '' while unknown. */
    public unitLevel = '',
    public unitCode = '',
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
  /** Absent in records written before ingest put them on the record's headers and in unreadable ones. */
  readonly cycle?: number;
  readonly unit?: { readonly level: string; readonly code: string };
}

/** Which submissions of a city `list` gives; `after` is a `nextCursor` of the page before. */
export interface SubmissionFilter {
  readonly cityCode: string;
  readonly cycle?: number;
  readonly status?: SubmissionStatus;
  readonly unitCode?: string;
  readonly after?: string;
  readonly limit: number;
}

export interface SubmissionPage {
  readonly submissions: SubmissionState[];
  readonly nextCursor?: string;
}

/** A page's cursor: the received time and id of its last submission (order: received, then id). */
const encodeCursor = (receivedAt: number, submissionId: string): string =>
  Buffer.from(`${Number.isNaN(receivedAt) ? '' : receivedAt}/${submissionId}`).toString('base64url');

const decodeCursor = (cursor: string): { receivedAt: number; submissionId: string } | undefined => {
  const match = /^(\d*)\/(.+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) return undefined;
  return { receivedAt: match[1] === '' ? Number.NaN : Number(match[1]), submissionId: match[2] as string };
};

/** Received time, then id; submissions whose received record is not read yet come last. */
const compareOrder = (aAt: number, aId: string, bAt: number, bId: string): number => {
  const a = Number.isNaN(aAt) ? Number.POSITIVE_INFINITY : aAt;
  const b = Number.isNaN(bAt) ? Number.POSITIVE_INFINITY : bAt;
  if (a !== b) return a < b ? -1 : 1;
  return aId < bId ? -1 : aId > bId ? 1 : 0;
};

/** A cursor that does not decode; the route answers it with 400. */
export class InvalidCursor extends Error {}

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
    if (entry.cycle === 0 && facts.cycle !== undefined) entry.cycle = facts.cycle;
    if (entry.unitCode === '' && facts.unit !== undefined) {
      entry.unitLevel = this.intern(facts.unit.level);
      entry.unitCode = facts.unit.code;
    }
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

  /**
   * The units of a city with a stored (or counted) submission in a cycle. A unit whose only submissions were
   * rejected, or are still on their way, has not reported.
   */
  reportedUnits(cityCode: string, cycle: number): Set<string> {
    const units = new Set<string>();
    for (const entry of this.entries.values())
      if (entry.status === statusCodes.stored && entry.cycle === cycle && entry.city === cityCode)
        units.add(entry.unitCode);
    return units;
  }

  /**
   * The latest submission of each of a city's units in a cycle that validate has not rejected, by
   * `<level>|<code>`: the one whose values are current downstream (a later one supersedes an earlier one).
   * Latest by receipt time; submissions whose received record is not read yet are left out. One pass over the
   * index: meant for a spreadsheet upload, once per upload, not per line.
   */
  latestByUnit(cityCode: string, cycle: number): Map<string, { submissionId: string; contentHash: string }> {
    const latest = new Map<string, { submissionId: string; contentHash: string; receivedAt: number }>();
    for (const [submissionId, entry] of this.entries) {
      if (entry.city !== cityCode || entry.cycle !== cycle || entry.unitCode === '') continue;
      if (entry.status === statusCodes.rejected || Number.isNaN(entry.receivedAt) || entry.hash === '')
        continue;
      const key = `${entry.unitLevel}|${entry.unitCode}`;
      const known = latest.get(key);
      if (
        known !== undefined &&
        compareOrder(known.receivedAt, known.submissionId, entry.receivedAt, submissionId) > 0
      )
        continue;
      latest.set(key, { submissionId, contentHash: entry.hash, receivedAt: entry.receivedAt });
    }
    return new Map(
      [...latest].map(([key, { submissionId, contentHash }]) => [key, { submissionId, contentHash }]),
    );
  }

  /**
   * One page of a city's submissions in a stable order (received, then id), filtered by cycle, status (as
   * `get` says it) and unit; a submission received while a client pages lands after its cursor or before
   * it, never twice. Throws InvalidCursor for an `after` this index did not give.
   */
  list({ cityCode, cycle, status, unitCode, after, limit }: SubmissionFilter): SubmissionPage {
    const from = after === undefined ? undefined : decodeCursor(after);
    if (after !== undefined && from === undefined)
      throw new InvalidCursor(`cursor ${after} is not one this service gave`);
    const matched: [string, Entry][] = [];
    for (const [id, entry] of this.entries) {
      if (entry.city !== cityCode) continue;
      if (cycle !== undefined && entry.cycle !== cycle) continue;
      if (unitCode !== undefined && entry.unitCode !== unitCode) continue;
      if (from !== undefined && compareOrder(entry.receivedAt, id, from.receivedAt, from.submissionId) <= 0)
        continue;
      matched.push([id, entry]);
    }
    matched.sort(([aId, a], [bId, b]) => compareOrder(a.receivedAt, aId, b.receivedAt, bId));
    const submissions: SubmissionState[] = [];
    let last: [string, Entry] | undefined;
    for (const [id, entry] of matched) {
      const state = this.get(id) as SubmissionState;
      if (status !== undefined && state.status !== status) continue;
      // One more beyond the page: only then is there a next page.
      if (submissions.length === limit && last !== undefined)
        return { submissions, nextCursor: encodeCursor(last[1].receivedAt, last[0]) };
      submissions.push(state);
      last = [id, entry];
    }
    return { submissions };
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
      ...(entry.cycle === 0 ? {} : { cycle: entry.cycle }),
      ...(entry.unitCode === ''
        ? {}
        : { unit: { level: entry.unitLevel as Unit['level'], code: entry.unitCode } }),
      status: countedAt === undefined ? (statusNames[entry.status] as SubmissionStatus) : 'counted',
      contentHash: entry.hash,
      ...(entry.late ? { late: true as const } : {}),
      ...(countedAt === undefined ? {} : { countedAt: new Date(countedAt).toISOString() }),
      ...(receipt === undefined ? {} : { receipt }),
      ...(entry.problems === undefined ? {} : { problems: entry.problems }),
    };
  }
}
