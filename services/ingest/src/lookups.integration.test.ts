// The look-ups a city makes against the real broker: the catalogue it reports against, its expected units
// with whether each reported, and its own submissions with their states, paged, never another city's.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CycleBook } from '@citycheck/cycles';
import { waitFor } from '@citycheck/testkit';
import { describe, expect, it } from 'vitest';
import { openapiProblems, submission, useIngestApp } from '../test/ingest-fixture.js';

const ingest = useIngestApp({ yinchuan: '640100', tianjin: '120100' }, { cycles: new CycleBook() });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (url: string, token = ingest.tokens.yinchuan) =>
  ingest.app.inject({ method: 'GET', url, headers: bearer(token) });
const post = (body: unknown, token = ingest.tokens.yinchuan) =>
  ingest.app.inject({
    method: 'POST',
    url: '/v1/submissions',
    headers: bearer(token),
    payload: body as Record<string, unknown>,
  });

/** The registry's communities, read from the shipped file by hand (not through @citycheck/divisions). */
const registryCommunities = (): Map<string, string> => {
  const stored = JSON.parse(
    gunzipSync(
      readFileSync(new URL('../../../packages/divisions/data/registry.json.gz', import.meta.url)),
    ).toString('utf8'),
  ) as {
    nameSeparator: string;
    levels: { community: { width: number; count: number; codes: string; names: string } };
  };
  const { width, count, codes, names } = stored.levels.community;
  const nameList = names.split(stored.nameSeparator);
  const result = new Map<string, string>();
  for (let i = 0; i < count; i += 1)
    result.set(codes.slice(i * width, (i + 1) * width), nameList[i] as string);
  return result;
};

const yinchuanSubmission = (code: string, overrides: Record<string, unknown> = {}) =>
  submission({ cityCode: '640100', unit: { level: 'community', code }, ...overrides });

describe('GET /v1/catalogue/{version}', () => {
  it('gives every indicator of the version with its kind, fields, units, range and levels', async () => {
    const file = JSON.parse(
      readFileSync(new URL('../../../schemas/catalogue/2024.1.json', import.meta.url), 'utf8'),
    ) as { indicators: { code: string; kind: string }[] };
    const response = await get('/v1/catalogue/2024.1');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(openapiProblems('CatalogueVersion', body)).toEqual([]);
    expect(body.id).toBe('2024.1');
    expect(body.indicators.map((indicator: { code: string }) => indicator.code)).toEqual(
      file.indicators.map((indicator) => indicator.code),
    );
    const byCode = new Map(body.indicators.map((indicator: { code: string }) => [indicator.code, indicator]));
    // C01 (schemas/catalogue/2024.1.json): a count of compounds from 0 to 500, one value field.
    expect(byCode.get('C01')).toMatchObject({
      kind: 'count',
      unit: { zh: '个' },
      range: { min: 0, max: 500 },
      unitLevels: ['community'],
      fields: [
        { field: 'value', nameZh: '未达标配建养老服务设施的小区数量', type: 'number', unit: { zh: '个' } },
      ],
    });
    // B01: a rate, reported as numerator and denominator in hectares, shown in percent.
    expect(byCode.get('B01')).toMatchObject({
      kind: 'rate',
      unit: { zh: '%', scale: 100 },
      range: { min: 0, max: 1 },
      fields: [
        { field: 'numerator', nameZh: '中学1000米服务半径覆盖的居住用地面积', unit: { zh: '公顷' } },
        { field: 'denominator', nameZh: '居住用地面积', unit: { zh: '公顷' } },
      ],
    });
    // A share is a yes or no.
    const share = body.indicators.find((indicator: { kind: string }) => indicator.kind === 'share');
    expect(share.fields).toEqual([
      { field: 'meets', nameZh: '是否达标', nameEn: 'Meets the standard', type: 'boolean' },
    ]);
  });

  it('answers 404 for a version that does not exist and 400 for one that is no version', async () => {
    expect((await get('/v1/catalogue/2023.9')).statusCode).toBe(404);
    expect((await get('/v1/catalogue/latest')).statusCode).toBe(400);
  });
});

describe('GET /v1/units', () => {
  const communities = registryCommunities();
  // 银川市 640100: every community whose code starts 6401; in 2025, which names 灵武市 640181 a city of its
  // own, without those of 640181.
  const expected2024 = [...communities.keys()].filter((code) => code.startsWith('6401')).sort();
  const expected2025 = expected2024.filter((code) => !code.startsWith('640181'));

  it("lists the city's expected communities with names, and which reported", async () => {
    expect(expected2024).toHaveLength(304);
    const [stored, rejected, onTheWay] = expected2024 as [string, string, string];
    const bodies = [yinchuanSubmission(stored), yinchuanSubmission(rejected), yinchuanSubmission(onTheWay)];
    const receipts = [];
    for (const body of bodies) {
      const response = await post(body);
      expect(response.statusCode).toBe(202);
      receipts.push(response.json());
    }
    await ingest.fixture.produce(ingest.fixture.topics.committed, '0', {
      submissionIds: [bodies[0]?.submissionId],
      objects: ['lake/observations/cycle=2024/part-0-0.parquet'],
      topic: 'submissions.validated.v1',
      partition: 0,
      startOffset: '0',
      endOffset: '1',
    });
    await ingest.fixture.produce(ingest.fixture.topics.rejected, '640100', {
      submissionId: bodies[1]?.submissionId,
      cityCode: '640100',
      contentHash: receipts[1].contentHash,
      receivedAt: receipts[1].receivedAt,
      rejectedAt: new Date().toISOString(),
      problems: [{ pointer: '/observations/0/value', rule: 'range', message: 'out of range' }],
    });
    await waitFor(
      () =>
        ingest.fixture.index.get(bodies[1]?.submissionId as string)?.status === 'rejected' ? true : undefined,
      {
        what: 'the rejection in the index',
      },
    );
    await waitFor(
      () =>
        ingest.fixture.index.get(bodies[0]?.submissionId as string)?.status === 'stored' ? true : undefined,
      {
        what: 'the lake batch in the index',
      },
    );

    const response = await get('/v1/units?cycle=2024');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(openapiProblems('ExpectedUnits', body)).toEqual([]);
    expect(body).toMatchObject({ cityCode: '640100', cycle: 2024, expected: 304, reported: 1 });
    expect(body.units).toEqual(
      expected2024.map((code) => ({
        level: 'community',
        code,
        name: communities.get(code),
        reported: code === stored,
      })),
    );
    // Another cycle: nothing reported there.
    const later = (await get('/v1/units?cycle=2025')).json();
    expect(later.expected).toBe(expected2025.length);
    expect(later.units.map((unit: { code: string }) => unit.code)).toEqual(expected2025);
    expect(later.reported).toBe(0);
  });

  it("refuses another city's units and asks for a cycle", async () => {
    expect((await get('/v1/units?cycle=2024&city=640100', ingest.tokens.tianjin)).statusCode).toBe(403);
    expect((await get('/v1/units')).statusCode).toBe(400);
  });
});

describe('GET /v1/submissions', () => {
  it("pages through the city's own submissions in the order received, filtered by cycle, status and unit", async () => {
    const unit = '640104001001';
    const own: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const body = yinchuanSubmission(i === 4 ? '640104001002' : unit, {
        cycle: 2025,
        catalogueVersion: '2025.1',
      });
      expect((await post(body)).statusCode).toBe(202);
      own.push(body.submissionId);
    }
    const other = submission({
      cityCode: '120100',
      unit: { level: 'community', code: '120101001001' },
      cycle: 2025,
    });
    expect((await post(other, ingest.tokens.tianjin)).statusCode).toBe(202);
    await ingest.fixture.produce(ingest.fixture.topics.rejected, '640100', {
      submissionId: own[2],
      cityCode: '640100',
      contentHash: ingest.fixture.index.get(own[2] as string)?.contentHash,
      receivedAt: new Date().toISOString(),
      rejectedAt: new Date().toISOString(),
      problems: [{ pointer: '/observations/0/value', rule: 'range', message: 'out of range' }],
    });
    await waitFor(
      () => (ingest.fixture.index.get(own[2] as string)?.status === 'rejected' ? true : undefined),
      {
        what: 'the rejection in the index',
      },
    );

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const response = await get(
        `/v1/submissions?cycle=2025&limit=2${cursor === undefined ? '' : `&cursor=${cursor}`}`,
      );
      expect(response.statusCode).toBe(200);
      const page = response.json();
      expect(openapiProblems('SubmissionList', page)).toEqual([]);
      expect(page.submissions.length).toBeLessThanOrEqual(2);
      for (const state of page.submissions) {
        expect(state).toMatchObject({ cityCode: '640100', cycle: 2025, unit: { level: 'community' } });
        seen.push(state.submissionId);
      }
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);
    // Five submissions, two a page: three pages, in the order they were sent, Tianjin's on none.
    expect(pages).toBe(3);
    expect(seen).toEqual(own);

    const rejected = (await get('/v1/submissions?cycle=2025&status=rejected')).json();
    expect(rejected.submissions.map((state: { submissionId: string }) => state.submissionId)).toEqual([
      own[2],
    ]);
    expect(rejected.submissions[0].problems).toEqual([
      { pointer: '/observations/0/value', rule: 'range', message: 'out of range' },
    ]);
    const ofUnit = (await get(`/v1/submissions?cycle=2025&unit=${unit}&status=accepted`)).json();
    expect(ofUnit.submissions.map((state: { submissionId: string }) => state.submissionId)).toEqual([
      own[0],
      own[1],
      own[3],
    ]);
    const tianjins = (await get('/v1/submissions?cycle=2025', ingest.tokens.tianjin)).json();
    expect(tianjins.submissions.map((state: { submissionId: string }) => state.submissionId)).toEqual([
      other.submissionId,
    ]);
  });

  it('refuses another city and a cursor it did not give', async () => {
    expect((await get('/v1/submissions?city=640100', ingest.tokens.tianjin)).statusCode).toBe(403);
    const response = await get(`/v1/submissions?cursor=${randomUUID()}`);
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('invalid_request');
  });
});
