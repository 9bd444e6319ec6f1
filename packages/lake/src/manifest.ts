// The lake's commit log. A batch is announced (pending) before its objects are written and marked
// committed after; Kafka offsets are committed only after that. Readers take only committed objects, so
// they never see half a batch, and a worker that restarts can tell what the lake already holds.
import { allManifestsPrefix, manifestKey, manifestPrefix } from './layout.js';
import type { ObjectStore } from './object-store.js';

export interface ManifestObject {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface ManifestEntry {
  readonly dataset: string;
  readonly topic: string;
  readonly partition: number;
  /** First and last Kafka offsets (inclusive, as decimal strings) of the records in this batch. */
  readonly startOffset: string;
  readonly endOffset: string;
  readonly state: 'pending' | 'committed';
  readonly objects: readonly ManifestObject[];
  readonly records: number;
  readonly writtenAt: string;
}

const encode = (entry: ManifestEntry): string => `${JSON.stringify(entry, null, 1)}\n`;
const decode = (bytes: Uint8Array): ManifestEntry =>
  JSON.parse(Buffer.from(bytes).toString('utf8')) as ManifestEntry;

export interface CommitLog {
  /** Records the intent to write `entry.objects`; call before writing them. */
  begin(entry: Omit<ManifestEntry, 'state' | 'writtenAt'>): Promise<void>;
  /** Marks the batch complete; readers see its objects from now on. */
  commit(entry: Omit<ManifestEntry, 'state' | 'writtenAt'>): Promise<ManifestEntry>;
  /**
   * Brings one topic partition to a clean state after a restart: removes the objects of a batch that was
   * announced but never committed, and returns the last offset the lake holds (undefined when none).
   */
  recover(topic: string, partition: number): Promise<bigint | undefined>;
  /** Every committed entry of the dataset, oldest first within each partition. */
  committed(): Promise<ManifestEntry[]>;
}

export const createCommitLog = (store: ObjectStore, dataset: string): CommitLog => {
  // Committed entries never change, so each is read from the store once per process.
  const cache = new Map<string, ManifestEntry>();

  const put = async (entry: ManifestEntry): Promise<void> => {
    const key = manifestKey(dataset, entry.topic, entry.partition, entry.startOffset);
    await store.put(key, encode(entry), 'application/json', { maxElapsedMs: Number.POSITIVE_INFINITY });
    if (entry.state === 'committed') cache.set(key, entry);
    else cache.delete(key);
  };

  const read = async (key: string): Promise<ManifestEntry | undefined> => {
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const bytes = await store.get(key);
    if (bytes === undefined) return undefined;
    const entry = decode(bytes);
    if (entry.state === 'committed') cache.set(key, entry);
    return entry;
  };

  return {
    async begin(entry) {
      await put({ ...entry, state: 'pending', writtenAt: new Date().toISOString() });
    },
    async commit(entry) {
      const committed: ManifestEntry = { ...entry, state: 'committed', writtenAt: new Date().toISOString() };
      await put(committed);
      return committed;
    },
    async recover(topic, partition) {
      const keys = await store.list(manifestPrefix(dataset, topic, partition));
      for (let i = keys.length - 1; i >= 0; i -= 1) {
        const key = keys[i] as string;
        const entry = await read(key);
        if (entry === undefined) continue;
        if (entry.state === 'committed') return BigInt(entry.endOffset);
        // An announced batch that never committed: its objects may be partly written. Remove them so the
        // replay that follows is the only copy.
        await store.delete([...entry.objects.map((object) => object.key), key]);
      }
      return undefined;
    },
    async committed() {
      const keys = await store.list(allManifestsPrefix(dataset));
      const entries: ManifestEntry[] = [];
      for (const key of keys) {
        const entry = await read(key);
        if (entry?.state === 'committed') entries.push(entry);
      }
      return entries;
    },
  };
};
