// How a DuckDB failure of an analyst's statement becomes a registry error: whose fault, and whether to retry.
import { CitycheckError } from '@citycheck/errors';
import { duckdbMessage } from './sql-guard.js';

/**
 * Maps a DuckDB failure of a user query onto the error registry. `timedOut` says the service stopped the
 * statement itself (`true` at its deadline, `'memory'` past the process's memory bound).
 */
export const queryError = (
  error: unknown,
  timedOut: boolean | 'memory',
  limits: { readonly timeoutMs: number; readonly memoryLimit: string },
): CitycheckError => {
  if (error instanceof CitycheckError) return error;
  if (timedOut === 'memory') {
    return new CitycheckError(
      'query_memory_exceeded',
      `the query service grew past its memory bound while this query ran, and it was stopped; aggregate or filter first, or select fewer columns`,
    );
  }
  const message = duckdbMessage(error);
  if (timedOut || message.startsWith('INTERRUPT')) {
    return new CitycheckError(
      'query_timeout',
      `the query ran longer than ${limits.timeoutMs} ms and was stopped; filter it (by cycle, province, indicator) or aggregate first`,
    );
  }
  if (message.startsWith('Out of Memory')) {
    return new CitycheckError(
      'query_memory_exceeded',
      `the query needed more than the ${limits.memoryLimit} the query service may use; aggregate or filter first, or select fewer columns`,
      { cause: error },
    );
  }
  if (message.startsWith('Permission Error')) {
    return new CitycheckError(
      'query_not_allowed',
      'the query tried to reach a file or setting; read the documented views only',
      {
        cause: error,
      },
    );
  }
  if (
    /^(Binder|Catalog|Conversion|Invalid Input|Parser|Not implemented|Out of Range|Constraint) Error/.test(
      message,
    )
  ) {
    return new CitycheckError('query_invalid', message, { cause: error });
  }
  const missing = /^(IO|HTTP) Error/.test(message)
    ? /(HTTP 404|404 \(Not Found\)|No files found that match the pattern "([^"]*)"|NoSuchKey)/.exec(message)
    : null;
  if (missing !== null) {
    return new CitycheckError(
      'lake_object_missing',
      'the lake names an object the store does not hold (a committed object was deleted or the rollups were replaced while being read); retrying will not help until the lake is repaired or the views are refreshed',
      { cause: error },
    );
  }
  if (/^(IO|HTTP) Error/.test(message)) {
    return new CitycheckError('object_store_unavailable', 'the lake could not be read; retry shortly', {
      cause: error,
      retryAfterSeconds: 5,
    });
  }
  return new CitycheckError('database_error', 'the query failed inside the database', { cause: error });
};
