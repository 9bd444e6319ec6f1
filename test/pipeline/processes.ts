// Runs the built services (services/<name>/dist/main.js) as real child processes on a namespace of their
// own (topics, consumer groups, bucket), for tests that kill, restart or scale them.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { realInfra, waitFor } from '@citycheck/testkit';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ServiceName = 'ingest' | 'validate' | 'aggregate';

export interface RunningService {
  readonly name: ServiceName;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves with the signal or exit code once the process has ended. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
  stop(signal?: NodeJS.Signals): Promise<NodeJS.Signals | number | null>;
}

export interface Namespace {
  readonly topicNamespace: string;
  readonly bucket: string;
  readonly env: Readonly<Record<string, string>>;
}

export const namespaceEnv = (
  topicNamespace: string,
  bucket: string,
  extra: Record<string, string> = {},
): Namespace => {
  const { kafkaBrokers, s3 } = realInfra();
  return {
    topicNamespace,
    bucket,
    env: {
      KAFKA_BROKERS: kafkaBrokers.join(','),
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_BUCKET: bucket,
      TOPIC_NAMESPACE: topicNamespace,
      VALIDATE_GROUP_ID: `${topicNamespace}-validate`,
      AGGREGATE_GROUP_ID: `${topicNamespace}-aggregate`,
      TOPIC_PARTITIONS: '3',
      ROLLUP_DEBOUNCE_MS: '200',
      // Any free port for the workers' /metrics servers, so instances never collide.
      VALIDATE_OPS_PORT: '0',
      AGGREGATE_OPS_PORT: '0',
      LOG_LEVEL: 'info',
      ...extra,
    },
  };
};

export const startService = (
  name: ServiceName,
  namespace: Namespace,
  extraEnv: Record<string, string> = {},
): RunningService => {
  const main = join(repoRoot, 'services', name, 'dist', 'main.js');
  if (!existsSync(main))
    throw new Error(`${main} is missing: build first (pnpm build, which scripts/test.sh runs)`);
  const child = spawn(process.execPath, [main], {
    cwd: repoRoot,
    env: { ...process.env, ...namespace.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (data: Buffer) => {
    output += data.toString();
  });
  child.stderr?.on('data', (data: Buffer) => {
    output += data.toString();
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? code));
  });
  return {
    name,
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
};

/** Waits until the service has logged a line containing `text` (pino JSON lines). */
export const waitForLog = (service: RunningService, text: string, timeoutMs = 60_000): Promise<true> =>
  waitFor(
    () => {
      if (service.output().includes(text)) return true;
      if (service.child.exitCode !== null || service.child.signalCode !== null) {
        throw new Error(`${service.name} exited before logging "${text}":\n${service.output().slice(-3000)}`);
      }
      return undefined;
    },
    { timeoutMs, what: `${service.name} to log "${text}"` },
  );
