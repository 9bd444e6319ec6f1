// Whom `citycheck admin reminders` names, worked out by hand from a cycle's settings, the lake's completeness
// rows and the credentials; the registry's own figures are cross-checked by a second route.
import type { CredentialRecord } from '@citycheck/credentials';
import { CycleBook } from '@citycheck/cycles';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { describe, expect, it } from 'vitest';
import { formatReminders, remindersFor } from './admin-reminders.js';

const divisions = loadDivisionRegistry();
const now = new Date('2026-12-01T00:00:00.000Z');
const cycle = (extra: Record<string, unknown> = {}) =>
  new CycleBook([
    {
      cycle: 2026,
      catalogueVersion: '2025.1',
      opensAt: '2026-03-01T00:00:00.000Z',
      // 10 days and 1 hour after `now`.
      deadline: '2026-12-11T01:00:00.000Z',
      ...extra,
    },
  ]);
const credential = (
  id: string,
  cityCode: string,
  extra: Partial<CredentialRecord> = {},
): CredentialRecord => ({
  id,
  name: `platform ${cityCode}`,
  role: 'city',
  cityCode,
  secretSha256: '0'.repeat(64),
  status: 'active',
  createdAt: '2026-01-05T00:00:00.000Z',
  ...extra,
});
const ningxia = ['640100', '640200', '640300', '640400'];
const reporting = [
  { cityCode: '640100', reported: true, communitiesExpected: 300, communitiesReported: 150 },
  { cityCode: '640200', reported: true, communitiesExpected: 100, communitiesReported: 90 },
  { cityCode: '640300', reported: false, communitiesExpected: 80, communitiesReported: 0 },
  { cityCode: '640400', reported: true, communitiesExpected: 40, communitiesReported: 40 },
];
const credentials = [
  credential('cc-yinchuan', '640100', { contact: { name: '马工', phone: '0951-1234567' } }),
  credential('cc-wuzhong', '640300', { contact: { name: '李工', email: 'li@wuzhong.example' } }),
  credential('cc-wuzhong-old', '640300', {
    status: 'revoked',
    revokedAt: '2026-06-01T00:00:00.000Z',
    contact: { name: '王工', phone: '0953-7654321' },
  }),
  credential('cc-wuzhong-bare', '640300'),
  {
    ...credential('cc-analyst', '640300'),
    role: 'analyst:ministry' as const,
    contact: { name: '部里', phone: '010-1' },
  },
];

/** Reminders for Ningxia's four cities as the 2026 cycle expects them, with the rows and credentials above. */
const ningxiaReminders = (extra: Partial<Parameters<typeof remindersFor>[0]> = {}) =>
  remindersFor({
    cycle: 2026,
    book: cycle({ expectedCities: ningxia }),
    divisions,
    credentials,
    reporting,
    days: 14,
    now,
    ...extra,
  });

describe('admin reminders', () => {
  it('names the cities not reported, with the contacts of their active city credentials only', () => {
    const report = ningxiaReminders();
    expect(report).toMatchObject({ cycle: 2026, daysLeft: 10, due: true, fromLake: true });
    expect(report.reminders).toEqual([
      {
        cityCode: '640300',
        name: '吴忠市',
        reported: false,
        communitiesReported: 0,
        communitiesExpected: 80,
        coverage: 0,
        contacts: [
          {
            credentialId: 'cc-wuzhong',
            credentialName: 'platform 640300',
            name: '李工',
            email: 'li@wuzhong.example',
          },
        ],
      },
    ]);
  });

  it('also names cities below a coverage threshold, and says when a city has no contact', () => {
    const report = ningxiaReminders({
      credentials: credentials.filter((record) => record.cityCode !== '640300'),
      coverageBelow: 0.8,
    });
    // 640100 has 150 of 300 (50%) and 640300 none; 640200 has 90% and 640400 all.
    expect(report.reminders.map((reminder) => [reminder.cityCode, reminder.coverage])).toEqual([
      ['640100', 0.5],
      ['640300', 0],
    ]);
    const text = formatReminders(report, 14);
    expect(text).toContain('2 cities to remind');
    expect(text).toMatch(/640100\s+银川市\s+yes\s+150 \/ 300\s+50\.0%\s+马工\s+0951-1234567/);
    expect(text).toMatch(/640300\s+吴忠市\s+no\s+0 \/ 80\s+0\.0%\s+\(no contact recorded\)/);
  });

  it('names nobody while the deadline is further away than the days asked for', () => {
    const report = ningxiaReminders({ days: 7 });
    expect(report).toMatchObject({ daysLeft: 10, due: false, reminders: [] });
    expect(formatReminders(report, 7)).toBe(
      'cycle 2026: deadline 2026-12-11T01:00:00.000Z, 10 day(s) left; reminders start 7 day(s) before the deadline, none due yet',
    );
  });

  it('before the lake has the cycle, expects the registry cities and the cycle county-level cities, none reported', () => {
    const report = remindersFor({
      cycle: 2026,
      book: cycle({ countyLevelCities: ['640181'] }),
      divisions,
      credentials,
      reporting: undefined,
      days: 14,
      now,
    });
    expect(report.fromLake).toBe(false);
    // The 297 reporting cities of the registry and 灵武市, which the cycle makes a city of its own.
    expect(report.reminders).toHaveLength(298);
    expect(
      report.reminders.every((reminder) => !reminder.reported && reminder.communitiesReported === 0),
    ).toBe(true);
    const expectedOf = (code: string) =>
      report.reminders.find((reminder) => reminder.cityCode === code)?.communitiesExpected;
    // 灵武市's communities are counted for it and not for 银川市, which holds it in the registry.
    expect((expectedOf('640100') ?? 0) + (expectedOf('640181') ?? 0)).toBe(
      divisions.communitiesOf('640100').length,
    );
    expect(expectedOf('640181')).toBe(divisions.communitiesOf('640181').length);
    expect(expectedOf('640181')).toBeGreaterThan(0);
  });
});
