// Binds the documented views (packages/lake's `defineLakeViews`) to the lake's current objects: the
// committed observation objects from the commit log, the derived and reference objects as they exist.
// Called again on every refresh, so newly committed objects become queryable.
import {
  createCommitLog,
  type DuckDBConnection,
  datasets,
  defineLakeViews,
  type ObjectStore,
} from '@citycheck/lake';

/** Creates or replaces the lake views in `schema` of the connection it is given. */
export type LakeViewDefiner = (connection: DuckDBConnection, schema: string) => Promise<void>;

export const createLakeViewDefiner = (store: ObjectStore): LakeViewDefiner => {
  // One commit log per definer: committed entries never change, so each is read from the store once.
  const commitLog = createCommitLog(store, datasets.observations);
  return async (connection, schema) => {
    const entries = await commitLog.committed();
    const observationObjects = entries.flatMap((entry) => entry.objects.map((object) => object.key));
    await defineLakeViews(connection, { store, observationObjects, schema });
  };
};
