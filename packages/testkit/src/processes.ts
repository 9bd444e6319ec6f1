// The services as real processes of this checkout's build (services/<name>/dist/main.js), for the tests
// and benchmarks that kill, restart or scale them: start with an environment, wait until ready, keep the log.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, waitFor } from './wait.js';

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

export type ServiceName = 'ingest' | 'validate' | 'aggregate' | 'query';

/** How a process ended: its exit code, or the signal that ended it. */
export type ExitStatus = number | string;

export interface ServiceProcess {
  readonly name: string;
  readonly service: ServiceName;
  readonly pid: number;
  /** The file its output goes to, when it was started with a log directory. */
  readonly logFile: string | undefined;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<ExitStatus>;
  readonly running: boolean;
  /** The last megabyte of what it printed (pino, JSON lines). */
  output(): string;
  /** Resolves once it has printed `text`; fails if it exits first or after `timeoutMs`. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  /** SIGKILL: no drain, no goodbye. */
  kill9(): Promise<ExitStatus>;
  /** SIGTERM and wait for the drain (SIGKILL after `timeoutMs`); resolves with how it ended. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
  /** Starts the same service again with the same options (stopping this one first if it still runs). */
  restart(): Promise<ServiceProcess>;
}

export interface StartServiceOptions {
  readonly service: ServiceName;
  /** Instance name, for its log file and messages (defaults to the service name). */
  readonly name?: string;
  /** Environment on top of this process's. */
  readonly env: Readonly<Record<string, string>>;
  /** Where `<name>.log` is appended to (the last megabyte is kept in memory either way). */
  readonly logDirectory?: string;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=...']. */
  readonly nodeArgs?: readonly string[];
  /** Wait until it says it serves (the default), or return at once (for a process meant to crash). */
  readonly waitUntilReady?: boolean;
  readonly readyTimeoutMs?: number;
}

/** What a service prints once it serves: ingest and query listen, the workers consume. */
const readyMessages: Readonly<Record<ServiceName, string>> = {
  ingest: '"msg":"Server listening at',
  query: '"msg":"Server listening at',
  validate: '"msg":"consuming"',
  aggregate: '"msg":"consuming"',
};

const keptOutput = 1_048_576;

/** Starts `node services/<service>/dist/main.js` and (by default) waits until it is ready. */
export const startService = async (options: StartServiceOptions): Promise<ServiceProcess> => {
  const {
    service,
    name = service,
    env,
    logDirectory,
    nodeArgs = [],
    waitUntilReady = true,
    readyTimeoutMs = 120_000,
  } = options;
  const main = join(repositoryRoot, 'services', service, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (pnpm build)`);
  let logFile: string | undefined;
  let log: WriteStream | undefined;
  if (logDirectory !== undefined) {
    mkdirSync(logDirectory, { recursive: true });
    logFile = join(logDirectory, `${name}.log`);
    log = createWriteStream(logFile, { flags: 'a' });
  }
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, main], {
    cwd: repositoryRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  // The output's last megabyte, as chunks: a benchmark's services print for an hour.
  const chunks: string[] = [];
  let kept = 0;
  let running = true;
  const collect = (chunk: Buffer): void => {
    log?.write(chunk);
    const text = chunk.toString('utf8');
    chunks.push(text);
    kept += text.length;
    while (chunks.length > 1 && kept - (chunks[0]?.length ?? 0) > keptOutput)
      kept -= chunks.shift()?.length ?? 0;
  };
  const output = (): string => chunks.join('');
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      log?.end();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const waitForLog = async (text: string, timeoutMs = 60_000): Promise<void> => {
    await waitFor(
      () => {
        if (output().includes(text)) return true;
        if (!running) throw new Error(`${name} exited before printing ${text}:\n${output().slice(-4_000)}`);
        return undefined;
      },
      { timeoutMs, intervalMs: 50, what: `${name} to print ${text}` },
    );
  };
  const stop = async (timeoutMs = 30_000): Promise<ExitStatus> => {
    if (running) child.kill('SIGTERM');
    const finished = await Promise.race([exited.then(() => true), sleep(timeoutMs).then(() => false)]);
    if (!finished) child.kill('SIGKILL');
    return exited;
  };
  const handle: ServiceProcess = {
    name,
    service,
    pid: child.pid,
    logFile,
    exited,
    get running() {
      return running;
    },
    output,
    waitForLog,
    kill9: async () => {
      if (running) child.kill('SIGKILL');
      return exited;
    },
    stop,
    restart: async () => {
      await stop();
      return startService(options);
    },
  };
  if (waitUntilReady) {
    try {
      await waitForLog(readyMessages[service], readyTimeoutMs);
    } catch (error) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not become ready`, { cause: error });
    }
  }
  return handle;
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
