// The lake writer's contract. Given one fetched batch of validated submissions from one topic partition:
// records the lake already holds (offset <= the last committed manifest entry) are skipped; the rest are cut
// into chunks (by record count, input bytes and record-time span), and each chunk becomes one Parquet object
// per (cycle, province, city), announced in the commit log, written, then committed. Only then does the
// caller commit Kafka offsets. A replay after a crash rewrites the same object names and is skipped once
// committed, so every observation is in the lake exactly once.
import type { KafkaMessage } from '@citycheck/kafka';
import {
  type CommitLog,
  type DuckDBConnection,
  datasets,
  encodeQueryParquet as encodeParquet,
  type ManifestEntry,
  type ObjectStore,
  observationObjectKey,
} from '@citycheck/lake';
import {
  chunkRecordsSql,
  chunkRowsSql,
  chunkSubmissionsSql,
  observationColumns,
  observationOrder,
} from './lake-rows.js';

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export interface RotationPolicy {
  readonly maxRecords: number;
  readonly maxBytes: number;
  /** Largest difference between record timestamps (not wall-clock time) within one object. */
  readonly maxRecordSpanMs: number;
}

export interface LakeWriterDeps {
  readonly store: ObjectStore;
  readonly commitLog: CommitLog;
  readonly duckdb: DuckDBConnection;
  readonly rotation: RotationPolicy;
  readonly signal?: AbortSignal;
  /** Called after the objects are written and before the batch is committed; fault tests crash here. */
  readonly beforeCommit?: () => Promise<void> | void;
}

export interface Chunk {
  readonly messages: readonly KafkaMessage[];
  readonly startOffset: string;
  readonly endOffset: string;
}

/** Cuts messages into chunks; a pure function of the messages, so a replay cuts the same chunks. */
export const cutChunks = (messages: readonly KafkaMessage[], rotation: RotationPolicy): Chunk[] => {
  const chunks: Chunk[] = [];
  let current: KafkaMessage[] = [];
  let bytes = 0;
  let records = 0;
  let firstTimestamp = 0;
  const close = (): void => {
    const first = current[0];
    const last = current[current.length - 1];
    if (first !== undefined && last !== undefined) {
      chunks.push({ messages: current, startOffset: first.offset, endOffset: last.offset });
    }
    current = [];
    bytes = 0;
    records = 0;
  };
  for (const message of messages) {
    const size = message.value?.length ?? 0;
    const timestamp = Number(message.timestamp);
    if (
      current.length > 0 &&
      (records >= rotation.maxRecords ||
        bytes + size > rotation.maxBytes ||
        timestamp - firstTimestamp > rotation.maxRecordSpanMs)
    ) {
      close();
    }
    if (current.length === 0) firstTimestamp = timestamp;
    current.push(message);
    bytes += size;
    records += 1;
  }
  close();
  return chunks;
};

export interface WrittenChunk {
  readonly entry: ManifestEntry;
  /** When ingest received each submission of the chunk (epoch ms), for end-to-end freshness. */
  readonly receivedAt: readonly number[];
  /** The chunk's submission ids, in offset order (for lake.batches-committed.v1). */
  readonly submissionIds: readonly string[];
}

/** Writes one chunk to the lake and commits it in the log; returns the committed manifest entry. */
export const writeChunk = async (
  chunk: Chunk,
  topic: string,
  partition: number,
  { store, commitLog, duckdb, signal, beforeCommit }: LakeWriterDeps,
): Promise<WrittenChunk> => {
  // The records' JSON goes to DuckDB as it came from Kafka (lake-rows.ts unpacks it there).
  await duckdb.run(chunkRecordsSql);
  const appender = await duckdb.createAppender('chunk_records', null, 'temp');
  for (const message of chunk.messages) {
    appender.appendBigInt(BigInt(message.offset));
    appender.appendVarchar(message.value?.toString('utf8') ?? 'null');
    appender.endRow();
  }
  appender.closeSync();
  await duckdb.run(chunkSubmissionsSql);
  await duckdb.run(chunkRowsSql(topic, partition));
  const records = await duckdb.runAndReadAll(
    'SELECT epoch_ms(s.receivedAt) AS received_at, s.submissionId AS submission_id FROM submissions ORDER BY source_offset',
  );
  const receivedAt: number[] = [];
  const submissionIds: string[] = [];
  for (const row of records.getRowObjectsJS()) {
    receivedAt.push(Number(row.received_at));
    submissionIds.push(String(row.submission_id ?? ''));
  }
  const groupRows = await duckdb.runAndReadAll(
    'SELECT cycle, province_code, city_code, count(*) AS rows FROM chunk_rows GROUP BY ALL ORDER BY ALL',
  );
  const groups = groupRows.getRowObjectsJS().map((row) => ({
    cycle: Number(row.cycle),
    provinceCode: String(row.province_code),
    cityCode: String(row.city_code),
    rows: Number(row.rows),
  }));
  const planned = [...groups.values()].map((group) => ({
    group,
    key: observationObjectKey({
      cycle: group.cycle,
      provinceCode: group.provinceCode,
      cityCode: group.cityCode,
      topic,
      partition,
      startOffset: chunk.startOffset,
    }),
  }));
  const base = {
    dataset: datasets.observations,
    topic,
    partition,
    startOffset: chunk.startOffset,
    endOffset: chunk.endOffset,
    records: chunk.messages.length,
  };
  await commitLog.begin({
    ...base,
    objects: planned.map(({ key, group }) => ({ key, rows: group.rows, bytes: 0 })),
  });
  const objects = [];
  for (const { key, group } of planned) {
    const body = await encodeParquet(
      duckdb,
      `SELECT ${Object.keys(observationColumns).join(', ')} FROM chunk_rows
       WHERE cycle = ${group.cycle} AND province_code = ${quote(group.provinceCode)} AND city_code = ${quote(group.cityCode)}`,
      observationOrder,
    );
    // An object-store outage delays the batch; it is never dropped, and offsets wait for it.
    await store.put(key, body, 'application/vnd.apache.parquet', {
      maxElapsedMs: Number.POSITIVE_INFINITY,
      ...(signal === undefined ? {} : { signal }),
    });
    objects.push({ key, rows: group.rows, bytes: body.byteLength });
  }
  await beforeCommit?.();
  await duckdb.run('DROP TABLE chunk_records; DROP TABLE submissions; DROP TABLE chunk_rows');
  return { entry: await commitLog.commit({ ...base, objects }), receivedAt, submissionIds };
};
