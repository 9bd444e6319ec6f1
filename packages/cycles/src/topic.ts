// cycles.v1 (under TOPIC_NAMESPACE): the admin CLI writes each cycle and the current-cycle designation; every
// service follows it into a CycleBook, so a cycle opened, closed or reopened reaches all within a second.
import { createStateTopic } from '@citycheck/kafka';
import type { CycleBook } from './book.js';
import { type CyclesTopicRecord, currentKey, cycleKey, parseCyclesRecord } from './record.js';

const cycles = createStateTopic<CycleBook, CyclesTopicRecord>({
  name: 'cycles',
  parse: parseCyclesRecord,
  keyOf: (record) => (record.kind === 'current' ? currentKey : cycleKey(record.settings.cycle)),
});

/** The cycles topic of a namespace: `cycles.v1`, or `<namespace>.cycles.v1`. */
export const cyclesTopic = cycles.topicIn;
/** Creates the compacted cycles topic when it does not exist. */
export const ensureCyclesTopic = cycles.ensure;
/** Writes a cycle or the current designation (keyed `cycle-<year>` or `current`); resolves once every in-sync replica has it. */
export const publishCyclesRecord = cycles.publish;
/** Follows cycles.v1 from the beginning into `book` (FollowBookOptions<CycleBook>). Call start(), then await caughtUp(). */
export const followCycles = cycles.follow;
/** Creates the topic, starts following and waits until it is read to its end: what a service does on start. */
export const loadCycles = cycles.load;
