// Exports as people open them: an XLSX workbook (exceljs) with Chinese headers and numbers kept as numbers
// with their decimals, and a CSV with a UTF-8 byte-order mark so Excel on Chinese Windows reads 银川市 rather
// than mojibake. Both take a displayed result (display-format.ts): values scaled, rounded, times local.
import ExcelJS from 'exceljs';
import { cellText, type DisplayLanguage, type DisplayResult } from './display-format.js';

export const xlsxMediaType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const csvField = (text: string): string =>
  text === '' || /[",\r\n]/.test(text) || text.trim() !== text ? `"${text.replaceAll('"', '""')}"` : text;

/** CSV with a BOM and CRLF lines; NULL is an empty field. */
export const displayCsv = (result: DisplayResult, language: DisplayLanguage = 'zh'): string =>
  `\uFEFF${[
    result.columns.map((column) => csvField(column.header)).join(','),
    ...result.rows.map((row) =>
      row.map((cell) => (cell === null ? '' : csvField(cellText(cell, language)))).join(','),
    ),
  ].join('\r\n')}\r\n`;

/** One sheet, a bold frozen header row, numbers as numbers formatted with their decimals. */
export const displayXlsx = async (
  result: DisplayResult,
  { sheetName = '查询结果', language = 'zh' }: { sheetName?: string; language?: DisplayLanguage } = {},
): Promise<Buffer> => {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'citycheck';
  const sheet = workbook.addWorksheet(sheetName, { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.addRow(result.columns.map((column) => column.header)).font = { bold: true };
  for (const row of result.rows) {
    const added = sheet.addRow(
      row.map((cell) => {
        if (cell === null) return null;
        if (typeof cell === 'object') return cell.number;
        return typeof cell === 'boolean' ? cellText(cell, language) : cell;
      }),
    );
    row.forEach((cell, index) => {
      if (cell !== null && typeof cell === 'object')
        added.getCell(index + 1).numFmt = cell.decimals === 0 ? '0' : `0.${'0'.repeat(cell.decimals)}`;
    });
  }
  result.columns.forEach((column, index) => {
    sheet.getColumn(index + 1).width = Math.min(40, Math.max(10, column.header.length * 2 + 2));
  });
  return Buffer.from(await workbook.xlsx.writeBuffer());
};
