// Ingest's refusals to submissions.refused.v1: one record per refused request (a bulk upload's refused lines
// together), with the city of the credential, the reasons counted and up to `maxExamples` submission ids, so
// the status page can say who is failing and with which submissions. Records are buffered and sent every
// `flushMs` in one produce: a refusal never waits for the broker, and a record lost to a broker outage
// loses a line of the operators' view, never a submission (a refused submission was never accepted).
import { encodeJson, type Producer } from '@citycheck/kafka';
import type { Logger } from '@citycheck/logging';

/** One refused submission: its id when the body named one, and the reasons (rule or error codes). */
export interface Refusal {
  readonly submissionId?: string;
  readonly reasons: readonly string[];
}

/** The value of a submissions.refused.v1 record. */
export interface RefusalRecord {
  readonly stage: 'ingest';
  readonly at: string;
  /** The city of the credential; null without a city credential (none, unknown, revoked, an analyst's). */
  readonly cityCode: string | null;
  readonly credentialId: string | null;
  readonly requestId: string;
  /** Submissions refused by the request, and how often each reason was the first of one. */
  readonly submissions: number;
  readonly byReason: Readonly<Record<string, number>>;
  readonly examples: readonly { readonly submissionId: string; readonly reasons: readonly string[] }[];
}

export interface RefusalLog {
  record(
    who: { readonly cityCode?: string; readonly credentialId?: string; readonly requestId: string },
    refusals: readonly Refusal[],
  ): void;
  /** Sends what is buffered now; resolves when the broker took it (or the attempt failed and was logged). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export interface RefusalLogOptions {
  readonly producer: Producer;
  readonly topic: string;
  readonly logger: Logger;
  readonly flushMs?: number;
  readonly maxExamples?: number;
  /** Records kept while the broker is away; beyond it the oldest are dropped (and counted in the log). */
  readonly maxBuffered?: number;
  readonly now?: () => Date;
}

export const buildRefusalRecord = (
  who: { readonly cityCode?: string; readonly credentialId?: string; readonly requestId: string },
  refusals: readonly Refusal[],
  at: Date,
  maxExamples = 10,
): RefusalRecord => {
  const byReason: Record<string, number> = {};
  const examples: { submissionId: string; reasons: readonly string[] }[] = [];
  for (const refusal of refusals) {
    const reason = refusal.reasons[0] ?? 'unknown';
    byReason[reason] = (byReason[reason] ?? 0) + 1;
    if (refusal.submissionId !== undefined && examples.length < maxExamples)
      examples.push({ submissionId: refusal.submissionId, reasons: refusal.reasons });
  }
  return {
    stage: 'ingest',
    at: at.toISOString(),
    cityCode: who.cityCode ?? null,
    credentialId: who.credentialId ?? null,
    requestId: who.requestId,
    submissions: refusals.length,
    byReason,
    examples,
  };
};

export const createRefusalLog = ({
  producer,
  topic,
  logger,
  flushMs = 1_000,
  maxExamples = 10,
  maxBuffered = 10_000,
  now = () => new Date(),
}: RefusalLogOptions): RefusalLog => {
  let buffered: RefusalRecord[] = [];
  let dropped = 0;
  let sending: Promise<void> = Promise.resolve();

  const send = async (): Promise<void> => {
    if (buffered.length === 0) return;
    const batch = buffered;
    buffered = [];
    try {
      await producer.send({
        topic,
        messages: batch.map((record) => ({
          key: record.cityCode ?? 'unknown',
          value: encodeJson(record),
        })),
      });
    } catch (error) {
      logger.warn(
        { err: error, records: batch.length },
        'refusal records not sent; the status page misses them',
      );
    }
  };
  const flush = (): Promise<void> => {
    sending = sending.then(send);
    return sending;
  };
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();

  return {
    record(who, refusals) {
      if (refusals.length === 0) return;
      if (buffered.length >= maxBuffered) {
        buffered.shift();
        dropped += 1;
        if (dropped % 1_000 === 1)
          logger.warn({ dropped }, 'refusal records dropped while the broker is away');
      }
      buffered.push(buildRefusalRecord(who, refusals, now(), maxExamples));
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
};
