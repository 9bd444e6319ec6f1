// What reviews.v1 holds: one record per city and cycle, keyed `review-<cycle>-<city>`, with the review's
// state and every action on it (who, when, why, and the comments naming units and indicators). The topic is
// compacted, so the latest record of each key is the state and each record carries its own audit trail.

export type ReviewState = 'draft' | 'submitted' | 'returned' | 'approved' | 'accepted' | 'reopened';

export type ReviewActionName = 'submit' | 'return' | 'approve' | 'accept' | 'reopen';

/** A reviewer's remark, naming the unit (a district or the city) and the indicator it is about. */
export interface ReviewComment {
  readonly text: string;
  /** Six-digit code of the unit the remark is about. */
  readonly unit?: string;
  /** Catalogue code of the indicator the remark is about. */
  readonly indicator?: string;
}

/** One action, kept forever in the record it changed. */
export interface ReviewAction {
  readonly action: ReviewActionName;
  /** The credential's name, as issued. */
  readonly by: string;
  readonly credentialId: string;
  /** The credential's role (`city`, `reviewer:province:64`, `reviewer:ministry`). */
  readonly role: string;
  /** ISO timestamp (UTC) of the action. */
  readonly at: string;
  /** The state the action left. */
  readonly state: ReviewState;
  /** Why; required for a reopen. */
  readonly reason?: string;
  readonly comments?: readonly ReviewComment[];
}

export interface ReviewRecord {
  readonly kind: 'review';
  readonly cycle: number;
  readonly cityCode: string;
  readonly state: ReviewState;
  /** Every action so far, the latest last. */
  readonly actions: readonly ReviewAction[];
}

export const reviewKey = (cycle: number, cityCode: string): string => `review-${cycle}-${cityCode}`;

const states: readonly ReviewState[] = ['draft', 'submitted', 'returned', 'approved', 'accepted', 'reopened'];
const actionNames: readonly ReviewActionName[] = ['submit', 'return', 'approve', 'accept', 'reopen'];

const fail = (message: string): never => {
  throw new Error(`reviews record: ${message}`);
};

const parseComments = (value: unknown): ReviewComment[] => {
  if (!Array.isArray(value)) return fail('comments must be a list');
  return value.map((comment: Record<string, unknown>) => {
    if (
      typeof comment?.text !== 'string' ||
      (comment.unit !== undefined && typeof comment.unit !== 'string') ||
      (comment.indicator !== undefined && typeof comment.indicator !== 'string')
    )
      return fail('a comment needs a text (and unit, indicator as strings)');
    return comment as unknown as ReviewComment;
  });
};

const parseAction = (action: Record<string, unknown>): ReviewAction => {
  if (
    !actionNames.includes(action?.action as ReviewActionName) ||
    typeof action.by !== 'string' ||
    typeof action.credentialId !== 'string' ||
    typeof action.role !== 'string' ||
    typeof action.at !== 'string' ||
    Number.isNaN(Date.parse(action.at)) ||
    !states.includes(action.state as ReviewState) ||
    (action.reason !== undefined && typeof action.reason !== 'string')
  )
    return fail('an action needs action, by, credentialId, role, at and state');
  if (action.comments !== undefined) parseComments(action.comments);
  return action as unknown as ReviewAction;
};

/** Reads a record of reviews.v1; throws on anything malformed (the follower skips and reports it). */
export const parseReviewRecord = (key: string, value: unknown): ReviewRecord => {
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const record = value as Record<string, unknown>;
  if (record.kind !== 'review') return fail(`unknown kind ${String(record.kind)}`);
  if (!Number.isInteger(record.cycle) || typeof record.cityCode !== 'string')
    return fail('a review needs a cycle and a cityCode');
  if (!states.includes(record.state as ReviewState)) return fail(`unknown state ${String(record.state)}`);
  if (key !== reviewKey(record.cycle as number, record.cityCode))
    return fail(`review of ${record.cityCode} for ${record.cycle} under key ${key}`);
  if (!Array.isArray(record.actions)) return fail('actions must be a list');
  return {
    kind: 'review',
    cycle: record.cycle as number,
    cityCode: record.cityCode,
    state: record.state as ReviewState,
    actions: record.actions.map(parseAction),
  };
};
