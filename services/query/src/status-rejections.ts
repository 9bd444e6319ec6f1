// Source of the status page's rejections: validate's (submissions.rejected.v1, one record per submission with
// every problem) and ingest's (submissions.refused.v1, one record per refused request), counted together by
// stage and reason and by city, with the latest submission ids of each city to follow, and per minute for the
// last hour's chart. Both topics are followed from the beginning, so the totals survive a restart.

/** One stage's rejections of one reason. */
export interface RejectionReason {
  readonly stage: 'ingest' | 'validate';
  readonly reason: string;
  readonly total: number;
  readonly inWindow: number;
}

/** A submission to follow (`GET /v1/submissions/{id}` on ingest), with why it was refused. */
export interface RejectionExample {
  readonly submissionId: string;
  readonly stage: 'ingest' | 'validate';
  readonly reasons: readonly string[];
  readonly at: string;
}

export interface CityRejections {
  /** The credential's city; `unknown` for refusals without a city credential. */
  readonly cityCode: string;
  readonly total: number;
  readonly inWindow: number;
  readonly byStage: { readonly ingest: number; readonly validate: number };
  readonly byReason: readonly {
    readonly stage: 'ingest' | 'validate';
    readonly reason: string;
    readonly total: number;
  }[];
  /** The latest refused submissions that named an id, newest first. */
  readonly examples: readonly RejectionExample[];
}

export interface RejectionsReport {
  readonly submissions: number;
  readonly inWindow: number;
  readonly byStage: { readonly ingest: number; readonly validate: number };
  readonly byReason: readonly RejectionReason[];
  /** Cities with rejections, most in the window first, then most in all; at most `maxCities`. */
  readonly byCity: readonly CityRejections[];
}

type Stage = 'ingest' | 'validate';

interface CityTally {
  total: number;
  byStage: { ingest: number; validate: number };
  byReason: Map<string, number>;
  examples: RejectionExample[];
}

interface Event {
  readonly at: number;
  readonly stage: Stage;
  readonly cityCode: string;
  readonly byReason: Readonly<Record<string, number>>;
  readonly submissions: number;
}

const key = (stage: Stage, reason: string): string => `${stage}\u0000${reason}`;
const unkey = (value: string): { stage: Stage; reason: string } => {
  const [stage, reason] = value.split('\u0000') as [Stage, string];
  return { stage, reason };
};

export const createRejectionTally = ({
  examplesPerCity = 5,
  maxCities = 50,
  keepMs = 3_600_000,
}: {
  examplesPerCity?: number;
  maxCities?: number;
  keepMs?: number;
} = {}) => {
  const totals = new Map<string, number>();
  const cities = new Map<string, CityTally>();
  const recent: Event[] = [];
  const stageTotals = { ingest: 0, validate: 0 };
  let submissions = 0;

  const cityOf = (code: string): CityTally => {
    let tally = cities.get(code);
    if (tally === undefined) {
      tally = { total: 0, byStage: { ingest: 0, validate: 0 }, byReason: new Map(), examples: [] };
      cities.set(code, tally);
    }
    return tally;
  };

  const add = (event: Event, examples: readonly RejectionExample[]): void => {
    submissions += event.submissions;
    stageTotals[event.stage] += event.submissions;
    const city = cityOf(event.cityCode);
    city.total += event.submissions;
    city.byStage[event.stage] += event.submissions;
    for (const [reason, count] of Object.entries(event.byReason)) {
      totals.set(key(event.stage, reason), (totals.get(key(event.stage, reason)) ?? 0) + count);
      city.byReason.set(key(event.stage, reason), (city.byReason.get(key(event.stage, reason)) ?? 0) + count);
    }
    city.examples = [...examples, ...city.examples].slice(0, examplesPerCity);
    recent.push(event);
  };

  return {
    /** A validate rejection: one submission, each rule it broke (the first one counts it by reason). */
    addValidate(at: number, cityCode: string | null, submissionId: string | null, rules: readonly string[]) {
      // Counted once per rule the submission broke, as validate's record lists them all.
      const reasons = rules.length === 0 ? ['unknown'] : rules;
      add(
        {
          at,
          stage: 'validate',
          cityCode: cityCode ?? 'unknown',
          byReason: Object.fromEntries(reasons.map((reason) => [reason, 1])),
          submissions: 1,
        },
        submissionId === null
          ? []
          : [{ submissionId, stage: 'validate', reasons, at: new Date(at).toISOString() }],
      );
    },
    /** An ingest refusal record: a request's refused submissions. */
    addIngest(
      at: number,
      record: {
        cityCode: string | null;
        submissions: number;
        byReason: Readonly<Record<string, number>>;
        examples: readonly { submissionId: string; reasons: readonly string[] }[];
      },
    ) {
      add(
        {
          at,
          stage: 'ingest',
          cityCode: record.cityCode ?? 'unknown',
          byReason: record.byReason,
          submissions: record.submissions,
        },
        record.examples.map((example) => ({
          submissionId: example.submissionId,
          stage: 'ingest' as const,
          reasons: example.reasons,
          at: new Date(at).toISOString(),
        })),
      );
    },
    /** Rejections per minute (by stage) of the minutes starting at `from`, `step` apart, up to `to`. */
    perMinute(from: number, to: number, step = 60_000): { at: number; ingest: number; validate: number }[] {
      const points: { at: number; ingest: number; validate: number }[] = [];
      for (let at = from; at < to; at += step) points.push({ at, ingest: 0, validate: 0 });
      for (const event of recent) {
        if (event.at < from || event.at >= to) continue;
        const point = points[Math.floor((event.at - from) / step)];
        if (point !== undefined) point[event.stage] += event.submissions;
      }
      return points;
    },
    report(since: number, now: number): RejectionsReport {
      while (recent.length > 0 && (recent[0]?.at ?? 0) < now - keepMs) recent.shift();
      const windowed = new Map<string, number>();
      const cityWindow = new Map<string, number>();
      let inWindow = 0;
      for (const event of recent) {
        if (event.at < since) continue;
        inWindow += event.submissions;
        cityWindow.set(event.cityCode, (cityWindow.get(event.cityCode) ?? 0) + event.submissions);
        for (const [reason, count] of Object.entries(event.byReason))
          windowed.set(key(event.stage, reason), (windowed.get(key(event.stage, reason)) ?? 0) + count);
      }
      const byReason = [...totals]
        .map(([name, total]) => ({ ...unkey(name), total, inWindow: windowed.get(name) ?? 0 }))
        .sort(
          (a, b) => b.total - a.total || a.stage.localeCompare(b.stage) || a.reason.localeCompare(b.reason),
        );
      const byCity = [...cities]
        .map(([cityCode, tally]) => ({
          cityCode,
          total: tally.total,
          inWindow: cityWindow.get(cityCode) ?? 0,
          byStage: { ...tally.byStage },
          byReason: [...tally.byReason]
            .map(([name, total]) => ({ ...unkey(name), total }))
            .sort((a, b) => b.total - a.total || a.reason.localeCompare(b.reason)),
          examples: [...tally.examples],
        }))
        .sort((a, b) => b.inWindow - a.inWindow || b.total - a.total || a.cityCode.localeCompare(b.cityCode))
        .slice(0, maxCities);
      return { submissions, inWindow, byStage: { ...stageTotals }, byReason, byCity };
    },
  };
};

export type RejectionTally = ReturnType<typeof createRejectionTally>;

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** Applies a submissions.rejected.v1 record (validate's). */
export const applyRejected = (tally: RejectionTally, at: number, value: unknown): void => {
  const record = (value ?? {}) as {
    submissionId?: unknown;
    cityCode?: unknown;
    problems?: { rule?: unknown }[];
  };
  const rules = [...new Set((record.problems ?? []).map((problem) => String(problem.rule ?? 'unknown')))];
  tally.addValidate(at, text(record.cityCode), text(record.submissionId), rules);
};

/** Applies a submissions.refused.v1 record (ingest's). */
export const applyRefused = (tally: RejectionTally, at: number, value: unknown): void => {
  const record = (value ?? {}) as {
    cityCode?: unknown;
    submissions?: unknown;
    byReason?: unknown;
    examples?: unknown;
  };
  const byReason: Record<string, number> = {};
  if (typeof record.byReason === 'object' && record.byReason !== null)
    for (const [reason, count] of Object.entries(record.byReason))
      if (typeof count === 'number' && count > 0) byReason[reason] = count;
  const examples = Array.isArray(record.examples)
    ? record.examples
        .filter(
          (example): example is { submissionId: string; reasons?: unknown } =>
            typeof example?.submissionId === 'string',
        )
        .map((example) => ({
          submissionId: example.submissionId,
          reasons: Array.isArray(example.reasons) ? example.reasons.map(String) : [],
        }))
    : [];
  const submissions =
    typeof record.submissions === 'number'
      ? record.submissions
      : Object.values(byReason).reduce((a, b) => a + b, 0);
  tally.addIngest(at, { cityCode: text(record.cityCode), submissions, byReason, examples });
};
