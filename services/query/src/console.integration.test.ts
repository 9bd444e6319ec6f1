// The analysts' console in headless Chromium (Debian's, through playwright-core) against the real object
// store and DuckDB: a ministry and a Guangdong analyst sign in, pick cycle 2024 and C01, read the province
// figures, drill to a city and its communities, and the figures match sums worked out here from the rows
// the fixture wrote. The Guangdong analyst sees Guangdong only, on the page and through the page's API.
// Screenshots are kept in test-artifacts/console-*.png.
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CredentialStore, formatToken, hashSecret, type RoleName } from '@citycheck/credentials';
import type { LakeDatabase, ObjectStore } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import { createMetricsRegistry } from '@citycheck/metrics';
import { createTestStore, openTestDatabase, testExtensionDirectory } from '@citycheck/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQueryApp } from './app.js';
import { createLakeViewDefiner } from './lake-views.js';
import { createQueryEngine, type QueryEngine } from './query-engine.js';
import { currentObservations, type TestLake, writeTestLake } from './test-lake.js';

const chromiumPath = process.env.CITYCHECK_CHROMIUM ?? '/usr/bin/chromium';
const artifacts = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
const logger = createLogger({ service: 'console-test', level: 'silent' });
const credentials = new CredentialStore();
const issue = (id: string, role: RoleName): string => {
  const secret = `${id.padEnd(43, 'x')}`.slice(0, 43);
  credentials.apply(id, {
    id,
    name: role,
    role,
    secretSha256: hashSecret(secret),
    status: 'active',
    createdAt: new Date().toISOString(),
  });
  return formatToken(id, secret);
};
const guangdong = issue('0000000000000044', 'analyst:province:44');
const ministry = issue('00000000000000aa', 'analyst:ministry');

let store: ObjectStore;
let writer: LakeDatabase;
let lake: TestLake;
let scratch: string;
let engine: QueryEngine;
let app: ReturnType<typeof buildQueryApp>;
let url: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(chromiumPath))
    throw new Error(`the console test needs Chromium at ${chromiumPath}: run bash infra/chromium.sh`);
  scratch = await mkdtemp(join(tmpdir(), 'citycheck-console-test-'));
  store = await createTestStore('console');
  writer = await openTestDatabase(store);
  lake = await writeTestLake(store, writer.connection, { unitsPerCity: 8 });
  engine = await createQueryEngine({
    extensionDirectory: testExtensionDirectory(),
    s3: store.config,
    defineViews: createLakeViewDefiner(store),
    limits: {
      timeoutMs: 30_000,
      memoryLimit: '1GB',
      rowCap: 100_000,
      concurrency: 2,
      queueLimit: 8,
      threads: 2,
    },
    exportDirectory: join(scratch, 'exports'),
    logger,
  });
  await engine.refresh();
  app = buildQueryApp({
    engine,
    authenticator: credentials,
    logger,
    registry: createMetricsRegistry({ service: 'console-test', processMetrics: false }),
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  mkdirSync(artifacts, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await engine?.close();
  writer?.close();
  store?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
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
