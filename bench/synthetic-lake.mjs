// The synthetic national lake the rollup and query benchmarks share: every urban community and district of
// the registry reporting every 2024.1 indicator of its level, with deterministic pseudo-random values made
// by DuckDB itself, written as the lake writer lays objects out (Hive partitions by cycle, province and
// city) and recorded in the commit log. Needs the reference data in the bucket (writeBenchReference).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { writeReference } from '@citycheck/aggregate';
import { listCatalogueVersions, loadCatalogue } from '@citycheck/catalogue';
import { objectStoreSettings, objectStoreVariables, readConfig } from '@citycheck/config';
import { loadDivisionRegistry } from '@citycheck/divisions';
import { createCommitLog, createObjectStore, datasets, openLakeDatabase } from '@citycheck/lake';

/** @import { DuckDBConnection } from '@duckdb/node-api' */
/** @import { CommitLog, ObjectStore, ObjectStoreConfig } from '@citycheck/lake' */

/** @param {string} name the value after `name` on the command line */
export const option = (name) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined;

/**
 * The bucket a lake benchmark runs on (`--bucket` reuses one an earlier run built, otherwise a new one named
 * `<prefix>-<time>`), its store and commit log, and a DuckDB instance at `--memory-limit` (default: the
 * aggregate's, AGGREGATE_DUCKDB_MEMORY_LIMIT).
 * @param {string} prefix
 */
export const openBenchLake = async (prefix) => {
  const config = readConfig([
    ...objectStoreVariables,
    'duckdbExtensionDirectory',
    'aggregateDuckdbMemoryLimit',
  ]);
  const reuse = option('--bucket');
  const memoryLimit = option('--memory-limit') ?? config.aggregateDuckdbMemoryLimit;
  const bucket = reuse ?? `${prefix}-${Date.now().toString(36)}`;
  const s3 = { ...objectStoreSettings(config), bucket };
  const store = createObjectStore(s3);
  await store.ensureBucket();
  const lake = await openLakeDatabase({
    extensionDirectory: config.duckdbExtensionDirectory,
    s3,
    memoryLimit,
  });
  const commitLog = createCommitLog(store, datasets.observations);
  return { config, reuse, memoryLimit, bucket, s3, store, lake, commitLog };
};

/**
 * The reference data the synthetic lake is read against, written to the bucket: every catalogue version and
 * the division registry.
 * @param {DuckDBConnection} db
 * @param {ObjectStore} store
 */
export const writeBenchReference = (db, store) =>
  writeReference(
    db,
    store,
    listCatalogueVersions().map((version) => loadCatalogue(version)),
    loadDivisionRegistry(),
  );

/**
 * The units and indicators every synthetic cycle is made of, as tables `units` and `ind` of `db`.
 * @param {DuckDBConnection} db
 * @param {string} bucket
 */
export const prepareSyntheticLake = async (db, bucket) => {
  await db.run(`CREATE TABLE units AS SELECT * FROM read_parquet('s3://${bucket}/reference/divisions.parquet')
    WHERE level IN ('community', 'district')`);
  await db.run(`CREATE TABLE ind AS SELECT code, kind, unit_levels[1] AS level FROM read_parquet('s3://${bucket}/reference/indicators.parquet')
    WHERE catalogue_version = '2024.1' AND status = 'active' AND unit_levels[1] IN ('community', 'district')`);
};

/** @type {(path: string, files?: string[]) => Promise<string[]>} */
const filesUnder = async (path, files = []) => {
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) await filesUnder(full, files);
    else files.push(full);
  }
  return files;
};

/**
 * Writes one synthetic cycle to the bucket and commits each object in the commit log, Kafka offsets going
 * on from `offset`. Returns the rows and objects written and the next offset.
 * @param {{ db: DuckDBConnection, store: ObjectStore, commitLog: CommitLog, cycle: number, offset: number }} lake
 */
export const writeSyntheticCycle = async ({ db, store, commitLog, cycle, offset }) => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-lake-'));
  try {
    await db.run(`COPY (
      SELECT ${cycle} AS cycle, u.province_code, u.city_code, '2024.1' AS catalogue_version,
        CASE WHEN u.level = 'community' THEN u.district_code ELSE u.code END AS district_code,
        u.street_code, u.level AS unit_level, u.code AS unit_code, i.code AS indicator_code,
        CASE i.kind WHEN 'count' THEN (hash(u.code, i.code, ${cycle}) % 5 = 0)::INT * (hash(u.code, ${cycle}) % 7)
                    WHEN 'share' THEN (hash(u.code, i.code, ${cycle}) % 4 <> 0)::INT
                    ELSE (hash(u.code, i.code, ${cycle}) % 1000) / 1000.0 END::DOUBLE AS value,
        CASE WHEN i.kind = 'rate' THEN (hash(u.code, i.code, ${cycle}) % 1000)::DOUBLE END AS numerator,
        CASE WHEN i.kind = 'rate' THEN 1000.0 END AS denominator,
        CASE WHEN i.kind = 'perCapita' THEN (hash(u.code, i.code) % 100000)::DOUBLE END AS quantity,
        CASE WHEN i.kind = 'perCapita' THEN 50000.0 END AS population,
        CASE WHEN i.kind IN ('score', 'mean') THEN 100.0 END AS weight,
        CASE WHEN i.kind = 'share' THEN hash(u.code, i.code, ${cycle}) % 4 <> 0 END AS meets,
        md5(u.code || ${cycle}) AS submission_id, md5(u.code) AS content_hash,
        TIMESTAMP '${cycle}-06-01 08:00:00' AS submitted_at, TIMESTAMP '${cycle}-06-01 08:00:01' AS received_at,
        TIMESTAMP '${cycle}-06-01 08:00:02' AS validated_at, 'submissions.validated.v1' AS source_topic,
        0 AS source_partition, row_number() OVER () AS source_offset
      FROM units u JOIN ind i ON i.level = u.level
      ORDER BY indicator_code, unit_code
    ) TO '${dir}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (cycle, province_code, city_code), OVERWRITE_OR_IGNORE true)`);
    const files = await filesUnder(dir);
    let rows = 0;
    let next = offset;
    for (const file of files) {
      const key = `observations/${relative(dir, file)}`;
      await store.put(key, await readFile(file), 'application/vnd.apache.parquet');
      const [counted] = (
        await db.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${file}')`)
      ).getRowObjectsJS();
      const n = Number(counted?.n);
      const entry = {
        dataset: datasets.observations,
        topic: 'bench',
        partition: 0,
        startOffset: String(next),
        endOffset: String(next + n - 1),
        records: n,
        objects: [{ key, rows: n, bytes: 0 }],
      };
      await commitLog.begin(entry);
      await commitLog.commit(entry);
      next += n;
      rows += n;
    }
    return { rows, objects: files.length, offset: next };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};

/**
 * Writes `cycles` synthetic cycles (from 2024 on) into an empty bucket with their reference data, on a
 * DuckDB instance of its own (sorting a national cycle needs more than the aggregate's memory limit a
 * derivation is timed with). Returns the observations and objects written.
 * @param {{ db: DuckDBConnection, store: ObjectStore, commitLog: CommitLog, s3: ObjectStoreConfig, extensionDirectory: string, cycles: readonly number[] }} lake
 */
export const writeSyntheticLake = async ({ db, store, commitLog, s3, extensionDirectory, cycles }) => {
  await writeBenchReference(db, store);
  const generator = await openLakeDatabase({ extensionDirectory, s3, memoryLimit: '4GB' });
  try {
    await prepareSyntheticLake(generator.connection, s3.bucket);
    let offset = 0;
    let rows = 0;
    let objects = 0;
    for (const cycle of cycles) {
      const written = await writeSyntheticCycle({
        db: generator.connection,
        store,
        commitLog,
        cycle,
        offset,
      });
      offset = written.offset;
      rows += written.rows;
      objects += written.objects;
    }
    return { rows, objects };
  } finally {
    generator.close();
  }
};

/**
 * The cities with observations in `cycle`, smallest first, each with its rows and objects (a resubmission's
 * objects not counted: they repeat the city's rows).
 * @param {CommitLog} commitLog
 * @param {number} cycle
 */
export const citiesBySize = async (commitLog, cycle) => {
  /** @type {Map<string, { code: string, rows: number, keys: string[] }>} */
  const cities = new Map();
  for (const entry of await commitLog.committed()) {
    for (const object of entry.objects) {
      const match = new RegExp(`^observations/cycle=${cycle}/province_code=\\d+/city_code=(\\d+)/`).exec(
        object.key,
      );
      const code = match?.[1];
      if (code === undefined || object.key.includes('/resubmission+')) continue;
      const city = cities.get(code) ?? { code, rows: 0, keys: /** @type {string[]} */ ([]) };
      city.rows += object.rows;
      city.keys.push(object.key);
      cities.set(code, city);
    }
  }
  return [...cities.values()].sort((a, b) => a.rows - b.rows || (a.code < b.code ? -1 : 1));
};

/**
 * One city's resubmission, as the lake writer would commit it: every observation the city (`city`, by
 * default the one of median size) has in `cycle` again, each value 1 higher and received a day later, as
 * one new object and commit-log entry. Returns the city, its rows and the object's key.
 * @param {{ db: DuckDBConnection, store: ObjectStore, commitLog: CommitLog, bucket: string, cycle: number, city?: string }} lake
 */
export const writeCityResubmission = async ({ db, store, commitLog, bucket, cycle, city: code }) => {
  const sorted = await citiesBySize(commitLog, cycle);
  const city =
    code === undefined ? sorted[Math.floor(sorted.length / 2)] : sorted.find((one) => one.code === code);
  const first = city?.keys[0];
  if (city === undefined || first === undefined)
    throw new Error(`no city has observations in cycle ${cycle}`);
  const stamp = Date.now();
  const key = `${first.slice(0, first.lastIndexOf('/'))}/resubmission+0+${stamp}.parquet`;
  const dir = await mkdtemp(join(tmpdir(), 'bench-resubmission-'));
  try {
    const file = join(dir, 'object.parquet');
    // A resubmission is a new submission (its own id), as ingest makes it: a unit's rows repeat only across
    // submission ids, which a derivation's one-pass load relies on to find what a later one supersedes.
    await db.run(`COPY (SELECT * REPLACE (value + 1 AS value, received_at + INTERVAL 1 DAY AS received_at,
        md5(submission_id || '+${stamp}') AS submission_id, 'resubmission' AS source_topic, 0 AS source_partition, row_number() OVER () AS source_offset)
      FROM read_parquet([${city.keys.map((k) => `'s3://${bucket}/${k}'`).join(', ')}], hive_partitioning = false))
      TO '${file}' (FORMAT parquet, COMPRESSION zstd)`);
    await store.put(key, await readFile(file), 'application/vnd.apache.parquet');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const entry = {
    dataset: datasets.observations,
    topic: 'resubmission',
    partition: 0,
    startOffset: String(stamp),
    endOffset: String(stamp),
    records: 1,
    objects: [{ key, rows: city.rows, bytes: 0 }],
  };
  await commitLog.begin(entry);
  await commitLog.commit(entry);
  return { city: city.code, rows: city.rows, key };
};
