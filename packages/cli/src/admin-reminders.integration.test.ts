// `citycheck admin reminders` end to end on the real broker and object store: credentials and a cycle written
// the way operators write them, the cycle's completeness where the aggregate service puts it.

import { rollupObjectKey, s3Url } from '@citycheck/lake';
import {
  createTestStore,
  openTestDatabase,
  realInfra,
  testExtensionDirectory,
  uniqueName,
} from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import { runCredentialsAdmin } from './admin-credentials.js';
import { runCyclesAdmin } from './admin-cycles.js';
import { runRemindersAdmin } from './admin-reminders.js';

describe('admin reminders on the real broker and lake', () => {
  it('names the cities not reported or below the threshold, with the contacts their credentials carry', async () => {
    const kafka = { brokers: realInfra().kafkaBrokers, clientId: 'reminders-test', replicationFactor: 1 };
    const credentials = { ...kafka, topic: uniqueName('credentials') };
    const cycles = { ...kafka, topic: uniqueName('cycles') };
    const issued = async (
      cityCode: string,
      name: string,
      contact: { name: string; phone?: string; email?: string },
    ) => {
      const result = await runCredentialsAdmin(credentials, {
        action: 'issue',
        role: 'city',
        cityCode,
        name,
        contact,
      });
      if (result.action !== 'issue') throw new Error('not issued');
      return result.issued.record.id;
    };
    const yinchuan = await issued('640100', '银川市平台', { name: '马工', phone: '0951-1234567' });
    const wuzhong = await issued('640300', '吴忠市平台', { name: '李工', email: 'li@wuzhong.example' });
    const replaced = await issued('640300', '吴忠市旧平台', { name: '王工', phone: '0953-7654321' });
    await runCredentialsAdmin(credentials, { action: 'revoke', id: replaced });

    const now = new Date();
    const actor = { by: 'on call', at: now };
    const open = (cycle: number) =>
      runCyclesAdmin(cycles, {
        action: 'open',
        settings: {
          cycle,
          catalogueVersion: '2025.1',
          opensAt: new Date(now.getTime() - 30 * 86_400_000).toISOString(),
          // Ten days and an hour away.
          deadline: new Date(now.getTime() + 10 * 86_400_000 + 3_600_000).toISOString(),
          expectedCities: ['640100', '640200', '640300', '640400'],
        },
        actor,
      });
    await open(2031);
    await open(2032);

    const store = await createTestStore('reminders');
    const database = await openTestDatabase(store);
    try {
      // 银川 150 of 300 communities, 石嘴山 90 of 100, 吴忠 none of 80, 固原 40 of 40; the province row is
      // not a city's.
      await database.connection.run(
        `COPY (SELECT * FROM (VALUES
           (2031, 'city', '640100', 1, 300, 150), (2031, 'city', '640200', 1, 100, 90),
           (2031, 'city', '640300', 0, 80, 0), (2031, 'city', '640400', 1, 40, 40),
           (2031, 'province', '640000', 3, 520, 280))
           t(cycle, level, area_code, cities_reported, communities_expected, communities_reported))
         TO '${s3Url(store.config.bucket, rollupObjectKey(2031, 'completeness'))}' (FORMAT parquet)`,
      );
    } finally {
      database.close();
    }
    const options = {
      cycles,
      credentials,
      lake: { extensionDirectory: testExtensionDirectory(), s3: store.config },
      bucket: store.config.bucket,
    };

    const report = await runRemindersAdmin(options, { cycle: 2031, days: 14, coverageBelow: 0.8, now });
    expect(report).toMatchObject({ cycle: 2031, daysLeft: 10, due: true, fromLake: true });
    expect(
      report.reminders.map(({ cityCode, reported, communitiesReported, communitiesExpected, contacts }) => ({
        cityCode,
        reported,
        communities: `${communitiesReported}/${communitiesExpected}`,
        contacts: contacts.map(({ credentialId, name }) => [credentialId, name]),
      })),
    ).toEqual([
      { cityCode: '640100', reported: true, communities: '150/300', contacts: [[yinchuan, '马工']] },
      { cityCode: '640300', reported: false, communities: '0/80', contacts: [[wuzhong, '李工']] },
    ]);

    // A cycle the lake has nothing of yet: every expected city is to be reminded.
    const empty = await runRemindersAdmin(options, { cycle: 2032, days: 14, now });
    expect(empty.fromLake).toBe(false);
    expect(empty.reminders.map((reminder) => [reminder.cityCode, reminder.reported])).toEqual([
      ['640100', false],
      ['640200', false],
      ['640300', false],
      ['640400', false],
    ]);
    await expect(runRemindersAdmin(options, { cycle: 2039, days: 14, now })).rejects.toThrow(
      'cycle 2039 is not open',
    );
  });
});
