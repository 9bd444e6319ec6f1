// The review routes against the real broker: who may act on and read which city's review, what each action
// leaves on reviews.v1, and the lock an acceptance puts on a city's submissions (JSON, NDJSON, dry runs, in
// Chinese and in English) until a reviewer reopens it. Times are fixed, so every message is written out whole.
import { followReviews, ReviewBook, reviewKey } from '@citycheck/reviews';
import { bearer, createTestCredentials, readTopic, uniqueName, waitFor } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type IngestFixture,
  openapiProblems,
  startIngestFixture,
  submission,
} from '../test/ingest-fixture.js';

let fixture: IngestFixture;
let app: ReturnType<IngestFixture['build']>;
let topic: string;
let clock = new Date('2026-01-10T02:00:00Z');
const book = new ReviewBook();

const credentials = createTestCredentials();
const yinchuan = credentials.issue('a000000000000001', 'city', { cityCode: '640100', name: '银川市住建局' });
const wuzhong = credentials.issue('a000000000000002', 'city', { cityCode: '640300', name: '吴忠市住建局' });
const urumqi = credentials.issue('a000000000000003', 'city', {
  cityCode: '650100',
  name: '乌鲁木齐市住建局',
});
const ningxia = credentials.issue('b000000000000064', 'reviewer:province:64', { name: '宁夏住建厅' });
const xinjiang = credentials.issue('b000000000000065', 'reviewer:province:65', { name: '新疆住建厅' });
const ministry = credentials.issue('c000000000000001', 'reviewer:ministry', { name: '住建部城市体检司' });
const analyst = credentials.issue('d000000000000001', 'analyst:ministry', { name: '部级分析' });

const yinchuanUnit = (overrides: Record<string, unknown> = {}) =>
  submission({ cityCode: '640100', unit: { level: 'community', code: '640104001002' }, ...overrides });

/** A review action; reviewers' actions carry a JSON body (empty when they say nothing), a city's submit none. */
const act = (token: string, path: string, body: Record<string, unknown> = {}, at?: string) => {
  if (at !== undefined) clock = new Date(at);
  return app.inject({
    method: 'POST',
    url: `/v1/reviews/${path}`,
    headers: bearer(token),
    ...(path.endsWith('/submit') ? {} : { payload: body }),
  });
};
const get = (token: string, url: string) => app.inject({ method: 'GET', url, headers: bearer(token) });
const submitJson = (token: string, body: unknown, { dryRun = false, language = '' } = {}) =>
  app.inject({
    method: 'POST',
    url: `/v1/submissions${dryRun ? '?dryRun=true' : ''}`,
    headers: { ...bearer(token), ...(language === '' ? {} : { 'accept-language': language }) },
    payload: body as Record<string, unknown>,
  });
const submitNdjson = (token: string, bodies: unknown[], { dryRun = false, language = '' } = {}) =>
  app.inject({
    method: 'POST',
    url: `/v1/submissions${dryRun ? '?dryRun=true' : ''}`,
    headers: {
      ...bearer(token),
      'content-type': 'application/x-ndjson',
      ...(language === '' ? {} : { 'accept-language': language }),
    },
    payload: bodies.map((body) => JSON.stringify(body)).join('\n'),
  });

/** Every record on the reviews topic for 640100's 2024 review, in order. */
const eventsOf = async (cityCode = '640100') =>
  (await readTopic(fixture.kafka, topic))
    .filter((message) => message.key?.toString() === reviewKey(2024, cityCode))
    .map((message) => JSON.parse(String(message.value)));

const lockedZh =
  '640100 的 2024 年度数据已于 2026-01-20 14:30（北京时间）由 住建部城市体检司 验收，已锁定，不再接受新的提交；如需更正，请联系审核人员重新开放';
const lockedEn =
  'the data of 640100 for cycle 2024 were accepted by 住建部城市体检司 at 2026-01-20T06:30:00.000Z and are locked: no new submission is taken; to correct them, ask a reviewer to reopen them';

beforeAll(async () => {
  fixture = await startIngestFixture();
  topic = fixture.topics.reviews;
  app = fixture.build({
    authenticator: credentials.store,
    reviews: book,
    reviewsTopic: topic,
    reviewClock: () => clock,
  });
});

afterAll(async () => {
  await fixture.close();
});

describe('who may act on and see a review', () => {
  it("refuses a province's reviewer every action on and every read of another province's city", async () => {
    expect((await act(yinchuan, '2024/submit', {}, '2026-01-10T02:00:00Z')).statusCode).toBe(200);
    for (const action of ['return', 'approve', 'reopen'] as const) {
      const refused = await act(xinjiang, `2024/640100/${action}`, { reason: '核实' });
      expect(refused.statusCode).toBe(403);
      expect(openapiProblems('Error', refused.json())).toEqual([]);
      const verb = { return: '退回', approve: '通过', reopen: '重新开放' }[action];
      expect(refused.json().error.message).toBe(
        `省级审核人员（65）只能${verb}本省的城市：640100 属于省份 64`,
      );
    }
    const accept = await act(xinjiang, '2024/640100/accept');
    expect(accept.statusCode).toBe(403);
    expect(accept.json().error.message).toBe(
      '只有部级审核人员（reviewer:ministry）可以验收：reviewer:province:65 不能验收 640100',
    );
    const read = await get(xinjiang, '/v1/reviews/2024/640100');
    expect(read.statusCode).toBe(403);
    expect(read.json().error.message).toBe('this credential may not read the review of city 640100');
    // Nor through the city's own route, nor the submissions of the city.
    expect((await get(xinjiang, '/v1/reviews/2024')).statusCode).toBe(403);
    expect((await get(xinjiang, '/v1/submissions?city=640100')).statusCode).toBe(403);
    // Its own province's cities it reads: 银川 submitted, 吴忠 has not acted (a draft).
    expect((await get(ningxia, '/v1/reviews/2024/640100')).json().state).toBe('submitted');
    expect((await get(ningxia, '/v1/reviews/2024/640300')).json()).toEqual({
      kind: 'review',
      cycle: 2024,
      cityCode: '640300',
      state: 'draft',
      actions: [],
    });
  });

  it('refuses a city approving itself, and a city acting on or reading another city', async () => {
    const self = await act(yinchuan, '2024/640100/approve');
    expect(self.statusCode).toBe(403);
    expect(self.json().error.message).toBe('城市不能通过本市的数据：通过由所在省的审核人员进行');
    const selfAccept = await act(yinchuan, '2024/640100/accept');
    expect(selfAccept.json().error.message).toBe('城市不能验收本市的数据：验收由住房和城乡建设部进行');
    const other = await act(wuzhong, '2024/640100/approve');
    expect(other.statusCode).toBe(403);
    expect(other.json().error.message).toBe('城市 640300 不能通过 640100 的数据');
    const otherReturn = await act(urumqi, '2024/640100/return', { reason: '不对' });
    expect(otherReturn.json().error.message).toBe('城市 650100 不能退回 640100 的数据');
    expect((await get(wuzhong, '/v1/reviews/2024/640100')).statusCode).toBe(403);
    // The submit route takes the city from the credential: 吴忠's submit is 吴忠's, never 银川's.
    expect((await act(wuzhong, '2024/submit')).json().cityCode).toBe('640300');
    // An analyst reads but acts on nothing; the ministry's reviewer may not submit for a city.
    expect((await act(analyst, '2024/640100/approve')).statusCode).toBe(403);
    expect((await get(analyst, '/v1/reviews/2024/640100')).json().state).toBe('submitted');
    const ministrySubmit = await act(ministry, '2024/submit');
    expect(ministrySubmit.statusCode).toBe(403);
    expect(ministrySubmit.json().error.message).toBe(
      '只有城市本身可以提交审核：reviewer:ministry 请使用 /v1/reviews/2024/{city}/…',
    );
    // None of the refusals reached the topic: 银川 has its one submit, 吴忠 its own.
    expect((await eventsOf()).map((record) => record.state)).toEqual(['submitted']);
    expect((await eventsOf('640300')).map((record) => record.state)).toEqual(['submitted']);
  });
});

describe('an accepted city is locked', () => {
  it('refuses JSON, NDJSON and dry-run submissions with who accepted and when, until a reopen', async () => {
    expect((await act(ningxia, '2024/640100/approve', {}, '2026-01-15T01:00:00Z')).json().state).toBe(
      'approved',
    );
    const accepted = await act(ministry, '2024/640100/accept', {}, '2026-01-20T06:30:00Z');
    expect(accepted.statusCode).toBe(200);
    expect(openapiProblems('Review', accepted.json())).toEqual([]);
    expect(accepted.json().actions.at(-1)).toEqual({
      action: 'accept',
      by: '住建部城市体检司',
      credentialId: 'c000000000000001',
      role: 'reviewer:ministry',
      at: '2026-01-20T06:30:00.000Z',
      state: 'accepted',
    });

    const problem = (message: string) => ({
      pointer: '/cycle',
      rule: 'city_cycle_locked',
      message,
      value: 2024,
    });
    const json = await submitJson(yinchuan, yinchuanUnit());
    expect(json.statusCode).toBe(422);
    expect(openapiProblems('Error', json.json())).toEqual([]);
    expect(json.json().error).toMatchObject({
      code: 'city_cycle_locked',
      reason: 'bad_input',
      retriable: false,
      message: lockedZh,
      problems: [problem(lockedZh)],
    });
    const english = await submitJson(yinchuan, yinchuanUnit(), { language: 'en' });
    expect(english.json().error.message).toBe(lockedEn);
    expect(english.json().error.problems).toEqual([problem(lockedEn)]);

    const dryRun = await submitJson(yinchuan, yinchuanUnit(), { dryRun: true });
    expect(dryRun.statusCode).toBe(200);
    expect(dryRun.json()).toMatchObject({ outcome: 'rejected', problems: [problem(lockedZh)] });

    const lines = [yinchuanUnit(), yinchuanUnit({ unit: { level: 'community', code: '640104001003' } })];
    const bulk = await submitNdjson(yinchuan, lines);
    expect(bulk.statusCode).toBe(200);
    expect(bulk.json()).toMatchObject({ received: 2, accepted: 0, rejected: 2 });
    expect(bulk.json().lines[1]).toEqual({
      line: 2,
      submissionId: lines[1]?.submissionId,
      status: 'rejected',
      problems: [problem(lockedZh)],
    });
    const bulkDryRun = await submitNdjson(yinchuan, lines, { dryRun: true, language: 'en' });
    expect(bulkDryRun.json().lines.map((line: { problems: unknown[] }) => line.problems)).toEqual([
      [problem(lockedEn)],
      [problem(lockedEn)],
    ]);
    // Nothing of 银川's reached the received topic; 吴忠 (same province, not accepted) still submits.
    expect(
      (await readTopic(fixture.kafka, fixture.topics.received)).filter(
        (message) => message.key?.toString() === '640100',
      ),
    ).toEqual([]);
    const wuzhongUnit = submission({
      cityCode: '640300',
      unit: { level: 'community', code: '640302100003' },
    });
    expect((await submitJson(wuzhong, wuzhongUnit)).statusCode).toBe(202);

    // A second instance following the topic knows the lock too.
    const second = new ReviewBook();
    const follower = followReviews({
      kafka: fixture.kafka,
      book: second,
      topic,
      groupIdPrefix: uniqueName('r'),
    });
    await follower.start();
    await follower.caughtUp();
    try {
      expect(second.lockOf(2024, '640100')?.state).toBe('accepted');
      expect(second.lockOf(2024, '640300')).toBeUndefined();
    } finally {
      await follower.stop();
    }

    const noReason = await act(ministry, '2024/640100/reopen', { reason: '  ' });
    expect(noReason.statusCode).toBe(422);
    expect(noReason.json().error).toMatchObject({
      code: 'review_invalid',
      message: '重新开放需要说明理由（reason）',
    });
    const reopened = await act(
      ningxia,
      '2024/640100/reopen',
      { reason: '统计局更正了常住人口' },
      '2026-02-01T01:00:00Z',
    );
    expect(reopened.json().state).toBe('reopened');
    const again = yinchuanUnit();
    const accepted2 = await submitJson(yinchuan, again);
    expect(accepted2.statusCode).toBe(202);
    expect(accepted2.json().submissionId).toBe(again.submissionId);
    // 新疆's reviewer reaches none of 银川's data through ingest's other routes either.
    for (const url of [
      `/v1/submissions/${again.submissionId}`,
      '/v1/submissions?city=640100&cycle=2024',
      '/v1/units?cycle=2024&city=640100',
    ]) {
      const refused = await get(xinjiang, url);
      expect(refused.statusCode, url).toBe(403);
    }
    expect((await get(ningxia, `/v1/submissions/${again.submissionId}`)).statusCode).toBe(200);

    // The topic holds every action, each record carrying the trail so far: who, when, why.
    const events = await eventsOf();
    expect(events.map((record) => record.state)).toEqual(['submitted', 'approved', 'accepted', 'reopened']);
    expect(
      events
        .at(-1)
        .actions.map((entry: Record<string, unknown>) => [
          entry.action,
          entry.by,
          entry.role,
          entry.at,
          entry.reason,
        ]),
    ).toEqual([
      ['submit', '银川市住建局', 'city', '2026-01-10T02:00:00.000Z', undefined],
      ['approve', '宁夏住建厅', 'reviewer:province:64', '2026-01-15T01:00:00.000Z', undefined],
      ['accept', '住建部城市体检司', 'reviewer:ministry', '2026-01-20T06:30:00.000Z', undefined],
      ['reopen', '宁夏住建厅', 'reviewer:province:64', '2026-02-01T01:00:00.000Z', '统计局更正了常住人口'],
    ]);
    await waitFor(() => (book.review(2024, '640100')?.state === 'reopened' ? true : undefined), {
      what: 'the review to be reopened',
    });
  });
});
