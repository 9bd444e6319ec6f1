// The reviews a service knows: the latest record of each city and cycle on reviews.v1, and the one question a
// submission asks: are this city's data for this cycle locked?
import type { FieldProblem } from '@citycheck/errors';
import { cityCycleLockedProblem, isLocked, wasLockedAt } from './machine.js';
import { type ReviewRecord, reviewKey } from './record.js';

export type ReviewBookListener = () => void;

export class ReviewBook {
  private readonly records = new Map<string, ReviewRecord>();
  private readonly listeners = new Set<ReviewBookListener>();

  /** Applies the latest record under a key of reviews.v1; `null` (a tombstone) forgets it. */
  apply(key: string, record: ReviewRecord | null): void {
    if (record === null) this.records.delete(key);
    else this.records.set(key, record);
    for (const listener of this.listeners) listener();
  }

  /** Every review known, ordered by cycle then city: what aggregate writes to the lake. */
  all(): ReviewRecord[] {
    return [...this.records.values()].sort(
      (a, b) => a.cycle - b.cycle || a.cityCode.localeCompare(b.cityCode),
    );
  }

  /** Told after every record applied; returns the function that stops telling. */
  onChange(listener: ReviewBookListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  review(cycle: number, cityCode: string): ReviewRecord | undefined {
    return this.records.get(reviewKey(cycle, cityCode));
  }

  /** The record when the city's data for the cycle are locked (accepted, not reopened), else undefined. */
  lockOf(cycle: number, cityCode: string): ReviewRecord | undefined {
    const record = this.review(cycle, cityCode);
    return isLocked(record) ? record : undefined;
  }

  /** The record when the city's data for the cycle stood accepted at `at` (see wasLockedAt), else undefined. */
  lockedAt(cycle: number, cityCode: string, at: Date): ReviewRecord | undefined {
    const record = this.review(cycle, cityCode);
    return wasLockedAt(record, at) ? record : undefined;
  }

  /**
   * The rule validate applies with this book (a RuleContext's `cityCycleLock`): the city_cycle_locked problem
   * of a submission received while its city's data for its cycle stood accepted, else undefined.
   */
  readonly lockRule = (cycle: number, cityCode: string, receivedAt: Date): FieldProblem | undefined => {
    const record = this.lockedAt(cycle, cityCode, receivedAt);
    return record === undefined ? undefined : cityCycleLockedProblem(record);
  };
}
