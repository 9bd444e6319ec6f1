// Spreadsheet uploads against the real broker: the workbook `citycheck template` writes for 银川市 (640100),
// filled in with exceljs as a city's staff would, answered per row by sheet, row and column with the rules of a
// running deployment; the same workbook again stores nothing, a changed cell stores one correction; CSV with and
// without a byte-order mark reads the same.
import { loadCatalogue } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { decodeJson } from '@citycheck/kafka';
import { createRuleContext } from '@citycheck/rules';
import { templateCsv, templateWorkbook } from '@citycheck/sheets';
import { readTopic } from '@citycheck/testkit';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestFixture, startIngestFixture } from '../test/ingest-fixture.js';
import { rulesAtTheDoor } from './submission-checks.js';

const xlsx = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const community = '社区 community';

let fixture: IngestFixture;
let token: string;
let app: ReturnType<IngestFixture['build']>;

const template = async (): Promise<Buffer> =>
  templateWorkbook({
    catalogue: loadCatalogue('2024.1'),
    registry: loadDivisionRegistry(),
    cityCode: '640100',
    cycle: 2024,
  });

/** Writes values into the community sheet by column letter, as a person would in Excel. */
const filled = async (workbook: Buffer, cells: Record<string, string | number>): Promise<Buffer> => {
  const book = new ExcelJS.Workbook();
  await book.xlsx.load(workbook as unknown as ArrayBuffer);
  const sheet = book.getWorksheet(community);
  if (sheet === undefined) throw new Error('no community sheet');
  for (const [address, value] of Object.entries(cells)) sheet.getCell(address).value = value;
  return Buffer.from(await book.xlsx.writeBuffer());
};

const upload = (body: Buffer | string, contentType: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/submissions',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType, ...headers },
    payload: body,
  });

const storedIds = async (): Promise<string[]> =>
  (await readTopic(fixture.kafka, fixture.topics.received)).map(
    (message) =>
      (decodeJson(message.value) as { submission: { submissionId: string } }).submission.submissionId,
  );

beforeAll(async () => {
  fixture = await startIngestFixture();
  token = (await fixture.issue('640100')).token;
  app = fixture.build(rulesAtTheDoor(createRuleContext()));
});

afterAll(async () => {
  await fixture?.close();
});

describe('a spreadsheet upload', () => {
  it('answers per row: accepted, refused by sheet, row and column, skipped when empty; idempotent; one correction', async () => {
    // Columns of the community sheet (catalogue 2024.1): A-F identity, G C01.value, O C09.value, R C12.meets,
    // V C16.value, W C16.weight. Rows 3-6 are 640104001002 崇安, 640104001003 兴隆, 640104001005 北安 and
    // 640104001007 安秀 社区居委会.
    const cells = {
      G3: 2,
      R3: '是',
      V3: 85,
      W3: 1200,
      G4: 3,
      O4: 1.5,
      G5: 600, // C01 is a count from 0 to 500
      R6: '也许', // no yes or no
    };
    const workbook = await filled(await template(), cells);
    const before = (await storedIds()).length;

    const first = await upload(workbook, xlsx);
    expect(first.statusCode).toBe(202);
    const summary = first.json();
    // 304 communities, 6 districts and the city; 4 rows filled: 300 + 6 + 1 skipped.
    expect(summary).toMatchObject({ received: 4, accepted: 2, rejected: 2, duplicates: 0, skipped: 307 });
    const [row3, row4, row5, row6] = summary.lines;
    expect(row3).toMatchObject({ sheet: community, row: 3, line: 3, status: 'accepted' });
    expect(row4).toMatchObject({ sheet: community, row: 4, status: 'accepted' });
    expect(row5).toMatchObject({
      sheet: community,
      row: 5,
      status: 'rejected',
      problems: [
        {
          rule: 'range',
          column: 'G',
          header: 'C01 未达标配建养老服务设施的小区数量（个）',
          indicator: 'C01',
          value: 600,
          message:
            '指标 C01（未达标配建养老服务设施的小区数量）的数值（value）应在 0 至 500（个）之间，实为 600',
        },
      ],
    });
    expect(row6).toMatchObject({
      sheet: community,
      row: 6,
      status: 'rejected',
      submissionId: null,
      problems: [{ rule: 'cell_boolean', column: 'R', value: '也许' }],
    });
    const stored = (await storedIds()).slice(before);
    expect([...stored].sort()).toEqual([row3.submissionId, row4.submissionId].sort());
    const record = (await readTopic(fixture.kafka, fixture.topics.received))
      .map((message) => decodeJson(message.value) as { submission: Record<string, unknown> })
      .find((value) => value.submission.submissionId === row3.submissionId);
    expect(record?.submission).toEqual({
      submissionId: row3.submissionId,
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

    // The same workbook again: nothing new is stored.
    const again = await upload(workbook, xlsx);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 2, rejected: 2 });
    expect(again.json().lines.slice(0, 2)).toMatchObject([
      { row: 3, status: 'duplicate', submissionId: row3.submissionId },
      { row: 4, status: 'duplicate', submissionId: row4.submissionId },
    ]);
    expect((await storedIds()).length).toBe(before + 2);

    // One cell changed: that row only is a new submission (a correction of its unit); the other is a resend.
    const changed = await filled(workbook, { G4: 4 });
    const third = await upload(changed, xlsx, { 'accept-language': 'en' });
    expect(third.statusCode).toBe(202);
    expect(third.json()).toMatchObject({ accepted: 1, duplicates: 1, rejected: 2 });
    const corrected = third.json().lines[1];
    expect(corrected).toMatchObject({ row: 4, status: 'accepted' });
    expect(corrected.submissionId).not.toBe(row4.submissionId);
    expect(third.json().lines[2].problems[0]).toMatchObject({
      rule: 'range',
      column: 'G',
      header: 'C01.value Compounds without standard elderly-care service facilities (compounds)',
      message: 'value of C01 must be from 0 to 500',
    });
    expect((await storedIds()).slice(before)).toEqual([...stored, corrected.submissionId]);

    // The cell changed back to 3: the first upload's id for that row would be a duplicate and leave 4 current,
    // so the row is stored again under an id of its own, superseding the correction; resending it stores nothing.
    const reverted = await upload(workbook, xlsx);
    expect(reverted.json()).toMatchObject({ accepted: 1, duplicates: 1, rejected: 2 });
    const back = reverted.json().lines[1];
    expect(back).toMatchObject({ row: 4, status: 'accepted' });
    expect([row4.submissionId, corrected.submissionId]).not.toContain(back.submissionId);
    const resent = await upload(workbook, xlsx);
    expect(resent.json()).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(resent.json().lines[1]).toMatchObject({ status: 'duplicate', submissionId: back.submissionId });
    expect((await storedIds()).slice(before)).toEqual([...stored, corrected.submissionId, back.submissionId]);
  });

  it('reads CSV with and without a byte-order mark alike, and refuses a cell that holds no number', async () => {
    const csv = templateCsv({
      catalogue: loadCatalogue('2024.1'),
      registry: loadDivisionRegistry(),
      cityCode: '640100',
      cycle: 2024,
      level: 'district',
    });
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const lines = csv.split('\r\n');
    // Row 3 is 640104 兴庆区. D01 to D10 take two fields each (G to Z), so D11 (严重积水内涝点数量, a count) is
    // column AA, the 27th. The Chinese header row holds no comma, so it splits as it is.
    const header = (lines[0] as string).split(',');
    const d11 = header.findIndex((text) => text.startsWith('D11 '));
    expect(d11).toBe(26);
    const cellsOf = (line: string) => line.split(',');
    const row3 = cellsOf(lines[2] as string);
    row3[d11] = '7';
    const row4 = cellsOf(lines[3] as string);
    row4[6] = '十二'; // D01's quantity, not a number
    const body = [lines[0], lines[1], row3.join(','), row4.join(','), ...lines.slice(4)].join('\r\n');

    const withBom = await upload(body, 'text/csv; charset=utf-8', { 'accept-language': 'en' });
    const withoutBom = await upload(body.slice(1), 'text/csv');
    expect(withBom.statusCode).toBe(202);
    expect(withoutBom.statusCode).toBe(200);
    const first = withBom.json();
    expect(first).toMatchObject({ accepted: 1, rejected: 1, skipped: 4 });
    expect(first.lines).toMatchObject([
      { sheet: 'csv', row: 3, status: 'accepted' },
      {
        sheet: 'csv',
        row: 4,
        status: 'rejected',
        problems: [
          {
            rule: 'cell_number',
            column: 'G',
            header: 'D01.quantity Sports ground area per capita: Sports ground area (m²)',
            message:
              'D01.quantity Sports ground area per capita: Sports ground area (m²): write a number, not 十二',
          },
        ],
      },
    ]);
    // Without the mark, the same rows are the same submissions: the accepted one is already received.
    expect(withoutBom.json().lines[0]).toMatchObject({
      status: 'duplicate',
      submissionId: first.lines[0].submissionId,
    });
  });

  it('refuses a file that is not a sheet of the template with 400 and the reason', async () => {
    const response = await upload(Buffer.from('not a zip at all'), xlsx);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.problems).toMatchObject([{ rule: 'sheet_unreadable' }]);
    const noHeaders = await upload('a,b\r\n1,2\r\n', 'text/csv');
    expect(noHeaders.statusCode).toBe(400);
    expect(noHeaders.json().error.problems).toMatchObject([{ rule: 'sheet_headers' }]);
  });
});
