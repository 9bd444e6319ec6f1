// The ledger items a service knows: the latest record of each on rectification.v1, for ingest's routes (an
// action starts from the item as it stands) and for aggregate to write to the lake.
import { type RectificationItem, type RectificationRecord, rectificationKey } from './record.js';

export type RectificationBookListener = () => void;

const byItem = (a: RectificationRecord, b: RectificationRecord): number =>
  a.cycle - b.cycle ||
  a.cityCode.localeCompare(b.cityCode) ||
  a.unitLevel.localeCompare(b.unitLevel) ||
  a.unitCode.localeCompare(b.unitCode) ||
  a.indicatorCode.localeCompare(b.indicatorCode);

export class RectificationBook {
  private readonly records = new Map<string, RectificationRecord>();
  private readonly listeners = new Set<RectificationBookListener>();

  /** Applies the latest record under a key of rectification.v1; `null` (a tombstone) forgets it. */
  apply(key: string, record: RectificationRecord | null): void {
    if (record === null) this.records.delete(key);
    else this.records.set(key, record);
    for (const listener of this.listeners) listener();
  }

  /** Every item acted on, ordered by cycle, city, unit level, unit and indicator. */
  all(): RectificationRecord[] {
    return [...this.records.values()].sort(byItem);
  }

  /** The items acted on that `keep` keeps, in the order of `all`. */
  where(keep: (record: RectificationRecord) => boolean): RectificationRecord[] {
    return this.all().filter(keep);
  }

  /** Told after every record applied; returns the function that stops telling. */
  onChange(listener: RectificationBookListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  item(
    item: Pick<RectificationItem, 'cycle' | 'unitLevel' | 'unitCode' | 'indicatorCode'>,
  ): RectificationRecord | undefined {
    return this.records.get(rectificationKey(item));
  }
}
