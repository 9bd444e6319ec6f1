// The reviews a service knows: the latest record of each city and cycle on reviews.v1, and the one question a
// submission asks: are this city's data for this cycle locked?
import { isLocked } from './machine.js';
import { type ReviewRecord, reviewKey } from './record.js';

export class ReviewBook {
  private readonly records = new Map<string, ReviewRecord>();

  /** Applies the latest record under a key of reviews.v1; `null` (a tombstone) forgets it. */
  apply(key: string, record: ReviewRecord | null): void {
    if (record === null) this.records.delete(key);
    else this.records.set(key, record);
  }

  review(cycle: number, cityCode: string): ReviewRecord | undefined {
    return this.records.get(reviewKey(cycle, cityCode));
  }

  /** The record when the city's data for the cycle are locked (accepted, not reopened), else undefined. */
  lockOf(cycle: number, cityCode: string): ReviewRecord | undefined {
    const record = this.review(cycle, cityCode);
    return isLocked(record) ? record : undefined;
  }
}
