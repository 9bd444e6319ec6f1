import { afterEach, describe, expect, it, vi } from 'vitest';
import { withRetry } from './object-store.js';

describe('withRetry', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('draws each pause between 0 and a doubling ceiling (full jitter)', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const pauses: number[] = [];
    let calls = 0;
    await withRetry(
      async () => {
        calls += 1;
        if (calls < 4) throw new Error('connection refused');
      },
      { initialDelayMs: 8, maxDelayMs: 20, onRetry: (_attempt, _error, delayMs) => pauses.push(delayMs) },
    );
    // Ceilings 8, 16, then the cap 20; a quarter of each. Equal jitter would give 5, 10, 13.
    expect(pauses).toEqual([2, 4, 5]);
  });

  it('retries transient failures until the operation succeeds', async () => {
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('connection refused');
        return 'stored';
      },
      { initialDelayMs: 1, maxDelayMs: 2 },
    );
    expect(result).toBe('stored');
    expect(calls).toBe(3);
  });

  it('does not retry a client error such as bad credentials', async () => {
    let calls = 0;
    const forbidden = Object.assign(new Error('AccessDenied'), { $metadata: { httpStatusCode: 403 } });
    await expect(
      withRetry(
        async () => {
          calls += 1;
          throw forbidden;
        },
        { initialDelayMs: 1 },
      ),
    ).rejects.toBe(forbidden);
    expect(calls).toBe(1);
  });

  it('gives up after the deadline with the last error', async () => {
    const down = new Error('ECONNREFUSED');
    await expect(
      withRetry(
        async () => {
          throw down;
        },
        { initialDelayMs: 5, maxDelayMs: 5, maxElapsedMs: 30 },
      ),
    ).rejects.toBe(down);
  });
});
