// The template a city fills in: one sheet per unit level (or one CSV), the catalogue's fields as columns with
// Chinese and English headers, and one row per unit the city is expected to report, already holding its code
// and name. What ingest reads back is exactly this layout (sheet-read.ts, row-submission.ts).
import type { Catalogue, UnitLevel } from '@citycheck/catalogue';
import { type DivisionRegistry, expectedCommunitiesOf } from '@citycheck/divisions';
import ExcelJS from 'exceljs';
import {
  columnLetter,
  type FieldColumn,
  headerRows,
  isFieldColumn,
  type SheetColumn,
  sheetColumns,
  sheetLevels,
  sheetNames,
} from './sheet-layout.js';

export interface TemplateOptions {
  readonly catalogue: Catalogue;
  readonly registry: DivisionRegistry;
  readonly cityCode: string;
  readonly cycle: number;
  /** The county-level cities the cycle names: they report their own units, so their prefecture's sheet lacks them. */
  readonly countyLevelCities?: ReadonlySet<string>;
  /** The levels to write; all five by default. */
  readonly levels?: readonly UnitLevel[];
}

export interface ExpectedUnit {
  readonly code: string;
  readonly name: string;
}

/**
 * The units of a level a city reports in the cycle, sorted by code: its urban communities, its districts
 * (those that report through it), the city itself. Blocks and housing have no national codes: the city names
 * them (`<street code>-<local id>`), so their sheets start empty.
 */
export const expectedUnitsOf = (
  registry: DivisionRegistry,
  cityCode: string,
  level: UnitLevel,
  countyLevelCities: ReadonlySet<string> = new Set(),
): ExpectedUnit[] => {
  const named = (code: string): ExpectedUnit => ({ code, name: registry.name(code) ?? '' });
  switch (level) {
    case 'community':
      return expectedCommunitiesOf(registry, cityCode, countyLevelCities).map(named);
    case 'district':
      return registry
        .districtsOf(cityCode)
        .filter((district) => registry.reportingCityOf(district, countyLevelCities) === cityCode)
        .map(named);
    case 'city':
      return [named(cityCode)];
    default:
      return [];
  }
};

/** Rows under the filled ones that keep the data validation, for units a city adds (blocks, housing). */
const spareRows = 500;

const validationOf = (column: FieldColumn): ExcelJS.DataValidation | undefined => {
  if (column.type === 'boolean') {
    return {
      type: 'list',
      allowBlank: true,
      formulae: ['"是,否"'],
      showErrorMessage: true,
      errorTitle: '请选择 是 或 否',
      error: `${column.zh}：请填写 是 或 否（yes/no）`,
    };
  }
  if (column.min === undefined) return undefined;
  const type = column.integer ? 'whole' : 'decimal';
  if (column.max === undefined) {
    return {
      type,
      operator: column.minExclusive === true ? 'greaterThan' : 'greaterThanOrEqual',
      allowBlank: true,
      formulae: [column.min],
      showErrorMessage: true,
      errorTitle: '数值超出范围',
      error: `${column.zh}：应${column.minExclusive === true ? '大于' : '不小于'} ${column.min}`,
    };
  }
  return {
    type,
    operator: 'between',
    allowBlank: true,
    formulae: [column.min, column.max],
    showErrorMessage: true,
    errorTitle: '数值超出范围',
    error: `${column.zh}：应在 ${column.min} 至 ${column.max} 之间${column.integer ? '，且为整数' : ''}`,
  };
};

/**
 * The worksheet's data validations by range. exceljs 4.4 has them (`worksheet.dataValidations.add('G3:G306')`,
 * written as one sqref) but its typings know only the per-cell `cell.dataValidation`.
 */
const rangeValidations = (sheet: ExcelJS.Worksheet) =>
  (sheet as unknown as { dataValidations: { add(range: string, validation: ExcelJS.DataValidation): void } })
    .dataValidations;

const rowOf = (
  columns: readonly SheetColumn[],
  { cityCode, cycle, catalogue }: TemplateOptions,
  level: UnitLevel,
  unit: ExpectedUnit,
): (string | number | null)[] =>
  columns.map((column) => {
    switch (column.key) {
      case 'cycle':
        return cycle;
      case 'catalogueVersion':
        return catalogue.id;
      case 'cityCode':
        return cityCode;
      case 'unit.level':
        return level;
      case 'unit.code':
        return unit.code;
      case 'unit.name':
        return unit.name;
      default:
        return null;
    }
  });

const readme = (options: TemplateOptions, levels: readonly UnitLevel[]): string[][] => [
  ['城市体检结果填报模板 / Urban physical examination results template'],
  [],
  ['城市 / city', `${options.cityCode} ${options.registry.name(options.cityCode) ?? ''}`],
  ['体检年度 / cycle', String(options.cycle)],
  ['指标目录 / catalogue', `${options.catalogue.id} ${options.catalogue.title.zh}`],
  ['工作表 / sheets', levels.map((level) => sheetNames[level]).join('、')],
  [],
  ['填写说明'],
  [
    '1. 每个工作表对应一个单元级别；每行一个单元，前六列（年度、目录版本、城市、级别、单元代码、名称）已填好，请勿修改。',
  ],
  ['2. 第 1 行为中文表头，第 2 行为英文表头（含字段代码，如 C01.value），请勿删除或修改表头。'],
  ['3. 只填写本单元已取得的指标；整行未填写数值的单元不报送，也不算错误。'],
  ['4. 比率类指标填写分子和分母，人均类指标填写总量和人口，达标类指标填写“是”或“否”。'],
  ['5. 街区和住房没有统一编码：请新增一行，单元代码写作“9 位街道代码-本地编号”，如 640104001-B07。'],
  ['6. 用 citycheck submit 文件.xlsx --wait 报送；同一文件重复报送不会重复入库，修改某格后再报送即为更正。'],
  [],
  ['Instructions'],
  [
    'Each sheet holds one unit level, one unit per row; keep the first six columns and both header rows as they are.',
  ],
  [
    'Fill in what you have; a row without values is skipped. Rates: numerator and denominator; per capita: quantity',
  ],
  [
    'and population; shares: 是 (yes) or 否 (no). Send with `citycheck submit file.xlsx --wait`; sending the same file',
  ],
  ['again stores nothing new, and a changed cell is sent as a correction of its row.'],
];

/** The template as an XLSX workbook: a 说明 sheet, then one sheet per level. */
export const templateWorkbook = async (options: TemplateOptions): Promise<Buffer> => {
  const levels = options.levels ?? sheetLevels;
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'citycheck';
  workbook.title = `${options.cityCode} ${options.cycle} ${options.catalogue.id}`;
  const about = workbook.addWorksheet('说明 README');
  for (const line of readme(options, levels)) about.addRow(line);
  about.getRow(1).font = { bold: true };
  about.getColumn(1).width = 24;
  about.getColumn(2).width = 60;

  for (const level of levels) {
    const columns = sheetColumns(options.catalogue, level);
    const units = expectedUnitsOf(options.registry, options.cityCode, level, options.countyLevelCities);
    const sheet = workbook.addWorksheet(sheetNames[level], {
      views: [{ state: 'frozen', ySplit: headerRows, xSplit: 6 }],
    });
    sheet.addRow(columns.map((column) => column.zh)).font = { bold: true };
    sheet.addRow(columns.map((column) => column.en)).font = { italic: true, color: { argb: 'FF666666' } };
    for (const unit of units) sheet.addRow(rowOf(columns, options, level, unit));
    const lastRow = headerRows + units.length + (units.length === 0 || level === 'block' ? spareRows : 0);
    columns.forEach((column, index) => {
      const letter = columnLetter(index + 1);
      const sheetColumn = sheet.getColumn(index + 1);
      sheetColumn.width = isFieldColumn(column) ? 16 : column.key === 'unit.name' ? 24 : 14;
      // Codes are text: Excel would show a 12-digit community code as 6.40104E+11 and drop leading digits' meaning.
      if (column.key === 'unit.code' || column.key === 'cityCode') sheetColumn.numFmt = '@';
      if (!isFieldColumn(column)) return;
      const validation = validationOf(column);
      if (validation !== undefined && lastRow > headerRows)
        rangeValidations(sheet).add(`${letter}${headerRows + 1}:${letter}${lastRow}`, validation);
    });
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
};

const csvField = (text: string): string =>
  /[",\r\n]/.test(text) || text.trim() !== text ? `"${text.replaceAll('"', '""')}"` : text;

/**
 * The template of one level as CSV: UTF-8 with a byte-order mark (so Excel on Chinese Windows reads 银川市, not
 * mojibake), CRLF lines, the two header rows, then one row per expected unit.
 */
export const templateCsv = (options: TemplateOptions & { readonly level: UnitLevel }): string => {
  const columns = sheetColumns(options.catalogue, options.level);
  const units = expectedUnitsOf(options.registry, options.cityCode, options.level, options.countyLevelCities);
  const lines = [
    columns.map((column) => csvField(column.zh)),
    columns.map((column) => csvField(column.en)),
    ...units.map((unit) =>
      rowOf(columns, options, options.level, unit).map((cell) =>
        cell === null ? '' : csvField(String(cell)),
      ),
    ),
  ];
  return `\uFEFF${lines.map((line) => line.join(',')).join('\r\n')}\r\n`;
};
