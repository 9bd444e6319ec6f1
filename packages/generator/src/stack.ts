// A private pipeline stack for the benchmark and the fault tests: a Kafka broker and an S3Proxy of their
// own (the repository's infra/ scripts, copied under a state directory of their own, on free ports), the
// three services as real processes of this checkout's build (services/*/dist), and one credential per city.
// Nothing here touches the shared broker or bucket, so a test may stop the broker or the object store,
// or kill a worker with SIGKILL, while others keep using theirs.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CredentialStore,
  ensureCredentialsTopic,
  issueCredential,
  type RoleName,
} from '@citycheck/credentials';
import {
  CycleBook,
  cyclesTopic,
  designateCurrentCycle,
  ensureCyclesTopic,
  loadCycles,
  publishCyclesRecord,
} from '@citycheck/cycles';
import { createKafka, createReliableProducer, ensureTopics, pipelineTopicSpecs } from '@citycheck/kafka';

const run = promisify(execFile);

/** The repository root, found from this file (src/ or dist/ alike). */
export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A TCP port nothing listens on right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface PrivateInfra {
  readonly directory: string;
  readonly kafkaBrokers: string;
  readonly kafkaPort: number;
  readonly s3Endpoint: string;
  readonly s3Port: number;
  readonly bucket: string;
  /** Starts whichever of the two is not running (infra/up.sh). */
  up(...services: ('kafka' | 's3')[]): Promise<void>;
  /** Stops them (infra/down.sh: SIGTERM, then SIGKILL after the timeout). */
  down(...services: ('kafka' | 's3')[]): Promise<void>;
  /** The JVM's pid, read from the pid file up.sh writes; undefined when it is not running. */
  pid(service: 'kafka' | 's3'): number | undefined;
  /** Stops both and removes the state directory. */
  destroy(): Promise<void>;
}

export interface PrivateInfraOptions {
  /** State directory (Kafka data, S3 objects, logs); removed first when `fresh`. */
  readonly directory: string;
  readonly fresh?: boolean;
  readonly bucket?: string;
  readonly kafkaHeap?: string;
}

/**
 * A broker and an object store of one's own. infra/common.sh keeps its state in `<its repo>/.local`, so
 * the scripts are copied to `<directory>/infra` and run from there: same scripts, same settings, a state
 * directory and ports of their own. Downloads come from the shared cache (CITYCHECK_CACHE_DIR).
 */
export const startPrivateInfra = async ({
  directory,
  fresh = true,
  bucket = 'citycheck-lake',
  kafkaHeap,
}: PrivateInfraOptions): Promise<PrivateInfra> => {
  if (fresh) rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  const infraCopy = join(directory, 'infra');
  if (!existsSync(join(infraCopy, 'up.sh')))
    cpSync(join(repositoryRoot, 'infra'), infraCopy, { recursive: true });
  const [kafkaPort, controllerPort, s3Port] = await Promise.all([freePort(), freePort(), freePort()]);
  const env = {
    ...process.env,
    KAFKA_PORT: String(kafkaPort),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    S3_PORT: String(s3Port),
    S3_BUCKET: bucket,
    INFRA_STOP_TIMEOUT: '20',
    ...(kafkaHeap === undefined ? {} : { KAFKA_HEAP_OPTS: kafkaHeap }),
  };
  const script = async (name: string, services: readonly string[]): Promise<void> => {
    try {
      await run('bash', [join(infraCopy, name), ...services], { env, maxBuffer: 16 * 1_048_576 });
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw new Error(`infra/${name} ${services.join(' ')} failed:\n${stdout}\n${stderr}`, { cause: error });
    }
  };
  const pidFiles = {
    kafka: join(directory, '.local', 'kafka', 'kafka.pid'),
    s3: join(directory, '.local', 's3', 's3proxy.pid'),
  };
  const infra: PrivateInfra = {
    directory,
    kafkaBrokers: `127.0.0.1:${kafkaPort}`,
    kafkaPort,
    s3Endpoint: `http://127.0.0.1:${s3Port}`,
    s3Port,
    bucket,
    up: (...services) => script('up.sh', services),
    down: (...services) => script('down.sh', services),
    pid: (service) => {
      try {
        const pid = Number(readFileSync(pidFiles[service], 'utf8').trim());
        process.kill(pid, 0);
        return pid;
      } catch {
        return undefined;
      }
    },
    destroy: async () => {
      await script('down.sh', []).catch(() => undefined);
      rmSync(directory, { recursive: true, force: true });
    },
  };
  await infra.up();
  return infra;
};

export type ServiceName = 'ingest' | 'validate' | 'aggregate' | 'query';

export interface ServiceProcess {
  readonly name: string;
  readonly service: ServiceName;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  readonly running: boolean;
  /** SIGKILL: no drain, no goodbye. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the drain (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<void>;
}

export interface StartServiceOptions {
  readonly service: ServiceName;
  /** Instance name used for its log file (defaults to the service name). */
  readonly name?: string;
  /** Environment on top of this process's; the stack's settings come from `stackEnvironment`. */
  readonly env: Readonly<Record<string, string>>;
  readonly logDirectory: string;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=...']. */
  readonly nodeArgs?: readonly string[];
  /** How long to wait for the service to say it is ready. */
  readonly readyTimeoutMs?: number;
}

/** What a service prints (pino, JSON lines) once it serves: ingest and query listen, the workers consume. */
const readyMessages: Readonly<Record<ServiceName, RegExp>> = {
  ingest: /"msg":"Server listening at/,
  query: /"msg":"Server listening at/,
  validate: /"msg":"consuming"/,
  aggregate: /"msg":"consuming"/,
};

/** Starts `node services/<service>/dist/main.js` and waits until it is ready. */
export const startService = async ({
  service,
  name = service,
  env,
  logDirectory,
  nodeArgs = [],
  readyTimeoutMs = 120_000,
}: StartServiceOptions): Promise<ServiceProcess> => {
  const main = join(repositoryRoot, 'services', service, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -b tsconfig.json)`);
  mkdirSync(logDirectory, { recursive: true });
  const logFile = join(logDirectory, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, main], {
    cwd: repositoryRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  let seen = '';
  let ready = false;
  let running = true;
  const readyPromise = new Promise<void>((resolve) => {
    const watch = (chunk: Buffer): void => {
      log.write(chunk);
      if (ready) return;
      seen = (seen + chunk.toString('utf8')).slice(-65_536);
      if (readyMessages[service].test(seen)) {
        ready = true;
        resolve();
      }
    };
    child.stdout?.on('data', watch);
    child.stderr?.on('data', watch);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      log.end();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const outcome = await Promise.race([
    readyPromise.then(() => 'ready' as const),
    exited.then((code) => `exited with ${code}` as const),
    sleep(readyTimeoutMs).then(() => 'timed out' as const),
  ]);
  if (outcome !== 'ready') {
    child.kill('SIGKILL');
    throw new Error(`${name} did not become ready (${outcome}); last output:\n${seen.slice(-4_000)}`);
  }
  const handle: ServiceProcess = {
    name,
    service,
    pid: child.pid,
    logFile,
    exited,
    get running() {
      return running;
    },
    kill9: async () => {
      if (!running) return;
      child.kill('SIGKILL');
      await exited;
    },
    stop: async (timeoutMs = 30_000) => {
      if (!running) return;
      child.kill('SIGTERM');
      const finished = await Promise.race([exited.then(() => true), sleep(timeoutMs).then(() => false)]);
      if (!finished) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  return handle;
};

export interface StackEnvironmentOptions {
  readonly infra: PrivateInfra;
  readonly ingestPort: number;
  readonly logLevel?: string;
  /** Any other variables (AGGREGATE_FLUSH_RECORDS, ROLLUP_DEBOUNCE_MS, ...). */
  readonly extra?: Readonly<Record<string, string>>;
}

/** The environment every service of a private stack shares (packages/config names the variables). */
export const stackEnvironment = async ({
  infra,
  ingestPort,
  logLevel = 'info',
  extra = {},
}: StackEnvironmentOptions): Promise<Record<string, string>> => {
  return {
    LOG_LEVEL: logLevel,
    KAFKA_BROKERS: infra.kafkaBrokers,
    S3_ENDPOINT: infra.s3Endpoint,
    S3_BUCKET: infra.bucket,
    INGEST_HOST: '127.0.0.1',
    INGEST_PORT: String(ingestPort),
    // The workers' /metrics servers must not take the shared stack's ports (8081, 8082), nor each other's
    // when several instances run: port 0 lets the system pick one.
    VALIDATE_OPS_PORT: '0',
    AGGREGATE_OPS_PORT: '0',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    ...extra,
  };
};

/**
 * Creates the pipeline topics and waits until every partition has a leader that answers offset requests.
 * The services create missing topics themselves, but a service that creates them and reads their offsets at
 * once can meet NOT_LEADER_FOR_PARTITION on a fresh broker (ingest then exits), so a fresh stack makes them first.
 */
export const preparePipelineTopics = async (
  kafkaBrokers: string,
  { partitions = 6, namespace = '' }: { partitions?: number; namespace?: string } = {},
): Promise<void> => {
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'citycheck-stack-admin' });
  await ensureCredentialsTopic(kafka);
  await ensureCyclesTopic(kafka, { topic: cyclesTopic(namespace) });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const specs = pipelineTopicSpecs(partitions, 1, namespace);
    await ensureTopics(admin, specs);
    for (const topic of [...specs.map((spec) => spec.topic), 'credentials.v1', cyclesTopic(namespace)]) {
      await pollUntil(() => admin.fetchTopicOffsets(topic).then(() => true), {
        timeoutMs: 60_000,
        what: `leaders for ${topic}`,
      });
    }
  } finally {
    await admin.disconnect();
  }
};

/**
 * Designates the current cycle on the stack's cycles.v1, as `citycheck admin cycles current <cycle>` does,
 * unless the operators already designated one (a second demo run keeps their choice).
 */
export const designateCycleIfNone = async (
  kafkaBrokers: string,
  cycle: number,
  { namespace = '', by = 'citycheck demo' }: { namespace?: string; by?: string } = {},
): Promise<number> => {
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'citycheck-stack-admin' });
  const topic = cyclesTopic(namespace);
  const book = new CycleBook();
  const follower = await loadCycles({ kafka, book, topic, groupIdPrefix: 'citycheck-stack-cycles' });
  await follower.stop();
  if (book.designated !== undefined) return book.designated.cycle;
  const producer = createReliableProducer(kafka);
  await producer.connect();
  try {
    await publishCyclesRecord(
      producer,
      designateCurrentCycle(book, cycle, { by, at: new Date(), reason: 'the sample cycle' }),
      topic,
    );
  } finally {
    await producer.disconnect();
  }
  return cycle;
};

/** Issues one city credential per city on the stack's credentials.v1; returns city code -> bearer token. */
export const issueCityTokens = async (
  kafkaBrokers: string,
  cities: readonly string[],
): Promise<Map<string, string>> => {
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'citycheck-stack-admin' });
  await ensureCredentialsTopic(kafka);
  const producer = createReliableProducer(kafka);
  await producer.connect();
  const store = new CredentialStore();
  const tokens = new Map<string, string>();
  try {
    for (const cityCode of cities) {
      const issued = await issueCredential(
        { producer, store },
        { role: 'city', cityCode, name: `load client ${cityCode}` },
      );
      tokens.set(cityCode, issued.token);
    }
  } finally {
    await producer.disconnect();
  }
  return tokens;
};

/** One analyst credential (the status page and the SQL door need one), issued on credentials.v1. */
export const issueAnalystToken = async (kafkaBrokers: string, role: RoleName): Promise<string> => {
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'citycheck-stack-admin' });
  await ensureCredentialsTopic(kafka);
  const producer = createReliableProducer(kafka);
  await producer.connect();
  try {
    return (
      await issueCredential({ producer, store: new CredentialStore() }, { role, name: `stack ${role}` })
    ).token;
  } finally {
    await producer.disconnect();
  }
};

/** Peak and current resident set of a process in bytes (VmHWM and VmRSS); undefined once it is gone. */
export const memoryOf = (pid: number): { peakBytes: number; currentBytes: number } | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string): number =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { peakBytes: field('VmHWM'), currentBytes: field('VmRSS') };
  } catch {
    return undefined;
  }
};

/** Polls `probe` until it returns something other than undefined (or throws after `timeoutMs`). */
export const pollUntil = async <T>(
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs, intervalMs = 250, what }: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await sleep(intervalMs);
  }
};
