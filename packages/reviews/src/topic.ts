// reviews.v1 (under TOPIC_NAMESPACE): ingest writes each city's review for a cycle as its actions come in;
// ingest and validate follow it into a ReviewBook, so an accepted city's data are locked within a second.
import {
  ensureCompactedTopic,
  type FollowBookOptions,
  followKeyedRecords,
  type Kafka,
  loadKeyedRecords,
  type Producer,
  sendJson,
  stateTopics,
  type TopicFollower,
} from '@citycheck/kafka';
import type { ReviewBook } from './book.js';
import { parseReviewRecord, type ReviewRecord, reviewKey } from './record.js';

/** The reviews topic of a namespace: `reviews.v1`, or `<namespace>.reviews.v1`. */
export const reviewsTopic = (namespace = ''): string =>
  namespace === '' ? stateTopics.reviews : `${namespace}.${stateTopics.reviews}`;

/** Creates the compacted reviews topic when it does not exist. */
export const ensureReviewsTopic = (
  kafka: Kafka,
  { topic = reviewsTopic(), replicationFactor }: { topic?: string; replicationFactor?: number } = {},
): Promise<void> => ensureCompactedTopic(kafka, { topic, replicationFactor });

/** Writes a record; resolves once every in-sync replica has it. */
export const publishReviewRecord = async (
  producer: Producer,
  record: ReviewRecord,
  topic: string = reviewsTopic(),
): Promise<void> => {
  await sendJson(producer, topic, [{ key: reviewKey(record.cycle, record.cityCode), value: record }]);
};

export type FollowReviewsOptions = FollowBookOptions<ReviewBook>;

/** Follows reviews.v1 from the beginning into `book`. Call start(), then await caughtUp(). */
export const followReviews = ({
  book,
  topic = reviewsTopic(),
  groupIdPrefix = 'citycheck-reviews',
  ...options
}: FollowReviewsOptions): TopicFollower =>
  followKeyedRecords({
    ...options,
    topic,
    groupIdPrefix,
    recordName: 'reviews',
    apply: (key, value) => book.apply(key, value === null ? null : parseReviewRecord(key, value)),
  });

/** Creates the topic, starts following and waits until it is read to its end: what a service does on start. */
export const loadReviews = ({
  replicationFactor,
  ...options
}: FollowReviewsOptions & { replicationFactor?: number }): Promise<TopicFollower> =>
  loadKeyedRecords(options.kafka, { topic: options.topic ?? reviewsTopic(), replicationFactor }, () =>
    followReviews(options),
  );
