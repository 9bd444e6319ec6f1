import { describe, expect, it } from 'vitest';
import { nextDerivationAt } from './derivation-schedule.js';

const policy = { debounceMs: 250, cooldownFactor: 1, behindRecords: 1_000, maxDelayMs: 60_000 };
const idle = {
  waitingSince: undefined,
  lastChangeAt: 0,
  recordsBehind: 0,
  lastRunEnded: undefined,
  lastRunMs: 0,
};

describe('when the next derivation is due', () => {
  it('is never while nothing waits', () => {
    expect(nextDerivationAt(idle, policy)).toBeUndefined();
  });

  it('follows the last commit by the debounce once the consumer is caught up', () => {
    // Commits at 10,000 and 10,400 ms: one run at 10,650.
    expect(nextDerivationAt({ ...idle, waitingSince: 10_000, lastChangeAt: 10_400 }, policy)).toBe(10_650);
    // Within the threshold (markers, a few records still arriving) counts as caught up.
    expect(
      nextDerivationAt({ ...idle, waitingSince: 10_000, lastChangeAt: 10_000, recordsBehind: 1_000 }, policy),
    ).toBe(10_250);
  });

  it('coalesces commits while the consumer is behind, up to the longest delay', () => {
    expect(
      nextDerivationAt({ ...idle, waitingSince: 10_000, lastChangeAt: 50_000, recordsBehind: 1_001 }, policy),
    ).toBe(70_000);
  });

  it('never lets a steady stream of commits hold a change back longer than the longest delay', () => {
    expect(nextDerivationAt({ ...idle, waitingSince: 10_000, lastChangeAt: 69_900 }, policy)).toBe(70_000);
  });

  it('derives right after a run once caught up, and leaves time after a run while behind', () => {
    // The last run took 4 s and ended at 12,000; a commit at 12,100.
    const afterRun = {
      ...idle,
      waitingSince: 12_100,
      lastChangeAt: 12_100,
      lastRunEnded: 12_000,
      lastRunMs: 4_000,
    };
    expect(nextDerivationAt(afterRun, policy)).toBe(12_350);
    // Behind, with a 1 s longest delay: not before 12,000 + 4,000 = 16,000 at factor 1 (24,000 at 3).
    const behind = { ...afterRun, recordsBehind: 5_000 };
    expect(nextDerivationAt(behind, { ...policy, maxDelayMs: 1_000 })).toBe(16_000);
    expect(nextDerivationAt(behind, { ...policy, maxDelayMs: 1_000, cooldownFactor: 3 })).toBe(24_000);
    // Behind, a longest delay beyond the cooldown decides.
    expect(nextDerivationAt(behind, policy)).toBe(72_100);
  });
});
