// The cycle book: the shipped defaults with operators' records over them, where a moment falls in a cycle,
// the designated current cycle, and the audit trail each action leaves. Times are worked out by hand.
import { describe, expect, it } from 'vitest';
import { CycleAdminError, closeCycle, designateCurrentCycle, openCycle, reopenCycle } from './admin.js';
import { beijingTime, CycleBook, cycleWindow } from './book.js';
import { currentKey, cycleKey, parseCyclesRecord } from './record.js';

const defaults = [
  {
    cycle: 2024,
    catalogueVersion: '2024.1',
    opensAt: '2024-02-29T16:00:00.000Z',
    deadline: '2024-12-31T15:59:59.000Z',
  },
  {
    cycle: 2025,
    catalogueVersion: '2025.1',
    opensAt: '2025-02-28T16:00:00.000Z',
    deadline: '2025-12-31T15:59:59.000Z',
  },
];
const operator = (by: string, at: string, reason?: string) => ({
  by,
  at: new Date(at),
  ...(reason === undefined ? {} : { reason }),
});

describe('cycle book', () => {
  it('places a moment before the opening, by the deadline, late, and after the closing', () => {
    const settings = {
      cycle: 2026,
      catalogueVersion: '2025.1',
      opensAt: '2026-03-01T00:00:00.000Z',
      deadline: '2026-11-30T00:00:00.000Z',
      closesAt: '2027-01-31T00:00:00.000Z',
    };
    const state = (at: string) => cycleWindow(settings, new Date(at)).state;
    expect(state('2026-02-28T23:59:59.999Z')).toBe('not_open');
    expect(state('2026-11-30T00:00:00.000Z')).toBe('open');
    expect(state('2026-11-30T00:00:00.001Z')).toBe('late');
    expect(state('2027-01-31T00:00:00.000Z')).toBe('late');
    expect(state('2027-01-31T00:00:00.001Z')).toBe('closed');
    expect(cycleWindow(undefined, new Date()).state).toBe('unknown');
    expect(beijingTime('2027-01-31T00:00:00.000Z')).toBe('2027-01-31 08:00');
  });

  it("lets an operator's record supersede the shipped file, and designates current by the operator, not by data", () => {
    const book = new CycleBook(defaults);
    // Before any designation: the latest cycle opened (2025 on 2026-12-01), whatever the lake holds.
    expect(book.currentCycle(new Date('2026-12-01T00:00:00Z'))).toBe(2025);
    const opened = openCycle(
      book,
      {
        cycle: 2026,
        catalogueVersion: '2025.1',
        opensAt: '2026-03-01T00:00:00+08:00',
        deadline: '2026-12-31T23:59:59+08:00',
        closesAt: '2027-02-28T23:59:59+08:00',
      },
      operator('ops-li', '2026-12-01T01:00:00Z'),
    );
    book.apply(cycleKey(2026), opened);
    expect(book.settingsOf(2026)).toEqual({
      cycle: 2026,
      catalogueVersion: '2025.1',
      opensAt: '2026-02-28T16:00:00.000Z',
      deadline: '2026-12-31T15:59:59.000Z',
      closesAt: '2027-02-28T15:59:59.000Z',
    });
    expect(book.currentCycle(new Date('2026-12-01T02:00:00Z'))).toBe(2026);
    book.apply(currentKey, designateCurrentCycle(book, 2024, operator('ops-li', '2026-12-01T03:00:00Z')));
    expect(book.currentCycle(new Date('2026-12-01T04:00:00Z'))).toBe(2024);

    // Closing the shipped 2024 makes an operator's record of it: the file's settings plus the closing.
    book.apply(cycleKey(2024), closeCycle(book, 2024, operator('ops-li', '2026-12-01T05:00:00Z')));
    expect(book.settingsOf(2024)).toEqual({ ...defaults[0], closesAt: '2026-12-01T05:00:00.000Z' });
    expect(book.window(2024, new Date('2026-12-01T05:00:01Z')).state).toBe('closed');
  });

  it('reopens only with a reason, and keeps who, when and why of every action', () => {
    const book = new CycleBook(defaults);
    book.apply(cycleKey(2025), closeCycle(book, 2025, operator('ops-li', '2026-01-10T00:00:00Z')));
    expect(() => reopenCycle(book, 2025, operator('ops-zhang', '2026-01-11T00:00:00Z'))).toThrow(
      CycleAdminError,
    );
    const reopened = reopenCycle(
      book,
      2025,
      operator('ops-zhang', '2026-01-11T00:00:00Z', '青海省申请补报'),
      '2026-02-01T00:00:00Z',
    );
    // Through the topic's parser, as every follower reads it.
    book.apply(cycleKey(2025), parseCyclesRecord(cycleKey(2025), JSON.parse(JSON.stringify(reopened))));
    expect(book.settingsOf(2025)?.closesAt).toBe('2026-02-01T00:00:00.000Z');
    expect(book.record(2025)?.actions).toEqual([
      { action: 'close', by: 'ops-li', at: '2026-01-10T00:00:00.000Z', closesAt: '2026-01-10T00:00:00.000Z' },
      {
        action: 'reopen',
        by: 'ops-zhang',
        at: '2026-01-11T00:00:00.000Z',
        reason: '青海省申请补报',
        closesAt: '2026-02-01T00:00:00.000Z',
      },
    ]);
    expect(book.window(2025, new Date('2026-01-20T00:00:00Z')).state).toBe('late');
    expect(() => designateCurrentCycle(book, 2031, operator('ops-li', '2026-01-12T00:00:00Z'))).toThrow(
      /no cycle 2031/,
    );
    expect(() => parseCyclesRecord(cycleKey(2024), JSON.parse(JSON.stringify(reopened)))).toThrow(
      /under key/,
    );
  });
});
