// rectification.v1 (under TOPIC_NAMESPACE): ingest writes each ledger item as its actions come in and follows
// the topic into a RectificationBook; aggregate follows it too and writes the items to the lake.
import { createStateTopic, type FollowBookOptions } from '@citycheck/kafka';
import type { RectificationBook } from './book.js';
import { parseRectificationRecord, type RectificationRecord, rectificationKey } from './record.js';

const rectification = createStateTopic<RectificationBook, RectificationRecord>({
  name: 'rectification',
  parse: parseRectificationRecord,
  keyOf: rectificationKey,
});

export type FollowRectificationOptions = FollowBookOptions<RectificationBook>;

/** The rectification topic of a namespace: `rectification.v1`, or `<namespace>.rectification.v1`. */
export const rectificationTopic = rectification.topicIn;
/** Creates the compacted rectification topic when it does not exist. */
export const ensureRectificationTopic = rectification.ensure;
/** Writes a ledger item under its key; resolves once every in-sync replica has it. */
export const publishRectificationRecord = rectification.publish;
/** Follows rectification.v1 from the beginning into `book`. Call start(), then await caughtUp(). */
export const followRectification = rectification.follow;
/** Creates the topic, starts following and waits until it is read to its end: what a service does on start. */
export const loadRectification = rectification.load;
