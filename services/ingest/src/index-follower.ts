// Feeds the submission index from Kafka: submissions.received.v1 (ingest's own output, from every instance),
// submissions.validated.v1 and submissions.rejected.v1 (validate) and lake.batches-committed.v1 (aggregate),
// each read from the beginning on start and followed after, so the index survives restarts and any instance
// can answer for a submission another instance accepted.
import type { FieldProblem } from '@citycheck/errors';
import {
  createTopicFollower,
  type FollowedMessage,
  type FollowerSettings,
  type Kafka,
  type TopicFollower,
  topics,
} from '@citycheck/kafka';
import { lakeBatchKey, type SubmissionIndex } from './submission-index.js';

export interface IndexTopics {
  readonly received: string;
  readonly validated: string;
  readonly rejected: string;
  readonly committed: string;
  /** lake.rollups-derived.v1: which lake batches each derivation counted; without it, no status says counted. */
  readonly derived?: string;
}

export const defaultIndexTopics: IndexTopics = {
  received: topics.submissionsReceived,
  validated: topics.submissionsValidated,
  rejected: topics.submissionsRejected,
  committed: topics.lakeBatchesCommitted,
  derived: topics.lakeRollupsDerived,
};

/** Headers ingest puts on each received record, so the index is rebuilt without parsing submissions. */
export const receivedHeaders = {
  submissionId: 'submission-id',
  contentHash: 'content-hash',
  receivedAt: 'received-at',
  credentialId: 'credential-id',
  /** `true` when received after its cycle's deadline; absent otherwise. */
  late: 'late',
  cycle: 'cycle',
  unitLevel: 'unit-level',
  unitCode: 'unit-code',
} as const;

const header = (message: FollowedMessage['message'], name: string): string | undefined => {
  const value = message.headers?.[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value[0] : value)?.toString('utf8');
};

const object = (value: Buffer | null): Record<string, unknown> => {
  if (value === null) throw new Error('record without a value');
  const parsed: unknown = JSON.parse(value.toString('utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('record is not an object');
  return parsed as Record<string, unknown>;
};

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Applies one record of any of the four topics to the index. Throws on a record it cannot read. */
export const applyToIndex = (
  index: SubmissionIndex,
  names: IndexTopics,
  { topic, partition, message }: FollowedMessage,
) => {
  if (topic === names.received) {
    let submissionId = header(message, receivedHeaders.submissionId);
    let contentHash = header(message, receivedHeaders.contentHash);
    let receivedAt = header(message, receivedHeaders.receivedAt);
    let cycle: number | undefined = Number(header(message, receivedHeaders.cycle));
    const unitLevel = header(message, receivedHeaders.unitLevel);
    const unitCode = header(message, receivedHeaders.unitCode);
    let unit =
      unitLevel === undefined || unitCode === undefined ? undefined : { level: unitLevel, code: unitCode };
    // Records written before ingest put the cycle and unit on its headers are read from their value.
    if (
      submissionId === undefined ||
      contentHash === undefined ||
      receivedAt === undefined ||
      unit === undefined
    ) {
      const record = object(message.value);
      const submission = (record.submission ?? {}) as Record<string, unknown>;
      submissionId = text(submission.submissionId);
      contentHash = text(record.contentHash);
      receivedAt = text(record.receivedAt);
      cycle = Number(submission.cycle);
      const { level, code } = (submission.unit ?? {}) as Record<string, unknown>;
      unit = typeof level === 'string' && typeof code === 'string' ? { level, code } : undefined;
    }
    if (submissionId === '') return;
    index.recordAccepted({
      submissionId,
      cityCode: message.key?.toString('utf8') ?? '',
      contentHash,
      receivedAt,
      partition,
      offset: message.offset,
      late: header(message, receivedHeaders.late) === 'true',
      ...(Number.isSafeInteger(cycle) ? { cycle } : {}),
      ...(unit === undefined ? {} : { unit }),
    });
  } else if (topic === names.validated) {
    const record = object(message.value);
    index.recordValid(text(record.submissionId), text(record.cityCode), text(record.contentHash));
  } else if (topic === names.rejected) {
    const record = object(message.value);
    // A record rejected before its id could be read (not JSON, no id) belongs to no submission a city can ask for.
    if (typeof record.submissionId !== 'string') return;
    const problems = Array.isArray(record.problems) ? (record.problems as FieldProblem[]) : [];
    index.recordRejected(record.submissionId, text(record.cityCode), text(record.contentHash), problems);
  } else if (topic === names.committed) {
    const record = object(message.value);
    if (!Array.isArray(record.submissionIds)) throw new Error('lake batch without submissionIds');
    const batch = lakeBatchKey(String(record.partition), text(record.startOffset));
    for (const id of record.submissionIds) if (typeof id === 'string') index.recordStored(id, batch);
  } else if (topic === names.derived) {
    const record = object(message.value);
    if (!Array.isArray(record.batches)) throw new Error('derivation record without batches');
    for (const batch of record.batches as Record<string, unknown>[])
      index.recordCounted(
        lakeBatchKey(String(batch.partition), text(batch.startOffset)),
        text(record.derivedAt),
      );
  }
};

export interface FollowIndexOptions extends FollowerSettings {
  readonly kafka: Kafka;
  readonly index: SubmissionIndex;
  readonly topics?: IndexTopics;
  readonly groupIdPrefix?: string;
  readonly onInvalidRecord?: (
    error: unknown,
    where: { topic: string; partition: number; offset: string },
  ) => void;
}

export const followSubmissionIndex = ({
  kafka,
  index,
  topics: names = defaultIndexTopics,
  groupIdPrefix = 'citycheck-ingest-index',
  onInvalidRecord = () => undefined,
  ...settings
}: FollowIndexOptions): TopicFollower =>
  createTopicFollower({
    kafka,
    topics: [
      names.received,
      names.validated,
      names.rejected,
      names.committed,
      ...(names.derived === undefined ? [] : [names.derived]),
    ],
    groupIdPrefix,
    ...settings,
    apply: (message) => applyToIndex(index, names, message),
    onError: (error, { topic, partition, message }) =>
      onInvalidRecord(error, { topic, partition, offset: message.offset }),
  });
