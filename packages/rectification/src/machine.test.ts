// The rectification state machine walked by hand: who may take each action on which ledger item, from which
// states, what each action needs, and the audit trail it leaves. Expected records and messages are written
// out in full.
import type { Principal } from '@citycheck/credentials';
import { describe, expect, it } from 'vitest';
import { RectificationBook } from './book.js';
import { isCalendarDate, type RectificationRequest, rectificationAction } from './machine.js';
import {
  evidenceObjectKey,
  parseRectificationRecord,
  type RectificationEvidence,
  type RectificationRecord,
  rectificationKey,
} from './record.js';

const yinchuan: Principal = { kind: 'city', credentialId: 'c1', name: '银川市住建局', cityCode: '640100' };
const urumqi: Principal = { kind: 'city', credentialId: 'c2', name: '乌鲁木齐市住建局', cityCode: '650100' };
const provinceReviewer = (provinceCode: string, name: string): Principal => ({
  kind: 'reviewer:province',
  credentialId: `p${provinceCode}`,
  name,
  provinceCode,
});
const ningxia = provinceReviewer('64', '宁夏住建厅');
const xinjiang = provinceReviewer('65', '新疆住建厅');
const ministry: Principal = { kind: 'reviewer:ministry', credentialId: 'm', name: '住建部城市体检司' };
const ministryAnalyst: Principal = { kind: 'analyst:ministry', credentialId: 'a', name: '分析' };
const ningxiaAnalyst: Principal = {
  kind: 'analyst:province',
  credentialId: 'a64',
  name: '宁夏分析',
  provinceCode: '64',
};
const operator: Principal = { kind: 'operator', credentialId: 'o', name: '值班' };

// 兴庆区 (640104) of 银川市 missed the standard of D01 in 2025: the item this file walks.
const item = {
  cycle: 2025,
  cityCode: '640100',
  unitLevel: 'district',
  unitCode: '640104',
  indicatorCode: 'D01',
};

type Extra = Partial<Pick<RectificationRequest, 'note' | 'plan' | 'evidence'>>;
const act = (
  current: RectificationRecord | undefined,
  action: RectificationRequest['action'],
  by: Principal,
  at: string,
  extra: Extra = {},
) => rectificationAction(current, { ...item, action, by, at: new Date(at), ...extra });

const must = (outcome: ReturnType<typeof act>): RectificationRecord => {
  if (!outcome.ok) throw new Error(outcome.refusal.message);
  return outcome.record;
};

const plan = { measure: '新建口袋公园 3 处', department: '银川市园林局', targetDate: '2026-06-30' };
// The SHA-256 of the three bytes "abc", as FIPS 180-2 gives it.
const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const photo: RectificationEvidence = {
  sha256: abc,
  bytes: 3,
  contentType: 'image/jpeg',
  fileName: '口袋公园竣工.jpg',
  objectKey: `evidence/cycle=2025/city_code=640100/${abc}`,
};

describe('rectification of one ledger item', () => {
  it('walks plan, progress, evidence, verify, return, evidence, verify, keeping every action', () => {
    const planned = must(act(undefined, 'plan', yinchuan, '2026-02-01T02:00:00Z', { plan }));
    expect(planned).toEqual({
      kind: 'rectification',
      cycle: 2025,
      provinceCode: '64',
      cityCode: '640100',
      unitLevel: 'district',
      unitCode: '640104',
      indicatorCode: 'D01',
      state: 'planned',
      plan,
      evidence: [],
      actions: [
        {
          action: 'plan',
          by: '银川市住建局',
          credentialId: 'c1',
          role: 'city',
          at: '2026-02-01T02:00:00.000Z',
          state: 'planned',
          plan,
        },
      ],
    });
    const progressed = must(
      act(planned, 'progress', yinchuan, '2026-03-01T02:00:00Z', { note: '  已完成 2 处选址  ' }),
    );
    expect(progressed.state).toBe('in_progress');
    expect(progressed.actions[1]).toEqual({
      action: 'progress',
      by: '银川市住建局',
      credentialId: 'c1',
      role: 'city',
      at: '2026-03-01T02:00:00.000Z',
      state: 'in_progress',
      note: '已完成 2 处选址',
    });
    const evidenced = must(
      act(progressed, 'evidence', yinchuan, '2026-05-01T02:00:00Z', { evidence: photo }),
    );
    expect(evidenced.evidence).toEqual([photo]);
    expect(evidenced.actions[2]).toMatchObject({ action: 'evidence', state: 'in_progress', evidence: photo });
    const verified = must(
      act(evidenced, 'verify', ningxia, '2026-05-10T02:00:00Z', { note: '现场核查属实' }),
    );
    expect(verified.state).toBe('rectified');
    expect(verified.actions[3]).toEqual({
      action: 'verify',
      by: '宁夏住建厅',
      credentialId: 'p64',
      role: 'reviewer:province:64',
      at: '2026-05-10T02:00:00.000Z',
      state: 'rectified',
      note: '现场核查属实',
    });
    const returned = must(
      act(verified, 'return', ministry, '2026-05-20T02:00:00Z', { note: '照片未显示公园名称' }),
    );
    expect(returned.state).toBe('in_progress');
    expect(returned.actions[4]?.role).toBe('reviewer:ministry');
    const pdf: RectificationEvidence = {
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      bytes: 1024,
      contentType: 'application/pdf',
      fileName: '验收报告.pdf',
      objectKey:
        'evidence/cycle=2025/city_code=640100/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    };
    const again = must(act(returned, 'evidence', yinchuan, '2026-05-25T02:00:00Z', { evidence: pdf }));
    const reverified = must(act(again, 'verify', ministry, '2026-06-01T02:00:00Z'));
    expect(reverified.state).toBe('rectified');
    expect(reverified.evidence).toEqual([photo, pdf]);
    expect(reverified.plan).toEqual(plan);
    expect(reverified.actions.map((entry) => `${entry.action}->${entry.state}`)).toEqual([
      'plan->planned',
      'progress->in_progress',
      'evidence->in_progress',
      'verify->rectified',
      'return->in_progress',
      'evidence->in_progress',
      'verify->rectified',
    ]);
    // A verification without a note carries none.
    expect(reverified.actions[6]).not.toHaveProperty('note');
    // The record it produced is what the topic carries and reads back unchanged.
    expect(parseRectificationRecord(rectificationKey(item), JSON.parse(JSON.stringify(reverified)))).toEqual(
      reverified,
    );
  });

  it('takes a new plan: planned stays planned, in progress stays in progress, the latest plan is the plan', () => {
    const planned = must(act(undefined, 'plan', yinchuan, '2026-02-01T00:00:00Z', { plan }));
    const later = { ...plan, targetDate: '2026-12-31' };
    const replanned = must(act(planned, 'plan', yinchuan, '2026-02-02T00:00:00Z', { plan: later }));
    expect(replanned.state).toBe('planned');
    expect(replanned.plan).toEqual(later);
    expect(replanned.actions.map((entry) => entry.plan?.targetDate)).toEqual(['2026-06-30', '2026-12-31']);
    const started = must(act(replanned, 'progress', yinchuan, '2026-02-03T00:00:00Z', { note: '开工' }));
    const moved = must(
      act(started, 'plan', yinchuan, '2026-02-04T00:00:00Z', {
        plan: { measure: ' 改建街心绿地 ', department: ' 兴庆区住建局 ', targetDate: '2027-03-31' },
      }),
    );
    expect(moved.state).toBe('in_progress');
    expect(moved.plan).toEqual({
      measure: '改建街心绿地',
      department: '兴庆区住建局',
      targetDate: '2027-03-31',
    });
  });

  it('lets evidence start the work straight from a plan', () => {
    const planned = must(act(undefined, 'plan', yinchuan, '2026-02-01T00:00:00Z', { plan }));
    expect(must(act(planned, 'evidence', yinchuan, '2026-02-02T00:00:00Z', { evidence: photo })).state).toBe(
      'in_progress',
    );
  });

  // The states on the way to rectified, a day apart; the refusals below are asked of them a day later.
  const planned = must(act(undefined, 'plan', yinchuan, '2026-02-01T00:00:00Z', { plan }));
  const progressed = must(act(planned, 'progress', yinchuan, '2026-02-02T00:00:00Z', { note: '开工' }));
  const evidenced = must(act(progressed, 'evidence', yinchuan, '2026-02-03T00:00:00Z', { evidence: photo }));
  const verified = must(act(evidenced, 'verify', ningxia, '2026-02-04T00:00:00Z'));

  // What is refused, and the whole refusal a reviewer or city reads.
  it.each<
    [
      string,
      RectificationRecord | undefined,
      RectificationRequest['action'],
      Principal,
      Extra,
      string,
      string,
    ]
  >([
    [
      'progress before a plan',
      undefined,
      'progress',
      yinchuan,
      { note: '开工' },
      'rectification_transition_refused',
      '2025 年度 640104 的指标 D01 的整改状态为“待整改”，不能报告整改进展：只有“已制定计划”、“整改中”状态下可以报告整改进展',
    ],
    [
      'evidence before a plan',
      undefined,
      'evidence',
      yinchuan,
      { evidence: photo },
      'rectification_transition_refused',
      '2025 年度 640104 的指标 D01 的整改状态为“待整改”，不能上传佐证材料：只有“已制定计划”、“整改中”状态下可以上传佐证材料',
    ],
    [
      'a verification of a plan',
      planned,
      'verify',
      ningxia,
      {},
      'rectification_transition_refused',
      '2025 年度 640104 的指标 D01 的整改状态为“已制定计划”，不能核验：只有“整改中”状态下可以核验',
    ],
    [
      'a verification without evidence',
      progressed,
      'verify',
      ningxia,
      {},
      'rectification_transition_refused',
      '2025 年度 640104 的指标 D01 的整改尚无佐证材料，不能核验：须由 640100 先上传佐证材料',
    ],
    [
      'a second verification',
      verified,
      'verify',
      ministry,
      {},
      'rectification_transition_refused',
      '2025 年度 640104 的指标 D01 的整改状态为“已整改（已核验）”，不能核验：只有“整改中”状态下可以核验',
    ],
    [
      'a new plan after verification',
      verified,
      'plan',
      yinchuan,
      { plan },
      'rectification_transition_refused',
      '2025 年度 640104 的指标 D01 的整改状态为“已整改（已核验）”，不能制定整改计划：只有“待整改”、“已制定计划”、“整改中”状态下可以制定整改计划',
    ],
    [
      'a return of a plan',
      planned,
      'return',
      ningxia,
      { note: 'x' },
      'rectification_transition_refused',
      '2025 年度 640104 的指标 D01 的整改状态为“已制定计划”，不能退回：只有“整改中”、“已整改（已核验）”状态下可以退回',
    ],
    [
      'a city verifying its own work',
      evidenced,
      'verify',
      yinchuan,
      {},
      'rectification_forbidden',
      '城市不能核验本市的整改：核验由所在省的审核人员或部级审核人员进行',
    ],
    [
      'a city returning its own work',
      verified,
      'return',
      yinchuan,
      { note: '重做' },
      'rectification_forbidden',
      '城市不能退回本市的整改：退回由所在省的审核人员或部级审核人员进行',
    ],
    [
      'another city verifying',
      evidenced,
      'verify',
      urumqi,
      {},
      'rectification_forbidden',
      '城市 650100 不能核验 640100 的整改',
    ],
    [
      "another city planning for 银川市's unit",
      undefined,
      'plan',
      urumqi,
      { plan },
      'rectification_forbidden',
      '城市 650100 只能为本市的单元制定整改计划：640104 属于 640100',
    ],
    [
      "another province's reviewer verifying",
      evidenced,
      'verify',
      xinjiang,
      {},
      'rectification_forbidden',
      '省级审核人员（65）只能核验本省城市的整改：640104 属于省份 64',
    ],
    [
      "another province's reviewer returning",
      verified,
      'return',
      xinjiang,
      { note: '不符合' },
      'rectification_forbidden',
      '省级审核人员（65）只能退回本省城市的整改：640104 属于省份 64',
    ],
    [
      'a reviewer planning for the city',
      undefined,
      'plan',
      ningxia,
      { plan },
      'rectification_forbidden',
      '只有单元所在的城市可以制定整改计划：reviewer:province:64 不能为 640100 的单元 640104 制定整改计划',
    ],
    [
      'an analyst verifying',
      evidenced,
      'verify',
      ministryAnalyst,
      {},
      'rectification_forbidden',
      '只有 640100 所在省（64）的审核人员或部级审核人员可以核验：analyst:ministry 不能核验',
    ],
    [
      'a plan with a date that does not exist',
      undefined,
      'plan',
      yinchuan,
      { plan: { ...plan, targetDate: '2026-02-30' } },
      'rectification_invalid',
      '整改计划完成时限（targetDate）须为真实的日期，写作 YYYY-MM-DD：“2026-02-30”不是',
    ],
    [
      'a plan with every field wrong',
      undefined,
      'plan',
      yinchuan,
      { plan: { measure: ' ', department: '', targetDate: '2026/06/30' } },
      'rectification_invalid',
      '整改计划需要填写整改措施（measure）；需要填写责任部门（department）；完成时限（targetDate）须为真实的日期，写作 YYYY-MM-DD：“2026/06/30”不是',
    ],
    [
      'a plan with no plan',
      undefined,
      'plan',
      yinchuan,
      {},
      'rectification_invalid',
      '制定整改计划需要整改措施（measure）、责任部门（department）和完成时限（targetDate）',
    ],
    [
      'progress without a note',
      planned,
      'progress',
      yinchuan,
      { note: '  ' },
      'rectification_invalid',
      '报告整改进展需要填写进展说明（note）',
    ],
    [
      'a return without a reason',
      verified,
      'return',
      ningxia,
      {},
      'rectification_invalid',
      '退回需要说明理由（note）',
    ],
    [
      'a GIF as evidence',
      planned,
      'evidence',
      yinchuan,
      { evidence: { ...photo, contentType: 'image/gif' } },
      'rectification_invalid',
      '佐证材料须为 JPEG 或 PNG 图片、PDF 文档（image/jpeg、image/png、application/pdf）：不接受 image/gif',
    ],
    [
      'an empty file as evidence',
      planned,
      'evidence',
      yinchuan,
      { evidence: { ...photo, bytes: 0 } },
      'rectification_invalid',
      '佐证材料不能是空文件',
    ],
    [
      'the same file twice',
      evidenced,
      'evidence',
      yinchuan,
      { evidence: { ...photo, fileName: '再传一次.jpg' } },
      'rectification_invalid',
      `该佐证材料（sha256 ${abc}，口袋公园竣工.jpg）已附在 2025 年度 640104 的指标 D01 的整改上，无需重复上传`,
    ],
    [
      "evidence stored under another city's prefix",
      planned,
      'evidence',
      yinchuan,
      { evidence: { ...photo, objectKey: `evidence/cycle=2025/city_code=650100/${abc}` } },
      'rectification_invalid',
      `佐证材料须存放在 evidence/cycle=2025/city_code=640100/${abc}，而不是 evidence/cycle=2025/city_code=650100/${abc}`,
    ],
  ])('refuses %s, saying why and who may', (_, current, action, by, extra, code, message) => {
    expect(act(current, action, by, '2026-02-05T00:00:00Z', extra)).toEqual({
      ok: false,
      refusal: { code, message },
    });
  });

  // Refused with the code of the rule broken (the message is worded as in the cases above).
  it.each<
    [string, RectificationRecord | undefined, RectificationRequest['action'], Principal, Extra, string]
  >([
    ['identified', undefined, 'verify', ningxia, {}, 'rectification_transition_refused'],
    ['identified', undefined, 'return', ningxia, { note: 'x' }, 'rectification_transition_refused'],
    ['rectified', verified, 'progress', yinchuan, { note: 'x' }, 'rectification_transition_refused'],
    ['rectified', verified, 'evidence', yinchuan, { evidence: photo }, 'rectification_transition_refused'],
    ['planned', planned, 'progress', ningxiaAnalyst, { note: 'x' }, 'rectification_forbidden'],
    ['in progress', evidenced, 'verify', ningxiaAnalyst, {}, 'rectification_forbidden'],
    ['in progress', evidenced, 'verify', operator, {}, 'rectification_forbidden'],
    ['in progress', evidenced, 'evidence', ministry, { evidence: photo }, 'rectification_forbidden'],
    ['rectified', verified, 'return', ministryAnalyst, { note: 'x' }, 'rectification_forbidden'],
    // Who may act is asked before the state, so another province learns nothing, not even that it is identified.
    ['identified', undefined, 'verify', xinjiang, {}, 'rectification_forbidden'],
  ])('refuses on a %s item %#', (_, current, action, by, extra, code) => {
    expect(act(current, action, by, '2026-02-05T00:00:00Z', extra)).toMatchObject({
      ok: false,
      refusal: { code },
    });
  });

  it('tells real calendar dates from the rest', () => {
    expect(isCalendarDate('2024-02-29')).toBe(true); // 2024 is a leap year
    expect(isCalendarDate('2025-02-29')).toBe(false);
    expect(isCalendarDate('2100-02-29')).toBe(false); // divisible by 100, not by 400
    expect(isCalendarDate('2000-02-29')).toBe(true); // divisible by 400
    expect(isCalendarDate('2026-04-31')).toBe(false);
    expect(isCalendarDate('2026-12-31')).toBe(true);
    expect(isCalendarDate('2026-13-01')).toBe(false);
    expect(isCalendarDate('2026-6-30')).toBe(false);
    expect(isCalendarDate('2026-06-30T00:00:00Z')).toBe(false);
  });

  it('names the object an evidence file is stored under', () => {
    expect(evidenceObjectKey(2025, '640100', abc)).toBe(`evidence/cycle=2025/city_code=640100/${abc}`);
  });

  it('keeps the latest record per item, ordered, and forgets a tombstoned one', () => {
    const book = new RectificationBook();
    let changes = 0;
    book.onChange(() => {
      changes += 1;
    });
    const other = must(
      rectificationAction(undefined, {
        cycle: 2025,
        cityCode: '640100',
        unitLevel: 'community',
        unitCode: '640104001001',
        indicatorCode: 'C01',
        action: 'plan',
        by: yinchuan,
        at: new Date('2026-02-01T00:00:00Z'),
        plan,
      }),
    );
    book.apply(rectificationKey(item), planned);
    book.apply(rectificationKey(item), verified);
    book.apply(rectificationKey(other), other);
    expect(book.item(item)).toBe(verified);
    expect(book.item({ ...item, cycle: 2024 })).toBeUndefined();
    // community sorts before district.
    expect(book.all()).toEqual([other, verified]);
    expect(book.where((record) => record.state === 'rectified')).toEqual([verified]);
    book.apply(rectificationKey(item), null);
    expect(book.item(item)).toBeUndefined();
    expect(changes).toBe(4);
  });

  it('refuses a malformed record and one under another key', () => {
    expect(() =>
      parseRectificationRecord(rectificationKey(item), { kind: 'rectification', cycle: 2025 }),
    ).toThrow(
      'rectification record: an item needs a cycle, provinceCode, cityCode, unitLevel, unitCode and indicatorCode',
    );
    expect(() => parseRectificationRecord('rectification-2025-district-640105-D01', planned)).toThrow(
      'rectification record: item rectification-2025-district-640104-D01 under key rectification-2025-district-640105-D01',
    );
    expect(() =>
      parseRectificationRecord(rectificationKey(item), {
        ...evidenced,
        evidence: [{ ...photo, sha256: 'abc' }],
      }),
    ).toThrow('rectification record: an evidence needs a sha256, bytes, contentType, fileName and objectKey');
    expect(() =>
      parseRectificationRecord(rectificationKey(item), { ...planned, state: 'consolidated' }),
    ).toThrow('rectification record: unknown state consolidated');
  });
});
