// Source of the status page's flow: each stage's records within the window and its consumer lag, read from
// the broker's offsets (so it holds even when a service exports no metrics) and, for the aggregate stage,
// from the lake's commit log when given.
import { type Admin, countRecordsSince, fetchConsumerLag } from '@citycheck/kafka';
import type { ManifestEntry } from '@citycheck/lake';

export interface StageFlow {
  readonly handled: number;
  readonly lag: number;
  readonly lagByPartition: readonly { readonly partition: number; readonly lag: number }[];
}

export const noFlow: StageFlow = { handled: 0, lag: 0, lagByPartition: [] };

/** Records appended to `topic` since `since` (ingest's output). */
export const recordsArrived = async (admin: Admin, topic: string, since: number): Promise<number> =>
  Number((await countRecordsSince(admin, topic, since)).count);

/**
 * Records of `topic` the group has committed among those that arrived within the window, and its lag, as the
 * lag gauge defines it (fetchConsumerLag): the workers commit past transaction markers, so the lag counts
 * records still to read on the transactional validated topic too.
 */
export const handledInWindow = async (
  admin: Admin,
  group: string,
  topic: string,
  since: number,
): Promise<StageFlow> => {
  const [lag, arrived] = await Promise.all([
    fetchConsumerLag(admin, group, topic),
    countRecordsSince(admin, topic, since),
  ]);
  let handled = 0n;
  for (const partition of arrived.partitions) {
    const committed = lag.find((item) => item.partition === partition.partition)?.committed ?? partition.from;
    if (committed > partition.from) handled += committed - partition.from;
  }
  const lagByPartition = lag.map((item) => ({ partition: item.partition, lag: Number(item.lag) }));
  return {
    handled: Number(handled),
    lag: lagByPartition.reduce((total, item) => total + item.lag, 0),
    lagByPartition,
  };
};

/** The aggregate stage: lag from the group's offsets, records from the lake's commits within the window. */
export const aggregateFlow = async (
  admin: Admin,
  group: string,
  topic: string,
  since: number,
  lakeCommits?: () => Promise<readonly Pick<ManifestEntry, 'records' | 'writtenAt'>[]>,
): Promise<StageFlow> => {
  const fromOffsets = await handledInWindow(admin, group, topic, since);
  if (lakeCommits === undefined) return fromOffsets;
  const committed = (await lakeCommits()).filter((entry) => Date.parse(entry.writtenAt) >= since);
  return { ...fromOffsets, handled: committed.reduce((total, entry) => total + entry.records, 0) };
};
