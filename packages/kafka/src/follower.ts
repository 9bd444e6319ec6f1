// Reads topics from their beginning into an in-memory view and keeps following them: how a service rebuilds
// its state (credentials, the submission index) on start and stays current with what other instances write.
// The follower keeps its consumer running itself (kafkajs gives up for good after an error it does not
// retry), and measures how current the view is against the topics' end offsets, so a service can refuse to
// answer from a view that stopped following.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRestartLoop } from '@citycheck/errors';
import kafkajs, { type Admin, type Consumer, type Kafka, type KafkaMessage } from 'kafkajs';

// kafkajs is CommonJS and spreads its error classes into its exports, which Node cannot name statically.
const { KafkaJSNonRetriableError } = kafkajs;

export interface FollowedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

export interface TopicFollowerOptions {
  readonly kafka: Kafka;
  readonly topics: readonly string[];
  /** Prefix of the consumer group. Each follower joins a group of its own and commits no offsets, so every
   * start reads from the beginning and the broker forgets the group once it is empty. */
  readonly groupIdPrefix: string;
  /**
   * Applies one message to the view. Called in offset order within a partition; partitions and topics
   * interleave, so the view must not depend on the order across them. May be called again for messages it
   * already saw (after a consumer restart), so it must be idempotent. A throw is reported to `onError` and
   * the message is skipped: one bad record must not stop the view.
   */
  readonly apply: (message: FollowedMessage) => void;
  readonly onError?: (error: unknown, message: FollowedMessage) => void;
  /** Called when the consumer crashed; `restarting` says whether it will run again (by kafkajs or by the
   * follower after `retryInMs`). */
  readonly onCrash?: (error: Error, restarting: boolean, retryInMs?: number) => void;
  /** Called when the follower started its consumer again after kafkajs gave up on it. */
  readonly onRestart?: (restarts: number) => void;
  /** How long the broker may hold a fetch when there is nothing new: bounds how stale the view gets. */
  readonly maxWaitTimeInMs?: number;
  /** First pause before starting a stopped consumer again; doubles while starting fails, up to the max. */
  readonly restartDelayMs?: number;
  readonly maxRestartDelayMs?: number;
  /** How often the topics' end offsets are read to tell whether the view has everything written so far. */
  readonly probeIntervalMs?: number;
  /** A view not known to be current for longer than this is stale (see `isCurrent`). */
  readonly staleAfterMs?: number;
  /** Fault injection for tests: an error returned here is thrown by the consumer's next batch and by every
   * start attempt, as if the broker kept failing. Undefined in production. */
  readonly injectFault?: () => Error | undefined;
}

/** The follower's behaviour a service may tune; the view-specific parts (topics, apply) stay with the view. */
export type FollowerSettings = Partial<
  Pick<
    TopicFollowerOptions,
    | 'onCrash'
    | 'onRestart'
    | 'maxWaitTimeInMs'
    | 'restartDelayMs'
    | 'maxRestartDelayMs'
    | 'probeIntervalMs'
    | 'staleAfterMs'
    | 'injectFault'
  >
>;

export interface FollowerHealth {
  /** The initial read to the end offsets of start() is done. */
  readonly loaded: boolean;
  /** The consumer is running (false while it waits to be started again after a crash, or once stopped). */
  readonly running: boolean;
  /** Records between where the view is now and the end offsets last read; undefined before the first reading. */
  readonly lagRecords: number | undefined;
  /** When the view was last known to hold every record written (ms since epoch); undefined before. */
  readonly currentAsOf: number | undefined;
  /** How many times the consumer was started again after a crash kafkajs does not recover from. */
  readonly restarts: number;
}

export interface TopicFollower {
  /** Joins and starts reading from the beginning; resolves once reading has started. */
  start(): Promise<void>;
  /** Resolves when every partition has been read to the end offset it had when start() was called. */
  caughtUp(): Promise<void>;
  readonly isCaughtUp: boolean;
  /**
   * Loaded, and known to hold every record written up to at most `staleAfterMs` ago. A view that is not
   * current may miss a revocation: callers that authorise with it must refuse rather than answer.
   */
  readonly isCurrent: boolean;
  /** Current and its consumer running: what readiness reports. */
  readonly isHealthy: boolean;
  /**
   * Resolves once the view holds every record written before `moment` (ms since epoch): at once when it is
   * known current as of then, else once it has read up to the end offsets read now (or, for a moment still
   * ahead of this clock, at the first reading after it). A service that judges a record by a time it
   * carries (validate: when ingest received it) asks this first, so the judgement never depends on how far
   * behind its follower happens to be. Rejects when the follower is stopped first.
   */
  heardBy(moment: number): Promise<void>;
  health(): FollowerHealth;
  /** Messages applied so far. */
  readonly applied: number;
  stop(): Promise<void>;
}

/**
 * The error kafkajs ends a consumer with when the group coordinator cannot be found (the broker is up but
 * answers nothing useful): not retriable, so kafkajs does not restart the consumer.
 */
export const coordinatorNotFound = (): Error =>
  new KafkaJSNonRetriableError('Failed to find group coordinator');

/** Test fault injection: while `path` exists, followers fail as if the group coordinator were gone. */
export const faultWhileFileExists =
  (path: string): (() => Error | undefined) =>
  () =>
    existsSync(path) ? coordinatorNotFound() : undefined;

export const createTopicFollower = ({
  kafka,
  topics,
  groupIdPrefix,
  apply,
  onError = () => undefined,
  onCrash = () => undefined,
  onRestart = () => undefined,
  maxWaitTimeInMs = 250,
  restartDelayMs = 500,
  maxRestartDelayMs = 5_000,
  probeIntervalMs = 1_000,
  staleAfterMs = 5_000,
  injectFault = () => undefined,
}: TopicFollowerOptions): TopicFollower => {
  // Where each partition must be read to before the view counts as loaded, and where reading is now: the
  // offset after the last one read, control markers included (see END_BATCH_PROCESS below).
  const targets = new Map<string, bigint>();
  const positions = new Map<string, bigint>();
  let resolveCaughtUp: () => void = () => undefined;
  const caughtUpPromise = new Promise<void>((resolve) => {
    resolveCaughtUp = resolve;
  });
  let caughtUp = false;
  let applied = 0;
  let consumer: Consumer | undefined;
  let running = false;
  let stopped = false;
  let probeTimer: NodeJS.Timeout | undefined;
  let probeAdmin: Admin | undefined;
  // The end offsets of the latest reading: the lag is measured against them.
  let latestEnds: ReadonlyMap<string, bigint> | undefined;
  let currentAsOf: number | undefined;
  let targetsReadAt: number | undefined;
  // Callers of heardBy waiting for the view to be current as of their moment.
  const waiters: { moment: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  const release = (): void => {
    if (currentAsOf === undefined) return;
    for (let i = waiters.length - 1; i >= 0; i -= 1) {
      const waiter = waiters[i] as (typeof waiters)[number];
      if (waiter.moment > currentAsOf) continue;
      waiters.splice(i, 1);
      waiter.resolve();
    }
  };

  const check = (): void => {
    if (caughtUp) return;
    for (const [key, target] of targets) {
      if ((positions.get(key) ?? 0n) < target) return;
    }
    caughtUp = true;
    // Everything written before the end offsets were read is in the view.
    currentAsOf ??= targetsReadAt;
    resolveCaughtUp();
    release();
  };

  const newConsumer = (): Consumer => {
    const created = kafka.consumer({
      groupId: `${groupIdPrefix}-${randomUUID()}`,
      maxWaitTimeInMs,
      allowAutoTopicCreation: false,
    });
    // Emitted for every fetched batch, including those that held only transaction markers or aborted
    // records and so reached no handler: the only exact way to see that a transactional topic was read to
    // its end. A position therefore counts a trailing commit marker, and compares with the end offset.
    created.on(created.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}:${payload.partition}`;
      const next = BigInt(payload.lastOffset) + 1n;
      if (next > (positions.get(key) ?? 0n)) positions.set(key, next);
      check();
      advance();
    });
    created.on(created.events.CRASH, ({ payload }) => {
      if (created !== consumer) return;
      if (payload.restart) {
        onCrash(payload.error, true);
        return;
      }
      running = false;
      if (stopped) return;
      onCrash(payload.error, true, restartLoop.afterCrash());
    });
    return created;
  };

  // Joins a new group, subscribes from the beginning and moves each partition already read to where the
  // view stands, so a restart neither misses records nor replays old ones over newer (a replayed "active"
  // over a "revoked" would reopen a revoked credential until the newer record came round again).
  const run = async (resume: boolean): Promise<void> => {
    const fault = injectFault();
    if (fault !== undefined) throw fault;
    const created = newConsumer();
    consumer = created;
    await created.connect();
    try {
      for (const topic of topics) await created.subscribe({ topic, fromBeginning: true });
      await created.run({
        autoCommit: false,
        eachBatch: async ({ batch, isStale }) => {
          const injected = injectFault();
          if (injected !== undefined) throw injected;
          // A restarted consumer may fetch from the beginning before its seek takes effect: what the view
          // already holds is never applied again (an older record would overwrite a newer one).
          const from = positions.get(`${batch.topic}:${batch.partition}`) ?? 0n;
          for (const message of batch.messages) {
            if (isStale()) return;
            if (BigInt(message.offset) < from) continue;
            const followed = { topic: batch.topic, partition: batch.partition, message };
            try {
              apply(followed);
              applied += 1;
            } catch (error) {
              onError(error, followed);
            }
          }
        },
      });
      if (resume) {
        for (const [key, offset] of positions) {
          const at = key.lastIndexOf(':');
          created.seek({
            topic: key.slice(0, at),
            partition: Number(key.slice(at + 1)),
            offset: offset.toString(),
          });
        }
      }
      running = true;
    } catch (error) {
      await created.disconnect().catch(() => undefined);
      throw error;
    }
  };

  // A consumer that ran a while before a crash starts again after the short pause; one that keeps crashing
  // soon after each start waits longer each time.
  const restartLoop = createRestartLoop({
    start: async () => {
      await consumer?.disconnect().catch(() => undefined);
      await run(true);
      if (stopped) {
        running = false;
        await consumer?.disconnect().catch(() => undefined);
      }
    },
    backoff: { initialDelayMs: restartDelayMs, maxDelayMs: maxRestartDelayMs, jitter: 'none' },
    steadyAfterMs: 60_000,
    onStarted: onRestart,
    onStartFailed: (error, retryInMs) =>
      onCrash(error instanceof Error ? error : new Error(String(error)), true, retryInMs),
  });

  // End offsets read at a moment, waiting for the view to reach them: once it has, the view holds everything
  // written before that moment. A topic written without pause (the received topic under load) is never
  // read to its very end at the instant of a reading, but reaches each reading's ends a little later.
  const readings: { readonly askedAt: number; readonly ends: ReadonlyMap<string, bigint> }[] = [];
  const reached = (ends: ReadonlyMap<string, bigint>): boolean => {
    for (const [key, end] of ends) if ((positions.get(key) ?? 0n) < end) return false;
    return true;
  };
  const advance = (): void => {
    for (let i = readings.length - 1; i >= 0; i -= 1) {
      const reading = readings[i] as (typeof readings)[number];
      if (!reached(reading.ends)) continue;
      if (currentAsOf === undefined || reading.askedAt > currentAsOf) currentAsOf = reading.askedAt;
      readings.splice(0, i + 1);
      release();
      return;
    }
  };

  // The end offsets are read with the read-committed isolation (the kafkajs default): the last stable
  // offset, which counts commit markers but not an open transaction, i.e. exactly what the consumer can
  // reach. The time is taken before asking, so `currentAsOf` never claims more than was checked.
  const probe = async (): Promise<void> => {
    if (probeAdmin === undefined || !caughtUp) return;
    const askedAt = Date.now();
    const ends = new Map<string, bigint>();
    for (const topic of topics) {
      for (const end of await probeAdmin.fetchTopicOffsets(topic)) {
        ends.set(`${topic}:${end.partition}`, BigInt(end.high));
      }
    }
    latestEnds = ends;
    readings.push({ askedAt, ends });
    // Readings older than the bound can no longer make the view current: keep the list short.
    while (readings.length > 0 && askedAt - (readings[0]?.askedAt ?? askedAt) > staleAfterMs)
      readings.shift();
    advance();
  };

  const scheduleProbe = (): void => {
    if (stopped) return;
    probeTimer = setTimeout(() => {
      probe()
        .catch(() => undefined)
        .finally(scheduleProbe);
    }, probeIntervalMs);
    probeTimer.unref();
  };

  const isCurrent = (): boolean =>
    caughtUp && currentAsOf !== undefined && Date.now() - currentAsOf <= staleAfterMs;

  return {
    get isCaughtUp() {
      return caughtUp;
    },
    get isCurrent() {
      return isCurrent();
    },
    get isHealthy() {
      return running && isCurrent();
    },
    get applied() {
      return applied;
    },
    health: () => {
      let lag: bigint | undefined;
      if (latestEnds !== undefined) {
        lag = 0n;
        for (const [key, end] of latestEnds) {
          const position = positions.get(key) ?? 0n;
          if (end > position) lag += end - position;
        }
      }
      return {
        loaded: caughtUp,
        running,
        lagRecords: lag === undefined ? undefined : Number(lag),
        currentAsOf,
        restarts: restartLoop.restarts,
      };
    },
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      targetsReadAt = Date.now();
      try {
        for (const topic of topics) {
          for (const end of await admin.fetchTopicOffsets(topic)) {
            const key = `${topic}:${end.partition}`;
            targets.set(key, BigInt(end.high));
            if (!positions.has(key)) positions.set(key, BigInt(end.low));
          }
        }
      } finally {
        await admin.disconnect();
      }
      check();
      await run(false);
      probeAdmin = kafka.admin();
      await probeAdmin.connect();
      scheduleProbe();
    },
    caughtUp: () => caughtUpPromise,
    heardBy(moment) {
      if (currentAsOf !== undefined && currentAsOf >= moment) return Promise.resolve();
      if (stopped) return Promise.reject(new Error('the follower is stopped'));
      const heard = new Promise<void>((resolve, reject) => waiters.push({ moment, resolve, reject }));
      // A reading now, rather than at the next probe: the view is usually at the end offsets already.
      probe().catch(() => undefined);
      return heard;
    },
    async stop() {
      stopped = true;
      for (const waiter of waiters.splice(0)) waiter.reject(new Error('the follower is stopped'));
      running = false;
      restartLoop.stop();
      if (probeTimer !== undefined) clearTimeout(probeTimer);
      await consumer?.disconnect();
      await probeAdmin?.disconnect().catch(() => undefined);
    },
  };
};
