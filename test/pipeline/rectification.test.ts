// The rectification (整改) of 银川市's shortfall ledger on a running stack: ingest, validate, aggregate and
// query run as real processes. The city's 2024 data put three communities on the ledger (C01, compounds
// without standard elderly-care facilities, held to <= 0). The first item walks identified -> planned ->
// in_progress (a progress note, then evidence stored in the lake bucket by its hash) -> rectified (verified by
// 宁夏's reviewer); the second is planned, evidenced and verified too; the third is planned with a target date
// long past. Then 2025's data confirm the first fix (consolidated) and miss the standard again for the second
// (reopened, contradicted): every state, the overdue item and the rates are read through the query service,
// as the ministry, 宁夏, the city and another province see them. The actions are `citycheck rectify` commands
// against ingest's routes (the evidence a file sent as it is and stored in the bucket under its hash); the
// expected values are worked out by hand in the comments.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Submission } from '@citycheck/contracts';
import { ensureCredentialsTopic, type RoleName } from '@citycheck/credentials';
import { expectedCommunitiesOf, loadDivisionRegistry } from '@citycheck/divisions';
import { createReliableProducer } from '@citycheck/kafka';
import { bearer, testKafka, waitFor } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { citycheck, issueTestCredential, prepareStack, type Stack } from './support.js';

const kafka = testKafka();

describe("银川市's ledger items rectified in 2024, consolidated and reopened by 2025's data, on a running stack", () => {
  let stack: Stack;
  const tokens = new Map<string, string>();
  /** Where the evidence files are written before the CLI sends them. */
  let scratch: string;
  // Four communities of 银川 outside 灵武市 (640181), which reports on its own from 2025.
  let communities: [string, string, string, string];

  const submit = async (cycle: number, code: string, value: number): Promise<void> => {
    const submission: Submission = {
      submissionId: randomUUID(),
      cycle,
      catalogueVersion: `${cycle}.1`,
      cityCode: '640100',
      unit: { level: 'community', code },
      observations: [{ indicator: 'C01', value }],
    };
    const response = await fetch(`${stack.ingestUrl}/v1/submissions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(tokens.get('yinchuan') as string) },
      body: JSON.stringify(submission),
    });
    expect(response.status, await response.text()).toBe(202);
    await waitFor(
      async () => {
        const status = await fetch(`${stack.ingestUrl}/v1/submissions/${submission.submissionId}`, {
          headers: bearer(tokens.get('yinchuan') as string),
        });
        return ((await status.json()) as { status: string }).status === 'counted' ? true : undefined;
      },
      { timeoutMs: 60_000, what: `${cycle} ${code} to be counted` },
    );
  };

  /** `citycheck rectify <action>` on the 2024 C01 item of `community` as `who`, through ingest. */
  const rectify = (who: string, action: string, community: string, ...options: string[]) =>
    citycheck(
      { CITYCHECK_URL: stack.ingestUrl, CITYCHECK_TOKEN: tokens.get(who) as string },
      'rectify',
      action,
      ...['--cycle', '2024', '--unit', community, '--indicator', 'C01', ...options, '--json'],
    );
  /** The same, exiting 0 with the item as it now stands. */
  const act = async (who: string, action: string, community: string, ...options: string[]) => {
    const run = await rectify(who, action, community, ...options);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { state: string };
  };
  /** The city attaches `bytes` as evidence, from a file named `fileName`. */
  const upload = async (community: string, bytes: Buffer, fileName: string) => {
    const file = join(scratch, fileName);
    await writeFile(file, bytes);
    await act('yinchuan', 'evidence', community, '--file', file);
  };

  const query = async (who: string, sql: string): Promise<unknown[][]> => {
    const response = await fetch(`${stack.queryUrl}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(tokens.get(who) as string) },
      body: JSON.stringify({ sql }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return (JSON.parse(text) as { rows: unknown[][] }).rows;
  };

  /** Waits until `sql` answers `expected` for `who` (the lake and the query service catch up in their time). */
  const eventually = (who: string, sql: string, expected: unknown[][], what: string) =>
    waitFor(
      async () => {
        const rows = await query(who, sql);
        return JSON.stringify(rows) === JSON.stringify(expected) ? rows : undefined;
      },
      { timeoutMs: 60_000, what },
    ).then((rows) => expect(rows).toEqual(expected));

  const stateOf = (community: string) =>
    `SELECT state, recorded_state, actions, evidence_count, last_action, last_action_by FROM rectification WHERE cycle = 2024 AND unit_code = '${community}'`;

  beforeAll(async () => {
    stack = await prepareStack('rectification', { query: true });
    scratch = await mkdtemp(join(tmpdir(), 'citycheck-rectification-'));
    // credentials.v1 is the cluster's: every namespace's ingest and query authenticate against it.
    await ensureCredentialsTopic(kafka);
    const producer = createReliableProducer(kafka);
    await producer.connect();
    const issue = async (who: string, role: RoleName, name: string, cityCode?: string) => {
      tokens.set(who, (await issueTestCredential(producer, role, name, cityCode)).token);
    };
    await issue('yinchuan', 'city', '银川市住建局', '640100');
    await issue('ningxia', 'reviewer:province:64', '宁夏住建厅');
    await issue('xinjiang', 'reviewer:province:65', '新疆住建厅');
    await issue('ministry', 'reviewer:ministry', '住建部城市体检司');
    await producer.disconnect();
    communities = expectedCommunitiesOf(loadDivisionRegistry(), '640100', new Set(['640181']))
      .sort()
      .slice(0, 4) as [string, string, string, string];
    await stack.start(['ingest', 'validate', 'aggregate', 'query']);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it('walks one item to consolidated and one to reopened, with the overdue one and the rates', async () => {
    const [a, b, c, d] = communities;
    // 2024: a misses C01 <= 0 by 2, b by 3, c by 1; d meets it. The ledger holds a, b and c (new).
    for (const [code, value] of [
      [a, 2],
      [b, 3],
      [c, 1],
      [d, 0],
    ] as const)
      await submit(2024, code, value);
    const ledgerSql = `SELECT unit_code, state, value, gap, on_ledger FROM rectification WHERE cycle = 2024 ORDER BY unit_code`;
    await eventually(
      'ministry',
      ledgerSql,
      [
        [a, 'identified', 2, 2, true],
        [b, 'identified', 3, 3, true],
        [c, 'identified', 1, 1, true],
      ],
      "2024's three ledger items to be identified",
    );

    // Item a: the city plans (due 2099-12-31), reports progress, attaches a photo; 宁夏 verifies.
    const plan = (measure: string, department: string, targetDate: string) => [
      '--measure',
      measure,
      '--department',
      department,
      '--target-date',
      targetDate,
    ];
    await act('yinchuan', 'plan', a, ...plan('在小区内新建养老服务站', '银川市民政局', '2099-12-31'));
    await eventually(
      'ministry',
      stateOf(a),
      [['planned', 'planned', 1, 0, 'plan', '银川市住建局']],
      'a planned',
    );
    await act('yinchuan', 'progress', a, '--note', '选址已确定，施工招标中');
    await eventually(
      'ministry',
      stateOf(a),
      [['in_progress', 'in_progress', 2, 0, 'progress', '银川市住建局']],
      'a in progress',
    );
    // The city may not verify its own work, nor 新疆 an item of 宁夏's: both refused (exit 1), nothing recorded.
    const self = await rectify('yinchuan', 'verify', a);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('rectification_forbidden: 城市不能核验本市的整改');
    const otherProvince = await rectify('xinjiang', 'verify', a);
    expect(otherProvince.code).toBe(1);
    expect(otherProvince.stderr).toContain('rectification_forbidden');
    // The photo goes to the lake bucket under its hash, evidence/cycle=2024/city_code=640100/<sha256>.
    const photo = Buffer.from('a photo of the new elderly-care station');
    const sha256 = createHash('sha256').update(photo).digest('hex');
    const objectKey = `evidence/cycle=2024/city_code=640100/${sha256}`;
    await upload(a, photo, '养老服务站.jpg');
    await eventually(
      'ministry',
      stateOf(a),
      [['in_progress', 'in_progress', 3, 1, 'evidence', '银川市住建局']],
      'a evidenced',
    );
    await act('ningxia', 'verify', a, '--note', '现场核实，服务站已投入使用');
    await eventually(
      'ministry',
      stateOf(a),
      [['rectified', 'rectified', 4, 1, 'verify', '宁夏住建厅']],
      'a rectified',
    );

    // Item b: planned (due 2099-12-31), evidenced and verified the same way.
    await act('yinchuan', 'plan', b, ...plan('改造闲置用房为养老服务站', '银川市民政局', '2099-12-31'));
    await upload(b, Buffer.from('%PDF-1.4 a report on the converted rooms'), '改造验收报告.pdf');
    await act('ningxia', 'verify', b);
    // Item c: planned, due 2025-03-31, a date already past: overdue while it is not rectified.
    await act('yinchuan', 'plan', c, ...plan('租赁周边用房设置养老服务点', '兴庆区民政局', '2025-03-31'));

    // Before 2025's data: a and b rectified, c planned and overdue. 银川 2024: 3 items, planned 1, rectified 2,
    // overdue 1, rate (2 rectified + 0 consolidated) / 3 = 0.6667; 宁夏 the same (银川 is its only city with
    // items), the nation too.
    const ratesSql =
      'SELECT cycle, level, area_code, items, identified, planned, in_progress, rectified, consolidated, reopened, ' +
      'overdue, round(rectification_rate, 4) FROM rectification_rates ORDER BY cycle, level, area_code';
    await eventually(
      'ministry',
      ratesSql,
      [
        [2024, 'city', '640100', 3, 0, 1, 0, 2, 0, 0, 1, 0.6667],
        [2024, 'nation', '000000', 3, 0, 1, 0, 2, 0, 0, 1, 0.6667],
        [2024, 'province', '640000', 3, 0, 1, 0, 2, 0, 0, 1, 0.6667],
      ],
      'the 2024 rates with a and b rectified and c overdue',
    );

    // 2025: a meets the standard (0), b misses it again (1), d still meets it; c sends nothing. 2025's ledger:
    // a resolved, b persisting (an item of 2025 too), nothing for c or d.
    await submit(2025, a, 0);
    await submit(2025, b, 1);
    await submit(2025, d, 0);
    const judgedSql =
      'SELECT cycle, unit_code, state, recorded_state, next_cycle_value, next_cycle_meets, contradicted, ' +
      'reopened_by_cycle, overdue, verified_by FROM rectification ORDER BY cycle, unit_code';
    const judged = [
      [2024, a, 'consolidated', 'rectified', 0, true, false, null, false, '宁夏住建厅'],
      [2024, b, 'reopened', 'rectified', 1, false, true, 2025, false, '宁夏住建厅'],
      [2024, c, 'planned', 'planned', null, null, false, null, true, null],
      [2025, b, 'identified', null, null, null, false, null, false, null],
    ];
    await eventually('ministry', judgedSql, judged, "2025's data to consolidate a and reopen b");
    // 2024: 3 items, planned 1 (c), consolidated 1 (a), reopened 1 (b), overdue 1 (c; b is due 2099), rate
    // (0 rectified + 1 consolidated) / 3 = 0.3333. 2025: b's new item, identified, rate 0 / 1.
    const rates = [
      [2024, 'city', '640100', 3, 0, 1, 0, 0, 1, 1, 1, 0.3333],
      [2024, 'nation', '000000', 3, 0, 1, 0, 0, 1, 1, 1, 0.3333],
      [2024, 'province', '640000', 3, 0, 1, 0, 0, 1, 1, 1, 0.3333],
      [2025, 'city', '640100', 1, 1, 0, 0, 0, 0, 0, 0, 0],
      [2025, 'nation', '000000', 1, 1, 0, 0, 0, 0, 0, 0, 0],
      [2025, 'province', '640000', 1, 1, 0, 0, 0, 0, 0, 0, 0],
    ];
    expect(await query('ministry', ratesSql)).toEqual(rates);

    // a's trail: who did what, with the plan, the note and the photo's object, whose bytes are in the bucket.
    expect(
      await query(
        'ministry',
        `SELECT seq, action, actor, actor_role, state, note, plan_target_date IS NOT NULL, evidence_sha256, evidence_object_key FROM rectification_actions WHERE cycle = 2024 AND unit_code = '${a}' ORDER BY seq`,
      ),
    ).toEqual([
      [1, 'plan', '银川市住建局', 'city', 'planned', null, true, null, null],
      [2, 'progress', '银川市住建局', 'city', 'in_progress', '选址已确定，施工招标中', false, null, null],
      [3, 'evidence', '银川市住建局', 'city', 'in_progress', null, false, sha256, objectKey],
      [
        4,
        'verify',
        '宁夏住建厅',
        'reviewer:province:64',
        'rectified',
        '现场核实，服务站已投入使用',
        false,
        null,
        null,
      ],
    ]);
    const stored = await stack.store.get(objectKey);
    expect(
      createHash('sha256')
        .update(stored ?? new Uint8Array())
        .digest('hex'),
    ).toBe(sha256);

    // 宁夏 and 银川 see exactly what the ministry sees of them (银川 its city rows of the rates); 新疆 nothing.
    expect(await query('ningxia', judgedSql)).toEqual(judged);
    expect(await query('yinchuan', judgedSql)).toEqual(judged);
    expect(await query('ningxia', ratesSql)).toEqual(rates.filter((row) => row[1] !== 'nation'));
    expect(await query('yinchuan', ratesSql)).toEqual(rates.filter((row) => row[1] === 'city'));
    expect(
      await query(
        'xinjiang',
        'SELECT (SELECT count(*) FROM rectification), (SELECT count(*) FROM rectification_actions), (SELECT count(*) FROM rectification_rates)',
      ),
    ).toEqual([[0, 0, 0]]);
  }, 420_000);
});
