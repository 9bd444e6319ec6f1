// The columns of a city's results sheet, generated from the catalogue: the same layout is written by
// `citycheck template` and read back by ingest, so a header names exactly one submission field.
import {
  type Catalogue,
  type Indicator,
  indicatorFields,
  type ObservationField,
  type UnitLevel,
} from '@citycheck/catalogue';

/** The columns every sheet starts with: what makes a row a submission of its own, before any indicator. */
export const identityColumns = [
  { key: 'cycle', zh: '体检年度', en: 'cycle' },
  { key: 'catalogueVersion', zh: '指标目录版本', en: 'catalogueVersion' },
  { key: 'cityCode', zh: '城市代码', en: 'cityCode' },
  { key: 'unit.level', zh: '单元级别', en: 'unit.level' },
  { key: 'unit.code', zh: '单元代码', en: 'unit.code' },
  { key: 'unit.name', zh: '单元名称', en: 'unit.name' },
] as const;

export type IdentityKey = (typeof identityColumns)[number]['key'];

/** One indicator field's column: the key in the English header (`C01.value`) is what ingest reads. */
export interface FieldColumn {
  readonly key: string;
  readonly indicator: string;
  readonly field: ObservationField;
  readonly type: 'number' | 'boolean';
  /** Whole numbers only (a count's value). */
  readonly integer: boolean;
  /** Inclusive bounds a value must respect, where the catalogue gives them for this very field. */
  readonly min?: number;
  readonly max?: number;
  /** Strictly above `min` (denominators, populations, weights). */
  readonly minExclusive?: boolean;
  readonly zh: string;
  readonly en: string;
}

export interface IdentityColumn {
  readonly key: IdentityKey;
  readonly zh: string;
  readonly en: string;
}

export type SheetColumn = IdentityColumn | FieldColumn;

export const isFieldColumn = (column: SheetColumn): column is FieldColumn => 'field' in column;

/** Each level's sheet, by the name a city reads on its tab (Chinese, then the level as a submission spells it). */
export const sheetNames: Readonly<Record<UnitLevel, string>> = {
  community: '社区 community',
  block: '街区 block',
  housing: '住房 housing',
  district: '区县 district',
  city: '城市 city',
};

/** The levels in the order a workbook shows them: the basic units first. */
export const sheetLevels: readonly UnitLevel[] = ['community', 'block', 'housing', 'district', 'city'];

const booleanWordsZh = '是/否';

const unitText = (zh: string | undefined): string => (zh === undefined || zh === '' ? '' : `（${zh}）`);
const unitTextEn = (en: string | undefined): string => (en === undefined || en === '' ? '' : ` (${en})`);

/** The bounds of one field that the rules enforce on the field itself, not on a quotient of two fields. */
const boundsOf = (
  indicator: Indicator,
  field: ObservationField,
): Pick<FieldColumn, 'min' | 'max' | 'minExclusive' | 'integer'> => {
  switch (field) {
    case 'value':
      // count, length, score and mean: the value is the unit value, held to the indicator's range.
      return { min: indicator.range.min, max: indicator.range.max, integer: indicator.kind === 'count' };
    case 'denominator':
    case 'population':
    case 'weight':
      return { min: 0, minExclusive: true, integer: false };
    case 'numerator':
    case 'quantity':
      return { min: 0, integer: false };
    default:
      return { integer: false };
  }
};

const fieldColumnsOf = (indicator: Indicator): FieldColumn[] => {
  const fields = indicatorFields(indicator);
  return fields.map((described): FieldColumn => {
    const plain = described.field === 'value' && fields.length === 1;
    const zhName = plain ? indicator.nameZh : `${indicator.nameZh}：${described.nameZh}`;
    const enName = plain ? indicator.nameEn : `${indicator.nameEn}: ${described.nameEn}`;
    const zhUnit = described.type === 'boolean' ? booleanWordsZh : described.unit?.zh;
    const enUnit = described.type === 'boolean' ? 'yes/no' : described.unit?.en;
    return {
      key: `${indicator.code}.${described.field}`,
      indicator: indicator.code,
      field: described.field,
      type: described.type,
      ...boundsOf(indicator, described.field),
      zh: `${indicator.code} ${zhName}${unitText(zhUnit)}`,
      en: `${indicator.code}.${described.field} ${enName}${unitTextEn(enUnit)}`,
    };
  });
};

/** The columns of a level's sheet: the identity columns, then every field of each active indicator of the level. */
export const sheetColumns = (catalogue: Catalogue, level: UnitLevel): SheetColumn[] => [
  ...identityColumns,
  ...catalogue.indicatorsFor(level).flatMap(fieldColumnsOf),
];

/** Spreadsheet rows above the data: the Chinese headers, then the English ones (which carry the keys). */
export const headerRows = 2;

const keyPattern =
  /^(cycle|catalogueVersion|cityCode|unit\.level|unit\.code|unit\.name|[A-Z][0-9]{2,3}\.[a-z]+)\b/;

/** The key a header cell names (`C01.value`, `unit.code`), or undefined for a column ingest does not read. */
export const keyOfHeader = (header: string): string | undefined => keyPattern.exec(header.trim())?.[1];

/** The column letters of a 1-based column number: 1 A, 27 AA. */
export const columnLetter = (column: number): string => {
  let letters = '';
  for (let n = column; n > 0; n = Math.floor((n - 1) / 26))
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
};
