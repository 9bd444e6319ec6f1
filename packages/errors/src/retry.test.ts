import { describe, expect, it } from 'vitest';
import { backoffDelayMs, createRestartLoop, retryWithBackoff } from './retry.js';

/** A pause that returns at once, recording its length and moving a fake clock on by it. */
const fakeTime = () => {
  const clock = { now: 0, pauses: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted === true) throw signal.reason;
      clock.pauses.push(ms);
      clock.now += ms;
    },
  };
};

/** Random draws taken in turn. */
const draws = (...values: number[]) => {
  let next = 0;
  return () => {
    const value = values[next];
    next += 1;
    if (value === undefined) throw new Error('more random draws than the test expects');
    return value;
  };
};

const failing = (failures: number, result = 'done') => {
  const calls: number[] = [];
  return {
    calls,
    operation: async (attempt: number) => {
      calls.push(attempt);
      if (calls.length <= failures) throw new Error(`failure ${calls.length}`);
      return result;
    },
  };
};

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('backoffDelayMs', () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 5_000 };

  it('draws each pause between 0 and a ceiling that doubles up to the cap (full jitter)', () => {
    // Ceilings 100, 200, 400, 800, 1600, 3200, then the cap 5000; a draw of 0.5 halves each.
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((attempt) => backoffDelayMs(attempt, policy, () => 0.5))).toEqual([
      50, 100, 200, 400, 800, 1_600, 2_500, 2_500,
    ]);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
    // 0.999 · 400 = 399.6, rounded.
    expect(backoffDelayMs(3, policy, () => 0.999)).toBe(400);
    expect(backoffDelayMs(1_000, policy, () => 0.999)).toBe(4_995);
  });

  it('is the ceiling itself without jitter', () => {
    expect(
      [1, 2, 3, 4, 5, 6, 7].map((attempt) =>
        backoffDelayMs(attempt, { ...policy, jitter: 'none' }, () => {
          throw new Error('no draw without jitter');
        }),
      ),
    ).toEqual([100, 200, 400, 800, 1_600, 3_200, 5_000]);
  });
});

describe('retryWithBackoff', () => {
  it('pauses a draw of each ceiling between attempts until the operation succeeds', async () => {
    const time = fakeTime();
    const { calls, operation } = failing(3);
    const retries: [string, number, number][] = [];
    const result = await retryWithBackoff(operation, {
      backoff: { initialDelayMs: 100, maxDelayMs: 300 },
      random: draws(0.25, 0.5, 0.75),
      sleep: time.sleep,
      now: time.now,
      onRetry: (error, delayMs, attempt) => retries.push([(error as Error).message, delayMs, attempt]),
    });
    expect(result).toBe('done');
    expect(calls).toEqual([1, 2, 3, 4]);
    // 0.25 · 100, 0.5 · 200, 0.75 · min(300, 400).
    expect(time.clock.pauses).toEqual([25, 100, 225]);
    expect(retries).toEqual([
      ['failure 1', 25, 1],
      ['failure 2', 100, 2],
      ['failure 3', 225, 3],
    ]);
  });

  // Without jitter the pauses are 100 (ending at 100), 200 (at 300), then 400, which would end at 700.
  it.each([
    ['once the attempts are used up', { maxAttempts: 3 }],
    ['rather than begin a pause that would end after maxElapsedMs', { maxElapsedMs: 650 }],
  ])('rethrows the last failure %s', async (_case, limit) => {
    const time = fakeTime();
    const { calls, operation } = failing(10);
    await expect(
      retryWithBackoff(operation, {
        backoff: { initialDelayMs: 100, maxDelayMs: 1_000, jitter: 'none' },
        ...limit,
        sleep: time.sleep,
        now: time.now,
      }),
    ).rejects.toThrow('failure 3');
    expect(calls).toEqual([1, 2, 3]);
    expect(time.clock.pauses).toEqual([100, 200]);
  });

  it('throws a failure retrying cannot help with at once', async () => {
    const time = fakeTime();
    const permanent = new Error('access denied');
    await expect(
      retryWithBackoff(
        async () => {
          throw permanent;
        },
        {
          backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
          retriable: (error) => error !== permanent,
          sleep: time.sleep,
        },
      ),
    ).rejects.toBe(permanent);
    expect(time.clock.pauses).toEqual([]);
  });

  it('takes a pause the failure asks for, and still climbs a step for it', async () => {
    const time = fakeTime();
    const { operation } = failing(2);
    await retryWithBackoff(operation, {
      backoff: { initialDelayMs: 500, maxDelayMs: 30_000 },
      // The first failure asks for 5 s (a Retry-After); the second asks for nothing: 0.5 · 1000.
      requestedDelayMs: (error) => ((error as Error).message === 'failure 1' ? 5_000 : undefined),
      random: draws(0.5, 0.5),
      sleep: time.sleep,
    });
    expect(time.clock.pauses).toEqual([5_000, 500]);
  });

  it('does not retry once the signal is aborted', async () => {
    const time = fakeTime();
    const abort = new AbortController();
    const calls: number[] = [];
    await expect(
      retryWithBackoff(
        async (attempt) => {
          calls.push(attempt);
          abort.abort();
          throw new Error('interrupted');
        },
        { backoff: { initialDelayMs: 100, maxDelayMs: 1_000 }, signal: abort.signal, sleep: time.sleep },
      ),
    ).rejects.toThrow('interrupted');
    expect(calls).toEqual([1]);
    expect(time.clock.pauses).toEqual([]);
  });
});

describe('createRestartLoop', () => {
  it('restarts after a doubling pause, retries a failed start, and starts short again after a steady run', async () => {
    const time = fakeTime();
    const events: string[] = [];
    let startFailures = 1;
    const loop = createRestartLoop({
      start: async () => {
        events.push(`start at ${time.clock.now}`);
        if (startFailures > 0) {
          startFailures -= 1;
          throw new Error('broker away');
        }
      },
      backoff: { initialDelayMs: 100, maxDelayMs: 400, jitter: 'none' },
      steadyAfterMs: 10_000,
      onStarted: (restarts) => events.push(`started ${restarts}`),
      onStartFailed: (error, delayMs) => events.push(`${(error as Error).message}, again in ${delayMs}`),
      sleep: time.sleep,
      now: time.now,
    });

    // Crash at 0: pause 100, a start that fails, pause 200, a start that works.
    expect(loop.afterCrash()).toBe(100);
    await settle();
    expect(events).toEqual(['start at 100', 'broker away, again in 200', 'start at 300', 'started 1']);
    expect(loop.restarts).toBe(1);

    // A crash soon after: the pauses go on climbing, to the cap.
    expect(loop.afterCrash()).toBe(400);
    await settle();
    expect(events.slice(4)).toEqual(['start at 700', 'started 2']);

    // A crash after running longer than steadyAfterMs: the first pause again.
    time.clock.now += 10_001;
    expect(loop.afterCrash()).toBe(100);
    await settle();
    expect(events.slice(6)).toEqual(['start at 10801', 'started 3']);
  });

  it('lets one pause cover crashes during it, and starts nothing once stopped', async () => {
    let release: () => void = () => undefined;
    const starts: number[] = [];
    const loop = createRestartLoop({
      start: async () => void starts.push(starts.length + 1),
      backoff: { initialDelayMs: 100, maxDelayMs: 400, jitter: 'none' },
      steadyAfterMs: 10_000,
      sleep: (_ms, signal) =>
        new Promise((resolve, reject) => {
          release = resolve;
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    });
    expect(loop.afterCrash()).toBe(100);
    expect(loop.afterCrash()).toBeUndefined();
    release();
    await settle();
    expect(starts).toEqual([1]);

    expect(loop.afterCrash()).toBe(200);
    loop.stop();
    await settle();
    release();
    await settle();
    expect(starts).toEqual([1]);
    expect(loop.afterCrash()).toBeUndefined();
    expect(loop.restarts).toBe(1);
  });
});
