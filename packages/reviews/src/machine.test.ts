// The review state machine walked by hand: who may take each action on which city, from which states, what
// each action needs, and the audit trail it leaves. Expected records and messages are written out in full.
import type { Principal } from '@citycheck/credentials';
import { describe, expect, it } from 'vitest';
import { ReviewBook } from './book.js';
import { isLocked, lockedMessage, type ReviewRequest, reviewAction, wasLockedAt } from './machine.js';
import { parseReviewRecord, type ReviewRecord, reviewKey } from './record.js';

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

const act = (
  current: ReviewRecord | undefined,
  action: ReviewRequest['action'],
  by: Principal,
  at: string,
  extra: Partial<Pick<ReviewRequest, 'reason' | 'comments' | 'cityCode'>> = {},
) => reviewAction(current, { action, cycle: 2025, cityCode: '640100', by, at: new Date(at), ...extra });

const must = (outcome: ReturnType<typeof act>): ReviewRecord => {
  if (!outcome.ok) throw new Error(outcome.refusal.message);
  return outcome.record;
};

describe('review of one city for one cycle', () => {
  it('walks submit, return with comments, submit, approve, accept, reopen, submit, keeping every action', () => {
    const submitted = must(act(undefined, 'submit', yinchuan, '2026-01-10T02:00:00Z'));
    expect(submitted).toEqual({
      kind: 'review',
      cycle: 2025,
      cityCode: '640100',
      state: 'submitted',
      actions: [
        {
          action: 'submit',
          by: '银川市住建局',
          credentialId: 'c1',
          role: 'city',
          at: '2026-01-10T02:00:00.000Z',
          state: 'submitted',
        },
      ],
    });
    const comment = {
      text: '兴庆区的人均公园绿地面积比上年下降一半，请核实',
      unit: '640104',
      indicator: 'E-01',
    };
    const returned = must(act(submitted, 'return', ningxia, '2026-01-12T01:00:00Z', { comments: [comment] }));
    expect(returned.state).toBe('returned');
    expect(returned.actions[1]).toEqual({
      action: 'return',
      by: '宁夏住建厅',
      credentialId: 'p64',
      role: 'reviewer:province:64',
      at: '2026-01-12T01:00:00.000Z',
      state: 'returned',
      comments: [comment],
    });
    const again = must(act(returned, 'submit', yinchuan, '2026-01-13T01:00:00Z'));
    const approved = must(act(again, 'approve', ningxia, '2026-01-14T01:00:00Z'));
    const accepted = must(act(approved, 'accept', ministry, '2026-01-20T06:30:00Z'));
    expect(accepted.state).toBe('accepted');
    expect(isLocked(accepted)).toBe(true);
    // 06:30 UTC is 14:30 in Beijing.
    expect(lockedMessage(accepted)).toBe(
      '640100 的 2025 年度数据已于 2026-01-20 14:30（北京时间）由 住建部城市体检司 验收，已锁定，不再接受新的提交；如需更正，请联系审核人员重新开放',
    );
    const reopened = must(
      act(accepted, 'reopen', ningxia, '2026-02-01T01:00:00Z', { reason: '  统计局更正了常住人口  ' }),
    );
    expect(reopened.state).toBe('reopened');
    expect(reopened.actions[5]?.reason).toBe('统计局更正了常住人口');
    expect(isLocked(reopened)).toBe(false);
    const resubmitted = must(act(reopened, 'submit', yinchuan, '2026-02-02T01:00:00Z'));
    expect(resubmitted.actions.map((entry) => `${entry.action}->${entry.state}`)).toEqual([
      'submit->submitted',
      'return->returned',
      'submit->submitted',
      'approve->approved',
      'accept->accepted',
      'reopen->reopened',
      'submit->submitted',
    ]);
    // The record it produced is what the topic carries and reads back unchanged.
    expect(parseReviewRecord(reviewKey(2025, '640100'), JSON.parse(JSON.stringify(resubmitted)))).toEqual(
      resubmitted,
    );
  });

  // The states on the way to accepted, a day apart; the refusals below are asked of them a day later.
  const submitted = must(act(undefined, 'submit', yinchuan, '2026-01-10T00:00:00Z'));
  const approved = must(act(submitted, 'approve', ningxia, '2026-01-11T00:00:00Z'));
  const accepted = must(act(approved, 'accept', ministry, '2026-01-12T00:00:00Z'));
  type Extra = Parameters<typeof act>[4];
  const x: Extra = { reason: 'x' };

  // What is refused, and the whole refusal a reviewer or city reads.
  it.each<[string, ReviewRecord | undefined, ReviewRequest['action'], Principal, Extra, string, string]>([
    [
      'an approval before any submission',
      undefined,
      'approve',
      ningxia,
      {},
      'review_transition_refused',
      '640100 的 2025 年度审核状态为“未提交”，不能通过：只有“已提交审核”状态下可以通过',
    ],
    [
      'a second submission',
      submitted,
      'submit',
      yinchuan,
      {},
      'review_transition_refused',
      '640100 的 2025 年度审核状态为“已提交审核”，不能提交审核：只有“未提交”、“已退回”、“已重新开放”状态下可以提交审核',
    ],
    [
      'a city approving itself',
      submitted,
      'approve',
      yinchuan,
      {},
      'review_forbidden',
      '城市不能通过本市的数据：通过由所在省的审核人员进行',
    ],
    [
      'a city submitting for another',
      undefined,
      'submit',
      urumqi,
      {},
      'review_forbidden',
      '城市 650100 只能为本市提交审核，不能为 640100 提交审核',
    ],
    [
      'another province approving',
      submitted,
      'approve',
      xinjiang,
      {},
      'review_forbidden',
      '省级审核人员（65）只能通过本省的城市：640100 属于省份 64',
    ],
    [
      'the ministry approving',
      submitted,
      'approve',
      ministry,
      {},
      'review_forbidden',
      '只有 640100 所在省（64）的审核人员可以通过：reviewer:ministry 不能通过',
    ],
    [
      'a reviewer submitting for the city',
      undefined,
      'submit',
      ningxia,
      {},
      'review_forbidden',
      '只有城市本身可以提交审核：reviewer:province:64 不能代 640100 提交审核',
    ],
    [
      'a province accepting',
      approved,
      'accept',
      ningxia,
      {},
      'review_forbidden',
      '只有部级审核人员（reviewer:ministry）可以验收：reviewer:province:64 不能验收 640100',
    ],
    [
      'a return with neither reason nor comments',
      submitted,
      'return',
      ningxia,
      {},
      'review_invalid',
      '退回需要说明理由（reason）或附上意见（comments），指明单元和指标',
    ],
    [
      'a reopening with a blank reason',
      accepted,
      'reopen',
      ministry,
      { reason: '   ' },
      'review_invalid',
      '重新开放需要说明理由（reason）',
    ],
  ])('refuses %s, saying why and who may', (_, current, action, by, extra, code, message) => {
    expect(act(current, action, by, '2026-01-13T00:00:00Z', extra)).toEqual({
      ok: false,
      refusal: { code, message },
    });
  });

  // Refused with the code of the rule broken (the message is worded as in the cases above).
  it.each<[string, ReviewRecord, ReviewRequest['action'], Principal, Extra, string]>([
    ['submitted', submitted, 'accept', ministry, {}, 'review_transition_refused'],
    ['submitted', submitted, 'reopen', ministry, x, 'review_transition_refused'],
    ['approved', approved, 'approve', ningxia, x, 'review_transition_refused'],
    ['approved', approved, 'return', ningxia, x, 'review_transition_refused'],
    ['accepted', accepted, 'submit', yinchuan, {}, 'review_transition_refused'],
    ['accepted', accepted, 'accept', ministry, {}, 'review_transition_refused'],
    ['submitted', submitted, 'return', ministryAnalyst, x, 'review_forbidden'],
    ['accepted', accepted, 'reopen', xinjiang, x, 'review_forbidden'],
    ['accepted', accepted, 'reopen', yinchuan, x, 'review_forbidden'],
  ])('refuses on a %s review %#', (_, current, action, by, extra, code) => {
    expect(act(current, action, by, '2026-01-13T00:00:00Z', extra)).toMatchObject({
      ok: false,
      refusal: { code },
    });
  });

  it('lets the ministry reopen too', () => {
    expect(must(act(accepted, 'reopen', ministry, '2026-01-13T00:00:00Z', { reason: '复核' })).state).toBe(
      'reopened',
    );
  });

  it('keeps the latest record per city and cycle and answers whether it is locked', () => {
    const book = new ReviewBook();
    book.apply(reviewKey(2025, '640100'), accepted);
    expect(book.lockOf(2025, '640100')).toBe(accepted);
    expect(book.lockOf(2024, '640100')).toBeUndefined();
    expect(book.lockOf(2025, '640181')).toBeUndefined();
    book.apply(reviewKey(2025, '640100'), null);
    expect(book.review(2025, '640100')).toBeUndefined();
  });

  it('says when the data stood locked, in Chinese and English, and gives validate its rule', () => {
    const book = new ReviewBook();
    const submitted = must(act(undefined, 'submit', yinchuan, '2026-01-10T00:00:00Z'));
    const approved = must(act(submitted, 'approve', ningxia, '2026-01-11T00:00:00Z'));
    const accepted = must(act(approved, 'accept', ministry, '2026-01-12T06:00:00Z'));
    const reopened = must(act(accepted, 'reopen', ministry, '2026-01-20T00:00:00Z', { reason: '更正人口' }));
    // Locked from the acceptance (inclusive) to the reopening (exclusive), and at no other moment.
    expect(wasLockedAt(reopened, new Date('2026-01-12T05:59:59Z'))).toBe(false);
    expect(wasLockedAt(reopened, new Date('2026-01-12T06:00:00Z'))).toBe(true);
    expect(wasLockedAt(reopened, new Date('2026-01-19T23:59:59Z'))).toBe(true);
    expect(wasLockedAt(reopened, new Date('2026-01-20T00:00:00Z'))).toBe(false);
    expect(wasLockedAt(undefined, new Date('2026-01-15T00:00:00Z'))).toBe(false);
    expect(lockedMessage(accepted, 'en')).toBe(
      'the data of 640100 for cycle 2025 were accepted by 住建部城市体检司 at 2026-01-12T06:00:00.000Z and are locked: no new submission is taken; to correct them, ask a reviewer to reopen them',
    );
    book.apply(reviewKey(2025, '640100'), reopened);
    expect(book.lockOf(2025, '640100')).toBeUndefined();
    expect(book.lockRule(2025, '640100', new Date('2026-01-20T00:00:00Z'))).toBeUndefined();
    // 06:00 UTC is 14:00 in Beijing.
    expect(book.lockRule(2025, '640100', new Date('2026-01-15T00:00:00Z'))).toEqual({
      pointer: '/cycle',
      rule: 'city_cycle_locked',
      message:
        '640100 的 2025 年度数据已于 2026-01-12 14:00（北京时间）由 住建部城市体检司 验收，已锁定，不再接受新的提交；如需更正，请联系审核人员重新开放',
      value: 2025,
    });
  });

  it('refuses a malformed record and one under another key', () => {
    expect(() => parseReviewRecord('review-2025-640100', { kind: 'review', cycle: 2025 })).toThrow(
      'reviews record: a review needs a cycle and a cityCode',
    );
    expect(() =>
      parseReviewRecord('review-2025-640181', {
        kind: 'review',
        cycle: 2025,
        cityCode: '640100',
        state: 'draft',
        actions: [],
      }),
    ).toThrow('reviews record: review of 640100 for 2025 under key review-2025-640181');
  });
});
