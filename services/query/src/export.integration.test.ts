// Exports against the real object store and DuckDB: POST /v1/export answers XLSX and CSV that open with the
// right Chinese text, values scaled into their unit and rounded as the catalogue says (B02 and D06 are rates
// in %, one decimal; C01 a count), times in Asia/Shanghai, and the same province scope as POST /v1/query.
// Files are read back (exceljs, bytes); expected values are worked out from the rows the fixture wrote.
import { bearer, createTestCredentials } from '@citycheck/testkit';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueryApp, startQueryService, type TestQueryService } from '../test/query-fixture.js';
import { currentObservations, type TestLake } from '../test/test-lake.js';

const credentials = createTestCredentials();
const guangdong = credentials.issue('0000000000000044', 'analyst:province:44');

let service: TestQueryService;
let lake: TestLake;
let app: QueryApp;

beforeAll(async () => {
  service = await startQueryService({ name: 'export', authenticator: credentials.store, unitsPerCity: 6 });
  ({ lake, app } = service);
}, 120_000);

afterAll(() => service?.close());

const exportAs = (format: string, sql: string, extra: Record<string, unknown> = {}) =>
  app.inject({
    method: 'POST',
    url: '/v1/export',
    headers: { ...bearer(guangdong), 'content-type': 'application/json' },
    payload: { sql, format, ...extra },
  });

const unitsSql =
  "SELECT city_code, unit_code, indicator_code, value, received_at, '银川市' AS name FROM observations_current " +
  "WHERE indicator_code = 'B02' AND city_code = '440100' ORDER BY unit_code LIMIT 3";
const ratesSql =
  "SELECT 2024 AS cycle, 'D06' AS indicator_code, 0.40632603406326034 AS value, 0.5::DOUBLE AS reporting_rate, " +
  "'C01' AS other_code, 7.0 AS units_reported";

/** By hand: B02 is stored as a fraction and shown in % (×100, one decimal); times are UTC+8. */
const expectedUnits = () =>
  currentObservations(lake.observations)
    .filter((row) => row.indicator_code === 'B02' && row.city_code === '440100')
    .sort((a, b) => a.unit_code.localeCompare(b.unit_code))
    .slice(0, 3)
    .map((row) => {
      const local = new Date(Date.parse(row.received_at) + 8 * 3_600_000);
      const pad = (n: number) => String(n).padStart(2, '0');
      const time = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
      return { city: row.city_code, unit: row.unit_code, percent: Math.round(row.value * 1000) / 10, time };
    });

describe('POST /v1/export', () => {
  it('answers an XLSX with Chinese headers, scaled and rounded numbers and local times', async () => {
    const response = await exportAs('xlsx', unitsSql, { filename: '广州 B02' });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe(
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    );
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename*=UTF-8''${encodeURIComponent('广州 B02.xlsx')}`,
    );
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0];
    expect(sheet?.name).toBe('查询结果');
    expect(sheet?.getRow(1).values).toEqual([
      undefined,
      '城市代码',
      '单元代码',
      '指标代码',
      '数值',
      '接收时间(北京时间)',
      '名称',
    ]);
    const expected = expectedUnits();
    expect(expected).toHaveLength(3);
    expected.forEach((unit, index) => {
      const row = sheet?.getRow(index + 2);
      expect(row?.getCell(1).value).toBe(unit.city);
      expect(row?.getCell(2).value).toBe(unit.unit);
      expect(row?.getCell(4).value).toBe(unit.percent);
      expect(row?.getCell(4).numFmt).toBe('0.0');
      expect(row?.getCell(5).value).toBe(unit.time);
      expect(row?.getCell(6).value).toBe('银川市');
    });
    expect(sheet?.rowCount).toBe(4);
  });

  it('rounds a long rate to its decimals and shows reporting rates in %', async () => {
    const response = await exportAs('xlsx', ratesSql);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(response.rawPayload as unknown as ArrayBuffer);
    const row = workbook.worksheets[0]?.getRow(2);
    // 0.40632603406326034 × 100 = 40.63…, one decimal: 40.6; a share of 0.5 is 50.0 %; 7 units as 7.
    expect(row?.values).toEqual([undefined, 2024, 'D06', 40.6, 50, 'C01', 7]);
    expect(workbook.worksheets[0]?.getRow(1).values).toEqual([
      undefined,
      '周期',
      '指标代码',
      '数值',
      '报送率(%)',
      'other_code',
      '已报单元数',
    ]);
  });

  it('answers a CSV with a UTF-8 BOM that reads back to the same text and rounded values', async () => {
    const response = await exportAs('csv', unitsSql);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    const bytes = response.rawPayload;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(3)).split('\r\n');
    expect(lines[0]).toBe('城市代码,单元代码,指标代码,数值,接收时间(北京时间),名称');
    expect(lines.slice(1, -1)).toEqual(
      expectedUnits().map(
        (unit) => `${unit.city},${unit.unit},B02,${unit.percent.toFixed(1)},${unit.time},银川市`,
      ),
    );
    expect(lines.at(-1)).toBe('');
    const rates = await exportAs('csv', ratesSql, { language: 'en' });
    expect(rates.body.replace('\uFEFF', '').split('\r\n')).toEqual([
      'cycle,indicator_code,value,reporting_rate,other_code,units_reported',
      '2024,D06,40.6,50.0,C01,7',
      '',
    ]);
  });

  it('answers JSON with the same display values', async () => {
    const response = await exportAs('json', ratesSql);
    expect(response.json()).toMatchObject({ rows: [[2024, 'D06', 40.6, 50, 'C01', 7]], rowCount: 1 });
  });

  it('keeps to the province scope and the guard of POST /v1/query', async () => {
    const other = await exportAs('csv', "SELECT unit_code FROM observations WHERE province_code = '110000'");
    expect(other.body).toBe('\uFEFF单元代码\r\n');
    const refused = await exportAs('xlsx', "SELECT * FROM read_csv('/etc/passwd')");
    expect(refused.statusCode).toBe(400);
    expect(refused.json().error.code).toBe('query_not_allowed');
  });
});
