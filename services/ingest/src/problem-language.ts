// The language of the problems ingest answers with: Simplified Chinese for the city by default, the rules' own
// English on `Accept-Language: en`. The rule codes, pointers and values stay as the rules wrote them.
import type { Submission } from '@citycheck/contracts';
import type { FieldProblem } from '@citycheck/errors';

export type ProblemLanguage = 'zh' | 'en';

/** What a Chinese message names of the submission a problem is about. */
export type NamedSubmission = Pick<Submission, 'catalogueVersion' | 'cycle' | 'cityCode' | 'unit'>;

/** What a Chinese message needs to know of an indicator: a catalogue's indicator, structurally. */
export interface DescribedIndicator {
  readonly code: string;
  readonly nameZh: string;
  readonly kind: string;
  readonly dimension: string;
  readonly unitLevels: readonly string[];
  readonly range: { readonly min: number; readonly max: number };
  readonly unit: { readonly zh: string };
}

/** The indicators of a catalogue version, or undefined when there is no such version. */
export type IndicatorsOf = (
  version: string,
) => { indicator(code: string): DescribedIndicator | undefined } | undefined;

/**
 * English only when the request's Accept-Language prefers it over Chinese (q-values respected), else
 * Chinese: the people reading these answers are municipal staff and their vendors.
 */
export const problemLanguageOf = (acceptLanguage: string | undefined): ProblemLanguage => {
  let best: { language: ProblemLanguage; q: number } | undefined;
  for (const part of (acceptLanguage ?? '').split(',')) {
    const [tag = '', ...parameters] = part.trim().toLowerCase().split(';');
    const q = Number(/^\s*q=([\d.]+)/.exec(parameters.join(';'))?.[1] ?? '1');
    const language = tag.startsWith('en') ? 'en' : tag.startsWith('zh') ? 'zh' : undefined;
    if (language !== undefined && q > 0 && (best === undefined || q > best.q)) best = { language, q };
  }
  return best?.language ?? 'zh';
};

const levelZh: Readonly<Record<string, string>> = {
  community: '社区',
  block: '街区',
  housing: '住房',
  district: '区（县）',
  city: '城市',
  street: '街道',
  province: '省',
};

const fieldZh: Readonly<Record<string, string>> = {
  value: '数值（value）',
  numerator: '分子（numerator）',
  denominator: '分母（denominator）',
  quantity: '总量（quantity）',
  population: '人口（population）',
  weight: '权重（weight）',
  meets: '是否达标（meets）',
};

const kindFieldsZh: Readonly<Record<string, string>> = {
  count: 'value',
  length: 'value',
  rate: 'numerator 和 denominator',
  perCapita: 'quantity 和 population',
  share: 'meets',
  score: 'value 和 weight',
  mean: 'value 和 weight',
};

const lastSegment = (pointer: string): string => pointer.slice(pointer.lastIndexOf('/') + 1);

/** The Chinese message of one problem, or undefined when its rule has none (its English message stands). */
const chineseMessage = (
  problem: FieldProblem,
  submission: NamedSubmission,
  indicatorsOf: IndicatorsOf | undefined,
): string | undefined => {
  const code = problem.indicator;
  const indicator =
    code === undefined ? undefined : indicatorsOf?.(submission.catalogueVersion)?.indicator(code);
  const named = indicator === undefined ? `${code ?? ''} ` : `${code}（${indicator.nameZh}）`;
  const field = lastSegment(problem.pointer);
  const value = String(problem.value);
  switch (problem.rule) {
    case 'catalogue_version_known':
      return `不存在指标目录版本 ${submission.catalogueVersion}`;
    case 'catalogue_cycle':
      return `指标目录版本 ${submission.catalogueVersion} 不适用于 ${submission.cycle} 年度体检周期`;
    case 'cycle_open':
      return `${submission.cycle} 年度体检周期未开放报送`;
    case 'city_exists':
      return `${submission.cityCode} 不是本周期报送的城市（地级市、直辖市或本周期单独体检的县级市）`;
    case 'unit_exists':
      return `单元编码 ${submission.unit.code} 不是${levelZh[submission.unit.level] ?? submission.unit.level}级单元的有效区划编码`;
    case 'unit_under_city':
      return `单元 ${submission.unit.code} 不属于报送城市 ${submission.cityCode}`;
    case 'indicator_unique':
      return `指标 ${named}在本次报送中重复出现`;
    case 'indicator_known':
      return `指标目录 ${submission.catalogueVersion} 中没有指标 ${code ?? ''}，或该指标已停用`;
    case 'indicator_dimension':
      return indicator === undefined
        ? undefined
        : `指标 ${named}在${indicator.unitLevels.map((level) => levelZh[level] ?? level).join('、')}单元上报送，不在${levelZh[submission.unit.level] ?? submission.unit.level}单元上报送`;
    case 'kind_fields':
      return indicator === undefined
        ? undefined
        : problem.value === undefined
          ? `指标 ${named}须填报 ${kindFieldsZh[indicator.kind] ?? ''}，缺少 ${field}`
          : `指标 ${named}不填报 ${field}（须填报 ${kindFieldsZh[indicator.kind] ?? ''}）`;
    case 'range': {
      if (indicator === undefined) return undefined;
      const { min, max } = indicator.range;
      if (indicator.kind === 'rate')
        return `指标 ${named}的分子 / 分母应在 ${min} 至 ${max} 之间，实为 ${value}`;
      if (indicator.kind === 'perCapita') {
        return typeof problem.value === 'number' && problem.value < 0 && field === 'quantity' && min >= 0
          ? `指标 ${named}的${fieldZh.quantity}不能为负数`
          : `指标 ${named}的总量 / 人口应在 ${min} 至 ${max} 之间，实为 ${value}`;
      }
      return `指标 ${named}的${fieldZh[field] ?? field}应在 ${min} 至 ${max}（${indicator.unit.zh}）之间，实为 ${value}`;
    }
    case 'integer_count':
      return `指标 ${named}为计数，${fieldZh.value}须为整数，实为 ${value}`;
    case 'weight_positive':
      return `指标 ${named}的${fieldZh.weight}须大于 0`;
    case 'denominator_positive':
      return `指标 ${named}的${fieldZh.denominator}须大于 0`;
    case 'numerator_le_denominator':
      return indicator !== undefined && indicator.range.max <= 1
        ? `指标 ${named}的${fieldZh.numerator}应在 0 至分母之间，实为 ${value}`
        : `指标 ${named}的${fieldZh.numerator}不能为负数`;
    case 'population_positive':
      return `指标 ${named}的${fieldZh.population}须大于 0`;
    default:
      // cycle_closed and the scope and idempotency problems ingest writes itself already speak to the city.
      return undefined;
  }
};

/**
 * The problems in the asked language: English keeps the rules' messages as they are; Chinese rewrites the
 * message of every rule it knows and leaves the others (already Chinese, or not the city's) untouched.
 */
export const inLanguage = (
  problems: readonly FieldProblem[],
  language: ProblemLanguage,
  submission: NamedSubmission,
  indicatorsOf: IndicatorsOf | undefined,
): FieldProblem[] =>
  problems.map((problem) => {
    if (language === 'en') return problem;
    const message = chineseMessage(problem, submission, indicatorsOf);
    return message === undefined ? problem : { ...problem, message };
  });
