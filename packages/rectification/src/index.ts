// Rectification (整改) of the shortfall ledger's items: the records on rectification.v1 (state, plan,
// evidence and audit trail), the pure state machine that moves them, and the book services keep of them.
export { RectificationBook, type RectificationBookListener } from './book.js';
export {
  identifiedItem,
  isCalendarDate,
  itemName,
  type RectificationOutcome,
  type RectificationRefusal,
  type RectificationRefusalCode,
  type RectificationRequest,
  rectificationAction,
  rectificationActionLabels,
  rectificationStateNames,
  rectificationTransitions,
} from './machine.js';
export {
  evidenceContentTypes,
  evidenceObjectKey,
  parseRectificationRecord,
  type RectificationAction,
  type RectificationActionName,
  type RectificationEvidence,
  type RectificationItem,
  type RectificationPlan,
  type RectificationRecord,
  type RectificationState,
  rectificationActionNames,
  rectificationKey,
  rectificationStates,
} from './record.js';
export {
  ensureRectificationTopic,
  type FollowRectificationOptions,
  followRectification,
  loadRectification,
  publishRectificationRecord,
  rectificationTopic,
} from './topic.js';
