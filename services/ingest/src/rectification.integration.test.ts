// The rectification routes against the real broker and object store: one ledger item of 银川市 (兴庆区
// 640104, D01, found by the 2025 data) walked from plan to verified, every action checked on
// rectification.v1, the evidence file read back from the bucket and hashed here; and who may not act on or
// read it. Times are fixed, so every record and message is written out whole.
import { createHash } from 'node:crypto';
import { CycleBook } from '@citycheck/cycles';
import type { ObjectStore } from '@citycheck/lake';
import { ensureRectificationTopic, RectificationBook, rectificationKey } from '@citycheck/rectification';
import { bearer, createTestCredentials, createTestStore, readTopic, uniqueName } from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestFixture, openapiProblems, startIngestFixture } from '../test/ingest-fixture.js';

let fixture: IngestFixture;
let app: ReturnType<IngestFixture['build']>;
let store: ObjectStore;
let topic: string;
let clock = new Date('2026-02-01T02:00:00Z');

const credentials = createTestCredentials();
const yinchuan = credentials.issue('a000000000000001', 'city', { cityCode: '640100', name: '银川市住建局' });
const urumqi = credentials.issue('a000000000000003', 'city', {
  cityCode: '650100',
  name: '乌鲁木齐市住建局',
});
const ningxia = credentials.issue('b000000000000064', 'reviewer:province:64', { name: '宁夏住建厅' });
const xinjiang = credentials.issue('b000000000000065', 'reviewer:province:65', { name: '新疆住建厅' });
const xinjiangAnalyst = credentials.issue('d000000000000065', 'analyst:province:65', { name: '新疆分析' });
const ministry = credentials.issue('c000000000000001', 'reviewer:ministry', { name: '住建部城市体检司' });

const item = '/v1/rectification/2025/district/640104/D01';
const key = rectificationKey({
  cycle: 2025,
  unitLevel: 'district',
  unitCode: '640104',
  indicatorCode: 'D01',
});

const post = (token: string, path: string, body: Record<string, unknown>, at: string) => {
  clock = new Date(at);
  return app.inject({ method: 'POST', url: `${item}/${path}`, headers: bearer(token), payload: body });
};
const upload = (token: string, bytes: Buffer, contentType: string, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: `${item}/evidence`,
    headers: { ...bearer(token), 'content-type': contentType, ...headers },
    payload: bytes,
  });
const get = (token: string, url: string) => app.inject({ method: 'GET', url, headers: bearer(token) });

/** The states and actors of the item's records on rectification.v1, in order. */
const events = async () =>
  (await readTopic(fixture.kafka, topic))
    .filter((message) => message.key?.toString() === key)
    .map((message) => JSON.parse(String(message.value)));

// Eight bytes of a PNG signature and a short tail: what the city sends as its photo.
const photo = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
]);
const photoSha256 = createHash('sha256').update(photo).digest('hex');
const fileName = '体育公园竣工照片.png';

beforeAll(async () => {
  fixture = await startIngestFixture();
  topic = uniqueName('rectification');
  await ensureRectificationTopic(fixture.kafka, { topic });
  store = await createTestStore('evidence');
  app = fixture.build({
    authenticator: credentials.store,
    cycles: new CycleBook(),
    rectification: new RectificationBook(),
    rectificationTopic: topic,
    evidenceStore: store,
    rectificationClock: () => clock,
  });
});

afterAll(async () => {
  await fixture?.close();
  store?.close();
});

describe('one ledger item from plan to verified', () => {
  it('is identified before anyone acts, for the city and its province', async () => {
    const identified = {
      kind: 'rectification',
      cycle: 2025,
      provinceCode: '64',
      cityCode: '640100',
      unitLevel: 'district',
      unitCode: '640104',
      indicatorCode: 'D01',
      state: 'identified',
      evidence: [],
      actions: [],
    };
    expect((await get(yinchuan, item)).json()).toEqual(identified);
    expect((await get(ningxia, item)).json()).toEqual(identified);
  });

  it('walks plan, progress, a refused verification, evidence, verify, each on rectification.v1 first', async () => {
    const plan = { measure: '新建社区体育公园 2 处', department: '兴庆区体育局', targetDate: '2026-09-30' };
    const planned = await post(yinchuan, 'plan', plan, '2026-02-01T02:00:00Z');
    expect(planned.statusCode).toBe(200);
    expect(openapiProblems('Rectification', planned.json())).toEqual([]);
    expect(planned.json()).toMatchObject({ state: 'planned', plan, evidence: [] });

    const progressed = await post(yinchuan, 'progress', { note: '已完成选址' }, '2026-03-01T02:00:00Z');
    expect(progressed.json().state).toBe('in_progress');

    const early = await post(ningxia, 'verify', {}, '2026-03-02T02:00:00Z');
    expect(early.statusCode).toBe(409);
    expect(early.json().error).toMatchObject({
      code: 'rectification_transition_refused',
      message: '2025 年度 640104 的指标 D01 的整改尚无佐证材料，不能核验：须由 640100 先上传佐证材料',
    });

    clock = new Date('2026-06-01T02:00:00Z');
    const attached = await upload(yinchuan, photo, 'image/png', {
      'x-file-name': encodeURIComponent(fileName),
    });
    expect(attached.statusCode).toBe(200);
    const objectKey = `evidence/cycle=2025/city_code=640100/${photoSha256}`;
    const evidence = { sha256: photoSha256, bytes: 14, contentType: 'image/png', fileName, objectKey };
    expect(attached.json().evidence).toEqual([evidence]);
    // The bucket holds exactly the bytes sent, under the key named by their hash.
    const stored = await store.get(objectKey);
    expect(stored === undefined ? undefined : Buffer.from(stored)).toEqual(photo);
    expect(
      createHash('sha256')
        .update(stored ?? new Uint8Array())
        .digest('hex'),
    ).toBe(photoSha256);
    expect(await store.list('evidence/')).toEqual([objectKey]);

    // The same file again is refused, and nothing new is published.
    const again = await upload(yinchuan, photo, 'image/png', { 'x-file-name': 'again.png' });
    expect(again.statusCode).toBe(422);
    expect(again.json().error.code).toBe('rectification_invalid');

    const download = await get(ningxia, `${item}/evidence/${photoSha256}`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-type']).toBe('image/png');
    expect(download.headers['x-content-sha256']).toBe(photoSha256);
    expect(download.headers['content-disposition']).toBe(
      `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}`,
    );
    expect(download.rawPayload).toEqual(photo);

    const verified = await post(ningxia, 'verify', { note: '现场核查属实' }, '2026-06-10T02:00:00Z');
    expect(verified.statusCode).toBe(200);
    expect(verified.json().state).toBe('rectified');

    const published = await events();
    expect(published.map((record) => [record.state, record.actions.length])).toEqual([
      ['planned', 1],
      ['in_progress', 2],
      ['in_progress', 3],
      ['rectified', 4],
    ]);
    expect(published.at(-1)).toEqual(verified.json());
    expect(published.at(-1).actions).toEqual([
      {
        action: 'plan',
        by: '银川市住建局',
        credentialId: 'a000000000000001',
        role: 'city',
        at: '2026-02-01T02:00:00.000Z',
        state: 'planned',
        plan,
      },
      {
        action: 'progress',
        by: '银川市住建局',
        credentialId: 'a000000000000001',
        role: 'city',
        at: '2026-03-01T02:00:00.000Z',
        state: 'in_progress',
        note: '已完成选址',
      },
      {
        action: 'evidence',
        by: '银川市住建局',
        credentialId: 'a000000000000001',
        role: 'city',
        at: '2026-06-01T02:00:00.000Z',
        state: 'in_progress',
        evidence,
      },
      {
        action: 'verify',
        by: '宁夏住建厅',
        credentialId: 'b000000000000064',
        role: 'reviewer:province:64',
        at: '2026-06-10T02:00:00.000Z',
        state: 'rectified',
        note: '现场核查属实',
      },
    ]);

    const listed = await get(yinchuan, '/v1/rectification?cycle=2025');
    expect(openapiProblems('RectificationList', listed.json())).toEqual([]);
    expect(listed.json().items.map((record: { unitCode: string; state: string }) => record.state)).toEqual([
      'rectified',
    ]);
    expect((await get(ministry, '/v1/rectification?city=640100')).json().items).toHaveLength(1);
  });

  it('lets the ministry return a verified item with a reason', async () => {
    const returned = await post(ministry, 'return', { note: '照片未显示场地全貌' }, '2026-06-20T02:00:00Z');
    expect(returned.statusCode).toBe(200);
    expect(returned.json().state).toBe('in_progress');
    expect(returned.json().actions.at(-1)).toMatchObject({
      role: 'reviewer:ministry',
      note: '照片未显示场地全貌',
    });
  });
});

describe('who may not act on or read the item', () => {
  it("refuses another city every action and every read of 银川市's unit", async () => {
    const plan = await post(
      urumqi,
      'plan',
      { measure: 'x', department: 'y', targetDate: '2026-09-30' },
      '2026-07-01T00:00:00Z',
    );
    expect(plan.statusCode).toBe(403);
    expect(openapiProblems('Error', plan.json())).toEqual([]);
    expect(plan.json().error).toMatchObject({
      code: 'rectification_forbidden',
      message: '城市 650100 只能为本市的单元制定整改计划：640104 属于 640100',
    });
    const photoOf = await upload(urumqi, Buffer.from('%PDF-1.7 x'), 'application/pdf', {
      'x-file-name': 'a.pdf',
    });
    expect(photoOf.statusCode).toBe(403);
    expect((await get(urumqi, item)).json().error.message).toBe('此凭据不能查看城市 640100 的整改事项');
    expect((await get(urumqi, `${item}/evidence/${photoSha256}`)).statusCode).toBe(403);
    expect((await get(urumqi, '/v1/rectification?city=640100')).statusCode).toBe(403);
    expect((await get(urumqi, '/v1/rectification')).json()).toEqual({ items: [] });
  });

  it("refuses another province's reviewer and analyst every action and read", async () => {
    for (const action of ['verify', 'return'] as const) {
      const refused = await post(xinjiang, action, { note: '核实' }, '2026-07-01T00:00:00Z');
      expect(refused.statusCode).toBe(403);
      const verb = { verify: '核验', return: '退回' }[action];
      expect(refused.json().error.message).toBe(
        `省级审核人员（65）只能${verb}本省城市的整改：640104 属于省份 64`,
      );
    }
    for (const token of [xinjiang, xinjiangAnalyst]) {
      expect((await get(token, item)).statusCode).toBe(403);
      expect((await get(token, `${item}/evidence/${photoSha256}`)).statusCode).toBe(403);
      expect((await get(token, '/v1/rectification?city=640100')).statusCode).toBe(403);
      expect((await get(token, '/v1/rectification?cycle=2025')).json()).toEqual({ items: [] });
    }
    // Their own province's reviewer sees it.
    expect((await get(ningxia, '/v1/rectification')).json().items).toHaveLength(1);
  });

  it('refuses a city verifying its own item', async () => {
    await upload(yinchuan, Buffer.from('%PDF-1.7 report'), 'application/pdf', {
      'x-file-name': 'report.pdf',
    });
    const self = await post(yinchuan, 'verify', {}, '2026-07-02T00:00:00Z');
    expect(self.statusCode).toBe(403);
    expect(self.json().error.message).toBe(
      '城市不能核验本市的整改：核验由所在省的审核人员或部级审核人员进行',
    );
    expect((await events()).at(-1).state).toBe('in_progress');
  });

  it('refuses a unit the registry does not hold, an indicator of no catalogue, and a bad date', async () => {
    const unknown = await get(yinchuan, '/v1/rectification/2025/district/640199/D01');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toBe(
      '2025 年度没有 district 单元 640199（640199 is not a known division code）',
    );
    const noIndicator = await get(yinchuan, '/v1/rectification/2025/district/640104/X99');
    expect(noIndicator.json().error.message).toBe('2025 年度的指标体系（2025.1）中没有指标 X99');
    const wrongLevel = await get(yinchuan, '/v1/rectification/2025/community/640104001001/D01');
    expect(wrongLevel.statusCode).toBe(404);
    const badDate = await post(
      yinchuan,
      'plan',
      { measure: '改建', department: '体育局', targetDate: '2026-02-30' },
      '2026-07-03T00:00:00Z',
    );
    expect(badDate.statusCode).toBe(422);
    expect(badDate.json().error.message).toBe(
      '整改计划完成时限（targetDate）须为真实的日期，写作 YYYY-MM-DD：“2026-02-30”不是',
    );
  });

  it('refuses a file that is not a JPEG, PNG or PDF, and stores nothing for it', async () => {
    const gif = await upload(yinchuan, Buffer.from('GIF89a'), 'image/gif', { 'x-file-name': 'a.gif' });
    expect(gif.statusCode).toBe(415);
    expect(gif.json().error).toMatchObject({
      code: 'unsupported_media_type',
      message:
        '佐证材料须为 JPEG 或 PNG 图片、PDF 文档，以文件本身作为请求体（Content-Type 为 image/jpeg、image/png、application/pdf 之一）：不接受 image/gif',
    });
    const noName = await upload(yinchuan, Buffer.from([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg');
    expect(noName.statusCode).toBe(422);
    expect(noName.json().error.message).toBe(
      '佐证材料需要文件名：在 X-File-Name 头（UTF-8 百分号编码）或 ?fileName= 中给出',
    );
    const pdfSha256 = createHash('sha256').update(Buffer.from('%PDF-1.7 report')).digest('hex');
    expect(await store.list('evidence/')).toEqual(
      [photoSha256, pdfSha256].map((sha) => `evidence/cycle=2025/city_code=640100/${sha}`).sort(),
    );
  });
});
