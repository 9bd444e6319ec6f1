// Every environment variable citycheck reads is declared here, once, with its default and meaning.
// Services pick the variables they need; `readConfig` validates them all at start and reports every
// problem at once. Defaults make the local stack (infra/up.sh) work with no variables set.
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

interface Variable<T> {
  readonly env: string;
  readonly doc: string;
  readonly default: T;
  readonly secret?: boolean;
  readonly parse: (raw: string) => T;
}

const text = (env: string, fallback: string, doc: string, secret = false): Variable<string> => ({
  env,
  doc,
  default: fallback,
  secret,
  parse: (raw) => {
    if (raw.trim() === '') throw new Error('must not be empty');
    return raw;
  },
});

const integer = (env: string, fallback: number, doc: string, min = 0, max = Number.MAX_SAFE_INTEGER) => ({
  env,
  doc,
  default: fallback,
  parse: (raw: string): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`must be an integer from ${min} to ${max}`);
    }
    return value;
  },
});

const list = (env: string, fallback: readonly string[], doc: string): Variable<readonly string[]> => ({
  env,
  doc,
  default: fallback,
  parse: (raw) => {
    const items = raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length === 0) throw new Error('must list at least one value');
    return items;
  },
});

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The catalogue of variables: the README's configuration table is generated from these docs. */
export const variables = {
  logLevel: {
    env: 'LOG_LEVEL',
    doc: `pino log level: ${logLevels.join(', ')}`,
    default: 'info',
    parse: (raw: string): string => {
      if (!(logLevels as readonly string[]).includes(raw))
        throw new Error(`must be one of ${logLevels.join(', ')}`);
      return raw;
    },
  },
  kafkaBrokers: list('KAFKA_BROKERS', ['127.0.0.1:9092'], 'Kafka bootstrap servers, comma separated'),
  kafkaClientId: text('KAFKA_CLIENT_ID', 'citycheck', 'Kafka client id prefix'),
  kafkaSessionTimeoutMs: integer(
    'KAFKA_SESSION_TIMEOUT_MS',
    10_000,
    "Consumer session timeout: how soon a crashed worker's partitions move to a live one",
    6_000,
    300_000,
  ),
  topicNamespace: {
    env: 'TOPIC_NAMESPACE',
    doc: 'Prefix of every topic name (<namespace>.<domain>.<event>.v<N>); empty for the plain names',
    default: '',
    parse: (raw: string): string => {
      if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(raw))
        throw new Error('must be lowercase letters, digits and dashes');
      return raw;
    },
  },
  followerStaleAfterMs: integer(
    'FOLLOWER_STALE_AFTER_MS',
    5_000,
    'How long ingest and query may go without knowing their view of credentials.v1 (and the submission ' +
      'index) is current before they refuse authenticated requests with 503 and report not ready',
    1_000,
    600_000,
  ),
  followerFaultFile: {
    env: 'FOLLOWER_FAULT_FILE',
    doc:
      'Tests only: while this file exists, the Kafka followers of ingest and query fail as kafkajs does ' +
      'when it cannot find the group coordinator; empty (the default) for none',
    default: '',
    parse: (raw: string): string => raw,
  },
  topicPartitions: integer('TOPIC_PARTITIONS', 6, 'Partitions for topics the services create', 1, 1000),
  topicReplicationFactor: integer(
    'TOPIC_REPLICATION_FACTOR',
    1,
    'Replication factor for created topics',
    1,
    10,
  ),
  s3Endpoint: text('S3_ENDPOINT', 'http://127.0.0.1:9000', 'S3-compatible endpoint URL'),
  s3Region: text('S3_REGION', 'us-east-1', 'S3 region'),
  s3Bucket: text('S3_BUCKET', 'citycheck-lake', 'Bucket holding the Parquet lake'),
  s3AccessKeyId: text('S3_ACCESS_KEY_ID', 'citycheck', 'S3 access key id', true),
  s3SecretAccessKey: text('S3_SECRET_ACCESS_KEY', 'citycheck-local-secret', 'S3 secret access key', true),
  duckdbExtensionDirectory: text(
    'DUCKDB_EXTENSION_DIRECTORY',
    join(process.env.CITYCHECK_CACHE_DIR ?? join(homedir(), '.cache', 'citycheck'), 'duckdb-extensions'),
    'Where infra/duckdb/install-extensions.sh put the offline httpfs extension',
  ),
  ingestHost: text('INGEST_HOST', '127.0.0.1', 'Address the ingest HTTP server binds'),
  ingestPort: integer('INGEST_PORT', 8080, 'Port of the ingest HTTP server', 0, 65535),
  ingestBodyLimitBytes: integer(
    'INGEST_BODY_LIMIT_BYTES',
    1_048_576,
    'Largest single-submission JSON body',
    1024,
  ),
  ingestBulkLimitBytes: integer(
    'INGEST_BULK_LIMIT_BYTES',
    512 * 1_048_576,
    'Largest NDJSON bulk upload, counted after gzip decompression (each line is held to INGEST_BODY_LIMIT_BYTES)',
    1024,
  ),
  ingestBulkBatchSize: integer('INGEST_BULK_BATCH_SIZE', 500, 'NDJSON lines per Kafka send', 1, 10_000),
  ingestRateLimitMax: integer(
    'INGEST_RATE_LIMIT_MAX',
    1_200,
    'Requests per credential per rate-limit window (per instance)',
    1,
  ),
  ingestRateLimitWindowMs: integer(
    'INGEST_RATE_LIMIT_WINDOW_MS',
    60_000,
    'Length of the per-credential rate-limit window',
    100,
  ),
  httpIdleTimeoutMs: integer(
    'HTTP_IDLE_TIMEOUT_MS',
    30_000,
    'How long an HTTP connection of ingest may stay silent (a body that stops before its Content-Length, ' +
      'an idle keep-alive) before it is closed; query allows QUERY_TIMEOUT_MS on top',
    1_000,
    3_600_000,
  ),
  ingestStartTimeoutMs: integer(
    'INGEST_START_TIMEOUT_MS',
    120_000,
    'How long ingest may take to load credentials and the submission index before it gives up',
    1_000,
  ),
  citycheckUrl: text(
    'CITYCHECK_URL',
    'http://127.0.0.1:8080',
    'citycheck CLI: base URL of the ingest service',
  ),
  citycheckToken: text(
    'CITYCHECK_TOKEN',
    '',
    'citycheck CLI: the city credential (cc_<id>_<secret>); or pass --token',
    true,
  ),
  validateGroupId: text('VALIDATE_GROUP_ID', 'citycheck-validate', 'Consumer group of the validate workers'),
  aggregateGroupId: text(
    'AGGREGATE_GROUP_ID',
    'citycheck-aggregate',
    'Consumer group of the aggregate workers',
  ),
  aggregateFlushRecords: integer(
    'AGGREGATE_FLUSH_RECORDS',
    20_000,
    'Rotate a Parquet object after this many observations',
    1,
  ),
  aggregateFlushBytes: integer(
    'AGGREGATE_FLUSH_BYTES',
    32 * 1_048_576,
    'Rotate a Parquet object after this many input bytes',
    1024,
  ),
  aggregateFlushRecordSpanMs: integer(
    'AGGREGATE_FLUSH_RECORD_SPAN_MS',
    60_000,
    'Rotate when record timestamps in a buffer span more than this',
    1,
  ),
  aggregateIdleFlushMs: integer(
    'AGGREGATE_IDLE_FLUSH_MS',
    1_000,
    'Flush a buffer no record has joined for this long',
    10,
  ),
  workerNiceness: integer(
    'WORKER_NICENESS',
    0,
    'Scheduling niceness the validate and aggregate workers set for themselves (0 to 19). On a box shared with ingest, a higher value keeps the interactive endpoint responsive while the batch workers take what CPU is left',
    0,
    19,
  ),
  aggregateDuckdbMemoryLimit: {
    env: 'AGGREGATE_DUCKDB_MEMORY_LIMIT',
    doc: 'DuckDB memory limit of the aggregate worker; larger work spills to the temp directory. A national cycle derives as fast at 512MB as at 1GB; at 256MB it spills and takes 2 to 3 times as long (bench/README.md)',
    default: '512MB',
    parse: (raw: string): string => {
      if (!/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i.test(raw))
        throw new Error('must be a size such as 256MB or 1GB');
      return raw;
    },
  },
  aggregateFault: {
    env: 'AGGREGATE_FAULT',
    doc: 'For fault tests only: kill the worker with SIGKILL at a point of its first batch (before-lake-commit, after-lake-commit)',
    default: 'none',
    parse: (raw: string): string => {
      if (!['none', 'before-lake-commit', 'after-lake-commit'].includes(raw)) {
        throw new Error('must be none, before-lake-commit or after-lake-commit');
      }
      return raw;
    },
  },
  rollupDebounceMs: integer(
    'ROLLUP_DEBOUNCE_MS',
    250,
    'Once caught up, derive this long after the last committed object',
    0,
  ),
  opsHost: text(
    'OPS_HOST',
    '127.0.0.1',
    'Address the /metrics, /healthz and /readyz server of validate and aggregate binds',
  ),
  validateOpsPort: integer(
    'VALIDATE_OPS_PORT',
    8081,
    "Port of the validate worker's /metrics, /healthz and /readyz",
    0,
    65535,
  ),
  aggregateOpsPort: integer(
    'AGGREGATE_OPS_PORT',
    8082,
    "Port of the aggregate worker's /metrics, /healthz and /readyz",
    0,
    65535,
  ),
  queryHost: text(
    'QUERY_HOST',
    '127.0.0.1',
    'Address the query service (SQL endpoint and status page) binds',
  ),
  queryPort: integer('QUERY_PORT', 8090, 'Port of the query service', 0, 65535),
  queryPgHost: text(
    'QUERY_PG_HOST',
    '127.0.0.1',
    'Address the PostgreSQL wire-protocol door of the query service (psql, BI tools) binds',
  ),
  queryPgPort: integer(
    'QUERY_PG_PORT',
    5433,
    'Port of the PostgreSQL wire-protocol door; 0 picks a free one',
    0,
    65535,
  ),
  queryTimeoutMs: integer(
    'QUERY_TIMEOUT_MS',
    30_000,
    'A query running longer than this is interrupted (query_timeout)',
    100,
  ),
  queryMemoryLimit: {
    env: 'QUERY_MEMORY_LIMIT',
    doc: 'Memory DuckDB may use for all running queries together, e.g. 2GB (query_memory_exceeded past it)',
    default: '2GB',
    parse: (raw: string): string => {
      if (!/^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(raw.trim()))
        throw new Error('must be a size such as 512MB or 2GB');
      return raw.trim();
    },
  },
  queryRowCap: integer(
    'QUERY_ROW_CAP',
    1_000_000,
    'Most rows one query may return (query_row_cap_exceeded past it)',
    1,
  ),
  queryConcurrency: integer('QUERY_CONCURRENCY', 2, 'Queries that run at once; more wait in line', 1, 64),
  queryQueueLimit: integer(
    'QUERY_QUEUE_LIMIT',
    32,
    'Queries that may wait in line before new ones get 429',
    0,
    10_000,
  ),
  queryThreads: integer('QUERY_THREADS', 2, 'DuckDB worker threads of the query service', 1, 256),
  queryLakeRefreshMs: integer(
    'QUERY_LAKE_REFRESH_MS',
    5_000,
    "How often the query service re-reads the lake's commit log",
    100,
  ),
  queryExportDirectory: text(
    'QUERY_EXPORT_DIRECTORY',
    join(tmpdir(), 'citycheck-query-exports'),
    'Scratch directory for Parquet results while they are sent (each file is removed after)',
  ),
  statusWindowMs: integer(
    'STATUS_WINDOW_MS',
    300_000,
    "The status page's rates are counted over this window",
    1_000,
  ),
  statusMetricsTargets: list(
    'STATUS_METRICS_TARGETS',
    [
      'ingest=http://127.0.0.1:8080/metrics',
      'validate=http://127.0.0.1:8081/metrics',
      'aggregate=http://127.0.0.1:8082/metrics',
    ],
    "name=url of each service's /metrics the status page scrapes, comma separated",
  ),
  citycheckQueryUrl: text(
    'CITYCHECK_QUERY_URL',
    'http://127.0.0.1:8090',
    'citycheck CLI: base URL of the query service',
  ),
} as const;

type Variables = typeof variables;
export type VariableName = keyof Variables;
type ValueOf<K extends VariableName> = ReturnType<Variables[K]['parse']>;
export type Config<K extends VariableName> = { readonly [P in K]: ValueOf<P> };

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads the named variables from `env`, reporting every invalid one in a single ConfigError. */
export const readConfig = <K extends VariableName>(
  names: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Config<K> => {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const name of names) {
    const variable: Variable<unknown> = variables[name];
    const raw = env[variable.env];
    if (raw === undefined) {
      config[name] = variable.default;
      continue;
    }
    try {
      config[name] = variable.parse(raw);
    } catch (error) {
      const shown = variable.secret === true ? '[redacted]' : JSON.stringify(raw);
      problems.push(`${variable.env}=${shown}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as Config<K>;
};

/** A copy of the config that is safe to log: secret values are replaced. */
export const redactConfig = <K extends VariableName>(config: Config<K>): Record<string, unknown> => {
  const shown: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(config)) {
    const variable: Variable<unknown> = variables[name as VariableName];
    shown[name] = variable.secret === true ? '[redacted]' : value;
  }
  return shown;
};

/** The variables naming the lake's object store and its credentials. */
export const objectStoreVariables = [
  's3Endpoint',
  's3Region',
  's3Bucket',
  's3AccessKeyId',
  's3SecretAccessKey',
] as const satisfies readonly VariableName[];

/** The object store settings of a config, in the shape `createObjectStore` and `openLakeDatabase` take. */
export const objectStoreSettings = (config: Config<(typeof objectStoreVariables)[number]>) => ({
  endpoint: config.s3Endpoint,
  region: config.s3Region,
  accessKeyId: config.s3AccessKeyId,
  secretAccessKey: config.s3SecretAccessKey,
  bucket: config.s3Bucket,
});
