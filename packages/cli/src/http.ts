// The CLI's HTTP client (undici): one POST or GET to ingest, retried with exponential backoff and jitter on
// 429, 502, 503, 504 and network errors, honouring Retry-After. Anything else is an answer to report.
import { backoffDelayMs, retryWithBackoff } from '@citycheck/errors';
import { Agent, request } from 'undici';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 30_000 };

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
}

/** Thrown when every attempt failed on something a retry could have helped with. */
export class RetriesExhausted extends Error {
  constructor(
    message: string,
    readonly lastStatus: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RetriesExhausted';
  }
}

const retriableStatuses = new Set([429, 502, 503, 504]);

/** Seconds (or an HTTP date) from a Retry-After header, as milliseconds from `now`; undefined when absent or unreadable. */
export const retryAfterMs = (header: string | string[] | undefined, now = Date.now()): number | undefined => {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
};

const backoffPolicy = ({ baseDelayMs, maxDelayMs }: RetryPolicy) => ({
  initialDelayMs: baseDelayMs,
  maxDelayMs,
});

/** Full-jitter exponential backoff: a random delay up to base * 2^(attempt-1), capped. */
export const backoffMs = (attempt: number, policy: RetryPolicy, random = Math.random): number =>
  backoffDelayMs(attempt, backoffPolicy(policy), random);

/** An answer that says "try again" (429, 502, 503, 504), with the wait its Retry-After asks for. */
class RetriableAnswer extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

const reasonOf = (error: unknown): string => {
  if (error instanceof RetriableAnswer) return error.message;
  const code = (error as { code?: string }).code;
  return code === undefined ? (error as Error).message : `${code}`;
};

export interface SendOptions {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Told before each wait, for the progress line. */
  readonly onRetry?: (reason: string, waitMs: number, attempt: number) => void;
  /** A successful (2xx) answer's body as its bytes (a file), not as JSON or text. */
  readonly binary?: boolean;
}

// One connection pool for the process; created on first use, so closing it (closeHttp) is not final.
let pool: Agent | undefined;
const agent = (): Agent => {
  pool ??= new Agent({ keepAliveTimeout: 10_000, connections: 16 });
  return pool;
};

export const send = async ({
  method,
  url,
  headers = {},
  body,
  retry = defaultRetryPolicy,
  signal,
  onRetry = () => undefined,
  binary = false,
}: SendOptions): Promise<Answer> => {
  let lastStatus: number | undefined;
  let attempts = 0;
  try {
    return await retryWithBackoff(
      async (attempt) => {
        attempts = attempt;
        const response = await request(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body }),
          dispatcher: agent(),
          ...(signal === undefined ? {} : { signal }),
          headersTimeout: 120_000,
          bodyTimeout: 120_000,
        });
        if (binary && response.statusCode >= 200 && response.statusCode < 300)
          return {
            status: response.statusCode,
            headers: response.headers,
            body: Buffer.from(await response.body.arrayBuffer()),
          };
        const text = await response.body.text();
        let parsed: unknown = text;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          // Not JSON (a proxy's error page): handed on as text.
        }
        if (!retriableStatuses.has(response.statusCode)) {
          return { status: response.statusCode, headers: response.headers, body: parsed };
        }
        lastStatus = response.statusCode;
        throw new RetriableAnswer(response.statusCode, retryAfterMs(response.headers['retry-after']));
      },
      {
        backoff: backoffPolicy(retry),
        maxAttempts: retry.maxAttempts,
        requestedDelayMs: (error) => (error instanceof RetriableAnswer ? error.retryAfterMs : undefined),
        onRetry: (error, waitMs, attempt) => onRetry(reasonOf(error), waitMs, attempt),
        ...(signal === undefined ? {} : { signal }),
      },
    );
  } catch (error) {
    if (signal?.aborted === true) throw error;
    throw new RetriesExhausted(
      `${method} ${url} failed after ${attempts} attempts (last: ${reasonOf(error)})`,
      lastStatus,
      { cause: error instanceof RetriableAnswer ? undefined : error },
    );
  }
};

export const closeHttp = async (): Promise<void> => {
  const closing = pool;
  pool = undefined;
  await closing?.close();
};

/** The options of every command that talks to ingest as a city: where, with which credential, in which language. */
export const cityOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
  lang: { type: 'string' },
} as const;
