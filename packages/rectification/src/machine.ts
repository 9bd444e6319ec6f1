// Rectification (整改) of one ledger item as a pure state machine: given the record so far, who acts and what
// they ask, either the record to publish (the action appended to its audit trail) or a refusal saying
// precisely why. The city of the unit plans, reports progress and attaches evidence; a reviewer of the
// unit's province, or the ministry, verifies (only with evidence) or returns it with a reason. A city never
// verifies its own work; analysts and operators only read.
import { type Principal, roleOf } from '@citycheck/credentials';
import {
  evidenceContentTypes,
  evidenceObjectKey,
  type RectificationAction,
  type RectificationActionName,
  type RectificationEvidence,
  type RectificationItem,
  type RectificationPlan,
  type RectificationRecord,
  type RectificationState,
} from './record.js';

/** From which states each action may be taken, and the state it leaves. */
export const rectificationTransitions: Readonly<
  Record<
    RectificationActionName,
    {
      readonly from: readonly RectificationState[];
      readonly to: (from: RectificationState) => RectificationState;
    }
  >
> = {
  // A new plan for an item already in progress keeps it in progress: the work done stays done.
  plan: {
    from: ['identified', 'planned', 'in_progress'],
    to: (from) => (from === 'in_progress' ? 'in_progress' : 'planned'),
  },
  progress: { from: ['planned', 'in_progress'], to: () => 'in_progress' },
  evidence: { from: ['planned', 'in_progress'], to: () => 'in_progress' },
  verify: { from: ['in_progress'], to: () => 'rectified' },
  return: { from: ['in_progress', 'rectified'], to: () => 'in_progress' },
};

/** The names of the states, the recorded ones and the two the lake derives from the next cycle's data. */
export const rectificationStateNames: Readonly<
  Record<RectificationState | 'consolidated' | 'reopened', string>
> = {
  identified: '待整改',
  planned: '已制定计划',
  in_progress: '整改中',
  rectified: '已整改（已核验）',
  consolidated: '已巩固',
  reopened: '已重新打开',
};

export const rectificationActionLabels: Readonly<Record<RectificationActionName, string>> = {
  plan: '制定整改计划',
  progress: '报告整改进展',
  evidence: '上传佐证材料',
  verify: '核验',
  return: '退回',
};

/** The actions the city of the unit takes; the others are a reviewer's. */
const cityActions: readonly RectificationActionName[] = ['plan', 'progress', 'evidence'];

export type RectificationRefusalCode =
  /** The caller's role may not take this action on this item (wrong role, province or city). */
  | 'rectification_forbidden'
  /** The action is not possible from the item's current state (or, to verify, it has no evidence). */
  | 'rectification_transition_refused'
  /** The request lacks what the action needs, or what it gives is malformed (a plan's date, a note). */
  | 'rectification_invalid';

export interface RectificationRefusal {
  readonly code: RectificationRefusalCode;
  readonly message: string;
}

export type RectificationOutcome =
  | { readonly ok: true; readonly record: RectificationRecord }
  | { readonly ok: false; readonly refusal: RectificationRefusal };

export interface RectificationRequest extends RectificationItem {
  readonly action: RectificationActionName;
  readonly by: Principal;
  readonly at: Date;
  /** A progress note (required), a return's reason (required), a remark on any other action. */
  readonly note?: string;
  /** On `plan` (required). */
  readonly plan?: RectificationPlan;
  /** On `evidence` (required): the file as stored. */
  readonly evidence?: RectificationEvidence;
}

/** How an item is named in messages: `2025 年度 640104 的指标 D01`. */
export const itemName = (item: Pick<RectificationItem, 'cycle' | 'unitCode' | 'indicatorCode'>): string =>
  `${item.cycle} 年度 ${item.unitCode} 的指标 ${item.indicatorCode}`;

const refused = (code: RectificationRefusalCode, message: string): RectificationOutcome => ({
  ok: false,
  refusal: { code, message },
});

/** Whether `by` may take `action` on an item of `cityCode`; the refusal says who may. */
const entitlementProblem = (
  action: RectificationActionName,
  item: RectificationItem,
  by: Principal,
): RectificationOutcome | undefined => {
  const label = rectificationActionLabels[action];
  const { cityCode, unitCode } = item;
  const province = cityCode.slice(0, 2);
  const forbidden = (message: string) => refused('rectification_forbidden', message);
  if (cityActions.includes(action)) {
    if (by.kind !== 'city')
      return forbidden(
        `只有单元所在的城市可以${label}：${roleOf(by)} 不能为 ${cityCode} 的单元 ${unitCode} ${label}`,
      );
    if (by.cityCode !== cityCode)
      return forbidden(`城市 ${by.cityCode} 只能为本市的单元${label}：${unitCode} 属于 ${cityCode}`);
    return undefined;
  }
  if (by.kind === 'city')
    return forbidden(
      by.cityCode === cityCode
        ? `城市不能${label}本市的整改：${label}由所在省的审核人员或部级审核人员进行`
        : `城市 ${by.cityCode} 不能${label} ${cityCode} 的整改`,
    );
  if (by.kind === 'reviewer:province') {
    if (by.provinceCode !== province)
      return forbidden(
        `省级审核人员（${by.provinceCode}）只能${label}本省城市的整改：${unitCode} 属于省份 ${province}`,
      );
    return undefined;
  }
  if (by.kind === 'reviewer:ministry') return undefined;
  return forbidden(
    `只有 ${cityCode} 所在省（${province}）的审核人员或部级审核人员可以${label}：${roleOf(by)} 不能${label}`,
  );
};

const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether `text` is a calendar date written YYYY-MM-DD (2026-02-30 is not). */
export const isCalendarDate = (text: string): boolean => {
  const match = datePattern.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
};

const sha256Pattern = /^[0-9a-f]{64}$/;

/** The plan as recorded (its text trimmed), or what is wrong with it, every problem at once. */
const readPlan = (plan: RectificationPlan | undefined): RectificationPlan | string => {
  if (plan === undefined)
    return '制定整改计划需要整改措施（measure）、责任部门（department）和完成时限（targetDate）';
  const measure = plan.measure.trim();
  const department = plan.department.trim();
  const problems = [
    ...(measure === '' ? ['需要填写整改措施（measure）'] : []),
    ...(department === '' ? ['需要填写责任部门（department）'] : []),
    ...(isCalendarDate(plan.targetDate)
      ? []
      : [`完成时限（targetDate）须为真实的日期，写作 YYYY-MM-DD：“${plan.targetDate}”不是`]),
  ];
  return problems.length === 0
    ? { measure, department, targetDate: plan.targetDate }
    : `整改计划${problems.join('；')}`;
};

/** What is wrong with an evidence file for this item; undefined when nothing is. */
const evidenceProblem = (
  evidence: RectificationEvidence | undefined,
  record: RectificationRecord,
): string | undefined => {
  if (evidence === undefined) return '上传佐证材料需要文件本身';
  if (!evidenceContentTypes.includes(evidence.contentType))
    return `佐证材料须为 JPEG 或 PNG 图片、PDF 文档（${evidenceContentTypes.join('、')}）：不接受 ${evidence.contentType}`;
  if (!Number.isInteger(evidence.bytes) || evidence.bytes <= 0) return '佐证材料不能是空文件';
  if (evidence.fileName.trim() === '') return '佐证材料需要文件名';
  if (!sha256Pattern.test(evidence.sha256))
    return `佐证材料的 sha256 须为 64 位小写十六进制：${evidence.sha256}`;
  const objectKey = evidenceObjectKey(record.cycle, record.cityCode, evidence.sha256);
  if (evidence.objectKey !== objectKey) return `佐证材料须存放在 ${objectKey}，而不是 ${evidence.objectKey}`;
  const earlier = record.evidence.find((attached) => attached.sha256 === evidence.sha256);
  if (earlier !== undefined)
    return `该佐证材料（sha256 ${evidence.sha256}，${earlier.fileName}）已附在 ${itemName(record)} 的整改上，无需重复上传`;
  return undefined;
};

/** A ledger item nobody has acted on yet. */
export const identifiedItem = (item: RectificationItem): RectificationRecord => ({
  kind: 'rectification',
  cycle: item.cycle,
  provinceCode: item.cityCode.slice(0, 2),
  cityCode: item.cityCode,
  unitLevel: item.unitLevel,
  unitCode: item.unitCode,
  indicatorCode: item.indicatorCode,
  state: 'identified',
  evidence: [],
  actions: [],
});

/**
 * Takes one action on a ledger item. `current` is the record on rectification.v1 (undefined: none yet, an
 * identified item). Checks in order: who may act (so a caller who may not learns nothing of the item, not
 * even its state), whether the current state allows the action, what the action needs.
 */
export const rectificationAction = (
  current: RectificationRecord | undefined,
  request: RectificationRequest,
): RectificationOutcome => {
  const { action, by, at } = request;
  const record = current ?? identifiedItem(request);
  const entitlement = entitlementProblem(action, record, by);
  if (entitlement !== undefined) return entitlement;
  const transition = rectificationTransitions[action];
  const label = rectificationActionLabels[action];
  if (!transition.from.includes(record.state))
    return refused(
      'rectification_transition_refused',
      `${itemName(record)} 的整改状态为“${rectificationStateNames[record.state]}”，不能${label}：只有${transition.from
        .map((state) => `“${rectificationStateNames[state]}”`)
        .join('、')}状态下可以${label}`,
    );
  if (action === 'verify' && record.evidence.length === 0)
    return refused(
      'rectification_transition_refused',
      `${itemName(record)} 的整改尚无佐证材料，不能核验：须由 ${record.cityCode} 先上传佐证材料`,
    );
  const note = request.note?.trim();
  const hasNote = note !== undefined && note !== '';
  const invalid = (message: string) => refused('rectification_invalid', message);
  if (action === 'progress' && !hasNote) return invalid('报告整改进展需要填写进展说明（note）');
  if (action === 'return' && !hasNote) return invalid('退回需要说明理由（note）');
  let plan: RectificationPlan | undefined;
  if (action === 'plan') {
    const read = readPlan(request.plan);
    if (typeof read === 'string') return invalid(read);
    plan = read;
  }
  const evidence = action === 'evidence' ? request.evidence : undefined;
  if (action === 'evidence') {
    const problem = evidenceProblem(evidence, record);
    if (problem !== undefined) return invalid(problem);
  }
  const state = transition.to(record.state);
  const entry: RectificationAction = {
    action,
    by: by.name,
    credentialId: by.credentialId,
    role: roleOf(by),
    at: at.toISOString(),
    state,
    ...(hasNote ? { note } : {}),
    ...(plan === undefined ? {} : { plan }),
    ...(evidence === undefined ? {} : { evidence }),
  };
  return {
    ok: true,
    record: {
      ...record,
      state,
      ...(plan === undefined ? {} : { plan }),
      evidence: evidence === undefined ? record.evidence : [...record.evidence, evidence],
      actions: [...record.actions, entry],
    },
  };
};
