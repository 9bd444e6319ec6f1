// A city credential (Guangzhou, 440100) on the query service sees its own results, scoped exactly as a
// provincial analyst is: its observations, its city, district and street rollups, its completeness, ledger
// and flags, through POST /v1/query and POST /v1/export, and nothing of Shenzhen (440300), another province,
// the province or the nation whatever the statement. Expected rows are worked out from the fixture's inputs.
import { tmpdir } from 'node:os';
import type { ObjectStore } from '@citycheck/lake';
import { createTestCredentials } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ledgerRow,
  rectifiedRecords,
  writeDerivedObject,
  writeDivisionsObject,
  writeRectificationObjects,
} from '../test/derived-objects.js';
import {
  expectNothingOutsideScope,
  fillShape,
  hostileShapes,
  infrastructureMarks,
} from '../test/hostile-shapes.js';
import {
  postQuery,
  type QueryApp,
  startQueryService,
  type TestLakeStore,
  type TestQueryService,
} from '../test/query-fixture.js';
import { unaskedStatus } from '../test/status-report.js';

const credentials = createTestCredentials();
const guangzhou = credentials.issue('00000000000001c1', 'city', { cityCode: '440100', name: 'city 440100' });

let store: ObjectStore;
let scratch: string;
let exportDirectory: string;
let app: QueryApp;

const rollup = (level: string, area: string, value: number, units: number) => ({
  catalogue_version: '2024.1',
  indicator_code: 'C01',
  aggregation: 'sum',
  level,
  area_code: area,
  province_code: level === 'nation' ? null : `${area.slice(0, 2)}0000`,
  value,
  units_reported: units,
  units_meeting: 0,
});
const completeness = (level: string, area: string, reported: number) => ({
  level,
  area_code: area,
  province_code: level === 'nation' ? null : `${area.slice(0, 2)}0000`,
  deadline: '2024-12-31 00:00:00',
  cities_expected: level === 'city' ? 1 : 4,
  cities_reported: reported,
  cities_on_time: reported,
  communities_expected: 4,
  communities_reported: 4 * reported,
  communities_on_time: 4 * reported,
  reporting_rate: reported,
  reporting_rate_on_time: reported,
});
const unitOf = (city: string) => ({
  province_code: `${city.slice(0, 2)}0000`,
  city_code: city,
  district_code: `${city.slice(0, 4)}01`,
  street_code: `${city.slice(0, 4)}01001`,
  unit_level: 'community',
  unit_code: `${city.slice(0, 4)}01001001`,
  indicator_code: 'C01',
  submission_id: '00000000-0000-4000-8000-000000000001',
});
const flag = (city: string, kind: string, score: number, reference: number) => ({
  ...unitOf(city),
  value: 40,
  flag: kind,
  score,
  reference,
});
const division = (code: string, level: string, city: string | null) => ({
  code,
  level,
  kind: level === 'city' ? 'prefectureLevelCity' : level,
  name: code,
  parent_code: level === 'province' ? null : city === code ? `${code.slice(0, 2)}0000` : city,
  district_code: null,
  street_code: null,
  city_code: city,
  province_code: `${code.slice(0, 2)}0000`,
});

/**
 * The rollups, completeness, ledger, flags, divisions and rectification of the four cities, written the way
 * aggregate does: each ledger item of 2024 rectified, 2025's ledger resolving 广州's and 南京's and holding
 * 深圳's again.
 */
const writeDerived = async ({ store, writer }: TestLakeStore): Promise<void> => {
  await writeDerivedObject(store, writer.connection, 'rollups', 2024, [
    ...['440100', '440300', '110100', '320100'].flatMap((city) => [
      rollup('city', city, 48, 4),
      rollup('district', `${city.slice(0, 4)}01`, 48, 4),
      rollup('street', `${city.slice(0, 4)}01001`, 48, 4),
    ]),
    rollup('province', '440000', 96, 8),
    rollup('province', '110000', 48, 4),
    rollup('province', '320000', 48, 4),
    rollup('nation', '000000', 192, 16),
  ]);
  await writeDerivedObject(store, writer.connection, 'completeness', 2024, [
    completeness('city', '440100', 1),
    completeness('city', '440300', 1),
    completeness('city', '110100', 1),
    completeness('province', '440000', 2),
    completeness('nation', '000000', 4),
  ]);
  await writeDerivedObject(
    store,
    writer.connection,
    'shortfall_ledger',
    2024,
    ['440100', '440300', '320100'].map((city) => ({
      ...unitOf(city),
      value: 40,
      standard_operator: '<=',
      standard_value: 0,
      gap: 40,
      since_cycle: 2024,
      status: 'new',
    })),
  );
  await writeDerivedObject(store, writer.connection, 'shortfall_ledger', 2025, [
    ledgerRow('440100', 0, 'resolved'),
    ledgerRow('440300', 5, 'persisting'),
    ledgerRow('320100', 0, 'resolved'),
  ]);
  const { records, actions } = rectifiedRecords(['440100', '440300', '320100']);
  await writeRectificationObjects(store, writer.connection, records, actions);
  await writeDerivedObject(store, writer.connection, 'quality_flags', 2024, [
    flag('440100', 'national_outlier', 9.5, 2.5),
    flag('440100', 'provincial_outlier', 4.5, 3.5),
    flag('440100', 'year_over_year_jump', 6, 2),
    flag('440300', 'national_outlier', 9.5, 2.5),
  ]);
  await writeDivisionsObject(store, writer.connection, [
    division('440000', 'province', null),
    division('440100', 'city', '440100'),
    division('440101', 'district', '440100'),
    division('440300', 'city', '440300'),
    division('440301', 'district', '440300'),
  ]);
};

let service: TestQueryService;

beforeAll(async () => {
  service = await startQueryService({
    name: 'city-scope',
    authenticator: credentials.store,
    // Four communities in each of 440100, 440300, 110100, 320100 (street <city[0..4]>01001), each with C01 =
    // unit % 4 + 1 (2, 3, 4, 1) and B02 = unit / 10, and unit 1's C01 corrected to 40: C01 of a city is 48.
    unitsPerCity: 4,
    limits: { timeoutMs: 20_000 },
    beforeStart: writeDerived,
    // A city is refused before the status is read, so the source is never asked.
    app: { status: unaskedStatus },
  });
  ({ store, scratch, exportDirectory, app } = service);
});

afterAll(() => service?.close());

const post = (sql: string) => postQuery(app, guangzhou, sql);
const rows = async (sql: string): Promise<unknown[][]> => {
  const response = await post(sql);
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ rows: unknown[][] }>().rows;
};

describe("a city's own results", () => {
  it('are its observations, current ones with the correction, and the macros over them', async () => {
    // 4 communities x (C01, B02) + 1 correction; current: the correction replaces unit 1's first C01.
    expect(await rows('SELECT city_code, count(*) FROM observations GROUP BY ALL')).toEqual([['440100', 9]]);
    expect(
      await rows(
        'SELECT indicator_code, count(*), sum(value) FROM observations_current GROUP BY ALL ORDER BY 1',
      ),
    ).toEqual([
      ['B02', 4, 1],
      ['C01', 4, 48],
    ]);
    expect(
      await rows(
        "SELECT DISTINCT city_code FROM observations_as_of(TIMESTAMP '2999-01-01 00:00:00') ORDER BY 1",
      ),
    ).toEqual([['440100']]);
    expect(
      await rows(
        "SELECT city_code, count(*), sum(value) FROM rollup_lineage(2024, 'C01', 'nation', '000000') GROUP BY ALL",
      ),
    ).toEqual([['440100', 4, 48]]);
  });

  it('are its city, district and street rollups, its completeness, ledger and registry units', async () => {
    expect(await rows('SELECT level, area_code, value FROM rollups ORDER BY level, area_code')).toEqual([
      ['city', '440100', 48],
      ['district', '440101', 48],
      ['street', '440101001', 48],
    ]);
    expect(await rows('SELECT level, area_code, cities_reported FROM completeness')).toEqual([
      ['city', '440100', 1],
    ]);
    expect(
      await rows('SELECT cycle, city_code, unit_code, gap FROM shortfall_ledger ORDER BY cycle'),
    ).toEqual([
      [2024, '440100', '440101001001', 40],
      [2025, '440100', '440101001001', 0],
    ]);
    expect(await rows('SELECT code FROM divisions ORDER BY code')).toEqual([['440100'], ['440101']]);
  });

  it('are its rectification items, judged by the next cycle, its city rates and its trail', async () => {
    // 广州's 2024 item was verified and met the standard in 2025: consolidated, a rate of 1 / 1.
    expect(
      await rows('SELECT cycle, city_code, unit_code, state, next_cycle_value FROM rectification'),
    ).toEqual([[2024, '440100', '440101001001', 'consolidated', 0]]);
    expect(
      await rows(
        'SELECT cycle, level, area_code, items, consolidated, rectification_rate FROM rectification_rates',
      ),
    ).toEqual([[2024, 'city', '440100', 1, 1, 1]]);
    expect(
      await rows('SELECT seq, action, evidence_object_key FROM rectification_actions ORDER BY seq'),
    ).toEqual([
      [1, 'evidence', `evidence/cycle=2024/city_code=440100/${'e'.repeat(64)}`],
      [2, 'verify', null],
    ]);
  });

  it('are its flags, without the national or provincial median they were compared with', async () => {
    expect(await rows('SELECT flag, score, reference FROM quality_flags ORDER BY flag')).toEqual([
      ['national_outlier', null, null],
      ['provincial_outlier', null, null],
      ['year_over_year_jump', 6, 2],
    ]);
  });

  it('come the same through POST /v1/export', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/export',
      headers: { authorization: `Bearer ${guangzhou}`, 'content-type': 'application/json' },
      payload: { sql: 'SELECT DISTINCT area_code FROM rollups ORDER BY 1', format: 'json' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<{ rows: unknown[][] }>().rows).toEqual([['440100'], ['440101'], ['440101001']]);
  });

  it('do not include the pipeline status, which is for analysts and operators', async () => {
    const status = await app.inject({
      method: 'GET',
      url: '/v1/status',
      headers: { authorization: `Bearer ${guangzhou}` },
    });
    expect(status.statusCode).toBe(403);
    expect(status.json().error.code).toBe('forbidden');
  });
});

/** Marks of anything outside Guangzhou: Shenzhen, other provinces, the province's and the nation's rows. */
const leaks = (text: string): string[] =>
  [
    '440300',
    '440301',
    '110100',
    '110000',
    '320100',
    '320000',
    '"province"',
    '"nation"',
    '000000"',
    ...infrastructureMarks(store.bucket, [scratch, exportDirectory, tmpdir()]),
  ].filter((mark) => text.includes(mark));

describe('a city sees nothing outside its own city, whatever the statement', () => {
  it.each(hostileShapes())('%s', async (_what, template) => {
    const sql = fillShape(template, store.bucket, exportDirectory);
    expectNothingOutsideScope(await post(sql), sql, { bucket: store.bucket, ownCities: '440100', leaks });
  });
});
