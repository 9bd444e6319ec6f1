// The analysts' console in headless Chromium (Debian's, through playwright-core) against the real object
// store and DuckDB: a ministry and a Guangdong analyst sign in, pick cycle 2024 and C01, read the province
// figures, drill to a city and its communities, and the figures match sums worked out here from the rows
// the fixture wrote. The Guangdong analyst sees Guangdong only, on the page and through the page's API. The
// rectification (整改) tab reads ledger items and records written as aggregate writes them, with the states,
// rates and actions worked out by hand below. Screenshots are kept in test-artifacts/console-*.png.
import { join } from 'node:path';
import { createTestCredentials } from '@citycheck/testkit';
import { artifacts, launchChromium, requireChromium } from '@citycheck/testkit/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ledgerRow,
  rectifiedRecords,
  writeDerivedObject,
  writeRectificationObjects,
} from '../test/derived-objects.js';
import { startQueryService, type TestLakeStore, type TestQueryService } from '../test/query-fixture.js';
import { currentObservations, type TestLake } from '../test/test-lake.js';

const credentials = createTestCredentials();
const guangdong = credentials.issue('0000000000000044', 'analyst:province:44');
const ministry = credentials.issue('00000000000000aa', 'analyst:ministry');

// The C01 items (a count held to <= 0) of 2024, each with what 2025's ledger says of it, by community:
// A 440101001001 (广州) rectified by 广东; 2025 resolved                -> consolidated
// B 440101001002 (广州) rectified by 广东; 2025 persisting (missed again) -> reopened, contradicted, overdue
// C 440101001003 (广州) planned by 2025-03-31, no 2025 data             -> planned, overdue
// E 440101001004 (广州) no record                                       -> identified
// F 440301001001 (深圳) in progress, planned by 2099-12-31               -> in_progress
// H 110101001001 (北京) rectified by 北京; no 2025 data                  -> rectified
// Rates: 广东 5 items, 1 consolidated: 20%; 广州 1 of 4: 25%; 深圳 0 of 1; 北京 1 of 1: 100%.
const writeRectification = async ({ store, writer }: TestLakeStore): Promise<void> => {
  await writeDerivedObject(store, writer.connection, 'shortfall_ledger', 2024, [
    ledgerRow('440100', 2, 'new'),
    ledgerRow('440100', 3, 'new', '440101001002'),
    ledgerRow('440100', 1, 'new', '440101001003'),
    ledgerRow('440100', 5, 'new', '440101001004'),
    ledgerRow('440300', 6, 'new'),
    ledgerRow('110100', 1, 'new'),
  ]);
  await writeDerivedObject(store, writer.connection, 'shortfall_ledger', 2025, [
    ledgerRow('440100', 0, 'resolved'),
    ledgerRow('440100', 1, 'persisting', '440101001002'),
  ]);
  const { records, actions } = rectifiedRecords(['440100', '440300', '110100']);
  const [a, f, h] = records as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  // C and 深圳's F are not verified: C is only planned, F has its evidence and is in progress.
  const unverified = { verified_by: null, verified_at: null };
  await writeRectificationObjects(
    store,
    writer.connection,
    [
      a,
      { ...a, unit_code: '440101001002' },
      {
        ...a,
        ...unverified,
        unit_code: '440101001003',
        recorded_state: 'planned',
        evidence_count: 0,
        plan_target_date: '2025-03-31',
        actions: 1,
        last_action: 'plan',
      },
      {
        ...f,
        ...unverified,
        recorded_state: 'in_progress',
        plan_target_date: '2099-12-31',
        last_action: 'evidence',
        actions: 1,
      },
      h,
    ],
    actions.filter((action) => !(action.city_code === '440300' && action.action === 'verify')),
  );
};

let service: TestQueryService;
let lake: TestLake;
let url: string;
let browser: Browser;

beforeAll(async () => {
  requireChromium('console');
  service = await startQueryService({
    name: 'console',
    authenticator: credentials.store,
    unitsPerCity: 8,
    listen: true,
    beforeStart: writeRectification,
  });
  ({ lake, url } = service);
  browser = await launchChromium('console');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.close();
});

/** Σ of the current C01 values of the units under an area, worked out from the fixture's rows. */
const c01 = (inArea: (row: TestLake['observations'][number]) => boolean): number =>
  currentObservations(lake.observations)
    .filter((row) => row.indicator_code === 'C01' && inArea(row))
    .reduce((total, row) => total + row.value, 0);

const figures = async (page: Page): Promise<Record<string, string>> =>
  Object.fromEntries(
    await page.$$eval('#figures tbody tr', (rows) =>
      rows.map((row) => [row.getAttribute('data-area'), row.getAttribute('data-value')]),
    ),
  );
/** The province values the map is drawn with, as ECharts holds them. */
// The page's scripts run in the browser: they are handed to it as text, since this file has no DOM types.
const mapValues = (page: Page) =>
  page.evaluate(`(() => {
    const chart = echarts.getInstanceByDom(document.getElementById('map'));
    return Object.fromEntries(chart.getOption().series[0].data.map((item) => [item.name, item.value]));
  })()`);
/** The rows of a table by the data-* attributes named. */
const rowsOf = (page: Page, table: string, ...attributes: string[]): Promise<string[][]> =>
  page.$$eval(
    `#${table} tbody tr`,
    (rows, names) => rows.map((row) => names.map((name) => row.getAttribute(`data-${name}`) ?? '')),
    attributes,
  );
const settled = (page: Page) => page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });

const signIn = async (token: string): Promise<Page> => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const outside: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(url)) outside.push(request.url());
  });
  await page.goto(`${url}/console`);
  expect(await page.textContent('h1')).toBe('城市体检数据分析台');
  await page.fill('#token', token);
  await page.click('#signin button');
  await page.waitForSelector('#figures tbody tr', { timeout: 30_000 });
  await settled(page);
  await page.selectOption('#cycle', '2024');
  await settled(page);
  await page.selectOption('#indicator', 'C01');
  await settled(page);
  expect(outside, 'every asset is served by the service').toEqual([]);
  return page;
};

describe('the console', () => {
  it('shows a ministry analyst every province, then a city and its communities', async () => {
    const page = await signIn(ministry);
    expect(await page.getAttribute('#figures', 'data-level')).toBe('province');
    expect(await figures(page)).toEqual({
      '110000': String(c01((row) => row.province_code === '110000')),
      '320000': String(c01((row) => row.province_code === '320000')),
      '440000': String(c01((row) => row.province_code === '440000')),
    });
    await page.screenshot({ path: join(artifacts, 'console-ministry-provinces.png'), fullPage: true });

    await page.click('#figures tbody tr[data-area="440000"] td');
    await page.waitForSelector('#figures[data-level="city"]');
    await settled(page);
    expect(await figures(page)).toEqual({
      '440100': String(c01((row) => row.city_code === '440100')),
      '440300': String(c01((row) => row.city_code === '440300')),
    });
    // Coverage beside each figure: units reported of expected (the fixture declares no expected count).
    expect(await page.textContent('tr[data-area="440100"] td[data-field="coverage"]')).toBe('8/—');

    await page.click('#figures tbody tr[data-area="440100"] td');
    await page.waitForSelector('#figures[data-level="unit"]');
    await settled(page);
    const expectedUnits = Object.fromEntries(
      currentObservations(lake.observations)
        .filter((row) => row.indicator_code === 'C01' && row.city_code === '440100')
        .map((row) => [row.unit_code, String(row.value)]),
    );
    expect(Object.keys(expectedUnits)).toHaveLength(8);
    expect(await figures(page)).toEqual(expectedUnits);
    // Sortable: the value header sorts ascending, then descending; unit 1's correction (40) is the largest.
    await page.click('th[data-column="value"]');
    await page.click('th[data-column="value"]');
    expect(await page.getAttribute('#figures tbody tr:first-child', 'data-value')).toBe('40');
    await page.screenshot({ path: join(artifacts, 'console-ministry-communities.png'), fullPage: true });
    await page.click('#language');
    await settled(page);
    expect(await page.textContent('h1')).toBe('City check analysts\u2019 console');
    await page.close();
  }, 120_000);

  it("shows a ministry analyst the rectification rates on the map and in a table, the overdue and contradicted items, and an item's actions and unit", async () => {
    const page = await signIn(ministry);
    // The map by rectification rate (%): 江苏 has no ledger item, so no rate.
    await page.selectOption('#colour-by', 'rectification');
    await settled(page);
    expect(await mapValues(page)).toEqual({ '110000': 100, '320000': null, '440000': 20 });

    await page.click('#tabs button[data-tab="rectification"]');
    await settled(page);
    expect(await rowsOf(page, 'rectification-rates', 'area', 'rate', 'overdue', 'reopened')).toEqual([
      ['440000', '20', '2', '1'],
      ['110000', '100', '0', '0'],
    ]);
    // Contradicted first, then overdue, then by city and unit.
    const items = () => rowsOf(page, 'rectification-items', 'item', 'state', 'overdue', 'contradicted');
    expect(await items()).toEqual([
      ['440101001002-C01', 'reopened', 'true', 'true'],
      ['440101001003-C01', 'planned', 'true', 'false'],
      ['110101001001-C01', 'rectified', 'false', 'false'],
      ['440101001001-C01', 'consolidated', 'false', 'false'],
      ['440101001004-C01', 'identified', 'false', 'false'],
      ['440301001001-C01', 'in_progress', 'false', 'false'],
    ]);
    expect(
      await page.textContent(
        '#rectification-items tr[data-item="440101001003-C01"] td[data-field="plan_target_date"]',
      ),
    ).toBe('2025-03-31');
    // States show by their Chinese names, the rectification package's: planned is 已制定计划.
    expect(
      await page.textContent('#rectification-items tr[data-item="440101001003-C01"] td[data-field="state"]'),
    ).toBe('已制定计划');
    expect(await page.textContent('#rectification-state option[value="reopened"]')).toBe('已重新打开');
    await page.selectOption('#rectification-show', 'contradicted');
    await settled(page);
    expect((await items()).map((row) => row[0])).toEqual(['440101001002-C01']);
    await page.selectOption('#rectification-show', 'overdue');
    await settled(page);
    expect((await items()).map((row) => row[0])).toEqual(['440101001002-C01', '440101001003-C01']);
    await page.selectOption('#rectification-show', '');
    await settled(page);

    // By city, and the items of the city clicked: 广州 1 of 4 (25%), 深圳 0 of 1, 北京 1 of 1.
    await page.selectOption('#rectification-level', 'city');
    await settled(page);
    expect(await rowsOf(page, 'rectification-rates', 'area', 'rate')).toEqual([
      ['440300', '0'],
      ['440100', '25'],
      ['110100', '100'],
    ]);
    await page.click('#rectification-rates tr[data-area="440100"] td');
    await settled(page);
    expect((await items()).map((row) => row[0])).toEqual([
      '440101001002-C01',
      '440101001003-C01',
      '440101001001-C01',
      '440101001004-C01',
    ]);

    // An item's actions, then its unit and indicator in the drill-down.
    await page.click('#rectification-items tr[data-item="440101001001-C01"] td');
    await page.waitForSelector('#rectification-actions[data-item="440101001001-C01"]');
    expect(await rowsOf(page, 'rectification-actions', 'seq', 'action')).toEqual([
      ['1', 'evidence'],
      ['2', 'verify'],
    ]);
    await page.screenshot({ path: join(artifacts, 'console-ministry-rectification.png'), fullPage: true });
    await page.click('#rectification-unit');
    await page.waitForSelector('#figures[data-level="unit"]');
    await settled(page);
    const unitValue = currentObservations(lake.observations).find(
      (row) => row.unit_code === '440101001001' && row.indicator_code === 'C01',
    )?.value;
    expect(await page.getAttribute('#figures tr[data-area="440101001001"]', 'data-value')).toBe(
      String(unitValue),
    );
    expect(await page.inputValue('#indicator')).toBe('C01');
    await page.close();
  }, 120_000);

  it('shows a Guangdong analyst Guangdong only, and its API gives nothing of another province', async () => {
    const page = await signIn(guangdong);
    expect(await figures(page)).toEqual({ '440000': String(c01((row) => row.province_code === '440000')) });
    await page.selectOption('#colour-by', 'rectification');
    await settled(page);
    expect(await mapValues(page)).toEqual({ '440000': 20 });
    await page.click('#tabs button[data-tab="rectification"]');
    await settled(page);
    expect(await rowsOf(page, 'rectification-rates', 'area')).toEqual([['440000']]);
    expect(await page.$$eval('#rectification-items tbody tr', (rows) => rows.length)).toBe(5);
    await page.screenshot({ path: join(artifacts, 'console-guangdong.png'), fullPage: true });
    // The page's own API, asked from the page for Beijing's figures.
    const answer = await page.evaluate(async (token) => {
      const response = await fetch('/v1/export', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          sql: "SELECT area_code, value FROM rollups WHERE province_code = '110000' OR area_code = '000000'",
          format: 'json',
        }),
      });
      return response.json() as Promise<{ rows: unknown[] }>;
    }, guangdong);
    expect(answer.rows).toEqual([]);
    await page.close();
  }, 120_000);
});
