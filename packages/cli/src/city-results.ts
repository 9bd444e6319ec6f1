// `citycheck results --cycle <year>`: what the lake says of the credential's own city in a cycle, read the way
// a city may read it: its city-level figure per indicator with the units it covers (POST /v1/query on the
// query service, which scopes a city credential to its own rows), its shortfall ledger items, and the units
// it is expected to report but has not (ingest's GET /v1/units), with the rectification (整改) of each ledger item
// and the city's rectification rate (the views rectification and rectification_rates). Chinese by default,
// English with --lang en.
import type { ExpectedUnits } from '@citycheck/contracts';
import { rectificationStateNames } from '@citycheck/rectification';
import { isErrorBody } from './answers.js';
import { send } from './http.js';
import { acceptLanguage, type CliLanguage, formatCount } from './language.js';
import { QueryFailed, type QueryTarget, queryRows } from './query/query-client.js';
import { unitLevelNames } from './submission-status.js';
import { formatTextTable } from './text-table.js';

export interface HeadlineFigure {
  readonly indicator: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly unitZh: string;
  readonly unitEn: string;
  /** Multiply `value` by this to show it in the unit (100 for %). */
  readonly unitScale: number;
  /** In stored units (fractions for percentages), as the rollups view has it. */
  readonly value: number | null;
  readonly unitsReported: number;
  readonly unitsExpected: number | null;
  /** unitsReported / unitsExpected; null where the registry expects no count (blocks, housing). */
  readonly coverage: number | null;
  /** `city` when the city reported the figure for itself, `units` when it is rolled up from its units. */
  readonly valueSource: string | null;
}

export interface LedgerItem {
  readonly unitLevel: string;
  readonly unitCode: string;
  readonly unitName: string | null;
  readonly indicator: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly unitScale: number;
  readonly unitZh: string;
  readonly unitEn: string;
  readonly value: number | null;
  readonly standardOperator: string;
  readonly standardValue: number;
  readonly gap: number | null;
  readonly sinceCycle: number | null;
  /** new, persisting or resolved compared with the previous cycle. */
  readonly status: string;
  /** The item's rectification; null for a resolved item, which is no longer on the ledger to be fixed. */
  readonly rectification: LedgerRectification | null;
}

/** Where the rectification of one ledger item stands, as the rectification view has it. */
export interface LedgerRectification {
  /** identified, planned, in_progress, rectified, consolidated or reopened. */
  readonly state: string;
  /** The plan's target date (YYYY-MM-DD); null before a plan. */
  readonly planTargetDate: string | null;
  /** The target date has passed (Beijing time) and the item is neither rectified nor consolidated. */
  readonly overdue: boolean;
  /** The province verified the fix and the next cycle's data miss the standard again. */
  readonly contradicted: boolean;
}

/** The city's row of rectification_rates: its ledger items of the cycle in each state. */
export interface RectificationRate {
  readonly items: number;
  readonly identified: number;
  readonly planned: number;
  readonly inProgress: number;
  readonly rectified: number;
  readonly consolidated: number;
  readonly reopened: number;
  readonly overdue: number;
  /** (rectified + consolidated) / items. */
  readonly rate: number;
}

export interface CityResults {
  readonly cityCode: string;
  readonly cityName: string | null;
  readonly cycle: number;
  /** Of the derivation the figures come from; null when the lake holds none of the city's cycle yet. */
  readonly derivedAt: string | null;
  readonly lakeCommit: string | null;
  readonly headline: readonly HeadlineFigure[];
  readonly ledger: readonly LedgerItem[];
  /** Null when the cycle's ledger holds no item to rectify (the view has no row of the city). */
  readonly rectificationRate: RectificationRate | null;
  readonly units: {
    readonly expected: number;
    readonly reported: number;
    readonly missing: readonly { readonly level: string; readonly code: string; readonly name: string }[];
  };
}

export interface CityResultsOptions {
  /** Base URL of ingest (the expected units). */
  readonly ingestUrl: string;
  /** Base URL of the query service (the figures and the ledger). */
  readonly queryUrl: string;
  readonly token: string;
  readonly cycle: number;
  /** A province or ministry credential names the city; a city credential reads its own (and may omit it). */
  readonly cityCode?: string;
  readonly language: CliLanguage;
}

/** A failure of one of the two services, with whose it was; the CLI exits 2 on it. */
export class ResultsFailed extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResultsFailed';
  }
}

const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** The rows of a JSON query result as objects keyed by column name. */
const records = async (target: QueryTarget, sql: string): Promise<Record<string, unknown>[]> => {
  const result = await queryRows(target, sql);
  return result.rows.map((row) =>
    Object.fromEntries(result.columns.map((column, index) => [column.name, row[index] ?? null])),
  );
};

const numberOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : Number(value);

const expectedUnitsOf = async (options: CityResultsOptions): Promise<ExpectedUnits> => {
  const city = options.cityCode === undefined ? '' : `&city=${encodeURIComponent(options.cityCode)}`;
  const answer = await send({
    method: 'GET',
    url: `${options.ingestUrl.replace(/\/+$/, '')}/v1/units?cycle=${options.cycle}${city}`,
    headers: {
      authorization: `Bearer ${options.token}`,
      'accept-language': acceptLanguage(options.language),
    },
  });
  if (answer.status !== 200) {
    const detail = isErrorBody(answer.body)
      ? `${answer.body.error.code}: ${answer.body.error.message}`
      : `HTTP ${answer.status}`;
    throw new ResultsFailed(
      options.language === 'en'
        ? `ingest did not list the expected units (${detail})`
        : `未能从报送服务获取应报单元（${detail}）`,
    );
  }
  return answer.body as ExpectedUnits;
};

/** The indicator names and units of the cycle's catalogue, joined on by code. */
const indicatorColumns = (cycle: number): string =>
  `(SELECT code, arg_max(name_zh, catalogue_version) AS name_zh, arg_max(name_en, catalogue_version) AS name_en,
           arg_max(unit_zh, catalogue_version) AS unit_zh, arg_max(unit_en, catalogue_version) AS unit_en,
           arg_max(unit_scale, catalogue_version) AS unit_scale
      FROM indicators WHERE cycle = ${cycle} GROUP BY code)`;

/** Reads the city's figures, ledger and expected units; throws ResultsFailed when a service refuses. */
export const fetchCityResults = async (options: CityResultsOptions): Promise<CityResults> => {
  const units = await expectedUnitsOf(options);
  const city = sqlString(units.cityCode);
  const { cycle } = options;
  const target: QueryTarget = { url: options.queryUrl, token: options.token };
  try {
    const [headline, ledger, names, rates] = await Promise.all([
      records(
        target,
        `SELECT r.indicator_code, i.name_zh, i.name_en, i.unit_zh, i.unit_en, i.unit_scale,
                r.value, r.units_reported, r.units_expected, r.value_source,
                CAST(r.derived_at AS VARCHAR) AS derived_at, r.lake_commit
           FROM rollups r LEFT JOIN ${indicatorColumns(cycle)} i ON i.code = r.indicator_code
          WHERE r.cycle = ${cycle} AND r.level = 'city' AND r.area_code = ${city}
          ORDER BY r.indicator_code`,
      ),
      records(
        target,
        `SELECT l.unit_level, l.unit_code, d.name AS unit_name, l.indicator_code, i.name_zh, i.name_en,
                i.unit_zh, i.unit_en, i.unit_scale, l.value, l.standard_operator, l.standard_value, l.gap,
                l.since_cycle, l.status, x.state AS rectification_state,
                CAST(x.plan_target_date AS VARCHAR) AS plan_target_date, x.overdue, x.contradicted
           FROM shortfall_ledger l
           LEFT JOIN ${indicatorColumns(cycle)} i ON i.code = l.indicator_code
           LEFT JOIN divisions d ON d.code = l.unit_code
           LEFT JOIN rectification x ON x.cycle = l.cycle AND x.unit_level = l.unit_level
                 AND x.unit_code = l.unit_code AND x.indicator_code = l.indicator_code
          WHERE l.cycle = ${cycle} AND l.city_code = ${city}
          ORDER BY CASE l.status WHEN 'new' THEN 0 WHEN 'persisting' THEN 1 ELSE 2 END, l.unit_code,
                   l.indicator_code`,
      ),
      records(target, `SELECT name FROM divisions WHERE code = ${city}`),
      records(
        target,
        `SELECT items, identified, planned, in_progress, rectified, consolidated, reopened, overdue,
                rectification_rate
           FROM rectification_rates WHERE cycle = ${cycle} AND level = 'city' AND area_code = ${city}`,
      ),
    ]);
    const rate = rates[0];
    const first = headline[0];
    return {
      cityCode: units.cityCode,
      cityName: (names[0]?.name as string | undefined) ?? null,
      cycle,
      derivedAt: (first?.derived_at as string | undefined) ?? null,
      lakeCommit: (first?.lake_commit as string | undefined) ?? null,
      headline: headline.map((row) => {
        const reported = Number(row.units_reported ?? 0);
        const expected = numberOrNull(row.units_expected);
        return {
          indicator: String(row.indicator_code),
          nameZh: String(row.name_zh ?? ''),
          nameEn: String(row.name_en ?? ''),
          unitZh: String(row.unit_zh ?? ''),
          unitEn: String(row.unit_en ?? ''),
          unitScale: Number(row.unit_scale ?? 1),
          value: numberOrNull(row.value),
          unitsReported: reported,
          unitsExpected: expected,
          coverage: expected === null || expected === 0 ? null : reported / expected,
          valueSource: (row.value_source as string | null) ?? null,
        };
      }),
      ledger: ledger.map((row) => ({
        unitLevel: String(row.unit_level),
        unitCode: String(row.unit_code),
        unitName: (row.unit_name as string | null) ?? null,
        indicator: String(row.indicator_code),
        nameZh: String(row.name_zh ?? ''),
        nameEn: String(row.name_en ?? ''),
        unitScale: Number(row.unit_scale ?? 1),
        unitZh: String(row.unit_zh ?? ''),
        unitEn: String(row.unit_en ?? ''),
        value: numberOrNull(row.value),
        standardOperator: String(row.standard_operator),
        standardValue: Number(row.standard_value),
        gap: numberOrNull(row.gap),
        sinceCycle: numberOrNull(row.since_cycle),
        status: String(row.status),
        rectification:
          row.rectification_state === null
            ? null
            : {
                state: String(row.rectification_state),
                planTargetDate: (row.plan_target_date as string | null) ?? null,
                overdue: row.overdue === true,
                contradicted: row.contradicted === true,
              },
      })),
      rectificationRate:
        rate === undefined
          ? null
          : {
              items: Number(rate.items),
              identified: Number(rate.identified),
              planned: Number(rate.planned),
              inProgress: Number(rate.in_progress),
              rectified: Number(rate.rectified),
              consolidated: Number(rate.consolidated),
              reopened: Number(rate.reopened),
              overdue: Number(rate.overdue),
              rate: Number(rate.rectification_rate),
            },
      units: {
        expected: units.expected,
        reported: units.reported,
        missing: units.units
          .filter((unit) => !unit.reported)
          .map(({ level, code, name }) => ({ level, code, name })),
      },
    };
  } catch (error) {
    if (error instanceof QueryFailed)
      throw new ResultsFailed(
        options.language === 'en'
          ? `the query service refused (${error.code ?? error.status}: ${error.message})`
          : `查询服务拒绝了请求（${error.code ?? error.status}：${error.message}）`,
        { cause: error },
      );
    throw error;
  }
};

/** A figure in its display unit: whole numbers with separators, else at most 2 decimals (4 below 1). */
export const formatFigure = (value: number | null, scale = 1): string => {
  if (value === null) return '-';
  const shown = value * scale;
  return new Intl.NumberFormat('en', { maximumFractionDigits: Math.abs(shown) < 1 ? 4 : 2 }).format(shown);
};

const percent = (share: number): string =>
  `${new Intl.NumberFormat('en', { maximumFractionDigits: 1, minimumFractionDigits: 1 }).format(share * 100)}%`;

const ledgerStatusNames: Readonly<Record<string, { zh: string; en: string }>> = {
  new: { zh: '新增', en: 'new' },
  persisting: { zh: '持续', en: 'persisting' },
  resolved: { zh: '已整改', en: 'resolved' },
};

/** English names of the rectification states; the Chinese ones are the rectification package's. */
export const rectificationStateNamesEn: Readonly<Record<keyof typeof rectificationStateNames, string>> = {
  identified: 'identified',
  planned: 'planned',
  in_progress: 'in progress',
  rectified: 'rectified (verified)',
  consolidated: 'consolidated',
  reopened: 'reopened',
};

const rectificationStateText = (state: string, en: boolean): string => {
  const names: Readonly<Record<string, string>> = en ? rectificationStateNamesEn : rectificationStateNames;
  return names[state] ?? state;
};

const indent = (lines: readonly string[]): string[] => lines.map((line) => `  ${line}`);

/** The results as text: a heading, the figures, the ledger and the missing units, each a table. */
export const formatCityResults = (results: CityResults, language: CliLanguage): string => {
  const en = language === 'en';
  const name = results.cityName === null ? results.cityCode : `${results.cityName}（${results.cityCode}）`;
  const lines: string[] = [
    en
      ? `${results.cityName ?? results.cityCode} (${results.cityCode}), cycle ${results.cycle}`
      : `${name}${results.cycle} 年度体检结果`,
  ];
  if (results.derivedAt !== null)
    lines.push(
      en
        ? `as of ${results.derivedAt} UTC (lake commit ${results.lakeCommit ?? '-'})`
        : `数据截至 ${results.derivedAt} UTC（湖仓提交 ${results.lakeCommit ?? '-'}）`,
    );
  const { expected, reported, missing } = results.units;
  const coverage = expected === 0 ? '' : `（${percent(reported / expected)}）`;
  lines.push(
    en
      ? `reported: ${formatCount(reported)} of ${formatCount(expected)} expected communities${expected === 0 ? '' : ` (${percent(reported / expected)})`}`
      : `已报送：应报社区 ${formatCount(expected)} 个，已报送 ${formatCount(reported)} 个${coverage}`,
  );

  lines.push('');
  if (results.headline.length === 0) {
    lines.push(
      en
        ? 'headline figures: none yet (the lake has no rollup of the city for this cycle)'
        : '主要指标：暂无（湖仓中尚无本市本年度的汇总结果）',
    );
  } else {
    lines.push(en ? 'headline figures (city level)' : '主要指标（市级）');
    const header = en
      ? ['indicator', 'name', 'value', 'unit', 'units', 'coverage', 'source']
      : ['指标', '名称', '数值', '单位', '覆盖单元', '覆盖率', '来源'];
    const source = (value: string | null): string =>
      value === 'city' ? (en ? 'city' : '本级填报') : value === 'units' ? (en ? 'units' : '下级汇总') : '-';
    lines.push(
      ...indent(
        formatTextTable([
          header,
          ...results.headline.map((figure) => [
            figure.indicator,
            en ? figure.nameEn : figure.nameZh,
            formatFigure(figure.value, figure.unitScale),
            en ? figure.unitEn : figure.unitZh,
            figure.unitsExpected === null
              ? formatCount(figure.unitsReported)
              : `${formatCount(figure.unitsReported)}/${formatCount(figure.unitsExpected)}`,
            figure.coverage === null ? '-' : percent(figure.coverage),
            source(figure.valueSource),
          ]),
        ]),
      ),
    );
  }

  lines.push('');
  const byStatus = (status: string) => results.ledger.filter((item) => item.status === status).length;
  lines.push(
    en
      ? `shortfall ledger: ${results.ledger.length} item(s), ${byStatus('new')} new, ${byStatus('persisting')} persisting, ${byStatus('resolved')} resolved`
      : `问题台账：${results.ledger.length} 项（新增 ${byStatus('new')}，持续 ${byStatus('persisting')}，已整改 ${byStatus('resolved')}）`,
  );
  const rate = results.rectificationRate;
  if (rate !== null)
    lines.push(
      en
        ? `rectification: rate ${percent(rate.rate)} ((${rate.rectified} rectified + ${rate.consolidated} consolidated) / ${rate.items} item(s)); ${rate.identified} identified, ${rate.planned} planned, ${rate.inProgress} in progress, ${rate.reopened} reopened, ${rate.overdue} overdue`
        : `整改率：${percent(rate.rate)}（（已整改 ${rate.rectified} + 已巩固 ${rate.consolidated}）/ 台账 ${rate.items} 项）；待整改 ${rate.identified}，已制定计划 ${rate.planned}，整改中 ${rate.inProgress}，已重新打开 ${rate.reopened}，逾期 ${rate.overdue}`,
    );
  if (results.ledger.length > 0) {
    const header = en
      ? [
          'unit',
          'name',
          'indicator',
          'value',
          'standard',
          'gap',
          'since',
          'status',
          'rectification',
          'due',
          'flags',
        ]
      : ['单元', '名称', '指标', '数值', '标准', '差距', '始于', '状态', '整改状态', '整改时限', '提示'];
    const flags = (item: LedgerItem): string =>
      [
        item.rectification?.overdue === true ? (en ? 'overdue' : '逾期') : undefined,
        item.rectification?.contradicted === true
          ? en
            ? 'contradicted by the next cycle'
            : '核验后下一年度仍未达标'
          : undefined,
      ]
        .filter((flag) => flag !== undefined)
        .join(en ? ', ' : '、') || '-';
    lines.push(
      ...indent(
        formatTextTable([
          header,
          ...results.ledger.map((item) => {
            const unit = en ? item.unitEn : item.unitZh;
            const level = unitLevelNames[item.unitLevel];
            return [
              `${level === undefined ? item.unitLevel : en ? level.en : level.zh} ${item.unitCode}`,
              item.unitName ?? '',
              `${item.indicator} ${en ? item.nameEn : item.nameZh}`,
              `${formatFigure(item.value, item.unitScale)} ${unit}`.trimEnd(),
              `${item.standardOperator} ${formatFigure(item.standardValue, item.unitScale)}`,
              formatFigure(item.gap, item.unitScale),
              item.sinceCycle === null ? '-' : String(item.sinceCycle),
              en
                ? (ledgerStatusNames[item.status]?.en ?? item.status)
                : (ledgerStatusNames[item.status]?.zh ?? item.status),
              item.rectification === null ? '-' : rectificationStateText(item.rectification.state, en),
              item.rectification?.planTargetDate ?? '-',
              flags(item),
            ];
          }),
        ]),
      ),
    );
  }

  lines.push('');
  lines.push(
    en
      ? `units still missing: ${formatCount(missing.length)}`
      : `尚未报送的单元：${formatCount(missing.length)} 个`,
  );
  if (missing.length > 0)
    lines.push(
      ...indent(
        formatTextTable([
          en ? ['unit', 'code', 'name'] : ['单元', '代码', '名称'],
          ...missing.map((unit) => [
            en
              ? (unitLevelNames[unit.level]?.en ?? unit.level)
              : (unitLevelNames[unit.level]?.zh ?? unit.level),
            unit.code,
            unit.name,
          ]),
        ]),
      ),
    );
  return lines.join('\n');
};
