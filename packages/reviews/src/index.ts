// Review and sign-off of each city's data per cycle: the records on reviews.v1 (state and audit trail), the
// pure state machine that moves them, the book services keep of them, and whether a city's cycle is locked.
export { ReviewBook, type ReviewBookListener } from './book.js';
export {
  actionNames,
  cityCycleLockedProblem,
  draftReview,
  isLocked,
  type LockLanguage,
  lockedMessage,
  provinceOf,
  type ReviewOutcome,
  type ReviewRefusal,
  type ReviewRefusalCode,
  type ReviewRequest,
  reviewAction,
  reviewTransitions,
  stateNames,
  wasLockedAt,
} from './machine.js';
export {
  parseReviewRecord,
  type ReviewAction,
  type ReviewActionName,
  type ReviewComment,
  type ReviewRecord,
  type ReviewState,
  reviewKey,
} from './record.js';
export {
  ensureReviewsTopic,
  type FollowReviewsOptions,
  followReviews,
  loadReviews,
  publishReviewRecord,
  reviewsTopic,
} from './topic.js';
