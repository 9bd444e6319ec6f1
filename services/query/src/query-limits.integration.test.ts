// The query service's limits when many analysts push at once, against the real object store and DuckDB:
// every runaway statement is stopped near its timeout however many run together, a statement that would
// build gigabytes from a few bytes is refused and the process stays within its memory, one huge statement
// does not hold up other analysts, and a lake object that went missing is told apart from a store outage.
import { encodeParquet, type LakeDatabase, lakeViews, type ObjectStore } from '@citycheck/lake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issueQueryCredentials,
  openTestLakeApps,
  postQuery,
  type QueryApp,
  type TestLakeApps,
} from '../test/query-fixture.js';
import type { QueryLimits } from './query-engine.js';

const { store: authenticator, guangdong, ministry } = issueQueryCredentials();

let lake: TestLakeApps;
let store: ObjectStore;
let writer: LakeDatabase;

const startApp = (limits: Partial<QueryLimits>, processMemoryBytes?: number, scopeStaleMs?: number) =>
  lake.start({
    limits: { queueLimit: 16, ...limits },
    ...(processMemoryBytes === undefined ? {} : { processMemoryBytes }),
    ...(scopeStaleMs === undefined ? {} : { scopeStaleMs }),
  });

beforeAll(async () => {
  lake = await openTestLakeApps('limits', 40, authenticator);
  ({ store, writer } = lake);
});

afterAll(() => lake?.close());

const runaway =
  'SELECT sum(a.value * b.value * c.value * d.value * e.value) FROM observations a, observations b, observations c, observations d, observations e';

describe('limits under concurrency', () => {
  // 40 ms: the deadline falls while statements are checked or set up, before DuckDB runs them.
  it.each([1_500, 40])(
    'stops each of 8 runaway statements at once near a timeout of %i ms',
    async (timeoutMs) => {
      const { app } = await startApp({ timeoutMs, concurrency: 2 });
      try {
        // Each analyst's first statement builds its province's database; that is not what is timed here.
        await postQuery(app, guangdong, 'SELECT 1');
        const started = Date.now();
        const answers = await Promise.all(
          Array.from({ length: 8 }, async (_, index) => {
            // Staggered, so that some deadlines fall while a statement is being set up rather than running.
            await new Promise((resolve) => setTimeout(resolve, index * 37));
            const response = await postQuery(app, index % 2 === 0 ? guangdong : ministry, runaway);
            return {
              status: response.statusCode,
              code: response.json().error?.code,
              ms: Date.now() - started,
            };
          }),
        );
        for (const answer of answers) {
          expect(answer.status).toBe(422);
          expect(answer.code).toBe('query_timeout');
          // The deadline counts from arrival and covers the wait in line: all end close to it.
          expect(answer.ms).toBeLessThan(timeoutMs + 4_000);
        }
      } finally {
        await app.close();
      }
    },
    60_000,
  );

  it('refuses a statement that builds gigabytes from a few bytes, and the process does not grow', async () => {
    const { app } = await startApp({});
    try {
      const before = process.memoryUsage.rss();
      const response = await postQuery(app, guangdong, "SELECT length(repeat('x', 3000000000))");
      expect(response.statusCode).toBe(400);
      expect(response.json().error.message).toMatch(
        /repeat\(\) is accepted only with a size given as a number/,
      );
      expect(process.memoryUsage.rss() - before).toBeLessThan(256 * 1024 ** 2);
    } finally {
      await app.close();
    }
  });

  it('stops statements when the process passes its memory bound, whatever DuckDB counts', async () => {
    const bound = process.memoryUsage.rss() + 400 * 1024 ** 2;
    const { app } = await startApp({ memoryLimit: '16GB' }, bound);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 10);
    try {
      const response = await postQuery(
        app,
        ministry,
        'SELECT length(list(a.unit_code || b.unit_code || c.unit_code)::VARCHAR) FROM observations a, observations b, observations c',
      );
      expect(response.statusCode).toBe(422);
      expect(response.json().error.code).toBe('query_memory_exceeded');
      // Stopped within a watch interval or two of crossing the bound.
      expect(peak).toBeLessThan(bound + 1024 ** 3);
    } finally {
      clearInterval(sampler);
      await app.close();
    }
  }, 60_000);

  it('a 250 KB statement does not hold up other analysts', async () => {
    const { app } = await startApp({});
    try {
      expect((await postQuery(app, guangdong, 'SELECT 1')).statusCode).toBe(200);
      const huge = `SELECT count(*) FROM observations WHERE ${Array.from({ length: 31_000 }, () => 'i=i').join(' AND ')}`;
      expect(huge.length).toBeGreaterThan(240_000);
      const big = postQuery(app, ministry, huge);
      // The small statement arrives while the big one would be in DuckDB's parser.
      await new Promise((resolve) => setTimeout(resolve, 150));
      const started = Date.now();
      const small = await postQuery(app, guangdong, 'SELECT count(*) AS n FROM rollups');
      const smallMs = Date.now() - started;
      expect(small.statusCode).toBe(200);
      expect(smallMs).toBeLessThan(500);
      const refused = await big;
      expect(refused.statusCode).toBe(400);
      expect(refused.json().error.message).toMatch(/at most 65536 are accepted/);
    } finally {
      await app.close();
    }
  });
});

describe('a missing lake object', () => {
  it('is answered as a lake inconsistency that a retry does not mend, not as a store outage', async () => {
    const { app } = await startApp({});
    let restore = async (): Promise<void> => undefined;
    try {
      const keys = await store.list('observations/');
      const beijing = keys.find((key) => key.includes('province_code=110000'));
      expect(beijing).toBeDefined();
      const bytes = await store.get(beijing as string);
      await store.delete([beijing as string]);
      restore = async () =>
        store.put(beijing as string, bytes as Uint8Array, 'application/vnd.apache.parquet');
      const response = await postQuery(app, ministry, 'SELECT count(*) FROM observations');
      expect(response.statusCode).toBe(500);
      expect(response.json().error).toMatchObject({ code: 'lake_object_missing', retriable: false });
      expect(response.headers['retry-after']).toBeUndefined();
    } finally {
      await restore();
      await app.close();
    }
  });
});

describe("a province's copy of the lake", () => {
  it('follows the lake at the first statement past its staleness window, and answers from the copy within it', async () => {
    const fresh = await startApp({}, undefined, 0);
    const lagging = await startApp({}, undefined, 60_000);
    try {
      const divisions = async (app: QueryApp) =>
        (await postQuery(app, guangdong, 'SELECT code FROM divisions ORDER BY code')).json().rows;
      expect(await divisions(fresh.app)).toEqual([]);
      expect(await divisions(lagging.app)).toEqual([]);
      const row = (code: string, province: string) => ({
        code,
        level: 'city',
        name: code,
        parent_code: province,
        street_code: null,
        district_code: null,
        city_code: code,
        province_code: province,
      });
      await store.put(
        'reference/divisions.parquet',
        await encodeParquet(
          writer.connection,
          [row('440100', '440000'), row('110100', '110000')],
          Object.fromEntries(
            (lakeViews.find((view) => view.name === 'divisions')?.columns ?? []).map((column) => [
              column.name,
              column.type,
            ]),
          ),
          ['code'],
        ),
        'application/vnd.apache.parquet',
      );
      await fresh.engine.refresh();
      await lagging.engine.refresh();
      expect(await divisions(fresh.app)).toEqual([['440100']]);
      expect(await divisions(lagging.app)).toEqual([]);
    } finally {
      await store.delete(['reference/divisions.parquet']);
      await fresh.app.close();
      await lagging.app.close();
    }
  });
});
