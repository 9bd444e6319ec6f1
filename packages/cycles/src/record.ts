// What cycles.v1 holds: one record per cycle an operator opened (its settings, with the closing time, and
// every operator action on it: who, when, why), keyed `cycle-<year>`, and the operator's designation of the
// current cycle, keyed `current`. The topic is compacted, so the latest record of each key is the state and
// each record carries its own audit trail.
import type { CycleSettings } from '@citycheck/catalogue';

export type CycleActionName = 'open' | 'amend' | 'close' | 'reopen' | 'designate';

/** One operator action, kept forever in the record it changed. */
export interface CycleAction {
  readonly action: CycleActionName;
  /** The operator (their login or the name they gave with --by). */
  readonly by: string;
  /** ISO timestamp (UTC) of the action. */
  readonly at: string;
  /** Why; required for a reopen. */
  readonly reason?: string;
  /** The closing time the action left (null: no closing), for open, close and reopen. */
  readonly closesAt?: string | null;
}

/** Settings of a cycle opened by an operator: the file shape of schemas/cycles/<year>.json plus a closing. */
export type OperatedCycleSettings = CycleSettings & {
  /** ISO timestamp (UTC) after which submissions for the cycle are refused; absent: it never closes. */
  readonly closesAt?: string;
};

export interface CycleRecord {
  readonly kind: 'cycle';
  readonly settings: OperatedCycleSettings;
  readonly actions: readonly CycleAction[];
}

export interface CurrentCycleRecord {
  readonly kind: 'current';
  readonly cycle: number;
  /** Every designation so far, the latest last. */
  readonly actions: readonly (CycleAction & { readonly cycle: number })[];
}

export type CyclesTopicRecord = CycleRecord | CurrentCycleRecord;

export const cycleKey = (cycle: number): string => `cycle-${cycle}`;
export const currentKey = 'current';

const isIso = (value: unknown): value is string =>
  typeof value === 'string' && !Number.isNaN(Date.parse(value));

const fail = (message: string): never => {
  throw new Error(`cycles record: ${message}`);
};

const parseActions = (value: unknown): CycleAction[] => {
  if (!Array.isArray(value)) return fail('actions must be a list');
  return value.map((action: Record<string, unknown>) => {
    if (typeof action.by !== 'string' || !isIso(action.at) || typeof action.action !== 'string')
      return fail('an action needs action, by and at');
    return action as unknown as CycleAction;
  });
};

/** Reads a record of cycles.v1; throws on anything malformed (the follower skips and reports it). */
export const parseCyclesRecord = (key: string, value: unknown): CyclesTopicRecord => {
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const record = value as Record<string, unknown>;
  if (record.kind === 'current') {
    if (key !== currentKey) return fail(`designation under key ${key}`);
    if (!Number.isInteger(record.cycle)) return fail('current needs a cycle');
    return {
      kind: 'current',
      cycle: record.cycle as number,
      actions: parseActions(record.actions) as unknown as CurrentCycleRecord['actions'],
    };
  }
  if (record.kind !== 'cycle') return fail(`unknown kind ${String(record.kind)}`);
  const settings = record.settings as Record<string, unknown> | undefined;
  if (
    settings === undefined ||
    !Number.isInteger(settings.cycle) ||
    typeof settings.catalogueVersion !== 'string' ||
    !isIso(settings.opensAt) ||
    !isIso(settings.deadline) ||
    (settings.closesAt !== undefined && !isIso(settings.closesAt)) ||
    (settings.expectedCities !== undefined && !Array.isArray(settings.expectedCities))
  )
    return fail('settings need cycle, catalogueVersion, opensAt, deadline (and closesAt as a time)');
  if (key !== cycleKey(settings.cycle as number)) return fail(`cycle ${settings.cycle} under key ${key}`);
  return {
    kind: 'cycle',
    settings: settings as unknown as OperatedCycleSettings,
    actions: parseActions(record.actions),
  };
};
