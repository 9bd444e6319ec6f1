// Operators' actions on cycles, as plain functions from the book's state to the record to publish: open (or
// amend) a cycle, close it, reopen it with a reason, designate the current cycle. Each appends who, when and
// why to the record it writes, so the audit trail lives on cycles.v1 and, copied by aggregate, in the lake.
import type { CycleBook } from './book.js';
import type { CurrentCycleRecord, CycleAction, CycleRecord, OperatedCycleSettings } from './record.js';

export class CycleAdminError extends Error {}

export interface Actor {
  readonly by: string;
  readonly at: Date;
  readonly reason?: string;
}

const action = (name: CycleAction['action'], actor: Actor, closesAt?: string | null): CycleAction => ({
  action: name,
  by: actor.by,
  at: actor.at.toISOString(),
  ...(actor.reason === undefined ? {} : { reason: actor.reason }),
  ...(closesAt === undefined ? {} : { closesAt }),
});

const iso = (name: string, value: string): string => {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new CycleAdminError(`${name} is not a time: ${value}`);
  return new Date(time).toISOString();
};

/** Opens a cycle, or amends the settings of one already opened (the record keeps every earlier action). */
export const openCycle = (book: CycleBook, settings: OperatedCycleSettings, actor: Actor): CycleRecord => {
  const normalised: OperatedCycleSettings = {
    ...settings,
    opensAt: iso('opensAt', settings.opensAt),
    deadline: iso('deadline', settings.deadline),
    ...(settings.closesAt === undefined ? {} : { closesAt: iso('closesAt', settings.closesAt) }),
  };
  if (Date.parse(normalised.deadline) < Date.parse(normalised.opensAt))
    throw new CycleAdminError(
      `the deadline ${normalised.deadline} is before the opening ${normalised.opensAt}`,
    );
  if (normalised.closesAt !== undefined && Date.parse(normalised.closesAt) < Date.parse(normalised.deadline))
    throw new CycleAdminError(
      `the closing ${normalised.closesAt} is before the deadline ${normalised.deadline}`,
    );
  const earlier = book.record(settings.cycle);
  return {
    kind: 'cycle',
    settings: normalised,
    actions: [
      ...(earlier?.actions ?? []),
      action(earlier === undefined ? 'open' : 'amend', actor, normalised.closesAt ?? null),
    ],
  };
};

const known = (book: CycleBook, cycle: number): OperatedCycleSettings => {
  const settings = book.settingsOf(cycle);
  if (settings === undefined) throw new CycleAdminError(`there is no cycle ${cycle}: open it first`);
  return settings;
};

/** Closes a cycle now, or at `closesAt`: submissions after it are refused. */
export const closeCycle = (
  book: CycleBook,
  cycle: number,
  actor: Actor,
  closesAt: string = actor.at.toISOString(),
): CycleRecord => {
  const { closesAt: _previous, ...settings } = known(book, cycle);
  const closing = iso('closesAt', closesAt);
  return {
    kind: 'cycle',
    settings: { ...settings, closesAt: closing },
    actions: [...(book.record(cycle)?.actions ?? []), action('close', actor, closing)],
  };
};

/** Reopens a closed cycle, until `closesAt` or with no closing; the reason is required and kept. */
export const reopenCycle = (book: CycleBook, cycle: number, actor: Actor, closesAt?: string): CycleRecord => {
  if (actor.reason === undefined || actor.reason.trim() === '')
    throw new CycleAdminError(`reopening cycle ${cycle} needs a reason (--reason)`);
  const { closesAt: _previous, ...settings } = known(book, cycle);
  const closing = closesAt === undefined ? undefined : iso('closesAt', closesAt);
  if (closing !== undefined && Date.parse(closing) <= actor.at.getTime())
    throw new CycleAdminError(`the new closing ${closing} has already passed`);
  return {
    kind: 'cycle',
    settings: { ...settings, ...(closing === undefined ? {} : { closesAt: closing }) },
    actions: [...(book.record(cycle)?.actions ?? []), action('reopen', actor, closing ?? null)],
  };
};

/** Designates the cycle the status page and analysts' "current cycle" mean. */
export const designateCurrentCycle = (book: CycleBook, cycle: number, actor: Actor): CurrentCycleRecord => {
  known(book, cycle);
  return {
    kind: 'current',
    cycle,
    actions: [...(book.designated?.actions ?? []), { ...action('designate', actor), cycle }],
  };
};
