// The query service for integration tests: a fresh bucket holding the test lake (test-lake.ts), the engine
// over it, and the HTTP app authenticating against the credentials a test hands it; closed in one call.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Authenticator } from '@citycheck/credentials';
import type { LakeDatabase, ObjectStore } from '@citycheck/lake';
import { createLogger } from '@citycheck/logging';
import { createMetricsRegistry } from '@citycheck/metrics';
import {
  bearer,
  createTestCredentials,
  createTestStore,
  openTestDatabase,
  type TestCredentials,
  testExtensionDirectory,
} from '@citycheck/testkit';
import { buildQueryApp, type QueryAppOptions } from '../src/app.js';
import { createLakeViewDefiner } from '../src/lake-views.js';
import { createQueryEngine, type QueryEngine, type QueryLimits } from '../src/query-engine.js';
import { type TestLake, writeTestLake } from './test-lake.js';

/** The app once ready (buildQueryApp's instance without its thenable). */
export type QueryApp = Awaited<ReturnType<typeof buildQueryApp>>;

/** Limits roomy enough for the test lake on a shared two-core machine. */
export const testLimits: QueryLimits = {
  timeoutMs: 30_000,
  memoryLimit: '1GB',
  rowCap: 100_000,
  concurrency: 2,
  queueLimit: 8,
  threads: 2,
};

const silent = createLogger({ service: 'query-test', level: 'silent' });

/** One credential of each kind the query service tells apart, as tokens, and the store that knows them. */
export interface QueryCredentials extends TestCredentials {
  /** A Guangdong analyst (analyst:province:44). */
  readonly guangdong: string;
  readonly ministry: string;
  /** Guangzhou (440100). */
  readonly city: string;
  readonly operator: string;
}

export const issueQueryCredentials = (): QueryCredentials => {
  const credentials = createTestCredentials();
  return {
    ...credentials,
    guangdong: credentials.issue('0000000000000044', 'analyst:province:44'),
    ministry: credentials.issue('00000000000000aa', 'analyst:ministry'),
    city: credentials.issue('00000000000000cc', 'city', { cityCode: '440100' }),
    operator: credentials.issue('00000000000000bb', 'operator'),
  };
};

/** POST /v1/query as the credential `token` sends it; with no `accept`, no Accept header (JSON). */
export const postQuery = (app: QueryApp, token: string, sql: string, accept?: string) =>
  app.inject({
    method: 'POST',
    url: '/v1/query',
    headers: {
      ...bearer(token),
      ...(accept === undefined ? {} : { accept }),
      'content-type': 'application/json',
    },
    payload: { sql },
  });

export interface TestLakeStore {
  readonly store: ObjectStore;
  /** A DuckDB connection to the same bucket, for writing more objects. */
  readonly writer: LakeDatabase;
  /** The rows written (none when the lake was left empty). */
  readonly lake: TestLake;
  /** A private temporary directory, removed on close. */
  readonly scratch: string;
  close(): Promise<void>;
}

/** A fresh bucket named after `name`, holding the test lake with `unitsPerCity` communities per city, or
 * nothing when `unitsPerCity` is 0. */
export const openTestLake = async (name: string, unitsPerCity: number): Promise<TestLakeStore> => {
  const scratch = await mkdtemp(join(tmpdir(), `citycheck-${name}-`));
  const store = await createTestStore(name);
  const writer = await openTestDatabase(store);
  const lake =
    unitsPerCity === 0
      ? { observations: [], rollups: [] }
      : await writeTestLake(store, writer.connection, { unitsPerCity });
  return {
    store,
    writer,
    lake,
    scratch,
    async close() {
      writer.close();
      store.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
};

export interface TestEngineOptions {
  readonly limits?: Partial<QueryLimits>;
  readonly exportDirectory: string;
  readonly processMemoryBytes?: number;
  readonly scopeStaleMs?: number;
}

/** The locked-down engine over the store's lake, with `testLimits` overridden by `limits`. */
export const startTestEngine = (
  store: ObjectStore,
  { limits = {}, ...options }: TestEngineOptions,
): Promise<QueryEngine> =>
  createQueryEngine({
    extensionDirectory: testExtensionDirectory(),
    s3: store.config,
    defineViews: createLakeViewDefiner(store),
    limits: { ...testLimits, ...limits },
    logger: silent,
    ...options,
  });

/** The HTTP app over the engine, authenticating against `authenticator`; ready to inject into. */
export const startTestApp = async (
  engine: QueryEngine,
  authenticator: Authenticator,
  options: Partial<Omit<QueryAppOptions, 'engine' | 'authenticator'>> = {},
): Promise<QueryApp> => {
  const app = buildQueryApp({
    engine,
    authenticator,
    logger: silent,
    registry: createMetricsRegistry({ service: 'query-test', processMetrics: false }),
    ...options,
  });
  await app.ready();
  return app;
};

export interface TestLakeApps extends TestLakeStore {
  /** An app over an engine of its own (its own limits, an export directory of its own under scratch). */
  start(
    engine?: Omit<TestEngineOptions, 'exportDirectory'>,
    app?: Partial<Omit<QueryAppOptions, 'engine' | 'authenticator'>>,
  ): Promise<{ readonly app: QueryApp; readonly engine: QueryEngine }>;
}

/**
 * A fresh test lake (see openTestLake) for files that start apps with different limits over it; close()
 * stops every engine started, then drops the lake. Each test closes the apps it starts.
 */
export const openTestLakeApps = async (
  name: string,
  unitsPerCity: number,
  authenticator: Authenticator,
): Promise<TestLakeApps> => {
  const lake = await openTestLake(name, unitsPerCity);
  const engines: QueryEngine[] = [];
  return {
    ...lake,
    async start(engineOptions = {}, appOptions = {}) {
      const exportDirectory = await mkdtemp(join(lake.scratch, 'exports-'));
      const engine = await startTestEngine(lake.store, { ...engineOptions, exportDirectory });
      engines.push(engine);
      return { app: await startTestApp(engine, authenticator, appOptions), engine };
    },
    async close() {
      for (const engine of engines) await engine.close();
      await lake.close();
    },
  };
};

export interface QueryServiceOptions {
  /** Names the bucket and the scratch directory. */
  readonly name: string;
  readonly authenticator: Authenticator;
  /** Communities per city in the test lake; 0 leaves the lake empty. */
  readonly unitsPerCity: number;
  readonly limits?: Partial<QueryLimits>;
  readonly app?: Partial<Omit<QueryAppOptions, 'engine' | 'authenticator'>>;
  /** Runs after the test lake is written and before the engine starts (to write more objects). */
  readonly beforeStart?: (lake: TestLakeStore) => Promise<void>;
  /** Also listen on a free port of 127.0.0.1 (for browsers and other processes). */
  readonly listen?: boolean;
}

export interface TestQueryService extends TestLakeStore {
  readonly engine: QueryEngine;
  readonly app: QueryApp;
  /** Where the exports are written (inside scratch). */
  readonly exportDirectory: string;
  /** The app's URL when it listens. */
  readonly url: string;
}

/** A running query service over a fresh test lake; close() stops the app and the engine and drops the lake. */
export const startQueryService = async ({
  name,
  authenticator,
  unitsPerCity,
  limits = {},
  app: appOptions = {},
  beforeStart,
  listen = false,
}: QueryServiceOptions): Promise<TestQueryService> => {
  const lake = await openTestLake(name, unitsPerCity);
  const exportDirectory = join(lake.scratch, 'exports');
  let engine: QueryEngine | undefined;
  let app: QueryApp | undefined;
  const close = async () => {
    await app?.close();
    await engine?.close();
    await lake.close();
  };
  try {
    await beforeStart?.(lake);
    engine = await startTestEngine(lake.store, { limits, exportDirectory });
    app = await startTestApp(engine, authenticator, appOptions);
    const url = listen ? await app.listen({ host: '127.0.0.1', port: 0 }) : '';
    return { ...lake, engine, app, exportDirectory, url, close };
  } catch (error) {
    await close();
    throw error;
  }
};
