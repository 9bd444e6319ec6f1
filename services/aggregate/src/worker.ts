// The aggregate worker: consumes validated submissions, writes them to the Parquet lake (see lake-writer.ts),
// commits Kafka offsets only after the objects are committed in the lake's log, and recomputes the rollups,
// debounced, after new objects arrive. `recomputeNow` runs the same computation on demand.
import {
  type Consumer,
  commitOffsetsOrRejoin,
  decodeJson,
  type EachBatchPayload,
  type Producer,
  sendJson,
  topics,
  withHeartbeats,
} from '@citycheck/kafka';
import type { CommitLog, DuckDBConnection, ObjectStore } from '@citycheck/lake';
import type { Logger } from '@citycheck/logging';
import type { PipelineMetrics } from '@citycheck/metrics';
import { type CycleSettings, cyclesInLake, type DeriveResult, deriveCycles } from './derive.js';
import { type Chunk, cutChunks, type RotationPolicy, writeChunk } from './lake-writer.js';

export interface AggregateWorkerOptions {
  readonly consumer: Consumer;
  readonly store: ObjectStore;
  readonly commitLog: CommitLog;
  readonly duckdb: DuckDBConnection;
  readonly logger: Logger;
  readonly cycles: readonly CycleSettings[];
  readonly rotation: RotationPolicy;
  readonly rollupDebounceMs?: number;
  readonly validatedTopic?: string;
  /** Where to announce each committed batch (topic lake.batches-committed.v1); omit to announce nothing. */
  readonly announce?: { readonly producer: Producer; readonly topic?: string };
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
  rotation,
  rollupDebounceMs = 1_000,
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
    lastCommitAt: undefined,
  };
  const abort = new AbortController();
  // Last offset the lake holds per partition, learned from the commit log whenever partitions are assigned.
  const lakeHolds = new Map<number, bigint | undefined>();
  const removeJoinListener = consumer.on(consumer.events.GROUP_JOIN, () => lakeHolds.clear());

  // DuckDB work (Parquet encoding, rollups) runs one statement at a time on the shared connection.
  let duckdbQueue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = duckdbQueue.then(work, work);
    duckdbQueue = next.catch(() => undefined);
    return next;
  };

  // Cycles whose lake content changed since the last derivation; the next run rewrites only those and the
  // cycle after each (whose year-over-year comparisons and ledger statuses read them).
  const dirty = new Set<number>();
  // Receipt times of submissions committed since the last derivation: visible in rollups once it runs.
  let awaitingRollup: number[] = [];
  let rollupTimer: NodeJS.Timeout | undefined;
  let rollupRunning: Promise<DeriveResult | undefined> | undefined;
  const derive = (mode: 'incremental' | 'full'): Promise<DeriveResult> =>
    serial(async () => {
      const entries = await commitLog.committed();
      const inLake = cyclesInLake(entries);
      const targets =
        mode === 'full' ? inLake : inLake.filter((cycle) => dirty.has(cycle) || dirty.has(cycle - 1));
      if (mode === 'full') dirty.clear();
      else for (const cycle of targets) dirty.delete(cycle);
      const reaching = awaitingRollup;
      awaitingRollup = [];
      const result = await deriveCycles(duckdb, store, entries, cycles, targets);
      const visibleAt = new Date();
      for (const receivedAt of reaching) metrics?.observeFreshness(new Date(receivedAt), visibleAt);
      metrics?.markRollup(visibleAt);
      metrics?.lakeObjectsWritten.inc({ dataset: 'rollups' }, result.objects.length);
      stats.rollupsComputed += 1;
      stats.lastRollup = result;
      stats.lastRollupAt = new Date();
      logger.info(
        { mode, cycles: result.cycles, rows: result.rows, inputObjects: result.inputObjects },
        'rollups computed',
      );
      return result;
    });
  const scheduleRollup = (): void => {
    if (rollupTimer !== undefined) clearTimeout(rollupTimer);
    rollupTimer = setTimeout(() => {
      rollupTimer = undefined;
      rollupRunning = derive('incremental').catch((error: unknown) => {
        logger.error({ err: error }, 'rollup failed; retrying after the next commit or debounce');
        scheduleRollup();
        return undefined;
      });
    }, rollupDebounceMs);
  };

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
      const { entry, receivedAt } = await withHeartbeats(heartbeat, () =>
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
              submissionIds: chunk.messages.map((message) => submissionIdOf(message.value)),
              objects: entry.objects.map((object) => object.key),
            },
          },
        ]);
      }
      await afterChunkCommitted?.(chunk);
      await commitOffsetsOrRejoin(consumer, [
        { topic, partition, offset: (BigInt(chunk.endOffset) + 1n).toString() },
      ]);
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
      scheduleRollup();
    }
    const last = batch.messages[batch.messages.length - 1];
    if (skipped > 0 && last !== undefined && fresh.length === 0) {
      await commitOffsetsOrRejoin(consumer, [
        { topic, partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
      resolveOffset(last.offset);
    }
  };

  return {
    stats,
    async start() {
      await consumer.subscribe({ topic: validatedTopic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: handleBatch,
      });
    },
    async stop() {
      await consumer.disconnect();
      removeJoinListener();
      if (rollupTimer !== undefined) {
        clearTimeout(rollupTimer);
        rollupTimer = undefined;
        await derive('incremental').catch(() => undefined);
      }
      await rollupRunning?.catch(() => undefined);
      abort.abort();
    },
    recomputeNow: () => derive('full'),
    recomputeChanged: () => derive('incremental'),
  };
};

const submissionIdOf = (value: Buffer | null): string =>
  (decodeJson(value) as { submissionId?: string }).submissionId ?? '';
