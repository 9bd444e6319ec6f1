// How `citycheck status` tells a person and a script where a submission is: the exit code per outcome, and
// the text in Chinese and English with every problem of a rejected one.
import { describe, expect, it } from 'vitest';
import { formatCityResults, formatFigure } from './city-results.js';
import { formatStatusFailure, formatSubmissionState, statusExitCode } from './submission-status.js';

const state = {
  submissionId: '3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01',
  cityCode: '640100',
  cycle: 2024,
  unit: { level: 'community' as const, code: '640104001001' },
  status: 'rejected' as const,
  contentHash: 'abc',
  problems: [
    {
      pointer: '/observations/0/value',
      rule: 'range',
      message: '指标 C01 的数值应在 0 至 500 之间，实为 900',
      indicator: 'C01',
      value: 900,
    },
  ],
};

describe('status', () => {
  it('exits 0 on the way or arrived, 1 rejected, 2 never received or failed', () => {
    for (const status of ['accepted', 'valid', 'stored', 'counted'])
      expect(statusExitCode({ status: 200, headers: {}, body: { ...state, status } })).toBe(0);
    expect(statusExitCode({ status: 200, headers: {}, body: state })).toBe(1);
    const notFound = { error: { code: 'not_found', message: 'no submission' } };
    expect(statusExitCode({ status: 404, headers: {}, body: notFound })).toBe(2);
    expect(statusExitCode({ status: 401, headers: {}, body: notFound })).toBe(2);
  });

  it('prints a rejected submission with its problems, in Chinese by default', () => {
    expect(formatSubmissionState(state, 'zh')).toBe(
      [
        '报送 3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01：已驳回（rejected）',
        '城市 640100，2024 年度，社区 640104001001',
        '内容哈希 abc',
        '问题 1 处：',
        '  /observations/0/value range: 指标 C01 的数值应在 0 至 500 之间，实为 900（实际为 900）',
        '请修正后以新的 submissionId 重新报送',
      ].join('\n'),
    );
    expect(formatSubmissionState({ ...state, status: 'counted', problems: [] }, 'en').split('\n')[0]).toBe(
      'submission 3f0c9b8e-4d2a-4c61-9a8e-2b7d5e1f6a01: counted in the rollups (counted)',
    );
    expect(formatStatusFailure('x', { status: 404, headers: {}, body: undefined }, 'zh')).toBe(
      '报送 x 未被接收：提交时已被拒收（提交时的答复列出了原因），或编号有误',
    );
  });
});

describe('results', () => {
  it('show figures in their display unit', () => {
    expect(formatFigure(2 / 3, 100)).toBe('66.67');
    expect(formatFigure(1234567)).toBe('1,234,567');
    expect(formatFigure(0.00234)).toBe('0.0023');
    expect(formatFigure(null)).toBe('-');
  });

  it('say so when the lake has nothing of the city yet', () => {
    const text = formatCityResults(
      {
        cityCode: '640100',
        cityName: '银川市',
        cycle: 2031,
        derivedAt: null,
        lakeCommit: null,
        headline: [],
        ledger: [],
        rectificationRate: null,
        units: {
          expected: 2,
          reported: 0,
          missing: [
            { level: 'community', code: '640104001001', name: '甲社区' },
            { level: 'community', code: '640104001003', name: '乙社区' },
          ],
        },
      },
      'zh',
    );
    expect(text.split('\n')).toEqual([
      '银川市（640100）2031 年度体检结果',
      '已报送：应报社区 2 个，已报送 0 个（0.0%）',
      '',
      '主要指标：暂无（湖仓中尚无本市本年度的汇总结果）',
      '',
      '问题台账：0 项（新增 0，持续 0，已整改 0）',
      '',
      '尚未报送的单元：2 个',
      '  单元  代码          名称',
      '  社区  640104001001  甲社区',
      '  社区  640104001003  乙社区',
    ]);
  });

  it('show each ledger item with its rectification, and the rate', () => {
    const item = {
      unitLevel: 'community',
      unitCode: '640104001001',
      unitName: '甲社区',
      indicator: 'C01',
      nameZh: '未达标配建养老服务设施的小区数量',
      nameEn: 'compounds without standard elderly-care facilities',
      unitScale: 1,
      unitZh: '个',
      unitEn: 'compounds',
      value: 2,
      standardOperator: '<=',
      standardValue: 0,
      gap: 2,
      sinceCycle: 2024,
      status: 'new',
    };
    const results = {
      cityCode: '640100',
      cityName: '银川市',
      cycle: 2024,
      derivedAt: null,
      lakeCommit: null,
      headline: [],
      ledger: [
        {
          ...item,
          rectification: {
            state: 'planned',
            planTargetDate: '2025-03-31',
            overdue: true,
            contradicted: false,
          },
        },
        {
          ...item,
          unitCode: '640104001003',
          unitName: '乙社区',
          rectification: {
            state: 'reopened',
            planTargetDate: '2099-12-31',
            overdue: false,
            contradicted: true,
          },
        },
      ],
      // 4 items: 1 planned, 1 reopened, 1 rectified, 1 consolidated: (1 + 1) / 4 = 50.0%.
      rectificationRate: {
        items: 4,
        identified: 0,
        planned: 1,
        inProgress: 0,
        rectified: 1,
        consolidated: 1,
        reopened: 1,
        overdue: 1,
        rate: 0.5,
      },
      units: { expected: 0, reported: 0, missing: [] },
    };
    const zh = formatCityResults(results, 'zh');
    expect(zh).toContain(
      '整改率：50.0%（（已整改 1 + 已巩固 1）/ 台账 4 项）；待整改 0，已制定计划 1，整改中 0，已重新打开 1，逾期 1',
    );
    expect(zh).toMatch(/ 640104001001 +甲社区 .* 新增 +已制定计划 +2025-03-31 +逾期\n/);
    expect(zh).toMatch(/ 640104001003 +乙社区 .* 新增 +已重新打开 +2099-12-31 +核验后下一年度仍未达标\n/);
    const en = formatCityResults(results, 'en');
    expect(en).toContain(
      'rectification: rate 50.0% ((1 rectified + 1 consolidated) / 4 item(s)); 0 identified, 1 planned, 0 in progress, 1 reopened, 1 overdue',
    );
    expect(en).toMatch(/ 640104001001 .* new +planned +2025-03-31 +overdue\n/);
    expect(en).toMatch(/ 640104001003 .* new +reopened +2099-12-31 +contradicted by the next cycle\n/);
  });
});
