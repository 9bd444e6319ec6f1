// The rectify command's parts: a unit's level read from its code, the type an evidence file is sent as, and
// an item and a list printed for people with the whole trail.
import type { RectificationRecord } from '@citycheck/rectification';
import { describe, expect, it } from 'vitest';
import {
  evidenceTypeOf,
  formatRectification,
  formatRectificationList,
  unitLevelOf,
} from './rectify-command.js';

const record: RectificationRecord = {
  kind: 'rectification',
  cycle: 2025,
  provinceCode: '64',
  cityCode: '640100',
  unitLevel: 'district',
  unitCode: '640104',
  indicatorCode: 'D01',
  state: 'rectified',
  plan: { measure: '新建社区体育公园 2 处', department: '兴庆区体育局', targetDate: '2026-09-30' },
  evidence: [
    {
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      bytes: 3,
      contentType: 'image/png',
      fileName: '竣工.png',
      objectKey:
        'evidence/cycle=2025/city_code=640100/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    },
  ],
  actions: [
    {
      action: 'plan',
      by: '银川市住建局',
      credentialId: 'c1',
      role: 'city',
      at: '2026-02-01T02:00:00.000Z',
      state: 'planned',
      plan: { measure: '新建社区体育公园 2 处', department: '兴庆区体育局', targetDate: '2026-09-30' },
    },
    {
      action: 'verify',
      by: '宁夏住建厅',
      credentialId: 'p64',
      role: 'reviewer:province:64',
      at: '2026-06-10T17:00:00.000Z',
      state: 'rectified',
      note: '现场核查属实',
    },
  ],
};

describe('citycheck rectify', () => {
  it('reads the level from the code when the code says it, and asks for it when not', () => {
    expect(unitLevelOf('640104001001', undefined)).toBe('community');
    expect(unitLevelOf('640100', undefined)).toBe('city');
    expect(unitLevelOf('640104', undefined)).toBe('district');
    expect(unitLevelOf('640104001-B07', 'block')).toBe('block');
    expect(() => unitLevelOf('640104001-B07', undefined)).toThrow(
      '--unit 640104001-B07 is a block or a housing unit: say which with --level',
    );
    expect(() => unitLevelOf('640104', 'street')).toThrow(
      '--level street is none of housing, community, block, district, city',
    );
  });

  it('sends a photo or a document as its type, and refuses any other file', () => {
    expect(evidenceTypeOf('照片/竣工.JPG')).toBe('image/jpeg');
    expect(evidenceTypeOf('a.jpeg')).toBe('image/jpeg');
    expect(evidenceTypeOf('a.png')).toBe('image/png');
    expect(evidenceTypeOf('验收报告.pdf')).toBe('application/pdf');
    expect(() => evidenceTypeOf('a.gif')).toThrow('--file a.gif: evidence is a photo or a document');
  });

  it('prints the state, plan, evidence and one line per action, in Beijing time in Chinese and UTC in English', () => {
    expect(formatRectification(record, 'zh')).toBe(
      [
        '2025 年度 640100 district 640104 指标 D01：已整改（已核验）（rectified）',
        '  整改计划：新建社区体育公园 2 处；责任部门 兴庆区体育局；完成时限 2026-09-30',
        '  佐证材料：竣工.png（image/png，3 字节，sha256 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad）',
        '  2026-02-01 10:00（北京时间）  制定整改计划  银川市住建局（city）',
        // 17:00 UTC is 01:00 the next day in Beijing.
        '  2026-06-11 01:00（北京时间）  核验  宁夏住建厅（reviewer:province:64）',
        '    说明：现场核查属实',
      ].join('\n'),
    );
    expect(formatRectification(record, 'en').split('\n')).toEqual([
      'district 640104 of 640100, indicator D01, cycle 2025: rectified (verified) (rectified)',
      '  plan: 新建社区体育公园 2 处; department 兴庆区体育局; due 2026-09-30',
      '  evidence: 竣工.png (image/png, 3 bytes, sha256 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad)',
      '  2026-02-01T02:00:00.000Z  plan  银川市住建局 (city)',
      '  2026-06-10T17:00:00.000Z  verify  宁夏住建厅 (reviewer:province:64)',
      '    note: 现场核查属实',
    ]);
  });

  it('lists one line per item, and says so when there is none', () => {
    const { plan: _, ...unplanned } = record;
    const identified: RectificationRecord = {
      ...unplanned,
      unitCode: '640105',
      state: 'in_progress',
      evidence: [],
    };
    expect(formatRectificationList([record, identified], 'zh')).toBe(
      [
        '2025  640100  district 640104  D01  已整改（已核验）  完成时限 2026-09-30  佐证 1',
        '2025  640100  district 640105  D01  整改中  -  佐证 0',
      ].join('\n'),
    );
    expect(formatRectificationList([], 'en')).toBe('no item acted on');
    expect(formatRectificationList([], 'zh')).toBe('没有已开始整改的事项');
  });
});
