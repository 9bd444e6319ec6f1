// The one registry of citycheck error codes (whose fault an error is, whether a retry can help, the HTTP
// status a sender sees) and, in retry.ts, the one backoff for the errors a retry can fix.

/** Who caused the error, which decides what the caller should do next. */
export type ErrorReason =
  | 'bad_input' // the sender must change the request; retrying the same request fails again
  | 'unauthenticated'
  | 'forbidden'
  | 'conflict'
  | 'not_found'
  | 'rate_limited' // retry after the indicated delay
  | 'infrastructure'; // broker, object store or database trouble; retry with backoff

interface ErrorSpec {
  readonly status: number;
  readonly reason: ErrorReason;
  readonly retriable: boolean;
}

export const errorCodes = {
  invalid_request: { status: 400, reason: 'bad_input', retriable: false },
  invalid_json: { status: 400, reason: 'bad_input', retriable: false },
  /** Bytes that are not valid UTF-8, or a body that claims gzip but does not decompress. */
  invalid_encoding: { status: 400, reason: 'bad_input', retriable: false },
  /** A Content-Encoding other than gzip or identity. */
  unsupported_encoding: { status: 415, reason: 'bad_input', retriable: false },
  unsupported_media_type: { status: 415, reason: 'bad_input', retriable: false },
  payload_too_large: { status: 413, reason: 'bad_input', retriable: false },
  unauthenticated: { status: 401, reason: 'unauthenticated', retriable: false },
  forbidden: { status: 403, reason: 'forbidden', retriable: false },
  not_found: { status: 404, reason: 'not_found', retriable: false },
  submission_conflict: { status: 409, reason: 'conflict', retriable: false },
  /** A submission for a cycle the operators closed: received after its closing. */
  cycle_closed: { status: 422, reason: 'bad_input', retriable: false },
  /** A submission for a city and cycle the ministry accepted (locked until a reviewer reopens the review). */
  city_cycle_locked: { status: 422, reason: 'bad_input', retriable: false },
  /** A review action the review's current state does not allow (approving a draft, accepting twice). */
  review_transition_refused: { status: 409, reason: 'conflict', retriable: false },
  /** A review action without what it needs: a reopen's reason, a return's reason or comments. */
  review_invalid: { status: 422, reason: 'bad_input', retriable: false },
  /** A rectification action the caller may not take on the item: another city's unit, another province, a city verifying. */
  rectification_forbidden: { status: 403, reason: 'forbidden', retriable: false },
  /** A rectification action the item's state does not allow (progress before a plan, verifying without evidence). */
  rectification_transition_refused: { status: 409, reason: 'conflict', retriable: false },
  /** A rectification action without what it needs, or with it malformed: a plan's date, a note, an evidence file. */
  rectification_invalid: { status: 422, reason: 'bad_input', retriable: false },
  /** A submission that breaks a rule judged by itself, the catalogue and the registry (range, kind fields, unit). */
  submission_invalid: { status: 422, reason: 'bad_input', retriable: false },
  rate_limited: { status: 429, reason: 'rate_limited', retriable: true },
  broker_unavailable: { status: 503, reason: 'infrastructure', retriable: true },
  /** The service is still loading its state (credentials, submission index) after a start. */
  not_ready: { status: 503, reason: 'infrastructure', retriable: true },
  object_store_unavailable: { status: 503, reason: 'infrastructure', retriable: true },
  /** The lake's commit log or views name an object the store no longer holds: retrying reads it again. */
  lake_object_missing: { status: 500, reason: 'infrastructure', retriable: false },
  database_error: { status: 500, reason: 'infrastructure', retriable: true },
  /** The Accept header names no format the endpoint can produce. */
  not_acceptable: { status: 406, reason: 'bad_input', retriable: false },
  /** SQL that does not parse, or names a column or function that does not exist. */
  query_invalid: { status: 400, reason: 'bad_input', retriable: false },
  /** SQL that parses but is not a single read-only SELECT over the documented views. */
  query_not_allowed: { status: 400, reason: 'bad_input', retriable: false },
  /** The query ran longer than the per-query timeout and was interrupted. */
  query_timeout: { status: 422, reason: 'bad_input', retriable: false },
  /** The query needed more memory than the query service may use. */
  query_memory_exceeded: { status: 422, reason: 'bad_input', retriable: false },
  /** The result has more rows than the per-query row cap. */
  query_row_cap_exceeded: { status: 422, reason: 'bad_input', retriable: false },
  internal: { status: 500, reason: 'infrastructure', retriable: false },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCodes;

/** One precise problem with the input, addressed by JSON pointer. */
export interface FieldProblem {
  /** JSON pointer into the submitted document, e.g. `/observations/3/value`. */
  readonly pointer: string;
  /** Stable rule name, e.g. `range`, `numerator_le_denominator`, `unit_under_city`. */
  readonly rule: string;
  readonly message: string;
  readonly indicator?: string;
  readonly value?: unknown;
  /** In a spreadsheet upload: the column's letters (G, AA) and its header, where the problem lies. */
  readonly column?: string;
  readonly header?: string;
}

export class CitycheckError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: ErrorReason;
  readonly retriable: boolean;
  readonly problems: readonly FieldProblem[];
  /** Seconds the caller should wait before retrying, when the error is retriable. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; problems?: readonly FieldProblem[]; retryAfterSeconds?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CitycheckError';
    const spec: ErrorSpec = errorCodes[code];
    this.code = code;
    this.status = spec.status;
    this.reason = spec.reason;
    this.retriable = spec.retriable;
    this.problems = options.problems ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The body a client sees: no stack, no cause, nothing internal. */
  toResponse(): {
    error: {
      code: ErrorCode;
      reason: ErrorReason;
      retriable: boolean;
      message: string;
      problems?: readonly FieldProblem[];
    };
  } {
    return {
      error: {
        code: this.code,
        reason: this.reason,
        retriable: this.retriable,
        message: this.message,
        ...(this.problems.length > 0 ? { problems: this.problems } : {}),
      },
    };
  }
}

/** The body of every error answer of the HTTP services. */
export type ErrorBody = ReturnType<CitycheckError['toResponse']>;

export const isCitycheckError = (error: unknown): error is CitycheckError => error instanceof CitycheckError;

export {
  type Backoff,
  type BackoffPolicy,
  backoffDelayMs,
  createBackoff,
  createRestartLoop,
  type RestartLoop,
  type RestartLoopOptions,
  type RetryOptions,
  retryWithBackoff,
  sleep,
} from './retry.js';
