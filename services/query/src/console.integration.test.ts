// The analysts' console in headless Chromium (Debian's, through playwright-core) against the real object
// store and DuckDB: a ministry and a Guangdong analyst sign in, pick cycle 2024 and C01, read the province
// figures, drill to a city and its communities, and the figures match sums worked out here from the rows
// the fixture wrote. The Guangdong analyst sees Guangdong only, on the page and through the page's API.
// Screenshots are kept in test-artifacts/console-*.png.
import { join } from 'node:path';
import { createTestCredentials } from '@citycheck/testkit';
import { artifacts, launchChromium, requireChromium } from '@citycheck/testkit/browser';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startQueryService, type TestQueryService } from '../test/query-fixture.js';
import { currentObservations, type TestLake } from '../test/test-lake.js';

const credentials = createTestCredentials();
const guangdong = credentials.issue('0000000000000044', 'analyst:province:44');
const ministry = credentials.issue('00000000000000aa', 'analyst:ministry');

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

  it('shows a Guangdong analyst Guangdong only, and its API gives nothing of another province', async () => {
    const page = await signIn(guangdong);
    expect(await figures(page)).toEqual({ '440000': String(c01((row) => row.province_code === '440000')) });
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
