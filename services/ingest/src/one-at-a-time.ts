// One action at a time per key on this instance (a review, a ledger item), so two concurrent actions on the
// same record cannot both start from the same state and the later overwrite the earlier.

/** Runs `work` after every earlier work of the same key has settled; its result or rejection is the caller's. */
export type Serially = <T>(key: string, work: () => Promise<T>) => Promise<T>;

export const oneAtATime = (): Serially => {
  const pending = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const run = (pending.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
    pending.set(key, run);
    // Settled either way, without a second, unhandled rejection: the caller handles the first.
    const forget = (): void => {
      if (pending.get(key) === run) pending.delete(key);
    };
    run.then(forget, forget);
    return run;
  };
};
