// The pipeline under test for the fault and scale-out tests: a private Kafka and S3Proxy (so a test may stop
// them), the three services as real processes of this build, one credential per city, a small generated
// cycle with its independently worked-out rollups, and the checks every test ends with: each submission
// that was acknowledged is in the lake exactly once (over the committed objects the commit log lists, and
// over a plain glob of observations/), no rejected one is, and the rollups equal the expected ones.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCatalogue } from '@citycheck/catalogue';
import { loadDivisionRegistry } from '@citycheck/divisions';
import {
  type CycleManifest,
  compareRollups,
  computeExpectedRollups,
  type ExpectedRollups,
  type PushOptions,
  type PushTally,
  pushCities,
  type RollupMismatch,
  readCityLines,
  writeNationalCycle,
} from '@citycheck/generator';
import { issueCityTokens, preparePipelineTopics } from '@citycheck/generator/stack';
import { createKafka, fetchConsumerLag, topicNames } from '@citycheck/kafka';
import {
  createCommitLog,
  createObjectStore,
  datasets,
  type LakeDatabase,
  type ObjectStore,
  openLakeDatabase,
  rollupObjectKey,
  s3Url,
} from '@citycheck/lake';
import { metricNames, parsePrometheusText } from '@citycheck/metrics';
import {
  freePort,
  type PrivateInfra,
  repositoryRoot,
  type ServiceName,
  type ServiceProcess,
  stackEnvironment,
  startPrivateInfra,
  startService,
  waitFor,
} from '@citycheck/testkit';
import { afterAll, beforeAll } from 'vitest';

export const extensionDirectory = (): string =>
  process.env.DUCKDB_EXTENSION_DIRECTORY ??
  join(process.env.CITYCHECK_CACHE_DIR ?? join(homedir(), '.cache', 'citycheck'), 'duckdb-extensions');

export interface SmallCycle {
  readonly directory: string;
  readonly manifest: CycleManifest;
  readonly expected: ExpectedRollups;
  /** submissionId -> number of observations, for every line of the cycle. */
  readonly observationsOf: ReadonlyMap<string, number>;
  /** The ids validation must reject. */
  readonly deliberateErrors: ReadonlySet<string>;
  lines(cityCode: string): readonly string[];
}

/** A scaled-down cycle: a few cities, a few dozen communities each, one block and building per street. */
export const smallCycle = (
  cities: readonly string[],
  { seed = 7, communitiesPerCity = 30 }: { seed?: number; communitiesPerCity?: number } = {},
): SmallCycle => {
  const directory = mkdtempSync(join(tmpdir(), 'citycheck-cycle-'));
  // The files are only read while the test file runs; each file runs in a process of its own.
  process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
  const catalogue = loadCatalogue('2024.1');
  const manifest = writeNationalCycle({
    out: directory,
    catalogue,
    divisions: loadDivisionRegistry(),
    seed,
    cities,
    communitiesPerCity,
    blocksPerStreet: 1,
    housingPerStreet: 1,
    deliberateErrors: cities.length,
    corrections: cities.length,
  });
  const expected = computeExpectedRollups(directory, manifest, catalogue);
  const observationsOf = new Map<string, number>();
  const byCity = new Map<string, readonly string[]>();
  for (const city of manifest.cities) {
    const lines = readCityLines(directory, city);
    byCity.set(city.cityCode, lines);
    for (const line of lines) {
      const submission = JSON.parse(line) as { submissionId: string; observations: unknown[] };
      observationsOf.set(submission.submissionId, submission.observations.length);
    }
  }
  return {
    directory,
    manifest,
    expected,
    observationsOf,
    deliberateErrors: new Set(manifest.deliberateErrors.map((error) => error.submissionId)),
    lines: (cityCode) => byCity.get(cityCode) ?? [],
  };
};

export interface Pipeline {
  readonly infra: PrivateInfra;
  readonly ingestUrl: string;
  readonly env: Readonly<Record<string, string>>;
  readonly tokens: ReadonlyMap<string, string>;
  readonly logDirectory: string;
  /** The running instance(s) of each service, by instance name. */
  readonly instances: Map<string, ServiceProcess>;
  /** Starts (or restarts) one instance; `name` tells instances of the same service apart. */
  start(
    service: ServiceName,
    options?: { name?: string; env?: Readonly<Record<string, string>> },
  ): Promise<ServiceProcess>;
  store(bucket?: string): ObjectStore;
  destroy(): Promise<void>;
}

export interface PipelineOptions {
  /** Names the folder under test-artifacts/ the services' logs are copied to when the pipeline is destroyed. */
  readonly name: string;
  readonly cities: readonly string[];
  /** Variables for every service (AGGREGATE_FLUSH_RECORDS ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Start ingest, validate and aggregate at once (default), or leave that to the test. */
  readonly startServices?: boolean;
  /** The private broker's JVM heap, when the default is more than the test can spare. */
  readonly kafkaHeap?: string;
}

/** A private broker and object store, credentials for `cities`, and (by default) one instance of each service. */
export const startPipeline = async ({
  name,
  cities,
  env: extra = {},
  startServices = true,
  kafkaHeap,
}: PipelineOptions): Promise<Pipeline> => {
  const directory = mkdtempSync(join(tmpdir(), 'citycheck-stack-'));
  const infra = await startPrivateInfra({ directory, ...(kafkaHeap === undefined ? {} : { kafkaHeap }) });
  try {
    const ingestPort = await freePort();
    const env = await stackEnvironment({
      infra,
      ingestPort,
      extra: {
        TOPIC_PARTITIONS: '6',
        // A killed worker holds its partitions until the broker notices it is gone: keep that short.
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        ROLLUP_DEBOUNCE_MS: '300',
        AGGREGATE_IDLE_FLUSH_MS: '200',
        ...extra,
      },
    });
    await preparePipelineTopics(infra.kafkaBrokers);
    const tokens = await issueCityTokens(infra.kafkaBrokers, cities);
    const logDirectory = join(directory, 'logs');
    const instances = new Map<string, ServiceProcess>();
    const pipeline: Pipeline = {
      infra,
      ingestUrl: `http://127.0.0.1:${ingestPort}`,
      env,
      tokens,
      logDirectory,
      instances,
      async start(service, { name: instanceName = service, env: own = {} } = {}) {
        const instance = await startService({
          service,
          name: instanceName,
          env: { ...env, ...own },
          logDirectory,
        });
        instances.set(instanceName, instance);
        return instance;
      },
      store: (bucket = infra.bucket) =>
        createObjectStore({
          endpoint: infra.s3Endpoint,
          region: 'us-east-1',
          accessKeyId: 'citycheck',
          secretAccessKey: 'citycheck-local-secret',
          bucket,
        }),
      async destroy() {
        await Promise.all([...instances.values()].map((instance) => instance.kill9()));
        // The logs outlive the stack, for whoever has to read why a test failed.
        const artifacts = join(repositoryRoot, 'test-artifacts', name);
        rmSync(artifacts, { recursive: true, force: true });
        cpSync(logDirectory, join(artifacts, 'services'), { recursive: true });
        cpSync(join(infra.directory, '.local', 'logs'), join(artifacts, 'infra'), { recursive: true });
        await infra.destroy();
      },
    };
    if (startServices) {
      for (const service of ['ingest', 'validate', 'aggregate'] as const) await pipeline.start(service);
    }
    return pipeline;
  } catch (error) {
    await infra.destroy().catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
};

export interface PipelineFixture {
  readonly pipeline: Pipeline;
  readonly cycle: SmallCycle;
}

/**
 * For a test file: before its tests a small cycle of `cities` and a pipeline with their credentials,
 * after them the pipeline destroyed. Read `pipeline` and `cycle` inside the tests.
 */
export const usePipeline = ({
  seed,
  communitiesPerCity,
  ...options
}: PipelineOptions & { seed: number; communitiesPerCity: number }): PipelineFixture => {
  let pipeline: Pipeline | undefined;
  let cycle: SmallCycle | undefined;
  beforeAll(async () => {
    cycle = smallCycle(options.cities, { seed, communitiesPerCity });
    pipeline = await startPipeline(options);
  }, 240_000);
  afterAll(async () => {
    await pipeline?.destroy();
  }, 120_000);
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the pipeline is started before the tests');
    return value;
  };
  return {
    get pipeline() {
      return started(pipeline);
    },
    get cycle() {
      return started(cycle);
    },
  };
};

/** Pushes the cycle's lines of `cities` (every city by default) through ingest with each city's token. */
export const pushCycle = (
  { pipeline, cycle }: PipelineFixture,
  {
    cities = cycle.manifest.cities.map((city) => city.cityCode),
    lines = (cityCode) => cycle.lines(cityCode),
    ...options
  }: Omit<PushOptions, 'url' | 'token' | 'cities'> & {
    cities?: readonly string[];
    lines?: (cityCode: string) => readonly string[];
  },
): ReturnType<typeof pushCities> =>
  pushCities({
    url: pipeline.ingestUrl,
    token: (city) => pipeline.tokens.get(city) as string,
    cities: cities.map((cityCode) => ({ cityCode, lines: () => lines(cityCode) })),
    ...options,
  });

export interface LakeCopies {
  /** submissionId -> rows and distinct Kafka coordinates holding it. */
  readonly bySubmission: ReadonlyMap<string, { readonly rows: number; readonly copies: number }>;
  readonly rows: number;
}

export interface LakeReading {
  readonly committed: LakeCopies;
  readonly glob: LakeCopies;
  readonly rollupMismatches: readonly RollupMismatch[];
}

const copiesOf = async (lake: LakeDatabase, from: string): Promise<LakeCopies> => {
  const rows = (
    await lake.connection.runAndReadAll(
      `SELECT submission_id, count(*) AS n, count(DISTINCT (source_topic, source_partition, source_offset)) AS copies
       FROM ${from} WHERE cycle = 2024 GROUP BY submission_id`,
    )
  ).getRowObjectsJS() as { submission_id: string; n: bigint; copies: bigint }[];
  return {
    bySubmission: new Map(
      rows.map((row) => [row.submission_id, { rows: Number(row.n), copies: Number(row.copies) }]),
    ),
    rows: rows.reduce((sum, row) => sum + Number(row.n), 0),
  };
};

/** Reads the lake of `store` both ways and compares its rollups with the expected ones. */
export const readLake = async (store: ObjectStore, expected: ExpectedRollups): Promise<LakeReading> => {
  const lake = await openLakeDatabase({ extensionDirectory: extensionDirectory(), s3: store.config });
  try {
    const entries = await createCommitLog(store, datasets.observations).committed();
    const keys = entries.flatMap((entry) =>
      entry.objects.map((object) => `'${s3Url(store.bucket, object.key)}'`),
    );
    const hive = "hive_partitioning = true, hive_types = {'cycle': INTEGER}";
    const committed =
      keys.length === 0
        ? { bySubmission: new Map(), rows: 0 }
        : await copiesOf(lake, `read_parquet([${keys.join(', ')}], ${hive})`);
    const glob = await copiesOf(
      lake,
      `read_parquet('s3://${store.bucket}/observations/*/*/*/*.parquet', ${hive})`,
    );
    const rollups = (
      await lake.connection.runAndReadAll(
        `SELECT indicator_code, level, area_code, value, units_reported
         FROM read_parquet('${s3Url(store.bucket, rollupObjectKey(2024, 'indicator_rollups'))}')
         WHERE level IN ('province', 'nation')`,
      )
    ).getRowObjectsJS() as unknown as Parameters<typeof compareRollups>[1];
    return { committed, glob, rollupMismatches: compareRollups(expected, rollups) };
  } finally {
    lake.close();
  }
};

/** Waits until the rollups equal the expected ones and both workers have caught up; returns the reading. */
export const waitForCompleteLake = async (
  pipeline: Pipeline,
  cycle: SmallCycle,
  {
    bucket,
    namespace = '',
    timeoutMs = 240_000,
  }: { bucket?: string; namespace?: string; timeoutMs?: number } = {},
): Promise<LakeReading> => {
  const store = pipeline.store(bucket);
  const kafka = createKafka({ brokers: [pipeline.infra.kafkaBrokers], clientId: 'citycheck-fault-test' });
  const admin = kafka.admin();
  await admin.connect();
  const names = topicNames(namespace);
  const groups = {
    validate: pipeline.env.VALIDATE_GROUP_ID ?? 'citycheck-validate',
    aggregate: pipeline.env.AGGREGATE_GROUP_ID ?? 'citycheck-aggregate',
  };
  const validateGroup = namespace === '' ? groups.validate : `${namespace}-validate`;
  const aggregateGroup = namespace === '' ? groups.aggregate : `${namespace}-aggregate`;
  let last = 'nothing read yet';
  try {
    return await waitFor(
      async () => {
        const [received, validated] = await Promise.all([
          fetchConsumerLag(
            admin,
            namespace === '' ? groups.validate : `${namespace}-validate`,
            names.submissionsReceived,
          ),
          fetchConsumerLag(
            admin,
            namespace === '' ? groups.aggregate : `${namespace}-aggregate`,
            names.submissionsValidated,
          ),
        ]);
        // Caught up means no readable record is left: the workers commit past transaction markers and
        // aborted records, so that is a lag of exactly 0 on the transactional validated topic too.
        const lag = (lags: readonly { lag: bigint }[]): string => lags.map((p) => p.lag).join(' ');
        const described = await admin.describeGroups([validateGroup, aggregateGroup]);
        const members = described.groups.map(
          (group) => `${group.groupId} ${group.state} ${group.members.length} members`,
        );
        last = `validate lag ${lag(received)}, aggregate lag ${lag(validated)}; ${members.join(', ')}`;
        if ([...received, ...validated].some((p) => p.lag > 0n)) return undefined;
        const reading = await readLake(store, cycle.expected);
        last += `, ${reading.rollupMismatches.length} rollups differ`;
        return reading.rollupMismatches.length === 0 ? reading : undefined;
      },
      { timeoutMs, intervalMs: 1_000, what: 'the lake to hold the whole cycle with the expected rollups' },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message} (last seen: ${last})`, { cause: error });
    });
  } finally {
    await admin.disconnect();
    store.close();
  }
};

/**
 * What went wrong, as readable lines (empty when all is well): acknowledged valid submissions missing from
 * the lake, held more than once or with the wrong number of rows; deliberately bad or never-acknowledged
 * ones present; rollups that differ.
 */
export const exactlyOnceProblems = (cycle: SmallCycle, tally: PushTally, reading: LakeReading): string[] => {
  const problems: string[] = [];
  for (const [how, copies] of [
    ['committed objects', reading.committed],
    ['glob observations/**', reading.glob],
  ] as const) {
    for (const id of tally.stored) {
      if (cycle.deliberateErrors.has(id)) continue;
      const found = copies.bySubmission.get(id);
      const want = cycle.observationsOf.get(id);
      if (found === undefined) problems.push(`${how}: acknowledged submission ${id} is missing`);
      else if (found.copies !== 1 || found.rows !== want)
        problems.push(
          `${how}: ${id} is held ${found.copies} times in ${found.rows} rows (want 1 copy, ${want} rows)`,
        );
    }
    for (const id of copies.bySubmission.keys()) {
      if (cycle.deliberateErrors.has(id))
        problems.push(`${how}: deliberately bad submission ${id} is in the lake`);
      else if (!tally.stored.has(id))
        problems.push(`${how}: ${id} is in the lake but was never acknowledged`);
    }
  }
  for (const mismatch of reading.rollupMismatches) {
    problems.push(
      `rollup ${mismatch.indicator} ${mismatch.level} ${mismatch.areaCode}: expected ${mismatch.expected}, got ${mismatch.actual}`,
    );
  }
  return problems;
};

/**
 * The consumer-lag series a running worker exports on its /metrics (`citycheck_consumer_lag_records`), as
 * `topic/partition value` lines; the server's address is the last one its log announced.
 */
export const exportedLag = async (instance: ServiceProcess): Promise<string[]> => {
  const announced = instance
    .output()
    .split('\n')
    .filter((line) => line.includes('"ops server listening"'))
    .map((line) => (JSON.parse(line) as { url: string }).url);
  const url = announced[announced.length - 1];
  if (url === undefined) throw new Error(`${instance.name} announced no ops server`);
  const response = await fetch(`${url}/metrics`);
  return parsePrometheusText(await response.text())
    .filter((sample) => sample.name === metricNames.consumerLag)
    .map((sample) => `${sample.labels.topic}/${sample.labels.partition} ${sample.value}`)
    .sort();
};

/** Fails with the first problems spelled out (vitest would truncate a long array). */
/**
 * Checks what the cities were told: every submission of the cycle stored, except the deliberately bad ones,
 * each of which ingest refused at its door for the rule it breaks (ingest applies validation's rules to every
 * line, so none of them reaches the broker). Returns how many were stored.
 */
export const assertStoredButTheDeliberateErrors = (cycle: SmallCycle, tally: PushTally): number => {
  const problems: string[] = [];
  for (const error of cycle.manifest.deliberateErrors) {
    const reason = tally.refused.get(error.submissionId);
    if (reason === undefined) problems.push(`deliberately bad ${error.submissionId} was not refused`);
    else if (!reason.includes(error.breaks))
      problems.push(`deliberately bad ${error.submissionId} was refused for ${reason}, not ${error.breaks}`);
  }
  for (const [id, reason] of tally.refused)
    if (!cycle.deliberateErrors.has(id)) problems.push(`${id} was refused: ${reason}`);
  const want = cycle.manifest.totals.submissions - cycle.deliberateErrors.size;
  if (tally.stored.size !== want) problems.push(`${tally.stored.size} stored, want ${want}`);
  if (problems.length > 0)
    throw new Error(`${problems.length} problems:\n${problems.slice(0, 25).join('\n')}`);
  return tally.stored.size;
};

export const assertExactlyOnce = (cycle: SmallCycle, tally: PushTally, reading: LakeReading): void => {
  const problems = exactlyOnceProblems(cycle, tally, reading);
  if (problems.length > 0) {
    throw new Error(`${problems.length} problems, the first ones:\n${problems.slice(0, 25).join('\n')}`);
  }
};
