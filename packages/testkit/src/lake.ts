// Object-store helpers for tests: a store on a bucket of the test's own, and DuckDB over it.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { createObjectStore, type LakeDatabase, type ObjectStore, openLakeDatabase } from '@citycheck/lake';
import { realInfra, uniqueName } from './infra.js';

export const testExtensionDirectory = (): string =>
  realInfra().duckdbExtensionDirectory ??
  process.env.DUCKDB_EXTENSION_DIRECTORY ??
  join(process.env.CITYCHECK_CACHE_DIR ?? join(homedir(), '.cache', 'citycheck'), 'duckdb-extensions');

/** A store on a new, empty bucket that no other test uses. */
export const createTestStore = async (prefix = 'lake'): Promise<ObjectStore> => {
  const { s3 } = realInfra();
  const store = createObjectStore({ ...s3, bucket: uniqueName(prefix) });
  await store.ensureBucket();
  return store;
};

export const openTestDatabase = (store?: ObjectStore): Promise<LakeDatabase> =>
  openLakeDatabase({
    extensionDirectory: testExtensionDirectory(),
    ...(store === undefined ? {} : { s3: store.config }),
  });
