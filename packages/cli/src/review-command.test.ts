// The review command's parts: a --comment read into the unit, indicator and text it names, and a review
// printed for people with its whole trail.
import { describe, expect, it } from 'vitest';
import { formatReview, parseComment } from './review-command.js';

describe('citycheck review', () => {
  it('reads a comment with a unit and an indicator, either alone, or neither', () => {
    expect(parseComment('640104/D01: 人均公园绿地面积比上年下降一半，请核实')).toEqual({
      text: '人均公园绿地面积比上年下降一半，请核实',
      unit: '640104',
      indicator: 'D01',
    });
    expect(parseComment('640104001002：社区数据缺失')).toEqual({
      text: '社区数据缺失',
      unit: '640104001002',
    });
    expect(parseComment('/C01: 请核实')).toEqual({ text: '请核实', indicator: 'C01' });
    // A colon in text that names nothing stays part of the text.
    expect(parseComment('总体意见：请补报')).toEqual({ text: '总体意见：请补报' });
    expect(() => parseComment('640104/D01:   ')).toThrow('--comment "640104/D01:   " has no text');
  });

  it('prints the state and one line per action, in Beijing time in Chinese and UTC in English', () => {
    const review = {
      kind: 'review' as const,
      cycle: 2025,
      cityCode: '640100',
      state: 'returned' as const,
      actions: [
        {
          action: 'submit' as const,
          by: '银川市住建局',
          credentialId: 'c1',
          role: 'city',
          at: '2026-01-10T02:00:00.000Z',
          state: 'submitted' as const,
        },
        {
          action: 'return' as const,
          by: '宁夏住建厅',
          credentialId: 'p64',
          role: 'reviewer:province:64',
          at: '2026-01-12T17:30:00.000Z',
          state: 'returned' as const,
          reason: '两处须核实',
          comments: [{ text: '下降一半', unit: '640104', indicator: 'D01' }, { text: '缺少街道' }],
        },
      ],
    };
    expect(formatReview(review, 'zh')).toBe(
      [
        '640100 2025 年度审核：已退回（returned）',
        '  2026-01-10 10:00（北京时间）  提交审核  银川市住建局（city）',
        '  2026-01-13 01:30（北京时间）  退回  宁夏住建厅（reviewer:province:64）',
        '    理由：两处须核实',
        '    意见：[640104 D01] 下降一半',
        '    意见：缺少街道',
      ].join('\n'),
    );
    expect(formatReview(review, 'en').split('\n').slice(0, 5)).toEqual([
      '640100 cycle 2025: returned (returned)',
      '  2026-01-10T02:00:00.000Z  submit  银川市住建局 (city)',
      '  2026-01-12T17:30:00.000Z  return  宁夏住建厅 (reviewer:province:64)',
      '    reason: 两处须核实',
      '    comment: [640104 D01] 下降一半',
    ]);
  });
});
