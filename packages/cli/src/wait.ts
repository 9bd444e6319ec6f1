// `citycheck submit --wait`: follows every line ingest accepted (or had already received) through validate and
// aggregate to its final state, counted or rejected, by polling GET /v1/submissions/{id} as `citycheck status`
// does, a few ids at a time, until each is final or the time is up.
import type { FieldProblem } from './answers.js';
import { type RetryPolicy, send } from './http.js';
import type { FollowedLine } from './resume-state.js';

/** The states a submission passes through; `counted` and `rejected` are final. */
export type FollowedStatus = 'accepted' | 'valid' | 'stored' | 'counted' | 'rejected' | 'unknown';

export interface FollowedOutcome extends FollowedLine {
  readonly file: string;
  readonly finalStatus: FollowedStatus;
  /** Validate's reasons, for a rejected one. */
  readonly problems: readonly FieldProblem[];
}

export interface WaitOptions {
  readonly url: string;
  readonly token: string;
  readonly lines: readonly (FollowedLine & { readonly file: string })[];
  /** How long to follow them at most. */
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Requests in flight at once. */
  readonly parallel?: number;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  /** Told after each round: how many are final. */
  readonly onRound?: (final: number, total: number) => void;
}

const isFinal = (status: FollowedStatus): boolean => status === 'counted' || status === 'rejected';

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * Polls each line's submission until it is counted or rejected, or `timeoutMs` passed; returns every line with
 * the last state seen (a line still short of final after the time is reported as it stands).
 */
export const followSubmissions = async ({
  url,
  token,
  lines,
  timeoutMs = 600_000,
  intervalMs = 1_000,
  parallel = 8,
  retry,
  signal,
  onRound = () => undefined,
}: WaitOptions): Promise<FollowedOutcome[]> => {
  const base = url.replace(/\/+$/, '');
  // One poll per id, even when several lines (a resent row) share it.
  const states = new Map<string, { status: FollowedStatus; problems: readonly FieldProblem[] }>();
  for (const line of lines) states.set(line.submissionId, { status: 'unknown', problems: [] });
  const deadline = Date.now() + timeoutMs;
  const poll = async (id: string): Promise<void> => {
    const answer = await send({
      method: 'GET',
      url: `${base}/v1/submissions/${encodeURIComponent(id)}`,
      headers: { authorization: `Bearer ${token}` },
      ...(retry === undefined ? {} : { retry }),
      ...(signal === undefined ? {} : { signal }),
    });
    if (answer.status !== 200) return;
    const body = answer.body as { status?: FollowedStatus; problems?: FieldProblem[] };
    states.set(id, { status: body.status ?? 'unknown', problems: body.problems ?? [] });
  };
  for (;;) {
    const pending = [...states].filter(([, state]) => !isFinal(state.status)).map(([id]) => id);
    for (let start = 0; start < pending.length; start += parallel)
      await Promise.all(pending.slice(start, start + parallel).map(poll));
    const final = [...states.values()].filter((state) => isFinal(state.status)).length;
    onRound(final, states.size);
    if (final === states.size || Date.now() >= deadline || signal?.aborted === true) break;
    await sleep(intervalMs, signal);
  }
  return lines.map((line) => {
    const state = states.get(line.submissionId) ?? { status: 'unknown' as const, problems: [] };
    return { ...line, finalStatus: state.status, problems: state.problems };
  });
};

/** Per file and in all: how the followed lines ended. */
export interface WaitTally {
  readonly counted: number;
  readonly rejected: number;
  /** Not final when the time was up: accepted, valid or stored. */
  readonly pending: number;
}

export const tally = (outcomes: readonly FollowedOutcome[]): WaitTally => ({
  counted: outcomes.filter((outcome) => outcome.finalStatus === 'counted').length,
  rejected: outcomes.filter((outcome) => outcome.finalStatus === 'rejected').length,
  pending: outcomes.filter((outcome) => !isFinal(outcome.finalStatus)).length,
});
