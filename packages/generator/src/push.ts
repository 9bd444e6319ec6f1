// City clients for the ingest endpoint: N cities pushing concurrently, each its own submissions in order
// (NDJSON bulk uploads or one JSON POST per submission), retrying what the endpoint could not store
// (503 with Retry-After, 429, a dropped connection) with the same submissionIds, so a retry is harmless.
// Also an open-loop paced sender for latency at a fixed request rate. Every request is recorded for the
// benchmark's figures, and every submission's fate for the fault tests' exactly-once checks.
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { retryWithBackoff, sleep } from '@citycheck/errors';

export interface CityWork {
  readonly cityCode: string;
  /** The city's submissions, one JSON document each, in the order the city sends them. */
  readonly lines: () => readonly string[];
}

export interface RequestRecord {
  readonly cityCode: string;
  /** Milliseconds since the epoch when the request was sent (paced: when it was due). */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly latencyMs: number;
  /** HTTP status, or 0 when the connection failed. */
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly submissions: number;
  readonly bytes: number;
}

export interface PushTally {
  /** Submissions the endpoint acknowledged as stored: a 202, or a 200 replay of one stored earlier. */
  readonly stored: Set<string>;
  /** Submissions the endpoint refused for their content (4xx other than 429), with the rules broken. */
  readonly refused: Map<string, string>;
  readonly requests: RequestRecord[];
  /** Requests sent again after a 503, 429 or a failed connection. */
  retries: number;
}

export interface PushOptions {
  /** Base URL of the ingest service, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  /** The bearer token of each city's credential. */
  readonly token: (cityCode: string) => string;
  readonly cities: readonly CityWork[];
  /** City clients sending at once; each city is sent by one client, in order. */
  readonly concurrency: number;
  readonly mode: 'bulk' | 'single';
  /** NDJSON lines per bulk request. */
  readonly linesPerRequest?: number;
  /** Longest wait between retries, whatever Retry-After says. */
  readonly maxRetryDelayMs?: number;
  /** Give up on a request after retrying it for this long. */
  readonly retryForMs?: number;
  /** Pause of each client between its requests (tests use it to make a cycle last a while). */
  readonly paceMs?: number;
  readonly onRequest?: (record: RequestRecord) => void;
  readonly tally?: PushTally;
}

const ndjson = 'application/x-ndjson';

export const createTally = (): PushTally => ({
  stored: new Set(),
  refused: new Map(),
  requests: [],
  retries: 0,
});

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

const post = (agent: Agent, url: URL, token: string, contentType: string, body: Buffer): Promise<Answer> =>
  new Promise((resolve) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': contentType,
          'content-length': body.byteLength,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', () => resolve({ status: 0, retryAfter: undefined, body: '' }));
      },
    );
    req.on('error', () => resolve({ status: 0, retryAfter: undefined, body: '' }));
    req.end(body);
  });

const retriable = (status: number): boolean =>
  status === 0 || status === 429 || status === 502 || status === 503 || status === 504;

/** An answer that asks for the request again; its message is the one thrown when the retries run out. */
class TryAgain extends Error {
  constructor(
    readonly answer: Answer,
    message: string,
  ) {
    super(message);
  }
}

/** A bulk upload whose not-stored lines are to be sent again. */
class LinesNotStored extends TryAgain {}

interface LineOutcome {
  readonly submissionId: string | null;
  readonly status: 'accepted' | 'duplicate' | 'rejected';
  readonly problems?: readonly { readonly rule: string }[];
}

const linesOf = (body: string): readonly LineOutcome[] | undefined => {
  try {
    const parsed = JSON.parse(body) as {
      lines?: readonly LineOutcome[];
      summary?: { lines?: readonly LineOutcome[] };
    };
    return parsed.summary?.lines ?? parsed.lines;
  } catch {
    return undefined;
  }
};

const idOf = (line: string): string => {
  const match = /"submissionId":"([^"]+)"/.exec(line);
  if (match?.[1] === undefined) throw new Error('a line has no submissionId');
  return match[1];
};

/**
 * Pushes every city's submissions through the endpoint. Resolves when each submission was either stored
 * or refused for its content; throws when a request still fails after `retryForMs` of retries.
 */
export const pushCities = async ({
  url,
  token,
  cities,
  concurrency,
  mode,
  linesPerRequest = 2_000,
  maxRetryDelayMs = 2_000,
  retryForMs = 300_000,
  paceMs = 0,
  onRequest,
  tally = createTally(),
}: PushOptions): Promise<PushTally> => {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const endpoint = new URL('/v1/submissions', url);
  const record = (entry: RequestRecord): void => {
    tally.requests.push(entry);
    onRequest?.(entry);
  };

  // Capped exponential backoff with full jitter between tries, or the Retry-After the endpoint asks for
  // (capped too); a request is given up once retrying it would take longer than retryForMs.
  const retrying = (again: typeof TryAgain) => ({
    backoff: { initialDelayMs: 100, maxDelayMs: maxRetryDelayMs },
    maxElapsedMs: retryForMs,
    retriable: (error: unknown) => error instanceof again,
    requestedDelayMs: (error: unknown) => {
      const seconds = Number((error as TryAgain).answer.retryAfter);
      return Number.isFinite(seconds) && seconds > 0 ? Math.min(maxRetryDelayMs, seconds * 1000) : undefined;
    },
    onRetry: () => {
      tally.retries += 1;
    },
  });

  /** Sends one request until it is answered with something other than "try again". */
  const send = (cityCode: string, contentType: string, body: Buffer, submissions: number): Promise<Answer> =>
    retryWithBackoff(async () => {
      const startedAt = Date.now();
      const began = performance.now();
      const answer = await post(agent, endpoint, token(cityCode), contentType, body);
      const latencyMs = performance.now() - began;
      record({
        cityCode,
        startedAt,
        endedAt: startedAt + latencyMs,
        latencyMs,
        status: answer.status,
        retryAfter: answer.retryAfter,
        submissions,
        bytes: body.byteLength,
      });
      if (!retriable(answer.status)) return answer;
      // A bulk upload cut short by an outage says which lines were stored; the caller sends the rest again.
      if (contentType === ndjson && answer.status === 503 && answer.body.includes('"summary"')) return answer;
      throw new TryAgain(
        answer,
        `ingest kept answering ${answer.status} to city ${cityCode} for ${retryForMs} ms`,
      );
    }, retrying(TryAgain));

  const sendSingle = async (cityCode: string, line: string): Promise<void> => {
    const id = idOf(line);
    const answer = await send(cityCode, 'application/json', Buffer.from(line), 1);
    if (answer.status === 202 || answer.status === 200) tally.stored.add(id);
    else tally.refused.set(id, `${answer.status} ${answer.body.slice(0, 300)}`);
  };

  const sendBulk = async (cityCode: string, lines: readonly string[]): Promise<void> => {
    let pending = [...lines];
    await retryWithBackoff(async () => {
      const body = Buffer.from(`${pending.join('\n')}\n`);
      const answer = await send(cityCode, ndjson, body, pending.length);
      // 202/200 answer with the summary itself; a 503 part way through carries it under `summary`.
      const outcomes = linesOf(answer.body);
      if (outcomes === undefined) {
        // The whole upload was refused (401, 413 ...): every line shares the reason.
        for (const line of pending)
          tally.refused.set(idOf(line), `${answer.status} ${answer.body.slice(0, 300)}`);
        return;
      }
      const again: string[] = [];
      pending.forEach((line, index) => {
        const outcome = outcomes[index];
        const id = idOf(line);
        if (outcome?.status === 'accepted' || outcome?.status === 'duplicate') {
          tally.stored.add(id);
        } else if (
          outcome === undefined ||
          outcome.problems?.some((problem) => problem.rule === 'not_stored')
        ) {
          again.push(line);
        } else {
          tally.refused.set(id, (outcome.problems ?? []).map((problem) => problem.rule).join(','));
        }
      });
      pending = again;
      if (pending.length > 0)
        throw new LinesNotStored(answer, `ingest did not store ${pending.length} lines of city ${cityCode}`);
    }, retrying(LinesNotStored));
  };

  const queue = [...cities];
  const client = async (): Promise<void> => {
    for (let work = queue.shift(); work !== undefined; work = queue.shift()) {
      const lines = work.lines();
      if (mode === 'single') {
        for (const line of lines) {
          await sendSingle(work.cityCode, line);
          if (paceMs > 0) await sleep(paceMs);
        }
      } else {
        for (let from = 0; from < lines.length; from += linesPerRequest) {
          await sendBulk(work.cityCode, lines.slice(from, from + linesPerRequest));
          if (paceMs > 0) await sleep(paceMs);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, client));
  } finally {
    agent.destroy();
  }
  return tally;
};

export interface PacedItem {
  readonly cityCode: string;
  /** One submission's JSON. */
  readonly line: string;
}

export interface PacedOptions {
  readonly url: string;
  readonly token: (cityCode: string) => string;
  readonly items: readonly PacedItem[];
  readonly requestsPerSecond: number;
  /** Requests allowed in flight before the sender waits (then it falls behind, which the figures show). */
  readonly maxInFlight?: number;
  readonly tally?: PushTally;
}

export interface PacedResult {
  readonly tally: PushTally;
  /** Latency from when each request was due, so a stalled endpoint cannot hide (no coordinated omission). */
  readonly fromDueMs: number[];
  /** Latency from when each request was actually sent. */
  readonly fromSendMs: number[];
  readonly elapsedMs: number;
}

/**
 * Sends one submission per request at a fixed rate, open loop: request i is due at i / rate seconds
 * whether or not earlier ones were answered. Answers other than 202/200 are recorded, not retried.
 */
export const pushPaced = async ({
  url,
  token,
  items,
  requestsPerSecond,
  maxInFlight = 512,
  tally = createTally(),
}: PacedOptions): Promise<PacedResult> => {
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const endpoint = new URL('/v1/submissions', url);
  const fromDueMs: number[] = [];
  const fromSendMs: number[] = [];
  const started = performance.now();
  const wallStart = Date.now();
  let inFlight = 0;
  let release: (() => void) | undefined;
  const running: Promise<void>[] = [];
  for (const [index, item] of items.entries()) {
    const due = started + (index * 1000) / requestsPerSecond;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    while (inFlight >= maxInFlight) await new Promise<void>((resolve) => (release = resolve));
    inFlight += 1;
    const body = Buffer.from(item.line);
    const sent = performance.now();
    running.push(
      post(agent, endpoint, token(item.cityCode), 'application/json', body).then((answer) => {
        const ended = performance.now();
        inFlight -= 1;
        release?.();
        release = undefined;
        fromDueMs.push(ended - due);
        fromSendMs.push(ended - sent);
        const record: RequestRecord = {
          cityCode: item.cityCode,
          startedAt: wallStart + (due - started),
          endedAt: wallStart + (ended - started),
          latencyMs: ended - sent,
          status: answer.status,
          retryAfter: answer.retryAfter,
          submissions: 1,
          bytes: body.byteLength,
        };
        tally.requests.push(record);
        const id = idOf(item.line);
        if (answer.status === 202 || answer.status === 200) tally.stored.add(id);
        else tally.refused.set(id, `${answer.status} ${answer.body.slice(0, 200)}`);
      }),
    );
  }
  await Promise.all(running);
  agent.destroy();
  return { tally, fromDueMs, fromSendMs, elapsedMs: performance.now() - started };
};

/** The q-quantile (0..1) of `values` by the nearest-rank method; NaN for none. */
export const quantile = (values: readonly number[], q: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
};
