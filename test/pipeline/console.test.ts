// The analysts' console over the whole pipeline, in headless Chromium (Debian's, through playwright-core):
// communities of 广州, 深圳, 南宁 and 北京 submit cycle 2024 through ingest (one 广州 community corrects
// itself later), validate and aggregate run as real processes on the shared Kafka and object store, and the
// query service serves the console. A ministry and a Guangdong analyst read C12 (share of compounds whose
// elderly-care facilities meet the standard) on the map, colour it by reporting rate, drill from the map to
// 广州 and its communities, and export a table; every figure is checked against the shares worked out by
// hand below. Once the data are in, the cities' reviews go through ingest's review routes, and the
// completeness table shows each row's review state and its approved and accepted cities as worked out below;
// 南宁 plans one ledger item's rectification through ingest, and the 整改 tab shows it overdue beside the
// others, its plan and its community.
// The Guangdong analyst's own page can fetch nothing of 广西. Screenshots: test-artifacts/.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalogue } from '@citycheck/catalogue';
import type { Submission } from '@citycheck/contracts';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { sampleCycle } from '@citycheck/generator';
import { issueAnalystToken, issueCityTokens } from '@citycheck/generator/stack';
import { submitEach, waitFor } from '@citycheck/testkit';
import { artifacts, launchChromium } from '@citycheck/testkit/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareStack, type Stack } from './support.js';

// Whether each community's elderly-care facilities meet the standard (C12), in registry order per city.
const meets: Record<string, boolean[]> = {
  '440100': [true, true, false, true, false],
  '440300': [true, false, false],
  '450100': [true, true, true, false],
  '110100': [true, false],
};
// The third 广州 community corrects its C12 to true in a later submission, which supersedes the first.
// By hand, units meeting / units examined, in % to one decimal (the catalogue's scale of 100):
//   广州 440100: 4 of 5 = 80.0; 深圳 440300: 1 of 3 = 33.3; 广东 440000: 5 of 8 = 62.5 (the mean of the two
//   cities' shares would be 56.7); 南宁 and 广西: 3 of 4 = 75.0; 北京: 1 of 2 = 50.0.
const expectedProvinces = { '110000': 50, '440000': 62.5, '450000': 75 };
const expectedGuangdongCities = { '440100': 80, '440300': 33.3 };
// The review of each city's 2024 data, once all of it is in: 广州 submits, 广东's reviewer approves and the
// ministry accepts; 深圳 submits and is approved; 南宁 submits; 北京 does nothing. So the city rows of
// completeness say accepted, approved, submitted and draft, and the province rows count 广东's cities one
// approved and one accepted, 广西's and 北京's none (a province row has no state of its own).
const reviewSteps: [city: string, actions: ('submit' | 'approve' | 'accept')[]][] = [
  ['440100', ['submit', 'approve', 'accept']],
  ['440300', ['submit', 'approve']],
  ['450100', ['submit']],
];
// The page shows each state by its Chinese name: accepted 部级已验收, approved 省级已通过, submitted 已提交审核,
// draft 未提交.
const expectedCityReviews = {
  '440100': ['部级已验收', '0', '1'],
  '440300': ['省级已通过', '1', '0'],
  '450100': ['已提交审核', '0', '0'],
  '110100': ['未提交', '0', '0'],
};
const expectedProvinceReviews = {
  '440000': ['—', '1', '1'],
  '450000': ['—', '0', '0'],
  '110000': ['—', '0', '0'],
};

describe('the console over the pipeline', () => {
  let stack: Stack;
  const divisions = loadDivisionRegistry();
  let queryUrl: string;
  let ministry: string;
  let guangdong: string;
  let browser: Browser;
  /** 广州's communities as the rollups must see them: each with its final C12. */
  const guangzhouUnits = new Map<string, boolean>();
  /** The communities missing C12 after the correction, each as `<unit>-C12`, by city: the ledger's C12 items. */
  const c12Items = new Map<string, string[]>();

  /** The rows of a SELECT through the API the page uses, as the ministry; undefined while it fails. */
  const exported = async (sql: string): Promise<unknown[][] | undefined> => {
    const response = await fetch(`${queryUrl}/v1/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ministry}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql, format: 'json' }),
    });
    return response.ok ? ((await response.json()) as { rows: unknown[][] }).rows : undefined;
  };

  beforeAll(async () => {
    stack = await prepareStack('console', { query: true });
    const { ingestUrl } = stack;
    queryUrl = stack.queryUrl;
    const brokers = String(stack.namespace.env.KAFKA_BROKERS);

    const catalogue = loadCatalogue('2024.1');
    const submissions: Submission[] = [];
    for (const [city, flags] of Object.entries(meets)) {
      const sample = sampleCycle({
        catalogue,
        divisions,
        cities: [city],
        communitiesPerCity: flags.length,
        // A seed per city, so each sample draws submission ids of its own.
        seed: Number(city),
      });
      const communities = sample.valid.filter((submission) => submission.unit.level === 'community');
      expect(communities).toHaveLength(flags.length);
      communities.forEach((submission, index) => {
        const observations = submission.observations.map((observation) =>
          observation.indicator === 'C12'
            ? { indicator: 'C12', meets: flags[index] as boolean }
            : observation,
        );
        submissions.push({ ...submission, observations: observations as Submission['observations'] });
        if (city === '440100') guangzhouUnits.set(submission.unit.code, flags[index] as boolean);
        if (!flags[index]) c12Items.set(city, [...(c12Items.get(city) ?? []), `${submission.unit.code}-C12`]);
      });
    }
    const tokens = await issueCityTokens(brokers, Object.keys(meets));
    ministry = await issueAnalystToken(brokers, 'analyst:ministry');
    guangdong = await issueAnalystToken(brokers, 'analyst:province:44');
    const reviewers = {
      approve: await issueAnalystToken(brokers, 'reviewer:province:44'),
      accept: await issueAnalystToken(brokers, 'reviewer:ministry'),
    };

    await stack.start(['ingest', 'validate', 'aggregate', 'query']);
    expect(await submitEach(ingestUrl, submissions, tokens)).toBe(submissions.length);
    // The correction: the third 广州 community, later, with C12 met.
    const third = submissions.filter((submission) => submission.cityCode === '440100')[2] as Submission;
    const correction: Submission = {
      ...third,
      submissionId: randomUUID(),
      submittedAt: new Date(
        Date.parse(third.submittedAt ?? '2024-11-20T09:00:00.000Z') + 3_600_000,
      ).toISOString(),
      observations: third.observations.map((observation) =>
        observation.indicator === 'C12' ? { indicator: 'C12', meets: true } : observation,
      ) as Submission['observations'],
    };
    expect(await submitEach(ingestUrl, [correction], tokens)).toBe(1);
    guangzhouUnits.set(third.unit.code, true);
    c12Items.set(
      '440100',
      (c12Items.get('440100') ?? []).filter((item) => item !== `${third.unit.code}-C12`),
    );

    // Wait, through the API the page uses, until the rollups include the correction.
    await waitFor(
      async () => {
        const rows = await exported(
          "SELECT area_code, value, indicator_code, catalogue_version FROM rollups WHERE cycle = 2024 AND indicator_code = 'C12' AND level = 'province' ORDER BY 1",
        );
        return JSON.stringify(Object.fromEntries((rows ?? []).map((row) => [row[0], row[1]]))) ===
          JSON.stringify(expectedProvinces)
          ? true
          : undefined;
      },
      { timeoutMs: 180_000, what: 'the C12 province rollups to include every submission and the correction' },
    );

    // The reviews, through ingest's review routes, once every submission is counted (acceptance locks 广州).
    // 广西's reviewer is not needed: the ministry may approve 南宁 too, but 南宁 is left submitted.
    for (const [city, actions] of reviewSteps)
      for (const action of actions) {
        const [path, token] =
          action === 'submit'
            ? ['2024/submit', tokens.get(city)]
            : [`2024/${city}/${action}`, reviewers[action]];
        const response = await fetch(`${ingestUrl}/v1/reviews/${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: '{}',
        });
        expect(response.status, `${action} ${city}: ${await response.text()}`).toBe(200);
      }
    await waitFor(
      async () => {
        const rows = await exported(
          "SELECT area_code, review_state FROM completeness WHERE cycle = 2024 AND level = 'city' AND area_code IN ('440100', '440300', '450100') ORDER BY 1",
        );
        return JSON.stringify(rows) ===
          JSON.stringify([
            ['440100', 'accepted'],
            ['440300', 'approved'],
            ['450100', 'submitted'],
          ])
          ? true
          : undefined;
      },
      { timeoutMs: 120_000, what: 'completeness to carry the three reviews' },
    );

    // 南宁 plans the rectification of its one C12 item, due 2025-03-31, a day already past: it is overdue.
    const [nanning] = (c12Items.get('450100') ?? []) as [string];
    const planned = await fetch(
      `${ingestUrl}/v1/rectification/2024/community/${nanning.slice(0, -4)}/C12/plan`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.get('450100')}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          measure: '新建社区养老服务站',
          department: '南宁市民政局',
          targetDate: '2025-03-31',
        }),
      },
    );
    expect(planned.status, await planned.text()).toBe(200);
    await waitFor(
      async () =>
        JSON.stringify(
          await exported(
            `SELECT state, overdue FROM rectification WHERE cycle = 2024 AND unit_code = '${nanning.slice(0, -4)}' AND indicator_code = 'C12'`,
          ),
        ) === JSON.stringify([['planned', true]])
          ? true
          : undefined,
      { timeoutMs: 120_000, what: "南宁's C12 item to be planned in the lake" },
    );
    browser = await launchChromium('console');
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop().catch(() => undefined);
  }, 120_000);

  const settled = (page: Page) => page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
  /** The province values the map is drawn with, as ECharts holds them. */
  // The page's scripts run in the browser: they are handed to it as text, since this file has no DOM types.
  const mapValues = (page: Page) =>
    page.evaluate(`(() => {
      const chart = echarts.getInstanceByDom(document.getElementById('map'));
      return Object.fromEntries(chart.getOption().series[0].data.map((item) => [item.name, item.value]));
    })()`);
  const figures = async (page: Page): Promise<Record<string, string>> =>
    Object.fromEntries(
      await page.$$eval('#figures tbody tr', (rows) =>
        rows.map((row) => [row.getAttribute('data-area'), row.getAttribute('data-value')]),
      ),
    );

  const signIn = async (token: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 1000 }, acceptDownloads: true });
    const outside: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(queryUrl) && !request.url().startsWith('blob:'))
        outside.push(request.url());
    });
    await page.goto(`${queryUrl}/console`);
    await page.fill('#token', token);
    await page.click('#signin button');
    await page.waitForSelector('body[data-map="drawn"]', { timeout: 30_000 });
    await settled(page);
    await page.selectOption('#cycle', '2024');
    await settled(page);
    await page.selectOption('#indicator', 'C12');
    await settled(page);
    expect(outside, 'every asset is served by the service').toEqual([]);
    return page;
  };

  it('shows a ministry analyst the provinces on the map, and drills from the map to 广州 and its communities', async () => {
    const page = await signIn(ministry);
    expect(await mapValues(page)).toEqual(expectedProvinces);
    await page.screenshot({ path: join(artifacts, 'console-pipeline-ministry-map.png'), fullPage: true });

    // By reporting rate: cities that reported of the cities the cycle expects (the registry's prefecture-level
    // cities and municipalities of the province), in %.
    const expectedCities = (province: string) =>
      divisions.reportingCities().filter((city) => city.startsWith(province)).length;
    await page.selectOption('#colour-by', 'rate');
    await settled(page);
    const rate = (reported: number, expected: number) => Math.round((1000 * reported) / expected) / 10;
    expect(await mapValues(page)).toEqual({
      '110000': rate(1, expectedCities('11')),
      '440000': rate(2, expectedCities('44')),
      '450000': rate(1, expectedCities('45')),
    });
    await page.selectOption('#colour-by', 'value');
    await settled(page);
    await page.waitForSelector('body[data-map="drawn"]');

    // A click on 广州's place on the map drills into 广东.
    const point = (await page.evaluate(
      `echarts.getInstanceByDom(document.getElementById('map')).convertToPixel({ seriesIndex: 0 }, [113.3, 23.5])`,
    )) as number[];
    const box = await page.locator('#map').boundingBox();
    if (box === null) throw new Error('the map is not on the page');
    await page.mouse.click(box.x + (point[0] ?? 0), box.y + (point[1] ?? 0));
    await page.waitForSelector('#figures[data-level="city"]');
    await settled(page);
    expect(await figures(page)).toEqual(
      Object.fromEntries(
        Object.entries(expectedGuangdongCities).map(([city, value]) => [city, String(value)]),
      ),
    );
    expect(await page.textContent('tr[data-area="440100"] td[data-field="name"]')).toBe('广州市');
    expect(await page.textContent('tr[data-area="440100"] td[data-field="coverage"]')).toMatch(/^5\//);

    // The cities' table as CSV, through the export button: a BOM, Chinese headers and names, rounded shares.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('.table-block[data-table="figures"] button[data-export="csv"]'),
    ]);
    const csv = await readFile((await download.path()) as string, 'utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(csv).toContain('区划代码');
    expect(csv).toMatch(/440100,广州市,80(\.0)?,/);
    expect(csv).toMatch(/440300,深圳市,33\.3,/);

    await page.click('#figures tbody tr[data-area="440100"] td');
    await page.waitForSelector('#figures[data-level="unit"]');
    await settled(page);
    const units = await page.$$eval('#figures tbody tr', (rows) =>
      rows.map((row) => [row.getAttribute('data-area'), row.getAttribute('data-meets')]),
    );
    expect(Object.fromEntries(units)).toEqual(
      Object.fromEntries([...guangzhouUnits].map(([unit, met]) => [unit, String(met)])),
    );
    await page.screenshot({
      path: join(artifacts, 'console-pipeline-ministry-communities.png'),
      fullPage: true,
    });

    // Ranked cities, best first (C12 is higher-is-better): 广州 80.0, 南宁 75.0, 北京 50.0, 深圳 33.3.
    await page.click('#tabs button[data-tab="ranking"]');
    await settled(page);
    await page.selectOption('#ranking-level', 'city');
    await settled(page);
    expect(
      await page.$$eval('#ranking tbody tr', (rows) =>
        rows.map((row) => [row.getAttribute('data-area'), row.getAttribute('data-value')]),
      ),
    ).toEqual([
      ['440100', '80'],
      ['450100', '75'],
      ['110100', '50'],
      ['440300', '33.3'],
    ]);
    await page.screenshot({ path: join(artifacts, 'console-pipeline-ministry-ranking.png'), fullPage: true });

    // The trend follows the drill-down (广州's districts): one cycle, one district, 4 of 5 = 80.0.
    await page.click('#tabs button[data-tab="trend"]');
    await settled(page);
    expect(
      await page.evaluate(`echarts.getInstanceByDom(document.getElementById('trend-chart')).getOption()
        .series.map((line) => [line.id, line.data])`),
    ).toEqual([['440103', [80]]]);

    // Completeness per province: 广东's two cities and eight communities reported, of the cities it expects.
    await page.click('#tabs button[data-tab="completeness"]');
    await settled(page);
    await page.selectOption('#completeness-level', 'province');
    await settled(page);
    expect(await page.getAttribute('#completeness tr[data-area="440000"]', 'data-reported')).toBe('2');
    expect(await page.getAttribute('#completeness tr[data-area="440000"]', 'data-communities-reported')).toBe(
      '8',
    );
    expect(
      await page.textContent('#completeness tr[data-area="440000"] td[data-field="cities_expected"]'),
    ).toBe(String(expectedCities('44')));
    // Each row's review state and its approved and accepted cities, as the reviews left them.
    const reviewsShown = (areas: string[]) =>
      Promise.all(
        areas.map(async (area) => {
          const row = `#completeness tr[data-area="${area}"]`;
          return [
            area,
            [
              await page.textContent(`${row} td[data-field="review_state"]`),
              await page.textContent(`${row} td[data-field="cities_approved"]`),
              await page.textContent(`${row} td[data-field="cities_accepted"]`),
            ],
          ];
        }),
      ).then(Object.fromEntries);
    expect(await reviewsShown(Object.keys(expectedProvinceReviews))).toEqual(expectedProvinceReviews);
    await page.screenshot({
      path: join(artifacts, 'console-pipeline-ministry-completeness.png'),
      fullPage: true,
    });

    // 广州's communities that sent nothing: the registry's, less the five that reported.
    await page.selectOption('#completeness-level', 'city');
    await settled(page);
    expect(await reviewsShown(Object.keys(expectedCityReviews))).toEqual(expectedCityReviews);
    expect(
      await page.textContent('#completeness thead th[data-column="review_state"]'),
      "the header is the server's Chinese one",
    ).toBe('审核状态');
    await page.click('#completeness tr[data-area="440100"] td');
    await page.waitForSelector('#missing-units[data-city="440100"]');
    await settled(page);
    const missing = await page.$$eval('#missing-units tbody tr', (rows) =>
      rows.map((row) => row.getAttribute('data-unit')),
    );
    const registryCommunities = divisions.communitiesOf('440100');
    expect(missing).toEqual(registryCommunities.filter((community) => !guangzhouUnits.has(community)));
    expect(missing).toHaveLength(registryCommunities.length - 5);

    // The shortfall ledger, filtered to 广州 and C12 (standard: met): the one community still not meeting it.
    await page.click('#tabs button[data-tab="ledger"]');
    await settled(page);
    await page.fill('#ledger-city', '440100');
    await page.dispatchEvent('#ledger-city', 'change');
    await settled(page);
    expect(
      await page.$$eval('#ledger tbody tr', (rows) =>
        rows.map((row) => [row.getAttribute('data-unit'), row.getAttribute('data-status')]),
      ),
    ).toEqual([...guangzhouUnits].filter(([, met]) => !met).map(([unit]) => [unit, 'new']));
    // The same table as XLSX through its button: a workbook (a zip) named after the table.
    const [workbook] = await Promise.all([
      page.waitForEvent('download'),
      page.click('.table-block[data-table="ledger"] button[data-export="xlsx"]'),
    ]);
    expect(workbook.suggestedFilename()).toBe('ledger-2024.xlsx');
    expect((await readFile((await workbook.path()) as string)).subarray(0, 2).toString()).toBe('PK');
    await page.screenshot({ path: join(artifacts, 'console-pipeline-ministry-ledger.png'), fullPage: true });

    // 整改: the C12 items (the communities above still missing it), 南宁's planned and overdue one first,
    // then by city and unit; every other one identified. By city, 南宁 has one overdue item and nothing
    // rectified, 广州 none overdue.
    await page.click('#tabs button[data-tab="rectification"]');
    await settled(page);
    await page.uncheck('#rectification-all-indicators');
    await settled(page);
    const nanningItem = c12Items.get('450100')?.[0] as string;
    expect(
      await page.$$eval('#rectification-items tbody tr', (rows) =>
        rows.map((row) => [
          row.getAttribute('data-item'),
          row.getAttribute('data-state'),
          row.getAttribute('data-overdue'),
        ]),
      ),
    ).toEqual([
      [nanningItem, 'planned', 'true'],
      ...['110100', '440100', '440300'].flatMap((city) =>
        [...(c12Items.get(city) ?? [])].sort().map((item) => [item, 'identified', 'false']),
      ),
    ]);
    await page.selectOption('#rectification-level', 'city');
    await settled(page);
    for (const [city, overdue] of [
      ['450100', '1'],
      ['440100', '0'],
    ])
      expect(
        [
          await page.getAttribute(`#rectification-rates tr[data-area="${city}"]`, 'data-rate'),
          await page.getAttribute(`#rectification-rates tr[data-area="${city}"]`, 'data-overdue'),
        ],
        city,
      ).toEqual(['0', overdue]);
    // The item's actions (南宁's plan), then its community and C12 in the drill-down: not meeting it.
    await page.click(`#rectification-items tr[data-item="${nanningItem}"] td`);
    await page.waitForSelector(`#rectification-actions[data-item="${nanningItem}"]`);
    expect(
      await page.$$eval('#rectification-actions tbody tr', (rows) =>
        rows.map((row) => [row.getAttribute('data-seq'), row.getAttribute('data-action')]),
      ),
    ).toEqual([['1', 'plan']]);
    expect(await page.textContent(`#rectification-actions td[data-field="plan_target_date"]`)).toBe(
      '2025-03-31',
    );
    await page.screenshot({
      path: join(artifacts, 'console-pipeline-ministry-rectification.png'),
      fullPage: true,
    });
    await page.click('#rectification-unit');
    await page.waitForSelector('#figures[data-level="unit"]');
    await settled(page);
    expect(
      await page.getAttribute(`#figures tr[data-area="${nanningItem.slice(0, -4)}"]`, 'data-meets'),
    ).toBe('false');
    await page.close();
  }, 180_000);

  it('shows a Guangdong analyst 广东 only, and the page can fetch nothing of 广西', async () => {
    const page = await signIn(guangdong);
    expect(await mapValues(page)).toEqual({ '440000': expectedProvinces['440000'] });
    expect(await page.$$eval('#map-values tr[data-province]', (rows) => rows.length)).toBe(1);
    await page.screenshot({ path: join(artifacts, 'console-pipeline-guangdong-map.png'), fullPage: true });

    await page.click('#map-values tr[data-province="440000"]');
    await page.waitForSelector('#figures[data-level="city"]');
    await settled(page);
    expect(await figures(page)).toEqual(
      Object.fromEntries(
        Object.entries(expectedGuangdongCities).map(([city, value]) => [city, String(value)]),
      ),
    );

    // The console's own API, asked from the page with the page's credential, for 广西 and 南宁 in every view.
    const answers = await page.evaluate(async (token) => {
      const ask = async (sql: string) => {
        const response = await fetch('/v1/export', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ sql, format: 'json' }),
        });
        return { status: response.status, rows: ((await response.json()) as { rows?: unknown[] }).rows };
      };
      return Promise.all([
        ask(
          "SELECT area_code, value FROM rollups WHERE province_code = '450000' OR area_code IN ('450000', '450100', '000000')",
        ),
        ask(
          "SELECT unit_code, meets FROM observations_current WHERE city_code = '450100' OR province_code = '450000'",
        ),
        ask("SELECT area_code FROM completeness WHERE area_code IN ('450000', '450100', '000000')"),
        ask("SELECT code FROM divisions WHERE province_code = '450000'"),
      ]);
    }, guangdong);
    expect(answers).toEqual([
      { status: 200, rows: [] },
      { status: 200, rows: [] },
      { status: 200, rows: [] },
      { status: 200, rows: [] },
    ]);
    await page.close();
  }, 180_000);
});
