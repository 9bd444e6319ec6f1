// The aggregate worker's DuckDB work runs one task at a time per connection; these queue it.

/** Runs each task after the previous one has settled; a task's failure reaches its caller only. */
export type SerialQueue = <T>(work: () => Promise<T>) => Promise<T>;

export const createSerialQueue = (): SerialQueue => {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };
};

/**
 * A trigger that queues `work` on `queue` unless a run of it is already waiting there (one that has started
 * does not count: a trigger during it queues the next). A failure goes to `onError`, never to the caller.
 */
export const coalescedTrigger = (
  queue: SerialQueue,
  work: () => Promise<void>,
  onError: (error: unknown) => void,
): (() => void) => {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    void queue(async () => {
      queued = false;
      await work();
    }).catch(onError);
  };
};
