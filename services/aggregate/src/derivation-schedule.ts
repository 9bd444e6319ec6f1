// When the aggregate worker's next derivation is due: a pure function of what waits, how far the consumer
// is behind and how long the last run took, so the worker's timer and its tests read the same rule. Caught
// up, a run follows the last commit after a short debounce (runs never overlap: commits during a run wait
// for its end); behind, commits coalesce into one run once the consumer catches up (its next commit asks
// again) or once the oldest change has waited the longest delay, and no sooner after the last run than a
// multiple of its duration.

export interface DerivationSchedulePolicy {
  /** A run starts this long after the last commit, so commits of one fetch (several partitions) share it. */
  readonly debounceMs: number;
  /** While behind, no run starts sooner after the last one ended than this many times its duration. */
  readonly cooldownFactor: number;
  /** The consumer is caught up while at most this many records wait on its partitions. */
  readonly behindRecords: number;
  /** While behind, a change waits at most this long (unless the cooldown is longer). */
  readonly maxDelayMs: number;
}

export interface DerivationScheduleState {
  /** When the oldest change no run has taken yet happened (undefined: nothing waits). */
  readonly waitingSince: number | undefined;
  /** When the last change happened (a lake commit, a cycle settings change, another instance's commit seen). */
  readonly lastChangeAt: number;
  /** Records the consumer still has to read, over its assigned partitions. */
  readonly recordsBehind: number;
  /** When the last run ended, and how long it took (ms); undefined before the first run. */
  readonly lastRunEnded: number | undefined;
  readonly lastRunMs: number;
}

/** The time (epoch ms) the next derivation is due, or undefined when nothing waits. */
export const nextDerivationAt = (
  { waitingSince, lastChangeAt, recordsBehind, lastRunEnded, lastRunMs }: DerivationScheduleState,
  { debounceMs, cooldownFactor, behindRecords, maxDelayMs }: DerivationSchedulePolicy,
): number | undefined => {
  if (waitingSince === undefined) return undefined;
  const latest = waitingSince + maxDelayMs;
  if (recordsBehind <= behindRecords)
    return Math.min(Math.max(lastChangeAt, waitingSince) + debounceMs, latest);
  // Behind, the writer needs the CPU more than a rollup nobody can read as final yet.
  const cooled =
    lastRunEnded === undefined ? Number.NEGATIVE_INFINITY : lastRunEnded + cooldownFactor * lastRunMs;
  return Math.max(latest, cooled);
};
