// The review of one city's data for one cycle as a pure state machine: given the record so far, who acts and
// what they ask, either the record to publish (with the action appended to its audit trail) or a refusal
// saying precisely why. The city submits; its province returns or approves; only the ministry accepts; a
// reviewer of the city's province or the ministry reopens, with a reason. Nothing else moves.
import { type Principal, roleOf } from '@citycheck/credentials';
import { beijingTime } from '@citycheck/cycles';
import type { FieldProblem } from '@citycheck/errors';
import type { ReviewAction, ReviewActionName, ReviewComment, ReviewRecord, ReviewState } from './record.js';

/** From which states each action may be taken, and the state it leaves. */
export const reviewTransitions: Readonly<
  Record<ReviewActionName, { readonly from: readonly ReviewState[]; readonly to: ReviewState }>
> = {
  submit: { from: ['draft', 'returned', 'reopened'], to: 'submitted' },
  return: { from: ['submitted'], to: 'returned' },
  approve: { from: ['submitted'], to: 'approved' },
  accept: { from: ['approved'], to: 'accepted' },
  reopen: { from: ['accepted'], to: 'reopened' },
};

export const stateNames: Readonly<Record<ReviewState, string>> = {
  draft: '未提交',
  submitted: '已提交审核',
  returned: '已退回',
  approved: '省级已通过',
  accepted: '部级已验收',
  reopened: '已重新开放',
};

export const actionNames: Readonly<Record<ReviewActionName, string>> = {
  submit: '提交审核',
  return: '退回',
  approve: '通过',
  accept: '验收',
  reopen: '重新开放',
};

export type ReviewRefusalCode =
  /** The caller's role may not take this action on this city (wrong role, province or city). */
  | 'review_forbidden'
  /** The action is not possible from the review's current state. */
  | 'review_transition_refused'
  /** The request lacks what the action needs (a reopen's reason, a return's comments). */
  | 'review_invalid';

export interface ReviewRefusal {
  readonly code: ReviewRefusalCode;
  readonly message: string;
}

export type ReviewOutcome =
  | { readonly ok: true; readonly record: ReviewRecord }
  | { readonly ok: false; readonly refusal: ReviewRefusal };

export interface ReviewRequest {
  readonly action: ReviewActionName;
  readonly cycle: number;
  readonly cityCode: string;
  readonly by: Principal;
  readonly at: Date;
  readonly reason?: string;
  readonly comments?: readonly ReviewComment[];
}

/** The province a city reports to: the first two digits of its code (640181 -> 64). */
export const provinceOf = (cityCode: string): string => cityCode.slice(0, 2);

const forbidden = (message: string): ReviewOutcome => ({
  ok: false,
  refusal: { code: 'review_forbidden', message },
});

/** Whether `by` may take `action` on `cityCode`'s review; the refusal says who may. */
const entitlementProblem = (
  action: ReviewActionName,
  cityCode: string,
  by: Principal,
): ReviewOutcome | undefined => {
  const name = actionNames[action];
  const province = provinceOf(cityCode);
  if (action === 'submit') {
    if (by.kind !== 'city')
      return forbidden(`只有城市本身可以${name}：${roleOf(by)} 不能代 ${cityCode} ${name}`);
    if (by.cityCode !== cityCode)
      return forbidden(`城市 ${by.cityCode} 只能为本市${name}，不能为 ${cityCode} ${name}`);
    return undefined;
  }
  if (by.kind === 'city')
    return forbidden(
      by.cityCode === cityCode
        ? `城市不能${name}本市的数据：${name}由${action === 'accept' ? '住房和城乡建设部' : '所在省的审核人员'}进行`
        : `城市 ${by.cityCode} 不能${name} ${cityCode} 的数据`,
    );
  if (action === 'accept') {
    if (by.kind !== 'reviewer:ministry')
      return forbidden(`只有部级审核人员（reviewer:ministry）可以验收：${roleOf(by)} 不能验收 ${cityCode}`);
    return undefined;
  }
  if (by.kind === 'reviewer:province') {
    if (by.provinceCode !== province)
      return forbidden(
        `省级审核人员（${by.provinceCode}）只能${name}本省的城市：${cityCode} 属于省份 ${province}`,
      );
    return undefined;
  }
  if (action === 'reopen' && by.kind === 'reviewer:ministry') return undefined;
  return forbidden(
    action === 'reopen'
      ? `只有 ${cityCode} 所在省（${province}）的审核人员或部级审核人员可以重新开放：${roleOf(by)} 不能`
      : `只有 ${cityCode} 所在省（${province}）的审核人员可以${name}：${roleOf(by)} 不能${name}`,
  );
};

/** A review nobody has acted on yet. */
export const draftReview = (cycle: number, cityCode: string): ReviewRecord => ({
  kind: 'review',
  cycle,
  cityCode,
  state: 'draft',
  actions: [],
});

/**
 * Takes one action on a review. `current` is the record on reviews.v1 (undefined: none yet, a draft). Checks
 * in order: who may act, whether the current state allows the action, what the action needs.
 */
export const reviewAction = (current: ReviewRecord | undefined, request: ReviewRequest): ReviewOutcome => {
  const { action, cycle, cityCode, by, at } = request;
  const record = current ?? draftReview(cycle, cityCode);
  const entitlement = entitlementProblem(action, cityCode, by);
  if (entitlement !== undefined) return entitlement;
  const transition = reviewTransitions[action];
  if (!transition.from.includes(record.state))
    return {
      ok: false,
      refusal: {
        code: 'review_transition_refused',
        message: `${cityCode} 的 ${cycle} 年度审核状态为“${stateNames[record.state]}”，不能${actionNames[action]}：只有${transition.from
          .map((state) => `“${stateNames[state]}”`)
          .join('、')}状态下可以${actionNames[action]}`,
      },
    };
  const reason = request.reason?.trim();
  const comments = request.comments ?? [];
  if (action === 'reopen' && (reason === undefined || reason === ''))
    return { ok: false, refusal: { code: 'review_invalid', message: '重新开放需要说明理由（reason）' } };
  if (action === 'return' && comments.length === 0 && (reason === undefined || reason === ''))
    return {
      ok: false,
      refusal: {
        code: 'review_invalid',
        message: '退回需要说明理由（reason）或附上意见（comments），指明单元和指标',
      },
    };
  const entry: ReviewAction = {
    action,
    by: by.name,
    credentialId: by.credentialId,
    role: roleOf(by),
    at: at.toISOString(),
    state: transition.to,
    ...(reason === undefined || reason === '' ? {} : { reason }),
    ...(comments.length === 0 ? {} : { comments }),
  };
  return { ok: true, record: { ...record, state: transition.to, actions: [...record.actions, entry] } };
};

/** Whether a city's data for a cycle are locked: accepted by the ministry and not reopened since. */
export const isLocked = (record: ReviewRecord | undefined): boolean => record?.state === 'accepted';

/**
 * Whether the review stood accepted at `at`: the state the last action taken at or before `at` left. Validate
 * judges a received record by when ingest received it, so a record is judged the same however late (or how
 * often) it is validated, as cycle_closed is.
 */
export const wasLockedAt = (record: ReviewRecord | undefined, at: Date): boolean => {
  const moment = at.getTime();
  const before = record?.actions.findLast((entry) => Date.parse(entry.at) <= moment);
  return before?.state === 'accepted';
};

/** The languages a refusal is written in: Chinese for the city, English on `Accept-Language: en`. */
export type LockLanguage = 'zh' | 'en';

/**
 * Why a submission for a locked city and cycle is refused, naming who accepted it and when (Beijing time in
 * Chinese, UTC in English).
 */
export const lockedMessage = (record: ReviewRecord, language: LockLanguage = 'zh'): string => {
  const accepted = record.actions.findLast((entry) => entry.action === 'accept');
  if (language === 'en') {
    const who = accepted === undefined ? '' : ` were accepted by ${accepted.by} at ${accepted.at} and`;
    return `the data of ${record.cityCode} for cycle ${record.cycle}${who} are locked: no new submission is taken; to correct them, ask a reviewer to reopen them`;
  }
  const who =
    accepted === undefined ? '' : `已于 ${beijingTime(accepted.at)}（北京时间）由 ${accepted.by} 验收，`;
  return `${record.cityCode} 的 ${record.cycle} 年度数据${who}已锁定，不再接受新的提交；如需更正，请联系审核人员重新开放`;
};

/** The problem a submission for a locked city and cycle gets (rule city_cycle_locked), at ingest and at validate. */
export const cityCycleLockedProblem = (
  record: ReviewRecord,
  language: LockLanguage = 'zh',
): FieldProblem => ({
  pointer: '/cycle',
  rule: 'city_cycle_locked',
  message: lockedMessage(record, language),
  value: record.cycle,
});
