// The running stack of the pipeline tests: a bucket of its own on the shared object store, a namespace of topics
// and consumer groups on the shared broker, the built services as processes, and the built CLI as a city runs it.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CredentialStore,
  type IssuedCredential,
  issueCredential,
  type RoleName,
} from '@citycheck/credentials';
import { ensureTopics, type Producer, pipelineTopicSpecs } from '@citycheck/kafka';
import {
  createTestStore,
  freePort,
  repositoryRoot,
  type ServiceName,
  type ServiceProcess,
  startService,
  testKafka,
  uniqueName,
  waitFor,
} from '@citycheck/testkit';
import { type Namespace, namespaceEnv } from './namespace.js';

export interface Stack {
  readonly store: Awaited<ReturnType<typeof createTestStore>>;
  readonly namespace: Namespace;
  readonly ingestUrl: string;
  /** The query service's address; only served when the stack was prepared with `query`. */
  readonly queryUrl: string;
  /** The services started so far, in the order they started. */
  readonly services: readonly ServiceProcess[];
  /** Starts `services` in order, each once it says it serves, then waits until ingest is ready. */
  start(services: readonly ServiceName[]): Promise<void>;
  /** Stops every service started (all of them, even after one fails to stop) and removes the exports. */
  stop(): Promise<void>;
}

export interface StackOptions {
  /** The query service's port, pg port (any), export directory and a lake refresh of 500 ms. */
  readonly query?: boolean;
  /** Variables for every service, over the namespace's. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * A bucket and namespace named after `name` with the pipeline's topics (3 partitions) created, and an ingest
 * port; the services are started by `start`, after the test has issued its credentials.
 */
export const prepareStack = async (
  name: string,
  { query = false, env = {} }: StackOptions = {},
): Promise<Stack> => {
  const store = await createTestStore(name);
  const ingestPort = await freePort();
  const queryPort = await freePort();
  const exports = query ? await mkdtemp(join(tmpdir(), `citycheck-${name}-exports-`)) : undefined;
  const namespace = namespaceEnv(uniqueName(name), store.bucket, {
    INGEST_PORT: String(ingestPort),
    ...(exports === undefined
      ? {}
      : {
          QUERY_PORT: String(queryPort),
          QUERY_PG_PORT: '0',
          QUERY_EXPORT_DIRECTORY: exports,
          QUERY_LAKE_REFRESH_MS: '500',
        }),
    ...env,
  });
  const admin = testKafka().admin();
  await admin.connect();
  await ensureTopics(admin, pipelineTopicSpecs(3, 1, namespace.topicNamespace));
  await admin.disconnect();
  const ingestUrl = `http://127.0.0.1:${ingestPort}`;
  const services: ServiceProcess[] = [];
  return {
    store,
    namespace,
    ingestUrl,
    queryUrl: `http://127.0.0.1:${queryPort}`,
    services,
    start: async (names) => {
      for (const service of names) services.push(await startService({ service, env: namespace.env }));
      await waitFor(
        async () =>
          (await fetch(`${ingestUrl}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined,
        { timeoutMs: 60_000, what: 'ingest to be ready' },
      );
    },
    stop: async () => {
      const failures: unknown[] = [];
      for (const service of services) await service.stop().catch((error: unknown) => failures.push(error));
      if (exports !== undefined) await rm(exports, { recursive: true, force: true });
      if (failures.length > 0) throw failures[0];
    },
  };
};

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `citycheck <args>` as a city runs it: the built CLI with `env` over this process's; never rejects. */
export const citycheck = (env: Readonly<Record<string, string>>, ...args: string[]): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repositoryRoot, 'packages', 'cli', 'dist', 'main.js'), ...args],
      { env: { ...process.env, ...env }, cwd: repositoryRoot },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
    );
  });

/** Issues a credential on credentials.v1 (the cluster's, read by every namespace) through `producer`. */
export const issueTestCredential = (
  producer: Producer,
  role: RoleName,
  name: string,
  cityCode?: string,
): Promise<IssuedCredential> =>
  issueCredential(
    { producer, store: new CredentialStore() },
    { role, name, ...(cityCode === undefined ? {} : { cityCode }) },
  );
