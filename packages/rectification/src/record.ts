// What rectification.v1 holds: one record per shortfall ledger item (问题台账), the cycle whose data found the
// shortfall, a unit and an indicator, keyed `rectification-<cycle>-<unitLevel>-<unitCode>-<indicator>`. Each
// record is the whole item after its latest action, with every action on it (who, when, why), so the
// compacted topic keeps the state and its audit trail together. Evidence files live in the lake bucket; the
// record carries their hash and object key, never their bytes.

/**
 * The recorded states. `consolidated` (巩固) and `reopened` are not recorded: the lake derives them from the
 * next cycle's data.
 */
export type RectificationState = 'identified' | 'planned' | 'in_progress' | 'rectified';

export type RectificationActionName = 'plan' | 'progress' | 'evidence' | 'verify' | 'return';

/** The city's plan: the measure, the department responsible and the date it is due. */
export interface RectificationPlan {
  readonly measure: string;
  readonly department: string;
  /** A calendar date, YYYY-MM-DD. */
  readonly targetDate: string;
}

/** A document or photo the city attached, stored in the lake bucket under `objectKey`. */
export interface RectificationEvidence {
  /** SHA-256 of the bytes, 64 lowercase hex digits. */
  readonly sha256: string;
  readonly bytes: number;
  /** image/jpeg, image/png or application/pdf. */
  readonly contentType: string;
  readonly fileName: string;
  /** `evidence/cycle=<cycle>/city_code=<city>/<sha256>` in the lake bucket. */
  readonly objectKey: string;
}

/** One action, kept forever in the record it changed. */
export interface RectificationAction {
  readonly action: RectificationActionName;
  /** The credential's name, as issued. */
  readonly by: string;
  readonly credentialId: string;
  /** The credential's role (`city`, `reviewer:province:64`, `reviewer:ministry`). */
  readonly role: string;
  /** ISO timestamp (UTC) of the action. */
  readonly at: string;
  /** The state the action left. */
  readonly state: RectificationState;
  /** A progress note, a verification's remark or a return's reason. */
  readonly note?: string;
  /** On `plan`: the plan it set. */
  readonly plan?: RectificationPlan;
  /** On `evidence`: the file it attached. */
  readonly evidence?: RectificationEvidence;
}

/** A ledger item: the cycle that found the shortfall, its unit and indicator. */
export interface RectificationItem {
  readonly cycle: number;
  /** The city the unit belongs to (six digits). */
  readonly cityCode: string;
  /** housing, community, block, district or city, as in a submission's unit. */
  readonly unitLevel: string;
  readonly unitCode: string;
  readonly indicatorCode: string;
}

export interface RectificationRecord extends RectificationItem {
  readonly kind: 'rectification';
  /** The two digits of the city's province. */
  readonly provinceCode: string;
  readonly state: RectificationState;
  /** The latest plan. */
  readonly plan?: RectificationPlan;
  /** Every evidence so far, in the order attached. */
  readonly evidence: readonly RectificationEvidence[];
  /** Every action so far, the latest last. */
  readonly actions: readonly RectificationAction[];
}

export const rectificationKey = (
  item: Pick<RectificationItem, 'cycle' | 'unitLevel' | 'unitCode' | 'indicatorCode'>,
): string => `rectification-${item.cycle}-${item.unitLevel}-${item.unitCode}-${item.indicatorCode}`;

/** Where an evidence file is stored in the lake bucket: by cycle and city, named by its hash. */
export const evidenceObjectKey = (cycle: number, cityCode: string, sha256: string): string =>
  `evidence/cycle=${cycle}/city_code=${cityCode}/${sha256}`;

/** The kinds of file taken as evidence: photos and documents. */
export const evidenceContentTypes: readonly string[] = ['image/jpeg', 'image/png', 'application/pdf'];

export const rectificationStates: readonly RectificationState[] = [
  'identified',
  'planned',
  'in_progress',
  'rectified',
];
export const rectificationActionNames: readonly RectificationActionName[] = [
  'plan',
  'progress',
  'evidence',
  'verify',
  'return',
];

const fail = (message: string): never => {
  throw new Error(`rectification record: ${message}`);
};

const isString = (value: unknown): value is string => typeof value === 'string';
const optionalString = (value: unknown): boolean => value === undefined || isString(value);

const parsePlan = (value: unknown): RectificationPlan => {
  const plan = value as Record<string, unknown> | null;
  if (!isString(plan?.measure) || !isString(plan.department) || !isString(plan.targetDate))
    return fail('a plan needs a measure, a department and a targetDate');
  return { measure: plan.measure, department: plan.department, targetDate: plan.targetDate };
};

const sha256Pattern = /^[0-9a-f]{64}$/;

const parseEvidence = (value: unknown): RectificationEvidence => {
  const evidence = value as Record<string, unknown> | null;
  if (
    !isString(evidence?.sha256) ||
    !sha256Pattern.test(evidence.sha256) ||
    !Number.isInteger(evidence.bytes) ||
    !isString(evidence.contentType) ||
    !isString(evidence.fileName) ||
    !isString(evidence.objectKey)
  )
    return fail('an evidence needs a sha256, bytes, contentType, fileName and objectKey');
  return {
    sha256: evidence.sha256,
    bytes: evidence.bytes as number,
    contentType: evidence.contentType,
    fileName: evidence.fileName,
    objectKey: evidence.objectKey,
  };
};

const parseAction = (value: unknown): RectificationAction => {
  const action = value as Record<string, unknown> | null;
  if (
    !rectificationActionNames.includes(action?.action as RectificationActionName) ||
    !isString(action?.by) ||
    !isString(action.credentialId) ||
    !isString(action.role) ||
    !isString(action.at) ||
    Number.isNaN(Date.parse(action.at)) ||
    !rectificationStates.includes(action.state as RectificationState) ||
    !optionalString(action.note)
  )
    return fail('an action needs action, by, credentialId, role, at and state');
  return {
    action: action.action as RectificationActionName,
    by: action.by,
    credentialId: action.credentialId,
    role: action.role,
    at: action.at,
    state: action.state as RectificationState,
    ...(action.note === undefined ? {} : { note: action.note as string }),
    ...(action.plan === undefined ? {} : { plan: parsePlan(action.plan) }),
    ...(action.evidence === undefined ? {} : { evidence: parseEvidence(action.evidence) }),
  };
};

/** Reads a record of rectification.v1; throws on anything malformed (the follower skips and reports it). */
export const parseRectificationRecord = (key: string, value: unknown): RectificationRecord => {
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const record = value as Record<string, unknown>;
  if (record.kind !== 'rectification') return fail(`unknown kind ${String(record.kind)}`);
  if (
    !Number.isInteger(record.cycle) ||
    !isString(record.provinceCode) ||
    !isString(record.cityCode) ||
    !isString(record.unitLevel) ||
    !isString(record.unitCode) ||
    !isString(record.indicatorCode)
  )
    return fail('an item needs a cycle, provinceCode, cityCode, unitLevel, unitCode and indicatorCode');
  if (!rectificationStates.includes(record.state as RectificationState))
    return fail(`unknown state ${String(record.state)}`);
  const item = {
    cycle: record.cycle as number,
    cityCode: record.cityCode,
    unitLevel: record.unitLevel,
    unitCode: record.unitCode,
    indicatorCode: record.indicatorCode,
  };
  if (key !== rectificationKey(item)) return fail(`item ${rectificationKey(item)} under key ${key}`);
  if (!Array.isArray(record.evidence) || !Array.isArray(record.actions))
    return fail('evidence and actions must be lists');
  return {
    kind: 'rectification',
    ...item,
    provinceCode: record.provinceCode,
    state: record.state as RectificationState,
    ...(record.plan === undefined ? {} : { plan: parsePlan(record.plan) }),
    evidence: record.evidence.map(parseEvidence),
    actions: record.actions.map(parseAction),
  };
};
