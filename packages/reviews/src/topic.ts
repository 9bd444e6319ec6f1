// reviews.v1 (under TOPIC_NAMESPACE): ingest writes each city's review for a cycle as its actions come in;
// ingest and validate follow it into a ReviewBook, so an accepted city's data are locked within a second.
import { createStateTopic, type FollowBookOptions } from '@citycheck/kafka';
import type { ReviewBook } from './book.js';
import { parseReviewRecord, type ReviewRecord, reviewKey } from './record.js';

const reviews = createStateTopic<ReviewBook, ReviewRecord>({
  name: 'reviews',
  parse: parseReviewRecord,
  keyOf: (record) => reviewKey(record.cycle, record.cityCode),
});

export type FollowReviewsOptions = FollowBookOptions<ReviewBook>;

/** The reviews topic of a namespace: `reviews.v1`, or `<namespace>.reviews.v1`. */
export const reviewsTopic = reviews.topicIn;
/** Creates the compacted reviews topic when it does not exist. */
export const ensureReviewsTopic = reviews.ensure;
/** Writes a city's review of a cycle under `review-<cycle>-<city>`; resolves once every in-sync replica has it. */
export const publishReviewRecord = reviews.publish;
/** Follows reviews.v1 from the beginning into `book`. Call start(), then await caughtUp(). */
export const followReviews = reviews.follow;
/** Creates the topic, starts following and waits until it is read to its end: what a service does on start. */
export const loadReviews = reviews.load;
