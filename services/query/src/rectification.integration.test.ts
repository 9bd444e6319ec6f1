// The rectification views over a lake the test writes the way aggregate does: the shortfall ledgers of 2024
// and 2025 and the records and actions of rectification.v1. Each 2024 item's state is judged against 2025's
// ledger (consolidated, reopened and contradicted), overdue against today, and the rates are counted per
// city, province and the nation; a province's reviewer and a city see their own rows only, the same as the
// ministry sees them. Every expected value is worked out by hand from the rows below.
import { createTestCredentials } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerRow, writeDerivedObject, writeRectificationObjects } from '../test/derived-objects.js';
import {
  postQuery,
  startQueryService,
  type TestLakeStore,
  type TestQueryService,
} from '../test/query-fixture.js';

const credentials = createTestCredentials();
const tokens = {
  ministry: credentials.issue('00000000000000a1', 'reviewer:ministry', { name: '住建部城市体检司' }),
  analyst: credentials.issue('00000000000000a2', 'analyst:ministry'),
  ningxia: credentials.issue('0000000000000064', 'reviewer:province:64', { name: '宁夏住建厅' }),
  xinjiang: credentials.issue('0000000000000065', 'reviewer:province:65', { name: '新疆住建厅' }),
  yinchuan: credentials.issue('00000000000000c1', 'city', { cityCode: '640100', name: '银川市住建局' }),
  lingwu: credentials.issue('00000000000000c2', 'city', { cityCode: '640181', name: '灵武市住建局' }),
  urumqi: credentials.issue('00000000000000c3', 'city', { cityCode: '650100', name: '乌鲁木齐市住建局' }),
};

// The items (C01, a count held to <= 0), by community:
// A 640104001001 (银川) 2024 value 2: rectified by 宁夏; 2025 value 0 (resolved)          -> consolidated
// B 640104001002 (银川) 2024 value 3: rectified by 宁夏; 2025 value 1 (persisting)        -> reopened, contradicted
// C 640104001003 (银川) 2024 value 1: planned by 2025-03-31, no 2025 data                 -> planned, overdue
// D 640181001001 (灵武, through 银川 in 2024) value 4: rectified; 2025 value 0 through 灵武 -> consolidated
// E 640104001004 (银川) 2024 value 5: no record; 2025 value 0 (resolved)                  -> identified
// F 650102001001 (乌鲁木齐) 2024 value 6: in progress, planned by 2099-12-31               -> in_progress
// G 640104001005 (银川): a 2024 record (planned) for a unit no longer on the ledger        -> on_ledger false
// H 640104001006 (银川): on 2024's ledger as resolved (a 2023 miss fixed): no item.
// 2025's ledger also holds B as persisting: a 2025 item with no record (identified).
type Last = [action: string, by: string, at: string];
/** A 2024 record of a community's C01 item in the stored columns: its state, plan's target date, last action and counts. */
type RecordRow = [
  city: string,
  community: string,
  state: string,
  targetDate: string,
  last: Last,
  evidence: number,
  actions: number,
];
const record = ([city, community, state, targetDate, last, evidence, actions]: RecordRow) => ({
  cycle: 2024,
  province_code: `${city.slice(0, 2)}0000`,
  city_code: city,
  unit_level: 'community',
  unit_code: community,
  indicator_code: 'C01',
  recorded_state: state,
  plan_measure: '新建养老服务站',
  plan_department: '市民政局',
  plan_target_date: targetDate,
  evidence_count: evidence,
  actions,
  last_action: last[0],
  last_action_by: last[1],
  last_action_at: last[2],
  verified_by: state === 'rectified' ? last[1] : null,
  verified_at: state === 'rectified' ? last[2] : null,
});
const verified = (at: string): Last => ['verify', '宁夏住建厅', at];
/** An action on 银川's item A (or 乌鲁木齐's F) in the stored columns. */
const action = (
  [community, seq, name, actor, role, at, state]: [string, number, string, string, string, string, string],
  extra: Record<string, unknown> = {},
) => ({
  cycle: 2024,
  province_code: `${community.slice(0, 2)}0000`,
  city_code: `${community.slice(0, 4)}00`,
  unit_level: 'community',
  unit_code: community,
  indicator_code: 'C01',
  seq,
  action: name,
  actor,
  actor_role: role,
  credential_id: role === 'city' ? 'c1' : 'p64',
  acted_at: at,
  state,
  ...extra,
});
const evidenceKey = `evidence/cycle=2024/city_code=640100/${'e'.repeat(64)}`;

const writeLake = async ({ store, writer }: TestLakeStore): Promise<void> => {
  await writeDerivedObject(store, writer.connection, 'shortfall_ledger', 2024, [
    ledgerRow('640100', 2, 'new', '640104001001'),
    ledgerRow('640100', 3, 'new', '640104001002'),
    ledgerRow('640100', 1, 'new', '640104001003'),
    ledgerRow('640100', 4, 'new', '640181001001'),
    ledgerRow('640100', 5, 'new', '640104001004'),
    ledgerRow('650100', 6, 'new', '650102001001'),
    ledgerRow('640100', 0, 'resolved', '640104001006'),
  ]);
  await writeDerivedObject(store, writer.connection, 'shortfall_ledger', 2025, [
    ledgerRow('640100', 0, 'resolved', '640104001001'),
    ledgerRow('640100', 1, 'persisting', '640104001002'),
    ledgerRow('640181', 0, 'resolved', '640181001001'),
    ledgerRow('640100', 0, 'resolved', '640104001004'),
  ]);
  await writeRectificationObjects(
    store,
    writer.connection,
    (
      [
        ['640100', '640104001001', 'rectified', '2024-12-31', verified('2024-11-20 02:00:00'), 1, 4],
        ['640100', '640104001002', 'rectified', '2024-12-31', verified('2024-11-21 02:00:00'), 2, 4],
        [
          '640100',
          '640104001003',
          'planned',
          '2025-03-31',
          ['plan', '银川市住建局', '2024-10-02 02:00:00'],
          0,
          1,
        ],
        ['640100', '640181001001', 'rectified', '2024-12-31', verified('2024-11-22 02:00:00'), 1, 3],
        [
          '650100',
          '650102001001',
          'in_progress',
          '2099-12-31',
          ['progress', '乌鲁木齐市住建局', '2024-10-05 02:00:00'],
          0,
          2,
        ],
        [
          '640100',
          '640104001005',
          'planned',
          '2025-06-30',
          ['plan', '银川市住建局', '2024-10-03 02:00:00'],
          0,
          1,
        ],
      ] satisfies RecordRow[]
    ).map(record),
    [
      action(['640104001001', 1, 'plan', '银川市住建局', 'city', '2024-10-01 02:00:00', 'planned'], {
        plan_measure: '新建养老服务站',
        plan_department: '市民政局',
        plan_target_date: '2024-12-31',
      }),
      action(['640104001001', 2, 'progress', '银川市住建局', 'city', '2024-10-15 02:00:00', 'in_progress'], {
        note: '选址已定',
      }),
      action(['640104001001', 3, 'evidence', '银川市住建局', 'city', '2024-11-01 02:00:00', 'in_progress'], {
        evidence_sha256: 'e'.repeat(64),
        evidence_bytes: 2048,
        evidence_content_type: 'image/jpeg',
        evidence_file_name: '养老服务站.jpg',
        evidence_object_key: evidenceKey,
      }),
      action(
        [
          '640104001001',
          4,
          'verify',
          '宁夏住建厅',
          'reviewer:province:64',
          '2024-11-20 02:00:00',
          'rectified',
        ],
        { note: '现场核实' },
      ),
      action(['650102001001', 1, 'plan', '乌鲁木齐市住建局', 'city', '2024-10-04 02:00:00', 'planned']),
      action([
        '650102001001',
        2,
        'progress',
        '乌鲁木齐市住建局',
        'city',
        '2024-10-05 02:00:00',
        'in_progress',
      ]),
    ],
  );
};

let service: TestQueryService;

beforeAll(async () => {
  service = await startQueryService({
    name: 'rectification',
    authenticator: credentials.store,
    unitsPerCity: 0,
    beforeStart: writeLake,
  });
});

afterAll(() => service?.close());

const rows = async (token: string, sql: string): Promise<unknown[][]> => {
  const response = await postQuery(service.app, token, sql);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ rows: unknown[][] }>().rows;
};

const stateSql =
  'SELECT cycle, city_code, unit_code, state, recorded_state, on_ledger, overdue, next_cycle_value, ' +
  'next_cycle_meets, contradicted, reopened_by_cycle FROM rectification ORDER BY cycle, unit_code';

// What every caller sees of its own items, from the comments at the top: C's target (2025-03-31) and B's
// (2024-12-31) are past, and neither is rectified nor consolidated (B is reopened), so both are overdue; F's
// (2099-12-31) is not; A and D are consolidated, G's record is planned by 2025-06-30 (past) but G is no item.
const items = {
  A: [2024, '640100', '640104001001', 'consolidated', 'rectified', true, false, 0, true, false, null],
  B: [2024, '640100', '640104001002', 'reopened', 'rectified', true, true, 1, false, true, 2025],
  C: [2024, '640100', '640104001003', 'planned', 'planned', true, true, null, null, false, null],
  E: [2024, '640100', '640104001004', 'identified', null, true, false, 0, true, false, null],
  G: [2024, '640100', '640104001005', 'planned', 'planned', false, true, null, null, false, null],
  D: [2024, '640100', '640181001001', 'consolidated', 'rectified', true, false, 0, true, false, null],
  F: [2024, '650100', '650102001001', 'in_progress', 'in_progress', true, false, null, null, false, null],
  B2025: [2025, '640100', '640104001002', 'identified', null, true, false, null, null, false, null],
};
const ningxiaItems = [items.A, items.B, items.C, items.E, items.G, items.D, items.B2025];

describe('the rectification view', () => {
  it("judges each item against the next cycle's ledger, for the ministry", async () => {
    expect(await rows(tokens.ministry, stateSql)).toEqual([
      items.A,
      items.B,
      items.C,
      items.E,
      items.G,
      items.D,
      items.F,
      items.B2025,
    ]);
  });

  it("keeps the record's plan, evidence, last action and verification beside the ledger's figures", async () => {
    expect(
      await rows(
        tokens.ministry,
        'SELECT district_code, street_code, value, gap, since_cycle, plan_measure, plan_department, ' +
          'CAST(plan_target_date AS VARCHAR), evidence_count, actions, last_action, last_action_by, ' +
          "CAST(last_action_at AS VARCHAR), verified_by, CAST(verified_at AS VARCHAR) FROM rectification WHERE unit_code IN ('640104001001', '640104001004') AND cycle = 2024 ORDER BY unit_code",
      ),
    ).toEqual([
      [
        '640104',
        '640104001',
        2,
        2,
        2024,
        '新建养老服务站',
        '市民政局',
        '2024-12-31',
        1,
        4,
        'verify',
        '宁夏住建厅',
        '2024-11-20 02:00:00',
        '宁夏住建厅',
        '2024-11-20 02:00:00',
      ],
      // No record: no plan, no evidence and no action (0, not NULL).
      ['640104', '640104001', 5, 5, 2024, null, null, null, 0, 0, null, null, null, null, null],
    ]);
  });

  it("judges overdue on today's date in Beijing", async () => {
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    expect(
      await rows(tokens.ministry, 'SELECT DISTINCT CAST(overdue_as_of AS VARCHAR) FROM rectification'),
    ).toEqual([[today]]);
  });

  it('counts the rates per city, province and the nation', async () => {
    // 2024, on the ledger: 银川 A B C D E (G is no item), 乌鲁木齐 F. 银川: identified E, planned C,
    // consolidated A D, reopened B; overdue B C; rate (0 rectified + 2 consolidated) / 5 = 0.4. 乌鲁木齐: F in
    // progress, rate 0 / 1. The nation: 6 items, rate 2 / 6. 2025: B again, identified, in 银川.
    expect(
      await rows(
        tokens.ministry,
        'SELECT cycle, level, area_code, province_code, items, identified, planned, in_progress, rectified, ' +
          'consolidated, reopened, overdue, round(rectification_rate, 4) FROM rectification_rates',
      ),
    ).toEqual([
      [2024, 'city', '640100', '640000', 5, 1, 1, 0, 0, 2, 1, 2, 0.4],
      [2024, 'city', '650100', '650000', 1, 0, 0, 1, 0, 0, 0, 0, 0],
      [2024, 'nation', '000000', null, 6, 1, 1, 1, 0, 2, 1, 2, 0.3333],
      [2024, 'province', '640000', '640000', 5, 1, 1, 0, 0, 2, 1, 2, 0.4],
      [2024, 'province', '650000', '650000', 1, 0, 0, 1, 0, 0, 0, 0, 0],
      [2025, 'city', '640100', '640000', 1, 1, 0, 0, 0, 0, 0, 0, 0],
      [2025, 'nation', '000000', null, 1, 1, 0, 0, 0, 0, 0, 0, 0],
      [2025, 'province', '640000', '640000', 1, 1, 0, 0, 0, 0, 0, 0, 0],
    ]);
  });

  it('lists the trail with the note, the plan and the evidence each action carried', async () => {
    expect(
      await rows(
        tokens.analyst,
        'SELECT seq, action, actor, actor_role, state, note, plan_measure, CAST(plan_target_date AS VARCHAR), ' +
          "evidence_file_name, evidence_bytes, evidence_object_key FROM rectification_actions WHERE unit_code = '640104001001' ORDER BY seq",
      ),
    ).toEqual([
      [1, 'plan', '银川市住建局', 'city', 'planned', null, '新建养老服务站', '2024-12-31', null, null, null],
      [2, 'progress', '银川市住建局', 'city', 'in_progress', '选址已定', null, null, null, null, null],
      [
        3,
        'evidence',
        '银川市住建局',
        'city',
        'in_progress',
        null,
        null,
        null,
        '养老服务站.jpg',
        2048,
        `evidence/cycle=2024/city_code=640100/${'e'.repeat(64)}`,
      ],
      [
        4,
        'verify',
        '宁夏住建厅',
        'reviewer:province:64',
        'rectified',
        '现场核实',
        null,
        null,
        null,
        null,
        null,
      ],
    ]);
  });
});

describe('the rectification views are scoped', () => {
  it("show a province's reviewer its own province's items, rates and trail only", async () => {
    expect(await rows(tokens.ningxia, stateSql)).toEqual(ningxiaItems);
    expect(await rows(tokens.xinjiang, stateSql)).toEqual([items.F]);
    expect(
      await rows(tokens.ningxia, 'SELECT cycle, level, area_code, items FROM rectification_rates'),
    ).toEqual([
      [2024, 'city', '640100', 5],
      [2024, 'province', '640000', 5],
      [2025, 'city', '640100', 1],
      [2025, 'province', '640000', 1],
    ]);
    expect(await rows(tokens.xinjiang, 'SELECT DISTINCT unit_code FROM rectification_actions')).toEqual([
      ['650102001001'],
    ]);
    // Naming the other province's rows finds nothing.
    expect(
      await rows(
        tokens.xinjiang,
        "SELECT (SELECT count(*) FROM rectification WHERE province_code = '640000'), (SELECT count(*) FROM rectification_rates WHERE level = 'nation' OR area_code LIKE '64%'), (SELECT count(*) FROM rectification_actions WHERE city_code = '640100')",
      ),
    ).toEqual([[0, 0, 0]]);
  });

  it('show a city its own items, as the ministry sees them, and its own rates and trail', async () => {
    // D's 2025 value came through 灵武 (640181), a city of its own from 2025: 银川 still sees its 2024 item
    // consolidated, and 灵武 has no item of 2024 to see.
    expect(await rows(tokens.yinchuan, stateSql)).toEqual(ningxiaItems);
    expect(await rows(tokens.lingwu, stateSql)).toEqual([]);
    expect(await rows(tokens.urumqi, stateSql)).toEqual([items.F]);
    expect(
      await rows(tokens.yinchuan, 'SELECT cycle, level, area_code, items FROM rectification_rates'),
    ).toEqual([
      [2024, 'city', '640100', 5],
      [2025, 'city', '640100', 1],
    ]);
    expect(await rows(tokens.lingwu, 'SELECT count(*) FROM rectification_rates')).toEqual([[0]]);
    expect(
      await rows(tokens.yinchuan, 'SELECT DISTINCT city_code, unit_code FROM rectification_actions'),
    ).toEqual([['640100', '640104001001']]);
    expect(
      await rows(
        tokens.urumqi,
        "SELECT (SELECT count(*) FROM rectification WHERE city_code <> '650100'), (SELECT count(*) FROM rectification_actions WHERE city_code <> '650100')",
      ),
    ).toEqual([[0, 0]]);
  });
});
