// The cycles a deployment runs, as every service sees them: the shipped defaults of schemas/cycles/ with the
// operators' records of cycles.v1 over them (an operator's record for a year supersedes the file), the
// designated current cycle, and the one question a submission asks: is its cycle open, late or closed?
import { type CycleSettings, loadCycleSettings } from '@citycheck/catalogue';
import {
  type CurrentCycleRecord,
  type CycleRecord,
  currentKey,
  type OperatedCycleSettings,
} from './record.js';

export type CycleWindow =
  /** No settings for the cycle: neither a file nor an operator's record. */
  | { readonly state: 'unknown' }
  | { readonly state: 'not_open' | 'open' | 'late' | 'closed'; readonly settings: OperatedCycleSettings };

/** Where a moment falls in a cycle's calendar: before its opening, by its deadline, late, or after closing. */
export const cycleWindow = (settings: OperatedCycleSettings | undefined, at: Date): CycleWindow => {
  if (settings === undefined) return { state: 'unknown' };
  const time = at.getTime();
  if (time < Date.parse(settings.opensAt)) return { state: 'not_open', settings };
  if (settings.closesAt !== undefined && time > Date.parse(settings.closesAt))
    return { state: 'closed', settings };
  if (time > Date.parse(settings.deadline)) return { state: 'late', settings };
  return { state: 'open', settings };
};

/** `2027-03-01 08:00` for 2027-03-01T00:00:00Z: how a city reads a time (China Standard Time, UTC+8). */
export const beijingTime = (iso: string): string =>
  new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');

export type CycleBookListener = () => void;

export class CycleBook {
  private readonly defaults: ReadonlyMap<number, OperatedCycleSettings>;
  private readonly records = new Map<number, CycleRecord>();
  private designation: CurrentCycleRecord | undefined;
  private readonly listeners = new Set<CycleBookListener>();
  private changes = 0;

  constructor(defaults: readonly CycleSettings[] = loadCycleSettings()) {
    this.defaults = new Map(defaults.map((setting) => [setting.cycle, setting]));
  }

  /** How many changes the book has taken: a service re-derives what depends on cycles when it moves. */
  get version(): number {
    return this.changes;
  }

  /** Applies the latest record under a key of cycles.v1; `null` (a tombstone) forgets it. */
  apply(key: string, record: CycleRecord | CurrentCycleRecord | null): void {
    if (key === currentKey) this.designation = record?.kind === 'current' ? record : undefined;
    else {
      const cycle = Number(/^cycle-(\d+)$/.exec(key)?.[1] ?? Number.NaN);
      if (Number.isNaN(cycle)) return;
      if (record?.kind === 'cycle') this.records.set(cycle, record);
      else this.records.delete(cycle);
    }
    this.changes += 1;
    for (const listener of this.listeners) listener();
  }

  /** Calls `listener` after every change; returns a function that stops it. */
  onChange(listener: CycleBookListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The settings in force for a cycle: the operator's record, else the shipped file. */
  settingsOf(cycle: number): OperatedCycleSettings | undefined {
    return this.records.get(cycle)?.settings ?? this.defaults.get(cycle);
  }

  /** Every cycle with settings, oldest first. */
  settings(): OperatedCycleSettings[] {
    const cycles = new Set([...this.defaults.keys(), ...this.records.keys()]);
    return [...cycles].sort((a, b) => a - b).map((cycle) => this.settingsOf(cycle) as OperatedCycleSettings);
  }

  /** The operator's record of a cycle (undefined for a cycle that runs on its shipped file). */
  record(cycle: number): CycleRecord | undefined {
    return this.records.get(cycle);
  }

  get designated(): CurrentCycleRecord | undefined {
    return this.designation;
  }

  /**
   * The current cycle: the one the operator designated; before any designation, the latest cycle opened by
   * `now` (by its settings, never by which cycle has data).
   */
  currentCycle(now: Date = new Date()): number | undefined {
    if (this.designation !== undefined) return this.designation.cycle;
    return this.settings()
      .filter((setting) => Date.parse(setting.opensAt) <= now.getTime())
      .at(-1)?.cycle;
  }

  window(cycle: number, at: Date): CycleWindow {
    return cycleWindow(this.settingsOf(cycle), at);
  }

  /** Cycles opened by `now` (closed ones too: whether a submission came after the closing is its own rule). */
  openedCycles(now: Date): Set<number> {
    return new Set(
      this.settings()
        .filter((setting) => Date.parse(setting.opensAt) <= now.getTime())
        .map((setting) => setting.cycle),
    );
  }
}
