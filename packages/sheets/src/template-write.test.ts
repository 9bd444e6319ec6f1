import { loadCatalogue } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { readWorkbook } from './sheet-read.js';
import { templateWorkbook } from './template-write.js';

describe('templateWorkbook', () => {
  it('writes 银川市 2024: a sheet per level, both headers, its units filled, and validation Excel enforces', async () => {
    const bytes = await templateWorkbook({
      catalogue: loadCatalogue('2024.1'),
      registry: loadDivisionRegistry(),
      cityCode: '640100',
      cycle: 2024,
    });
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(bytes as unknown as ArrayBuffer);
    expect(book.worksheets.map((sheet) => sheet.name)).toEqual([
      '说明 README',
      '社区 community',
      '街区 block',
      '住房 housing',
      '区县 district',
      '城市 city',
    ]);
    const communities = book.getWorksheet('社区 community') as ExcelJS.Worksheet;
    // 2 header rows, then the 304 urban communities of 银川市 in 2024 (灵武市 640181 is part of it that year).
    expect(communities.rowCount).toBe(2 + 304);
    expect(communities.getRow(3).values).toEqual([
      undefined,
      2024,
      '2024.1',
      '640100',
      'community',
      '640104001002',
      '崇安社区居委会',
    ]);
    expect(communities.getCell('G1').value).toBe('C01 未达标配建养老服务设施的小区数量（个）');
    expect(communities.getCell('G2').value).toBe(
      'C01.value Compounds without standard elderly-care service facilities (compounds)',
    );
    expect(communities.getCell('R1').value).toBe('C12 社区综合服务站达标的社区占比：是否达标（是/否）');
    // C01 is a count from 0 to 500; C09 a length from 0 to 100 km; C12 a yes or no; C16's weight above 0.
    expect(communities.getCell('G306').dataValidation).toMatchObject({
      type: 'whole',
      operator: 'between',
      formulae: [0, 500],
    });
    expect(communities.getCell('O3').dataValidation).toMatchObject({ type: 'decimal', formulae: [0, 100] });
    expect(communities.getCell('R3').dataValidation).toMatchObject({ type: 'list', formulae: ['"是,否"'] });
    expect(communities.getCell('W3').dataValidation).toMatchObject({
      type: 'decimal',
      operator: 'greaterThan',
      formulae: [0],
    });
    const districts = book.getWorksheet('区县 district') as ExcelJS.Worksheet;
    expect(
      [3, 4, 5, 6, 7, 8].map(
        (row) => `${districts.getCell(`E${row}`).value} ${districts.getCell(`F${row}`).value}`,
      ),
    ).toEqual([
      '640104 兴庆区',
      '640105 西夏区',
      '640106 金凤区',
      '640121 永宁县',
      '640122 贺兰县',
      '640181 灵武市',
    ]);
    expect(book.getWorksheet('城市 city')?.getRow(3).getCell(6).value).toBe('银川市');

    // Read back the way ingest reads it: the README sheet is no results sheet and is left out.
    const tables = await readWorkbook(bytes);
    expect(tables.map((table) => [table.sheet, table.rows.length])).toEqual([
      ['社区 community', 304],
      ['街区 block', 0],
      ['住房 housing', 0],
      ['区县 district', 6],
      ['城市 city', 1],
    ]);
  });
});
