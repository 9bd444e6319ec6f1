// Keeping a consumer's place in its group through long waits. kafkajs has no background heartbeat: a member
// that spends longer than the session timeout inside one batch (an object store down for 30 seconds) is
// removed from the group, and its next offset commit fails with "the coordinator is not aware of this
// member", which kafkajs treats as the end of the consumer.
import type { Consumer, EachBatchPayload } from 'kafkajs';

/** Group errors after which the member must rejoin; kafkajs's runner rejoins when it sees one of them. */
const membershipErrors = new Set([
  'UNKNOWN_MEMBER_ID',
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'NOT_COORDINATOR_FOR_GROUP',
]);

const originalCause = (error: unknown): unknown => {
  let current = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  return current;
};

/** Whether `error` (or what it wraps) says this member has lost its place in the group. */
export const isMembershipError = (error: unknown): boolean => {
  const cause = originalCause(error) as { type?: unknown };
  return typeof cause?.type === 'string' && membershipErrors.has(cause.type);
};

/**
 * Commits offsets from inside a batch. When the member has lost its place, the broker's own error is thrown
 * instead of kafkajs's wrapper, so the runner rejoins the group and the batch is fetched again from the
 * committed offset (by whoever owns the partition now) rather than the consumer stopping for good.
 */
export const commitOffsetsOrRejoin = async (
  consumer: Consumer,
  offsets: Parameters<Consumer['commitOffsets']>[0],
): Promise<void> => {
  try {
    await consumer.commitOffsets(offsets);
  } catch (error) {
    if (isMembershipError(error)) throw originalCause(error);
    throw error;
  }
};

/**
 * Runs `work` while sending heartbeats every `everyMs` (kafkajs sends one at most every heartbeat interval),
 * so waiting out an outage does not cost the membership. A heartbeat that fails is left to the commit
 * after the work, which then rejoins (see commitOffsetsOrRejoin).
 */
export const withHeartbeats = async <T>(
  heartbeat: EachBatchPayload['heartbeat'],
  work: () => Promise<T>,
  everyMs = 1_000,
): Promise<T> => {
  const timer = setInterval(() => {
    heartbeat().catch(() => undefined);
  }, everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
};
