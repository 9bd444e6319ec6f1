// The query service's slots: a bounded number of statements run at once, a bounded number wait in line.
import { CitycheckError } from '@citycheck/errors';

/** A slot's holder calls the returned function once when done; calling it again does nothing. */
export interface QuerySlots {
  /** Waits for a slot until `deadline` (ms since the epoch); refuses at once when the line is full. */
  acquire(deadline: number): Promise<() => void>;
}

/** A FIFO of query slots: `concurrency` run, up to `queueLimit` wait, the rest are told to come back. */
export const createSlots = (concurrency: number, queueLimit: number): QuerySlots => {
  let active = 0;
  const waiting: { grant: () => void; reject: (error: unknown) => void }[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) active -= 1;
    else next.grant();
  };
  return {
    async acquire(deadline: number): Promise<() => void> {
      let released = false;
      const once = (): void => {
        if (released) return;
        released = true;
        release();
      };
      if (active < concurrency) {
        active += 1;
        return once;
      }
      if (waiting.length >= queueLimit) {
        throw new CitycheckError(
          'rate_limited',
          `${active} queries are running and ${waiting.length} waiting; retry shortly`,
          {
            retryAfterSeconds: 2,
          },
        );
      }
      await new Promise<void>((resolve, reject) => {
        const entry = {
          grant: () => {
            clearTimeout(timer);
            resolve();
          },
          reject,
        };
        const timer = setTimeout(
          () => {
            const index = waiting.indexOf(entry);
            if (index >= 0) waiting.splice(index, 1);
            reject(
              new CitycheckError(
                'query_timeout',
                'the query waited in line for its whole time budget; retry later',
              ),
            );
          },
          Math.max(0, deadline - Date.now()),
        );
        waiting.push(entry);
      });
      return once;
    },
  };
};
