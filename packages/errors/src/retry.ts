// The one way citycheck waits out trouble a retry can fix: capped exponential backoff, with full jitter
// unless a caller asks for none, for calls retried in a loop and for things started again after a crash.

export interface BackoffPolicy {
  /** The ceiling of the first pause; it doubles with each further pause. */
  readonly initialDelayMs: number;
  /** No ceiling, and so no pause, is longer. */
  readonly maxDelayMs: number;
  /**
   * `full` (the default): each pause is drawn uniformly between 0 and its ceiling ("full jitter" of the AWS
   * Architecture Blog's "Exponential Backoff And Jitter"), so clients that failed together do not come back
   * together. `none`: each pause is its ceiling, for a single process that restarts one thing of its own.
   */
  readonly jitter?: 'full' | 'none';
}

/**
 * The pause before retry `attempt` (1 after the first failure): the ceiling min(maxDelayMs, initialDelayMs ·
 * 2^(attempt − 1)), times `random()` (in [0, 1)) under full jitter, rounded to the millisecond.
 */
export const backoffDelayMs = (
  attempt: number,
  { initialDelayMs, maxDelayMs, jitter = 'full' }: BackoffPolicy,
  random: () => number = Math.random,
): number => {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
  return jitter === 'none' ? ceiling : Math.round(random() * ceiling);
};

/** The pauses of one policy in turn, for a loop whose steps outlive one call (a restart after each crash). */
export interface Backoff {
  /** The next pause; each call climbs one step, up to the policy's ceiling. */
  next(): number;
  /** Back to the first step, after something ran long enough to count as healthy again. */
  reset(): void;
}

export const createBackoff = (policy: BackoffPolicy, random: () => number = Math.random): Backoff => {
  let attempt = 0;
  return {
    next: () => {
      attempt += 1;
      return backoffDelayMs(attempt, policy, random);
    },
    reset: () => {
      attempt = 0;
    },
  };
};

/** A pause that an abort ends at once, rejecting with the signal's reason. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export interface RetryOptions {
  /** The pauses: a policy for this call alone, or a Backoff whose steps carry over between calls. */
  readonly backoff: BackoffPolicy | Backoff;
  /** Attempts in all, the first included; unbounded by default. */
  readonly maxAttempts?: number;
  /** No retry is begun whose pause would end later than this after the first attempt began. */
  readonly maxElapsedMs?: number;
  /** Whether retrying may help with a failure; by default it may with every one. */
  readonly retriable?: (error: unknown) => boolean;
  /** A pause the failure asks for itself (an HTTP Retry-After), taken instead of the backoff's. */
  readonly requestedDelayMs?: (error: unknown) => number | undefined;
  /** Told before each pause, with the attempt that failed (from 1). */
  readonly onRetry?: (error: unknown, delayMs: number, attempt: number) => void;
  /** Once aborted, a failure is not retried and a pause ends at once, rejecting with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Tests inject these: the jitter's random source (when `backoff` is a policy), the pause and the clock. */
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}

/**
 * Calls `operation` (with its attempt number, from 1) until it resolves, pausing after each failure. The
 * last failure is rethrown as it is when it is not retriable, when the signal is aborted, when the attempts
 * are used up, or when the next pause would end after `maxElapsedMs`. Each failure takes one backoff step,
 * also when the failure requests a pause of its own, so a pause after requested ones is as long as its attempt's.
 */
export const retryWithBackoff = async <T>(
  operation: (attempt: number) => Promise<T>,
  {
    backoff,
    maxAttempts = Number.POSITIVE_INFINITY,
    maxElapsedMs = Number.POSITIVE_INFINITY,
    retriable = () => true,
    requestedDelayMs = () => undefined,
    onRetry = () => undefined,
    signal,
    random = Math.random,
    sleep: pause = sleep,
    now = Date.now,
  }: RetryOptions,
): Promise<T> => {
  const steps = 'next' in backoff ? backoff : createBackoff(backoff, random);
  const started = now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (signal?.aborted === true || !retriable(error) || attempt >= maxAttempts) throw error;
      const step = steps.next();
      const delayMs = requestedDelayMs(error) ?? step;
      if (now() - started + delayMs > maxElapsedMs) throw error;
      onRetry(error, delayMs, attempt);
      await pause(delayMs, signal);
    }
  }
};

export interface RestartLoopOptions {
  /** Starts the thing again; a throw is a failed start, tried again after the next pause. */
  readonly start: () => Promise<void>;
  readonly backoff: BackoffPolicy;
  /** A thing that ran this long before it stopped counts as healthy: its next pause is the first again. */
  readonly steadyAfterMs: number;
  /** Told after each successful restart, with the count so far; not once the loop is stopped. */
  readonly onStarted?: (restarts: number) => void;
  /** Told after each failed start, with the pause before the next try. */
  readonly onStartFailed?: (error: unknown, delayMs: number) => void;
  /** Tests inject these, as for retryWithBackoff. */
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}

export interface RestartLoop {
  /**
   * The thing stopped on its own: start it again after a pause, and again while starting fails, until it
   * starts or the loop is stopped. Returns the pause, or undefined when one is already under way (that
   * restart covers this stop too) or the loop is stopped. A stop during a start is restarted once more.
   */
  afterCrash(): number | undefined;
  /** Successful restarts so far. */
  readonly restarts: number;
  /** No further restart; a pause under way ends without starting anything. */
  stop(): void;
}

/** Keeps something running that stops on its own and is started from outside (a consumer kafkajs gave up on). */
export const createRestartLoop = ({
  start,
  backoff,
  steadyAfterMs,
  onStarted = () => undefined,
  onStartFailed = () => undefined,
  random = Math.random,
  sleep: pause = sleep,
  now = Date.now,
}: RestartLoopOptions): RestartLoop => {
  const steps = createBackoff(backoff, random);
  const stopping = new AbortController();
  let startedAt = now();
  let pausing = false;
  let restarts = 0;

  const restartAfter = async (delayMs: number): Promise<void> => {
    await pause(delayMs, stopping.signal);
    pausing = false;
    await retryWithBackoff(() => start(), {
      backoff: steps,
      signal: stopping.signal,
      onRetry: (error, retryInMs) => onStartFailed(error, retryInMs),
      sleep: pause,
      now,
    });
    if (stopping.signal.aborted) return;
    restarts += 1;
    startedAt = now();
    onStarted(restarts);
  };

  return {
    afterCrash() {
      if (stopping.signal.aborted || pausing) return undefined;
      if (now() - startedAt > steadyAfterMs) steps.reset();
      const delayMs = steps.next();
      pausing = true;
      // Only a stop ends the loop without a start: its abort is the one rejection, and it needs no report.
      restartAfter(delayMs).catch(() => undefined);
      return delayMs;
    },
    get restarts() {
      return restarts;
    },
    stop() {
      stopping.abort();
    },
  };
};
