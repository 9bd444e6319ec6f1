// The reviews in the analysts' model: aggregate's writer puts a review book into the lake as
// reference/reviews.parquet and reference/review_actions.parquet, and the query service serves them as the
// `reviews` and `review_actions` views, scoped like the others: the ministry sees every city, a province's
// reviewer its own province's cities only, a city its own review only, whatever the statement.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReviewReference } from '@citycheck/aggregate';
import type { Principal } from '@citycheck/credentials';
import type { LakeDatabase, ObjectStore } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import { createMetricsRegistry } from '@citycheck/metrics';
import { buildQueryApp, createLakeViewDefiner, createQueryEngine, type QueryEngine } from '@citycheck/query';
import { ReviewBook, type ReviewRecord, reviewAction, reviewKey } from '@citycheck/reviews';
import {
  bearer,
  createTestCredentials,
  createTestStore,
  openTestDatabase,
  testExtensionDirectory,
} from '@citycheck/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const logger = createLogger({ service: 'reviews-view-test', level: 'silent' });
const credentials = createTestCredentials();
const tokens = {
  ministry: credentials.issue('00000000000000a1', 'reviewer:ministry', { name: '住建部城市体检司' }),
  ningxia: credentials.issue('0000000000000064', 'reviewer:province:64', { name: '宁夏住建厅' }),
  xinjiang: credentials.issue('0000000000000065', 'reviewer:province:65', { name: '新疆住建厅' }),
  yinchuan: credentials.issue('00000000000000c1', 'city', { cityCode: '640100', name: '银川市住建局' }),
};

const yinchuan: Principal = { kind: 'city', credentialId: 'c1', name: '银川市住建局', cityCode: '640100' };
const urumqi: Principal = { kind: 'city', credentialId: 'c2', name: '乌鲁木齐市住建局', cityCode: '650100' };
const ningxia: Principal = {
  kind: 'reviewer:province',
  credentialId: 'p64',
  name: '宁夏住建厅',
  provinceCode: '64',
};
const ministry: Principal = { kind: 'reviewer:ministry', credentialId: 'm', name: '住建部城市体检司' };

let store: ObjectStore;
let writer: LakeDatabase;
let scratch: string;
let engine: QueryEngine;
let app: ReturnType<typeof buildQueryApp>;

/** Takes the actions in order on a fresh review of `cityCode` for 2025, failing on any refusal. */
const walk = (
  cityCode: string,
  steps: [Parameters<typeof reviewAction>[1]['action'], Principal, string, Record<string, unknown>?][],
): ReviewRecord =>
  steps.reduce<ReviewRecord | undefined>((current, [action, by, at, extra = {}]) => {
    const outcome = reviewAction(current, { action, cycle: 2025, cityCode, by, at: new Date(at), ...extra });
    if (!outcome.ok) throw new Error(outcome.refusal.message);
    return outcome.record;
  }, undefined) as ReviewRecord;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'citycheck-reviews-view-'));
  store = await createTestStore('reviews-view');
  writer = await openTestDatabase(store);
  const book = new ReviewBook();
  // 银川: submitted, returned with a comment, submitted, approved, accepted (locked).
  book.apply(
    reviewKey(2025, '640100'),
    walk('640100', [
      ['submit', yinchuan, '2026-01-10T02:00:00Z'],
      [
        'return',
        ningxia,
        '2026-01-11T02:00:00Z',
        { comments: [{ text: '请核实', unit: '640104', indicator: 'D01' }] },
      ],
      ['submit', yinchuan, '2026-01-12T02:00:00Z'],
      ['approve', ningxia, '2026-01-13T02:00:00Z'],
      ['accept', ministry, '2026-01-14T02:00:00Z'],
    ]),
  );
  // 乌鲁木齐 (province 65): submitted only.
  book.apply(reviewKey(2025, '650100'), walk('650100', [['submit', urumqi, '2026-01-10T03:00:00Z']]));
  await writeReviewReference(writer.connection, store, book);
  engine = await createQueryEngine({
    extensionDirectory: testExtensionDirectory(),
    s3: store.config,
    defineViews: createLakeViewDefiner(store),
    limits: {
      timeoutMs: 20_000,
      memoryLimit: '1GB',
      rowCap: 100_000,
      concurrency: 2,
      queueLimit: 8,
      threads: 2,
    },
    exportDirectory: join(scratch, 'exports'),
    logger,
  });
  app = buildQueryApp({
    engine,
    authenticator: credentials.store,
    logger,
    registry: createMetricsRegistry({ service: 'reviews-view-test', processMetrics: false }),
  });
  await app.ready();
}, 60_000);

afterAll(async () => {
  await app?.close();
  await engine?.close();
  writer?.close();
  store?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

const rows = async (token: string, sql: string): Promise<unknown[][]> => {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/query',
    headers: { ...bearer(token), 'content-type': 'application/json' },
    payload: { sql },
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ rows: unknown[][] }>().rows;
};

const stateSql =
  'SELECT city_code, province_code, state, locked, actions, last_action, last_action_by, last_action_role, ' +
  'CAST(last_action_at AS VARCHAR), CAST(accepted_at AS VARCHAR) FROM reviews ORDER BY city_code';

describe('the reviews views', () => {
  it("give the ministry every city's review as it stands", async () => {
    expect(await rows(tokens.ministry, stateSql)).toEqual([
      [
        '640100',
        '640000',
        'accepted',
        true,
        5,
        'accept',
        '住建部城市体检司',
        'reviewer:ministry',
        '2026-01-14 02:00:00',
        '2026-01-14 02:00:00',
      ],
      [
        '650100',
        '650000',
        'submitted',
        false,
        1,
        'submit',
        '乌鲁木齐市住建局',
        'city',
        '2026-01-10 03:00:00',
        null,
      ],
    ]);
  });

  it('keep the trail with who, when and the comments naming unit and indicator', async () => {
    expect(
      await rows(
        tokens.ministry,
        "SELECT seq, action, actor, actor_role, CAST(acted_at AS VARCHAR), state, comments FROM review_actions WHERE city_code = '640100' ORDER BY seq",
      ),
    ).toEqual([
      [1, 'submit', '银川市住建局', 'city', '2026-01-10 02:00:00', 'submitted', []],
      [
        2,
        'return',
        '宁夏住建厅',
        'reviewer:province:64',
        '2026-01-11 02:00:00',
        'returned',
        [{ text: '请核实', unit: '640104', indicator: 'D01' }],
      ],
      [3, 'submit', '银川市住建局', 'city', '2026-01-12 02:00:00', 'submitted', []],
      [4, 'approve', '宁夏住建厅', 'reviewer:province:64', '2026-01-13 02:00:00', 'approved', []],
      [5, 'accept', '住建部城市体检司', 'reviewer:ministry', '2026-01-14 02:00:00', 'accepted', []],
    ]);
  });

  it("show a province's reviewer its own province's cities only, and a city its own review only", async () => {
    expect(await rows(tokens.ningxia, 'SELECT city_code, state FROM reviews')).toEqual([
      ['640100', 'accepted'],
    ]);
    expect(await rows(tokens.xinjiang, 'SELECT city_code, state FROM reviews')).toEqual([
      ['650100', 'submitted'],
    ]);
    // Asking for the other province's city by name finds nothing, in either view.
    expect(await rows(tokens.xinjiang, "SELECT count(*) FROM reviews WHERE city_code = '640100'")).toEqual([
      [0],
    ]);
    expect(
      await rows(tokens.xinjiang, "SELECT count(*) FROM review_actions WHERE province_code = '640000'"),
    ).toEqual([[0]]);
    expect(await rows(tokens.yinchuan, 'SELECT DISTINCT city_code FROM review_actions')).toEqual([
      ['640100'],
    ]);
    expect(await rows(tokens.yinchuan, 'SELECT city_code FROM reviews')).toEqual([['640100']]);
  });
});
