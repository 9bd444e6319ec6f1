// Results as people read them, for exports and the console: an indicator's values scaled into its unit and
// rounded (from the catalogue: the unit's scale, and the indicator's kind for the decimals), reporting rates
// as percentages, times in Asia/Shanghai, and Chinese column headers. The raw formats of POST /v1/query
// never change: this is a second rendering of the same rows.
import {
  type Catalogue,
  cycleOfVersion,
  type Indicator,
  listCatalogueVersions,
  loadCatalogue,
} from '@citycheck/catalogue';
import type { QueryResultStream } from './query-engine.js';
import { columnValues, type JsonValue, type ResultColumn, toJson } from './result-columns.js';

export type DisplayLanguage = 'zh' | 'en';

/** One column of a displayed result: its header and how its values were turned into display values. */
export interface DisplayColumn {
  readonly name: string;
  readonly header: string;
  /** 'indicator': scaled and rounded by each row's indicator; 'percent': a 0-1 share shown as %. */
  readonly rendering: 'indicator' | 'percent' | 'number' | 'integer' | 'time' | 'text' | 'other';
}

/** A display value: a number already scaled and rounded (with its decimals), text, or null. */
export type DisplayCell = null | string | boolean | { readonly number: number; readonly decimals: number };

export interface DisplayResult {
  readonly columns: readonly DisplayColumn[];
  readonly rows: readonly DisplayCell[][];
}

/** Columns that hold a value of the row's indicator, in its stored units. */
const indicatorValueColumns = new Set([
  'value',
  'below_value',
  'previous_value',
  'change',
  'standard_value',
  'gap',
  'range_min',
  'range_max',
  'next_cycle_value',
]);
/** Columns that hold a 0-1 share that is not an indicator's (reporting and rectification rates). */
const percentColumns = new Set([
  'reporting_rate',
  'reporting_rate_on_time',
  'coverage',
  'rectification_rate',
]);

const headers: Record<string, string> = {
  cycle: '周期',
  catalogue_version: '目录版本',
  indicator_code: '指标代码',
  indicator: '指标',
  name_zh: '指标名称',
  name_en: '指标英文名称',
  name: '名称',
  dimension: '维度',
  kind: '类型',
  aggregation: '汇总方式',
  direction: '方向',
  unit_zh: '单位',
  level: '层级',
  area_code: '区划代码',
  province_code: '省级代码',
  city_code: '城市代码',
  district_code: '区县代码',
  street_code: '街道代码',
  unit_code: '单元代码',
  unit_level: '单元层级',
  value: '数值',
  below_value: '下级汇总值',
  value_source: '数值来源',
  previous_value: '上期数值',
  change: '变化',
  numerator: '分子',
  denominator: '分母',
  numerator_sum: '分子合计',
  denominator_sum: '分母合计',
  quantity_sum: '数量合计',
  population_sum: '人口合计',
  units_meeting: '达标单元数',
  units_reported: '已报单元数',
  units_expected: '应报单元数',
  cities_reported: '已报城市数',
  cities_expected: '应报城市数',
  communities_reported: '已报社区数',
  communities_expected: '应报社区数',
  cities_on_time: '按时报送城市数',
  communities_on_time: '按时报送社区数',
  rank: '排名',
  reporting_rate: '报送率(%)',
  reporting_rate_on_time: '按时报送率(%)',
  coverage: '覆盖率(%)',
  standard_operator: '标准关系',
  standard_value: '标准值',
  gap: '差距',
  since_cycle: '起始周期',
  status: '状态',
  flag: '标记',
  rule: '规则',
  score: '分值',
  detail: '说明',
  received_at: '接收时间(北京时间)',
  submitted_at: '提交时间(北京时间)',
  validated_at: '校验时间(北京时间)',
  derived_at: '生成时间(北京时间)',
  deadline: '报送截止(北京时间)',
  first_received_at: '首次接收(北京时间)',
  last_received_at: '最后接收(北京时间)',
  lake_commit: '数据版本',
  submission_id: '报送编号',
  // The review of each city's data (审核).
  review_state: '审核状态',
  cities_submitted: '已提交审核城市数',
  cities_returned: '已退回城市数',
  cities_approved: '省级已通过城市数',
  cities_accepted: '部级已验收城市数',
  cities_reopened: '已重新开放城市数',
  // The rectification views (整改).
  on_ledger: '在台账中',
  state: '状态',
  recorded_state: '记录状态',
  plan_measure: '整改措施',
  plan_department: '责任部门',
  plan_target_date: '整改时限',
  evidence_count: '佐证材料数',
  actions: '操作次数',
  last_action: '最近操作',
  last_action_by: '最近操作人',
  last_action_at: '最近操作时间(北京时间)',
  verified_by: '核验人',
  verified_at: '核验时间(北京时间)',
  overdue: '逾期',
  overdue_as_of: '逾期判定日期',
  next_cycle_value: '下期数值',
  next_cycle_meets: '下期达标',
  contradicted: '下期数据否定整改',
  reopened_by_cycle: '重新打开的周期',
  items: '台账条目数',
  identified: '待整改',
  planned: '已制定方案',
  in_progress: '整改中',
  rectified: '已整改',
  consolidated: '已巩固',
  reopened: '重新打开',
  rectification_rate: '整改率(%)',
  city_name: '城市名称',
  seq: '序号',
  action: '操作',
  actor: '操作人',
  actor_role: '操作人角色',
  credential_id: '凭证编号',
  acted_at: '操作时间(北京时间)',
  note: '备注',
  evidence_file_name: '佐证文件名',
  evidence_content_type: '文件类型',
  evidence_bytes: '文件大小(字节)',
  evidence_sha256: '文件SHA-256',
  evidence_object_key: '存储位置',
};

/** The indicators of every catalogue version, to look a row's indicator up by its version or cycle. */
export interface IndicatorBook {
  find(code: string, version?: string, cycle?: number): Indicator | undefined;
}

export const loadIndicatorBook = (): IndicatorBook => {
  const catalogues: Catalogue[] = listCatalogueVersions().map((version) => loadCatalogue(version));
  const latestFirst = [...catalogues].reverse();
  return {
    find(code, version, cycle) {
      const exact = version === undefined ? undefined : catalogues.find((item) => item.id === version);
      const ofCycle =
        cycle === undefined ? undefined : latestFirst.find((item) => cycleOfVersion(item.id) === cycle);
      for (const catalogue of [exact, ofCycle, ...latestFirst]) {
        const indicator = catalogue?.indicators.get(code);
        if (indicator !== undefined) return indicator;
      }
      return undefined;
    },
  };
};

/** Decimals an indicator is shown with, in its display unit: whole counts, one for percentages, else two. */
export const decimalsOf = (indicator: Indicator): number => {
  if (indicator.kind === 'count') return 0;
  if ((indicator.unit.scale ?? 1) === 100) return 1;
  return 2;
};

const round = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round((value + Number.EPSILON * Math.sign(value)) * factor) / factor;
};

/** A UTC timestamp as China Standard Time (UTC+8 all year), `2024-11-20 17:01:01`. */
export const shanghaiTime = (iso: string): string => {
  const utc = Date.parse(iso.endsWith('Z') ? iso : `${iso.slice(0, 23)}Z`);
  if (Number.isNaN(utc)) return iso;
  return new Date(utc + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
};

const renderingOf = (column: ResultColumn, hasIndicator: boolean): DisplayColumn['rendering'] => {
  if (column.kind === 'timestamp' || column.kind === 'timestamptz') return 'time';
  const numeric = ['exactNumber', 'float32', 'float64'].includes(column.kind);
  const integer = ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'].includes(
    column.kind,
  );
  if ((numeric || integer) && hasIndicator && indicatorValueColumns.has(column.name)) return 'indicator';
  if ((numeric || integer) && percentColumns.has(column.name)) return 'percent';
  // Counts of units, cities and communities are whole numbers, whatever type a query gave them.
  if ((numeric || integer) && /^(units|cities|communities)_/.test(column.name)) return 'integer';
  if (numeric) return 'number';
  if (integer) return 'integer';
  if (column.kind === 'text' || column.kind === 'date') return 'text';
  return 'other';
};

/** Reads a result whole and renders it for display (exports are bounded by the engine's row cap). */
export const displayResult = async (
  result: QueryResultStream,
  { book, language = 'zh' }: { book: IndicatorBook; language?: DisplayLanguage },
): Promise<DisplayResult> => {
  const names = result.columns.map((column) => column.name);
  const indicatorIndex = names.indexOf('indicator_code');
  const versionIndex = names.indexOf('catalogue_version');
  const cycleIndex = names.indexOf('cycle');
  const columns: DisplayColumn[] = result.columns.map((column) => ({
    name: column.name,
    header: language === 'zh' ? (headers[column.name] ?? column.name) : column.name,
    rendering: renderingOf(column, indicatorIndex >= 0),
  }));
  const rows: DisplayCell[][] = [];
  for await (const chunk of result.chunks()) {
    const values = result.columns.map((_, index) => columnValues(chunk, index));
    for (let row = 0; row < chunk.rowCount; row += 1) {
      const json: JsonValue[] = result.columns.map((column, index) =>
        toJson(column, values[index]?.[row] ?? null, result.types[index] as never),
      );
      const code = indicatorIndex >= 0 ? json[indicatorIndex] : null;
      const version = versionIndex >= 0 ? json[versionIndex] : null;
      const cycle = cycleIndex >= 0 ? json[cycleIndex] : null;
      const indicator =
        typeof code === 'string'
          ? book.find(
              code,
              typeof version === 'string' ? version : undefined,
              typeof cycle === 'number' ? cycle : undefined,
            )
          : undefined;
      rows.push(
        columns.map((column, index): DisplayCell => {
          const value = json[index] ?? null;
          if (value === null) return null;
          const number = typeof value === 'number' ? value : Number(value);
          switch (column.rendering) {
            case 'indicator': {
              if (indicator === undefined) return { number: round(number, 2), decimals: 2 };
              const decimals = decimalsOf(indicator);
              return { number: round(number * (indicator.unit.scale ?? 1), decimals), decimals };
            }
            case 'percent':
              return { number: round(number * 100, 1), decimals: 1 };
            case 'number':
              return Number.isFinite(number) ? { number: round(number, 2), decimals: 2 } : String(value);
            case 'integer':
              return Number.isSafeInteger(Math.round(number))
                ? { number: Math.round(number), decimals: 0 }
                : String(value);
            case 'time':
              return shanghaiTime(String(value));
            case 'text':
              return String(value);
            default:
              return typeof value === 'boolean' ? value : JSON.stringify(value);
          }
        }),
      );
    }
  }
  return { columns, rows };
};

/** A display cell's text: numbers with exactly their decimals, booleans as 是/否 (or true/false). */
export const cellText = (cell: DisplayCell, language: DisplayLanguage = 'zh'): string => {
  if (cell === null) return '';
  if (typeof cell === 'string') return cell;
  if (typeof cell === 'boolean') return language === 'zh' ? (cell ? '是' : '否') : String(cell);
  return cell.number.toFixed(cell.decimals);
};
