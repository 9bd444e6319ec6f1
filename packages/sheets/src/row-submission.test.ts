import { loadCatalogue } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { describe, expect, it } from 'vitest';
import { locateProblem, rowSubmission, stableSubmissionId, uuidV5 } from './row-submission.js';
import { readCsv, type SheetTable } from './sheet-read.js';
import { templateCsv } from './template-write.js';

const header1 =
  '体检年度,指标目录版本,城市代码,单元级别,单元代码,单元名称,C01 养老,C12 达标,C16 满意度,C16 权重';
const header2 =
  'cycle,catalogueVersion,cityCode,unit.level,unit.code,unit.name,C01.value x,C12.meets y,C16.value z,C16.weight w';

const table = (...rows: string[]): SheetTable =>
  readCsv(Buffer.from([header1, header2, ...rows].join('\r\n')), 'csv');

describe('uuidV5', () => {
  it('is RFC 9562 version 5: the DNS namespace and www.example.com give the published id', () => {
    // The example of RFC 9562 appendix A.4 (and Python's uuid.uuid5(NAMESPACE_DNS, 'www.example.com')).
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
});

describe('rowSubmission', () => {
  it('maps a filled row to a submission of its unit, fields by header, observations by indicator code', () => {
    const sheet = table('2024,2024.1,640100,community,640104001002,崇安社区居委会,2,是,85,1200');
    const outcome = rowSubmission(sheet, sheet.rows[0] as SheetTable['rows'][number]);
    expect(outcome.kind).toBe('submission');
    if (outcome.kind !== 'submission') return;
    expect(outcome.row).toBe(3);
    const { submissionId, ...content } = outcome.submission;
    expect(content).toEqual({
      cycle: 2024,
      catalogueVersion: '2024.1',
      cityCode: '640100',
      unit: { level: 'community', code: '640104001002', name: '崇安社区居委会' },
      observations: [
        { indicator: 'C01', value: 2 },
        { indicator: 'C12', meets: true },
        { indicator: 'C16', value: 85, weight: 1200 },
      ],
    });
    // The id is the v5 UUID of city|cycle|level|code|canonical content, worked out here on its own.
    const canonical =
      '{"catalogueVersion":"2024.1","cityCode":"640100","cycle":2024,"observations":[{"indicator":"C01","value":2},' +
      '{"indicator":"C12","meets":true},{"indicator":"C16","value":85,"weight":1200}],' +
      '"unit":{"code":"640104001002","level":"community","name":"崇安社区居委会"}}';
    expect(submissionId).toBe(uuidV5(`640100|2024|community|640104001002|${canonical}`));
    expect(stableSubmissionId(content)).toBe(submissionId);
  });

  it('gives the same id for the same content whatever the column order, and another for a changed cell', () => {
    const sheet = table(
      '2024,2024.1,640100,community,640104001002,崇安社区居委会,2,是,85,1200',
      '2024,2024.1,640100,community,640104001002,崇安社区居委会,3,是,85,1200',
    );
    const reordered = readCsv(
      Buffer.from(
        [
          'C16 权重,C01 养老,单元代码,单元级别,城市代码,指标目录版本,体检年度,单元名称,C12 达标,C16 满意度',
          'C16.weight,C01.value,unit.code,unit.level,cityCode,catalogueVersion,cycle,unit.name,C12.meets,C16.value',
          '1200,2,640104001002,community,640100,2024.1,2024,崇安社区居委会,yes,85',
        ].join('\n'),
      ),
      'csv',
    );
    const id = (t: SheetTable, index: number) => {
      const outcome = rowSubmission(t, t.rows[index] as SheetTable['rows'][number]);
      return outcome.kind === 'submission' ? outcome.submission.submissionId : outcome.kind;
    };
    expect(id(reordered, 0)).toBe(id(sheet, 0));
    expect(id(sheet, 1)).not.toBe(id(sheet, 0));
    expect(id(sheet, 1)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('skips a unit without values and refuses a cell that holds no number or no yes/no, naming its column', () => {
    const sheet = table(
      '2024,2024.1,640100,community,640104001002,崇安社区居委会,,,,',
      '2024,2024.1,640100,community,640104001003,兴隆社区居委会,两个,也许,,',
    );
    expect(rowSubmission(sheet, sheet.rows[0] as SheetTable['rows'][number])).toEqual({
      kind: 'empty',
      sheet: 'csv',
      row: 3,
      unitGiven: true,
    });
    const refused = rowSubmission(sheet, sheet.rows[1] as SheetTable['rows'][number]);
    expect(refused).toMatchObject({
      kind: 'refused',
      row: 4,
      problems: [
        {
          rule: 'cell_number',
          column: 'G',
          header: 'C01 养老',
          value: '两个',
          message: 'C01 养老 应填写数字，实为 两个',
        },
        { rule: 'cell_boolean', column: 'H', header: 'C12 达标', value: '也许' },
      ],
    });
  });

  it('places a rule problem on the column of the field, the indicator or the unit its pointer names', () => {
    const sheet = table('2024,2024.1,640100,community,640104001002,崇安社区居委会,600,,80,');
    const outcome = rowSubmission(sheet, sheet.rows[0] as SheetTable['rows'][number], 'en');
    if (outcome.kind !== 'submission') throw new Error(outcome.kind);
    const at = (pointer: string) =>
      locateProblem({ pointer, rule: 'r', message: 'm' }, outcome.columns, 'en');
    expect(at('/observations/0/value')).toMatchObject({ column: 'G', header: 'C01.value x' });
    // C16's weight is missing: kind_fields points at the absent field, which still has its column.
    expect(at('/observations/1/weight')).toMatchObject({ column: 'J', header: 'C16.weight w' });
    expect(at('/observations/1')).toMatchObject({ column: 'I' });
    expect(at('/unit/code')).toMatchObject({ column: 'E', header: 'unit.code' });
    expect(at('/cycle')).toMatchObject({ column: 'A' });
    expect(at('/')).toEqual({ pointer: '/', rule: 'r', message: 'm' });
  });
});

describe('readCsv', () => {
  it('reads a template CSV the same with and without its byte-order mark, and refuses bytes that are not UTF-8', () => {
    const csv = templateCsv({
      catalogue: loadCatalogue('2024.1'),
      registry: loadDivisionRegistry(),
      cityCode: '640100',
      cycle: 2024,
      level: 'city',
    });
    expect(Buffer.from(csv).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const withBom = readCsv(Buffer.from(csv), 'csv');
    const withoutBom = readCsv(Buffer.from(csv.slice(1)), 'csv');
    expect(withoutBom).toEqual(withBom);
    // The first header is 体检年度 itself, not "\uFEFF体检年度": the mark is no part of the cell.
    expect(withBom.columns[0]).toMatchObject({ key: 'cycle', headerZh: '体检年度', letter: 'A' });
    expect(withBom.rows).toHaveLength(1);
    expect([...(withBom.rows[0]?.cells.values() ?? [])]).toEqual([
      '2024',
      '2024.1',
      '640100',
      'city',
      '640100',
      '银川市',
    ]);
    const gbk = Buffer.from([0xd2, 0xf8, 0xb4, 0xa8]); // 银川 in GBK
    expect(() => readCsv(gbk, 'csv')).toThrow(/not UTF-8/);
  });

  it('keeps quoted commas, quotes and line breaks inside one cell', () => {
    const sheet = readCsv(
      Buffer.from(
        `${header1}\n${header2}\n2024,2024.1,640100,community,640104001002,"崇安, ""老城""\n社区",2,,,\n`,
      ),
      'csv',
    );
    expect(sheet.rows[0]?.cells.get(6)).toBe('崇安, "老城"\n社区');
    expect(sheet.rows[0]?.cells.get(7)).toBe('2');
  });
});
