// The aggregate worker: validated submissions into the Parquet lake, offsets committed after the lake's log,
// then the rollups re-derived when derivation-schedule.ts says (lake-watcher.ts brings other instances' commits).

import type { CycleBook } from '@citycheck/cycles';
import {
  type Consumer,
  commitOffsetsOrRejoin,
  type EachBatchPayload,
  type Producer,
  runSupervised,
  type Supervision,
  sendJson,
  topics,
  withHeartbeats,
} from '@citycheck/kafka';
import type { CommitLog, DuckDBConnection, ManifestEntry, ObjectStore } from '@citycheck/lake';
import type { Logger } from '@citycheck/logging';
import type { PipelineMetrics } from '@citycheck/metrics';
import type { RectificationBook } from '@citycheck/rectification';
import type { ReviewBook } from '@citycheck/reviews';
import { nextDerivationAt } from './derivation-schedule.js';
import {
  type CycleSettings,
  createDerivation,
  cyclesInLake,
  type Derivation,
  type DeriveResult,
  type ReviewStanding,
} from './derive.js';
import { createLakeWatcher } from './lake-watcher.js';
import { type Chunk, cutChunks, type RotationPolicy, writeChunk } from './lake-writer.js';
import { writeCycleReference, writeRectificationReference, writeReviewReference } from './reference.js';
import { coalescedTrigger, createSerialQueue } from './work-queue.js';

export interface AggregateWorkerOptions {
  readonly consumer: Consumer;
  readonly store: ObjectStore;
  readonly commitLog: CommitLog;
  readonly duckdb: DuckDBConnection;
  readonly logger: Logger;
  readonly cycles: readonly CycleSettings[];
  /**
   * The cycles as operators run them (followed from cycles.v1); with it, `cycles` is ignored, every change
   * re-derives every cycle in the lake and rewrites reference/cycles.parquet and reference/cycle_actions.parquet.
   */
  readonly cycleBook?: CycleBook;
  /**
   * The reviews (followed from reviews.v1); with it, reference/reviews.parquet and
   * reference/review_actions.parquet are rewritten after every change and at start, the rollups and
   * completeness carry each city's review state, and a change of a city's state re-derives its cycle (and the
   * next, whose accepted rollups compare with it).
   */
  readonly reviewBook?: ReviewBook;
  /**
   * The rectification of the ledger's items (followed from rectification.v1); with it,
   * reference/rectification.parquet and reference/rectification_actions.parquet are rewritten after every
   * change and at start.
   */
  readonly rectificationBook?: RectificationBook;
  readonly rotation: RotationPolicy;
  /**
   * A connection of the same DuckDB instance for derivation alone, so it never holds up the lake writer;
   * omit to run derivation on `duckdb`, one statement at a time with the writer's.
   */
  readonly derivationDuckdb?: DuckDBConnection;
  /** The schedule of derivations (see DerivationSchedulePolicy): a run starts this long after the last commit, */
  readonly rollupDebounceMs?: number;
  /** ... once the consumer is at most this many records behind; further behind, */
  readonly rollupBehindRecords?: number;
  /** ... only once the oldest change not yet derived has waited this long (its catching up reschedules), */
  readonly rollupMaxDelayMs?: number;
  /** ... and no sooner than this many times the last run's duration after it ended. */
  readonly rollupCooldownFactor?: number;
  /**
   * How often an idle worker looks at the commit log for batches it has not derived from: those other
   * instances of the group committed. Every instance's last derivation then takes every commit, so the
   * derived objects converge whichever instance writes last.
   */
  readonly lakeWatchMs?: number;
  readonly validatedTopic?: string;
  /**
   * Where to announce each committed batch (topic lake.batches-committed.v1) and, after each derivation, the
   * batches it counted for the first time (`derivedTopic`, lake.rollups-derived.v1); omit to announce nothing.
   */
  readonly announce?: {
    readonly producer: Producer;
    readonly topic?: string;
    readonly derivedTopic?: string;
  };
  readonly metrics?: PipelineMetrics;
  /** Called after a chunk's objects are written, before the commit log commits it; fault tests crash there. */
  readonly beforeLakeCommit?: () => Promise<void> | void;
  /** Called after each committed chunk, before its offsets are committed; fault tests crash there. */
  readonly afterChunkCommitted?: (chunk: Chunk) => Promise<void> | void;
}

export interface AggregateStats {
  objectsWritten: number;
  recordsWritten: number;
  rollupsComputed: number;
  lastRollup: DeriveResult | undefined;
  lastRollupAt: Date | undefined;
  /** How long the last derivation took, in milliseconds. */
  lastRollupMs: number | undefined;
  lastCommitAt: Date | undefined;
}

export interface AggregateWorker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Rewrites the derived objects of every cycle in the lake. */
  recomputeNow(): Promise<DeriveResult>;
  /** Rewrites those of the cycles changed since the last run (what the debounced trigger runs). */
  recomputeChanged(): Promise<DeriveResult>;
  readonly stats: AggregateStats;
}

export const createAggregateWorker = ({
  consumer,
  store,
  commitLog,
  duckdb,
  logger,
  cycles,
  cycleBook,
  reviewBook,
  rectificationBook,
  rotation,
  derivationDuckdb,
  rollupDebounceMs = 250,
  rollupCooldownFactor = 1,
  rollupBehindRecords = 1_000,
  rollupMaxDelayMs = 60_000,
  lakeWatchMs = 15_000,
  validatedTopic = topics.submissionsValidated,
  announce,
  metrics,
  beforeLakeCommit,
  afterChunkCommitted,
}: AggregateWorkerOptions): AggregateWorker => {
  const stats: AggregateStats = {
    objectsWritten: 0,
    recordsWritten: 0,
    rollupsComputed: 0,
    lastRollup: undefined,
    lastRollupAt: undefined,
    lastRollupMs: undefined,
    lastCommitAt: undefined,
  };
  const abort = new AbortController();
  // Last offset the lake holds per partition, learned from the commit log whenever partitions are assigned.
  const lakeHolds = new Map<number, bigint | undefined>();
  // Records each assigned partition still has to read, as of its last fetched batch.
  const lag = new Map<number, number>();
  let supervision: Supervision | undefined;
  // Each join of the group is a generation with its own assignment; commits of one never outlive it.
  let generation = 0;
  let assigned = new Set<number>();
  const committedUpTo = new Map<number, bigint>();
  const removeJoinListener = consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    generation += 1;
    assigned = new Set(payload.memberAssignment[validatedTopic] ?? []);
    lakeHolds.clear();
    lag.clear();
    committedUpTo.clear();
  });

  // Offsets go to the broker one commit at a time and never backwards within a generation, so the commit
  // past a batch kafkajs handles on its own (below) can neither overtake nor undo one made in handleBatch.
  let commits: Promise<unknown> = Promise.resolve();
  const commitUpTo = (partition: number, next: bigint, stillValid: () => boolean = () => true) => {
    const commit = async (): Promise<void> => {
      if (!stillValid() || (committedUpTo.get(partition) ?? -1n) >= next) return;
      await commitOffsetsOrRejoin(consumer, [{ topic: validatedTopic, partition, offset: next.toString() }]);
      committedUpTo.set(partition, next);
    };
    const done = commits.then(commit, commit);
    commits = done.catch(() => undefined);
    return done;
  };
  // A fetched batch that holds only aborted records and transaction markers never reaches handleBatch:
  // kafkajs moves its own position past it and, with autoCommit off, commits nothing. Without this commit
  // the group's offset would stop short of a partition's end for good whenever nothing readable follows
  // (a validate transaction aborted after the last committed one), a lag no consumer can ever read.
  // (A batch with no record at or after the fetched offset has a null firstOffset: nothing to pass.)
  const removeBatchListener = consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize > 0 || payload.topic !== validatedTopic) return;
    if ((payload.firstOffset as string | null) === null) return;
    const { partition } = payload;
    const fetchedIn = generation;
    commitUpTo(
      partition,
      BigInt(payload.lastOffset) + 1n,
      () => generation === fetchedIn && assigned.has(partition),
    ).catch((error: unknown) => {
      // Harmless: the partition's next owner reads the same markers and commits past them.
      logger.warn({ err: error, partition }, 'committing past aborted records and markers failed');
    });
  });

  // DuckDB work (Parquet encoding, rollups) runs one statement at a time on the shared connection.
  const serial = createSerialQueue();

  // Derivation runs one step at a time on its own connection when it has one, else in the writer's queue.
  const derivationSerial = derivationDuckdb === undefined ? serial : createSerialQueue();
  let derivation: Promise<Derivation> | undefined;
  const reviewStandings = (): ReviewStanding[] =>
    (reviewBook?.all() ?? []).map((review) => {
      const last = review.actions.at(-1);
      return {
        cycle: review.cycle,
        cityCode: review.cityCode,
        state: review.state,
        ...(last === undefined ? {} : { lastActionAt: last.at }),
      };
    });
  const theDerivation = (): Promise<Derivation> => {
    derivation ??= createDerivation({
      duckdb: derivationDuckdb ?? duckdb,
      store,
      settings: cycles,
      reviews: reviewStandings,
      ...(cycleBook === undefined
        ? {}
        : {
            currentSettings: () => cycleBook.settings(),
            settingsChangedAt: (cycle: number) => cycleBook.record(cycle)?.actions.at(-1)?.at,
          }),
    }).catch((error: unknown) => {
      derivation = undefined;
      throw error;
    });
    return derivation;
  };

  // Cycles whose lake content changed since the last derivation; the next run rewrites only those and the
  // cycle after each (whose year-over-year comparisons and ledger statuses read them).
  const dirty = new Set<number>();
  // Receipt times of submissions committed since the last derivation: visible in rollups once it runs.
  let awaitingRollup: number[] = [];
  // When the oldest commit not yet in a derivation happened (undefined: none waiting), and the last one.
  let waitingSince: number | undefined;
  let lastChangeAt = 0;
  let lastRunEnded: number | undefined;
  let lastRunMs = 0;
  let rollupTimer: NodeJS.Timeout | undefined;
  let rollupRunning: Promise<DeriveResult | undefined> | undefined;
  let stopping = false;
  // The commit-log entries the last derivation read, by topic, partition and first offset.
  let derivedEntries = new Set<string>();
  const entryKey = (entry: ManifestEntry): string => `${entry.topic}/${entry.partition}/${entry.startOffset}`;
  // Cycle settings changed since the last derivation: the next one takes every cycle in the lake.
  let settingsChanged = false;
  // Batches this instance announced as counted (lake.rollups-derived.v1).
  const announcedCounted = new Set<string>();

  // After a derivation, tells ingest which batches it counted: those whose every cycle it rewrote.
  const announceCounted = async (
    entries: readonly ManifestEntry[],
    targets: readonly number[],
    derivedAt: Date,
  ): Promise<void> => {
    const derivedTopic = announce?.derivedTopic;
    if (announce === undefined || derivedTopic === undefined) return;
    const counted = entries.filter(
      (entry) =>
        !announcedCounted.has(entryKey(entry)) &&
        cyclesInLake([entry]).every((cycle) => targets.includes(cycle)),
    );
    if (counted.length === 0) return;
    try {
      await sendJson(announce.producer, derivedTopic, [
        {
          key: 'derivations',
          value: {
            derivedAt: derivedAt.toISOString(),
            cycles: targets,
            batches: counted.map(({ topic, partition, startOffset, endOffset }) => ({
              topic,
              partition,
              startOffset,
              endOffset,
            })),
          },
        },
      ]);
      for (const entry of counted) announcedCounted.add(entryKey(entry));
    } catch (error) {
      // Only the status of the submissions waits: the next derivation announces these batches again.
      logger.warn({ err: error }, 'announcing the counted batches failed; the next derivation retries');
    }
  };

  /**
   * A book's copy in the lake, written in the writer's queue by `write` whenever the returned function is
   * called (a change during a write is written by the next one); nothing without a book or once stopping.
   */
  const lakeCopyOf = (what: string, write: (() => Promise<void>) | undefined): (() => void) => {
    const queued =
      write === undefined
        ? undefined
        : coalescedTrigger(serial, write, (error) =>
            logger.error({ err: error }, `writing the ${what} to the lake failed; the next change retries`),
          );
    return () => {
      if (!stopping) queued?.();
    };
  };
  // reference/cycles.parquet, reviews.parquet and rectification.parquet follow their books.
  const writeCycles = lakeCopyOf(
    'cycles',
    cycleBook === undefined ? undefined : () => writeCycleReference(duckdb, store, cycleBook),
  );
  const writeReviews = lakeCopyOf(
    'reviews',
    reviewBook === undefined ? undefined : () => writeReviewReference(duckdb, store, reviewBook),
  );
  const writeRectification = lakeCopyOf(
    'rectification',
    rectificationBook === undefined
      ? undefined
      : () => writeRectificationReference(duckdb, store, rectificationBook),
  );
  const removeRectificationListener = rectificationBook?.onChange(writeRectification);
  // The state of each review the derived objects were last told of: a change re-derives its cycle.
  const reviewStatesSeen = new Map<string, string>();
  const reviewsChanged = (): number[] => {
    const changed = new Set<number>();
    const now = new Map<string, ReviewStanding>(
      reviewStandings().map((review) => [`${review.cycle}/${review.cityCode}`, review]),
    );
    for (const [key, review] of now)
      if (reviewStatesSeen.get(key) !== review.state) changed.add(review.cycle);
    for (const key of reviewStatesSeen.keys()) if (!now.has(key)) changed.add(Number(key.split('/')[0]));
    reviewStatesSeen.clear();
    for (const [key, review] of now) reviewStatesSeen.set(key, review.state);
    return [...changed];
  };
  // Counted as seen at start: the first derivation takes them all anyway (see start).
  reviewsChanged();

  const derive = (mode: 'incremental' | 'full'): Promise<DeriveResult> =>
    derivationSerial(async () => {
      const started = performance.now();
      const entries = await commitLog.committed();
      const inLake = cyclesInLake(entries);
      const everything = mode === 'full' || settingsChanged;
      settingsChanged = false;
      const targets = everything
        ? inLake
        : inLake.filter((cycle) => dirty.has(cycle) || dirty.has(cycle - 1));
      for (const cycle of targets) dirty.delete(cycle);
      const reaching = awaitingRollup;
      awaitingRollup = [];
      waitingSince = undefined;
      let result: DeriveResult;
      try {
        result = await (await theDerivation()).derive(entries, targets);
        derivedEntries = new Set(entries.map(entryKey));
      } catch (error) {
        // Nothing is lost: the next run takes these cycles again.
        for (const cycle of targets) dirty.add(cycle);
        if (everything && mode !== 'full') settingsChanged = true;
        awaitingRollup.push(...reaching);
        waitingSince ??= Date.now();
        throw error;
      } finally {
        lastRunMs = performance.now() - started;
        lastRunEnded = Date.now();
      }
      const visibleAt = new Date();
      await announceCounted(entries, targets, visibleAt);
      for (const receivedAt of reaching) metrics?.observeFreshness(new Date(receivedAt), visibleAt);
      metrics?.markRollup(visibleAt);
      metrics?.lakeObjectsWritten.inc({ dataset: 'rollups' }, result.objects.length);
      stats.rollupsComputed += 1;
      stats.lastRollup = result;
      stats.lastRollupAt = visibleAt;
      stats.lastRollupMs = Math.round(lastRunMs);
      logger.info(
        {
          mode,
          cycles: result.cycles,
          rows: result.rows,
          inputObjects: result.inputObjects,
          loadedObjects: result.loadedObjects,
          ms: stats.lastRollupMs,
          steps: result.timings,
        },
        'rollups computed',
      );
      return result;
    });

  // Loads newly committed objects into the derivation soon after they are committed, so a run has little
  // left to load. Only with a connection of its own: on the writer's it would hold the writer up.
  const queuePreload = coalescedTrigger(
    derivationSerial,
    async () => {
      await (await theDerivation()).load(await commitLog.committed());
    },
    (error) =>
      logger.warn({ err: error }, 'loading new lake objects for derivation failed; the next run retries'),
  );
  const preload = (): void => {
    if (derivationDuckdb !== undefined && !stopping) queuePreload();
  };

  // `change`: called for a change (a commit, a settings change, commits found in the log), not a run's end.
  const scheduleRollup = (change = true): void => {
    if (stopping) return;
    if (rollupTimer !== undefined) clearTimeout(rollupTimer);
    const now = Date.now();
    waitingSince ??= now;
    if (change) lastChangeAt = now;
    const due = nextDerivationAt(
      {
        waitingSince,
        lastChangeAt,
        recordsBehind: [...lag.values()].reduce((sum, n) => sum + n, 0),
        lastRunEnded,
        lastRunMs,
      },
      {
        debounceMs: rollupDebounceMs,
        cooldownFactor: rollupCooldownFactor,
        behindRecords: rollupBehindRecords,
        maxDelayMs: rollupMaxDelayMs,
      },
    );
    rollupTimer = setTimeout(fire, Math.max(0, (due ?? now) - now));
  };
  const fire = (): void => {
    rollupTimer = undefined;
    if (rollupRunning !== undefined) return; // The run in progress reschedules when it ends.
    rollupRunning = derive('incremental')
      .catch((error: unknown) => {
        logger.error({ err: error }, 'rollup failed; retrying after the next commit or debounce');
        return undefined;
      })
      .finally(() => {
        rollupRunning = undefined;
        if (waitingSince !== undefined || dirty.size > 0 || settingsChanged) scheduleRollup(false);
      });
  };

  // An operator opened, amended, closed or reopened a cycle or designated the current one: expected cities
  // and deadlines may have changed, so every cycle is derived again, and the lake's cycles are rewritten.
  const removeBookListener = cycleBook?.onChange(() => {
    settingsChanged = true;
    writeCycles();
    scheduleRollup();
  });

  // A reviewer acted: reviews.parquet is rewritten, and the cycles whose cities changed state derived again.
  const removeReviewListener = reviewBook?.onChange(() => {
    writeReviews();
    const changed = reviewsChanged();
    if (changed.length === 0) return;
    for (const cycle of changed) dirty.add(cycle);
    scheduleRollup();
  });

  const lakeWatcher = createLakeWatcher({
    commitLog,
    logger,
    intervalMs: lakeWatchMs,
    busy: () => stopping || rollupTimer !== undefined || rollupRunning !== undefined,
    derived: (entry) => derivedEntries.has(entryKey(entry)),
    onUnseen: (unseen) => {
      for (const cycle of cyclesInLake(unseen)) dirty.add(cycle);
      scheduleRollup();
    },
  });

  const handleBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    const { topic, partition } = batch;
    if (!lakeHolds.has(partition)) lakeHolds.set(partition, await commitLog.recover(topic, partition));
    const holds = lakeHolds.get(partition);
    const fresh =
      holds === undefined ? batch.messages : batch.messages.filter((m) => BigInt(m.offset) > holds);
    const skipped = batch.messages.length - fresh.length;
    if (skipped > 0)
      logger.info(
        { partition, skipped, lakeHolds: String(holds) },
        'skipping records the lake already holds',
      );

    for (const chunk of cutChunks(fresh, rotation)) {
      if (!isRunning() || isStale()) return;
      // Waiting for the connection or for the store (an outage) keeps the group membership alive.
      const { entry, receivedAt, submissionIds } = await withHeartbeats(heartbeat, () =>
        serial(() =>
          writeChunk(chunk, topic, partition, {
            store,
            commitLog,
            duckdb,
            rotation,
            signal: abort.signal,
            ...(beforeLakeCommit === undefined ? {} : { beforeCommit: beforeLakeCommit }),
          }),
        ),
      );
      lakeHolds.set(partition, BigInt(chunk.endOffset));
      for (const cycle of cyclesInLake([entry])) dirty.add(cycle);
      if (announce !== undefined) {
        // At least once: a replay may announce a batch again, which readers of the event take as a no-op.
        await sendJson(announce.producer, announce.topic ?? topics.lakeBatchesCommitted, [
          {
            key: String(partition),
            value: {
              topic,
              partition,
              startOffset: chunk.startOffset,
              endOffset: chunk.endOffset,
              submissionIds,
              objects: entry.objects.map((object) => object.key),
            },
          },
        ]);
      }
      await afterChunkCommitted?.(chunk);
      await commitUpTo(partition, BigInt(chunk.endOffset) + 1n);
      resolveOffset(chunk.endOffset);
      awaitingRollup.push(...receivedAt);
      metrics?.lakeObjectsWritten.inc({ dataset: 'observations' }, entry.objects.length);
      metrics?.lakeBytesWritten.inc(
        { dataset: 'observations' },
        entry.objects.reduce((sum, object) => sum + object.bytes, 0),
      );
      metrics?.submissionsAccepted.inc({ stage: 'aggregate' }, entry.records);
      metrics?.observationsAccepted.inc(
        { stage: 'aggregate' },
        entry.objects.reduce((sum, object) => sum + object.rows, 0),
      );
      metrics?.markLakeCommit();
      stats.objectsWritten += entry.objects.length;
      stats.recordsWritten += entry.records;
      stats.lastCommitAt = new Date();
      logger.info(
        {
          partition,
          startOffset: chunk.startOffset,
          endOffset: chunk.endOffset,
          objects: entry.objects.length,
        },
        'lake batch committed',
      );
      await heartbeat();
      lag.set(partition, Math.max(0, Number(batch.highWatermark) - 1 - Number(chunk.endOffset)));
      preload();
      scheduleRollup();
    }
    // Every record of the batch is in the lake. Past its last readable record the batch may still hold
    // records no read_committed consumer is given (the commit marker of validate's last transaction, the
    // records and marker of an aborted one): the commit goes past those too, so a caught-up group's offset
    // is the partition's end and its lag 0, not one per marker.
    if (!isRunning() || isStale()) return;
    const end = batch.lastOffset();
    await commitUpTo(partition, BigInt(end) + 1n);
    resolveOffset(end);
  };

  return {
    stats,
    async start() {
      writeCycles();
      writeReviews();
      writeRectification();
      // Settings may have changed while no instance ran: derive once against the ones in force now.
      // So may the reviews (the rollups' review states, the accepted rollups).
      if ((cycleBook !== undefined && cycleBook.version > 0) || reviewStatesSeen.size > 0) {
        settingsChanged = true;
        scheduleRollup();
      }
      await consumer.subscribe({ topic: validatedTopic, fromBeginning: true });
      supervision = await runSupervised(
        consumer,
        {
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: handleBatch,
        },
        { logger },
      );
    },
    async stop() {
      supervision?.stop();
      await consumer.disconnect();
      removeJoinListener();
      removeBatchListener();
      removeBookListener?.();
      removeReviewListener?.();
      removeRectificationListener?.();
      stopping = true;
      lakeWatcher.stop();
      if (rollupTimer !== undefined) {
        clearTimeout(rollupTimer);
        rollupTimer = undefined;
      }
      await rollupRunning?.catch(() => undefined);
      if (waitingSince !== undefined || dirty.size > 0) await derive('incremental').catch(() => undefined);
      abort.abort();
      // Waits for a load in progress; the derivation's database goes with the DuckDB instance.
      await derivationSerial(async () => (await derivation)?.close()).catch(() => undefined);
    },
    recomputeNow: () => derive('full'),
    recomputeChanged: () => derive('incremental'),
  };
};
