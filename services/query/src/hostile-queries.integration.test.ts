// A Guangdong analyst (analyst:province:44) trying every shape of SQL an attacker would against the real lake:
// relations, table and catalogue functions, CTE scoping (recursive, shadowing, forward), Unicode case
// folding, quoting, comments, PIVOT and macros, file, URL and export-directory reads. Whatever the answer
// (a refusal or rows), it must hold no row of another province or of the nation, no object path, no path of
// the machine and no setting. Expected codes come from the fixture's rows, not from the service.
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bearer } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ledgerRow,
  rectifiedRecords,
  writeDerivedObject,
  writeRectificationObjects,
} from '../test/derived-objects.js';
import {
  expectNothingOutsideScope,
  fillShape,
  hostileShapes,
  infrastructureMarks,
} from '../test/hostile-shapes.js';
import {
  issueQueryCredentials,
  postQuery,
  startQueryService,
  startTestApp,
  type TestLakeStore,
  type TestQueryService,
} from '../test/query-fixture.js';
import { fixedStatus, statusReport } from '../test/status-report.js';
import type { PipelineStatus } from './pipeline-status.js';

const { store: authenticator, guangdong, ministry, operator } = issueQueryCredentials();

let service: TestQueryService;

/**
 * Completeness and quality flags for Guangdong, Beijing and the nation, and a rectified ledger item in each of
 * 广州, 深圳, 北京 and 南京 (2024) with 2025's ledger judging it (resolved in 广州 and 北京, missed again in
 * 深圳 and 南京), written the way aggregate does.
 */
const writeDerived = async ({ store, writer }: TestLakeStore): Promise<void> => {
  const completeness = ['440000', '110000', '000000'].map((area) => ({
    level: area === '000000' ? 'nation' : 'province',
    area_code: area,
    province_code: area === '000000' ? null : area,
    deadline: '2024-12-31 00:00:00',
    cities_expected: 2,
    cities_reported: 1,
    cities_on_time: 1,
    communities_expected: 10,
    communities_reported: 5,
    communities_on_time: 5,
    reporting_rate: 0.5,
    reporting_rate_on_time: 0.5,
    first_received_at: '2024-11-20 09:00:00',
    last_received_at: '2024-11-20 09:30:00',
  }));
  await writeDerivedObject(store, writer.connection, 'completeness', 2024, completeness);
  const flag = (province: string, kind: string, reference: number) => ({
    province_code: `${province}0000`,
    city_code: `${province}0100`,
    district_code: `${province}0101`,
    street_code: `${province}0101001`,
    unit_level: 'community',
    unit_code: `${province}0101001001`,
    indicator_code: 'C01',
    value: 40,
    flag: kind,
    score: 9.5,
    reference,
    submission_id: '00000000-0000-4000-8000-000000000001',
  });
  await writeDerivedObject(store, writer.connection, 'quality_flags', 2024, [
    flag('44', 'national_outlier', 2.5),
    flag('44', 'provincial_outlier', 3.5),
    flag('11', 'national_outlier', 2.5),
  ]);
  const cities = ['440100', '440300', '110100', '320100'];
  await writeDerivedObject(
    store,
    writer.connection,
    'shortfall_ledger',
    2024,
    cities.map((city) => ledgerRow(city, 40, 'new')),
  );
  await writeDerivedObject(store, writer.connection, 'shortfall_ledger', 2025, [
    ledgerRow('440100', 0, 'resolved'),
    ledgerRow('440300', 7, 'persisting'),
    ledgerRow('110100', 0, 'resolved'),
    ledgerRow('320100', 7, 'persisting'),
  ]);
  const { records, actions } = rectifiedRecords(cities);
  await writeRectificationObjects(store, writer.connection, records, actions);
};

beforeAll(async () => {
  service = await startQueryService({
    name: 'hostile',
    authenticator,
    unitsPerCity: 5,
    limits: { timeoutMs: 20_000 },
    beforeStart: writeDerived,
  });
  // A ministry analyst's Parquet result lying in the export directory while it is downloaded.
  await service.writer.connection.run(
    `COPY (SELECT '110000' AS province_code, 'ministry-export-secret' AS marker) TO '${service.exportDirectory}/in-flight.parquet' (FORMAT parquet)`,
  );
});

afterAll(() => service?.close());

const post = (token: string, sql: string) => postQuery(service.app, token, sql);

/** Marks of anything outside Guangdong's scope: other provinces' codes, the nation, paths, settings. */
const leaks = (text: string): string[] => {
  const marks = [
    '110000',
    '110100',
    '320000',
    '320100',
    '"nation"',
    '000000"',
    ...infrastructureMarks(service.store.bucket, [service.scratch, service.exportDirectory, tmpdir()]),
  ];
  return marks.filter((mark) => text.includes(mark));
};

describe('a Guangdong analyst sees nothing outside Guangdong, whatever the statement', () => {
  it.each(hostileShapes())('%s', async (_what, template) => {
    const sql = fillShape(template, service.store.bucket, service.exportDirectory);
    expectNothingOutsideScope(await post(guangdong, sql), sql, {
      bucket: service.store.bucket,
      ownCities: '44\\d{4}',
      leaks,
    });
  });

  it('reads its own rows through the same shapes that stay inside the scope', async () => {
    const response = await post(
      guangdong,
      'WITH RECURSIVE walk(code, depth) AS (SELECT province_code, 1 FROM observations UNION ALL SELECT code, depth + 1 FROM walk WHERE depth < 2) SELECT count(*) AS n, min(code) AS lo, max(code) AS hi FROM walk',
    );
    expect(response.statusCode, response.body).toBe(200);
    const guangdongRows = service.lake.observations.filter((row) => row.province_code === '440000').length;
    expect(response.json().rows).toEqual([[2 * guangdongRows, '440000', '440000']]);
  });

  it('gets its Parquet result written outside its own database, holding only its rows', async () => {
    const response = await postQuery(
      service.app,
      guangdong,
      'SELECT province_code, count(*) AS n FROM observations GROUP BY ALL',
      'application/vnd.apache.parquet',
    );
    expect(response.statusCode, response.body).toBe(200);
    const file = join(service.scratch, 'guangdong.parquet');
    await writeFile(file, response.rawPayload);
    const rows = (
      await service.writer.connection.runAndReadAll(`SELECT province_code, n FROM read_parquet('${file}')`)
    )
      .getRowObjectsJS()
      .map((row) => ({ province_code: row.province_code, n: Number(row.n) }));
    expect(rows).toEqual([
      {
        province_code: '440000',
        n: service.lake.observations.filter((row) => row.province_code === '440000').length,
      },
    ]);
    // Sent and removed: only the file the test put there stays.
    expect(await readdir(service.exportDirectory)).toEqual(['in-flight.parquet']);
  });

  it('sees its own rectification items, rates and trail, judged by the next cycle, and not the nation', async () => {
    // 广州's item met the standard in 2025 (consolidated), 深圳's missed it again (reopened); 2025's ledger
    // holds 深圳's again as an item of its own.
    const items = await post(
      guangdong,
      'SELECT cycle, city_code, state, contradicted FROM rectification ORDER BY cycle, city_code',
    );
    expect(items.statusCode, items.body).toBe(200);
    expect(items.json().rows).toEqual([
      [2024, '440100', 'consolidated', false],
      [2024, '440300', 'reopened', true],
      [2025, '440300', 'identified', false],
    ]);
    const rates = await post(
      guangdong,
      'SELECT cycle, level, area_code, items, consolidated, reopened, rectification_rate FROM rectification_rates WHERE cycle = 2024',
    );
    expect(rates.json().rows).toEqual([
      [2024, 'city', '440100', 1, 1, 0, 1],
      [2024, 'city', '440300', 1, 0, 1, 0],
      [2024, 'province', '440000', 2, 1, 1, 0.5],
    ]);
    const trail = await post(
      guangdong,
      'SELECT city_code, count(*) FROM rectification_actions GROUP BY ALL ORDER BY 1',
    );
    expect(trail.json().rows).toEqual([
      ['440100', 2],
      ['440300', 2],
    ]);
    // The ministry's nation row: four items, two consolidated.
    const nation = await post(
      ministry,
      "SELECT items, consolidated, reopened FROM rectification_rates WHERE cycle = 2024 AND level = 'nation'",
    );
    expect(nation.json().rows).toEqual([[4, 2, 2]]);
  });

  it('sees its own completeness but not the nation nor another province', async () => {
    const response = await post(guangdong, 'SELECT level, area_code FROM completeness ORDER BY area_code');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().rows).toEqual([['province', '440000']]);
  });

  it('sees that its units are national outliers, not the national median they were compared with', async () => {
    const response = await post(guangdong, 'SELECT flag, reference, score FROM quality_flags ORDER BY flag');
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().rows).toEqual([
      ['national_outlier', null, null],
      ['provincial_outlier', 3.5, 9.5],
    ]);
    const national = await post(
      ministry,
      "SELECT count(*) FROM quality_flags WHERE flag = 'national_outlier' AND reference = 2.5",
    );
    expect(national.json().rows).toEqual([[2]]);
  });
});

describe('the status', () => {
  const statusApp = () =>
    startTestApp(service.engine, authenticator, {
      status: fixedStatus(statusReport),
    });

  it('needs a credential, shows an operator all of it, an analyst the reporting, a province its own', async () => {
    const withStatus = await statusApp();
    try {
      expect((await withStatus.inject({ method: 'GET', url: '/v1/status' })).statusCode).toBe(401);
      const own = await withStatus.inject({
        method: 'GET',
        url: '/v1/status',
        headers: bearer(guangdong),
      });
      expect(own.statusCode).toBe(200);
      const body = own.json<PipelineStatus>();
      expect(body.completeness.provinces.map((province) => province.code)).toEqual(['44']);
      expect(body.stages).toEqual([]);
      expect(body.rejections.byReason).toEqual([]);
      expect(body.services).toEqual([]);
      const all = await withStatus.inject({
        method: 'GET',
        url: '/v1/status',
        headers: bearer(operator),
      });
      expect(all.json<PipelineStatus>()).toEqual(statusReport);
      const analyst = (
        await withStatus.inject({
          method: 'GET',
          url: '/v1/status',
          headers: bearer(ministry),
        })
      ).json<PipelineStatus>();
      expect(analyst.completeness).toEqual(statusReport.completeness);
      expect(analyst.stages).toEqual([]);
      expect(analyst.rejections.byCity).toEqual([]);
      expect(analyst.services).toEqual([]);
      // The page holds no figures and stays public.
      expect((await withStatus.inject({ method: 'GET', url: '/status' })).statusCode).toBe(200);
    } finally {
      await withStatus.close();
    }
  });
});
