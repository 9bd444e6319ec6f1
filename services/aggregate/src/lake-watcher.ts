// Another instance's lake commits reach this one only through the commit log: while nothing is waiting or
// running here, a periodic look at the log finds batches no derivation of this instance has read yet. That
// includes an instance that has not derived at all: one started after a predecessor was killed between its
// last lake commit and the derivation that would have covered it finds nothing left to consume, and only
// this look brings the rollups up to the lake.
import type { CommitLog, ManifestEntry } from '@citycheck/lake';
import type { Logger } from '@citycheck/logging';

export interface LakeWatcherOptions {
  readonly commitLog: CommitLog;
  readonly logger: Logger;
  /** How often to look. */
  readonly intervalMs: number;
  /** True while a derivation is due or running: it reads the log itself, so there is nothing to look for. */
  readonly busy: () => boolean;
  /** Whether the last derivation here read this entry. */
  readonly derived: (entry: ManifestEntry) => boolean;
  /** Called with the committed entries no derivation here has read, when there are some. */
  readonly onUnseen: (entries: readonly ManifestEntry[]) => void;
}

export interface LakeWatcher {
  /** One look now (what each interval runs). */
  look(): Promise<void>;
  stop(): void;
}

export const createLakeWatcher = ({
  commitLog,
  logger,
  intervalMs,
  busy,
  derived,
  onUnseen,
}: LakeWatcherOptions): LakeWatcher => {
  let stopped = false;
  const look = async (): Promise<void> => {
    if (stopped || busy()) return;
    const unseen = (await commitLog.committed()).filter((entry) => !derived(entry));
    if (unseen.length === 0 || stopped || busy()) return;
    logger.info({ batches: unseen.length }, 'the lake has batches no derivation here has read; deriving');
    onUnseen(unseen);
  };
  const timer = setInterval(() => {
    look().catch((error: unknown) =>
      logger.warn({ err: error }, 'looking for lake commits of other instances failed; trying again later'),
    );
  }, intervalMs);
  timer.unref();
  return {
    look,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
};
