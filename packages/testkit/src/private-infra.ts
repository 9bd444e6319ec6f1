// A Kafka broker and an S3Proxy of one's own (the repository's infra/ scripts, copied under a state directory
// of their own, on free ports), so a test may stop them while others keep using the shared ones.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, repositoryRoot } from './processes.js';

const run = promisify(execFile);

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
