// Where consumers stand against the end of their topics: lag per partition (last stable offset minus the
// group's committed offset) and how many records arrived since a moment, both read from the broker's offsets
// alone.
import type { Admin } from 'kafkajs';

export interface PartitionLag {
  readonly partition: number;
  /**
   * The last stable offset (offsets are listed read_committed): the log end, or the first record of the
   * oldest transaction still open, whose records nobody can read yet.
   */
  readonly end: bigint;
  /** The group's committed offset; undefined when the group never committed on this partition. */
  readonly committed: bigint | undefined;
  /** Records the group has yet to commit. With no commit, everything still in the log counts. */
  readonly lag: bigint;
}

/**
 * Lag of `groupId` on every partition of `topic`: the records up to the last stable offset the group has
 * not committed past. The pipeline's consumers commit past the transaction markers and aborted records that
 * end a partition (a read_committed consumer is never given them), so 0 means nothing readable is left,
 * on a transactional topic as on any other; anything above 0 is a record some consumer still has to read.
 */
export const fetchConsumerLag = async (
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<PartitionLag[]> => {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const committedByPartition = new Map<number, bigint>();
  for (const entry of committed.find((item) => item.topic === topic)?.partitions ?? []) {
    const offset = BigInt(entry.offset);
    if (offset >= 0n) committedByPartition.set(entry.partition, offset);
  }
  return ends
    .map((end) => {
      const high = BigInt(end.high);
      const at = committedByPartition.get(end.partition);
      const from = at ?? BigInt(end.low);
      return { partition: end.partition, end: high, committed: at, lag: high > from ? high - from : 0n };
    })
    .sort((a, b) => a.partition - b.partition);
};

export interface RecordsSince {
  /** Records (offsets) appended to the topic since `sinceMs`, summed over partitions. */
  readonly count: bigint;
  /** Per partition: the first offset at or after `sinceMs` and the end offset. */
  readonly partitions: readonly { readonly partition: number; readonly from: bigint; readonly end: bigint }[];
}

/**
 * Records appended to `topic` since `sinceMs` (by record timestamp), from the broker's time index: no
 * records are read. Counts offsets, so on a transactional topic markers are included.
 */
export const countRecordsSince = async (
  admin: Admin,
  topic: string,
  sinceMs: number,
): Promise<RecordsSince> => {
  const [ends, starts] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchTopicOffsetsByTimestamp(topic, sinceMs),
  ]);
  const startByPartition = new Map(starts.map((start) => [start.partition, BigInt(start.offset)]));
  let count = 0n;
  const partitions = ends
    .map((end) => {
      const high = BigInt(end.high);
      // kafkajs answers the end offset when no record is that recent; a negative answer means the same.
      const raw = startByPartition.get(end.partition) ?? high;
      const from = raw < 0n ? high : raw;
      count += high > from ? high - from : 0n;
      return { partition: end.partition, from, end: high };
    })
    .sort((a, b) => a.partition - b.partition);
  return { count, partitions };
};
