// Where things live in the lake bucket. Object names are deterministic from the Kafka coordinates of the
// records they hold, so a replayed batch overwrites its own objects instead of adding duplicates.

export const datasets = {
  observations: 'observations',
  rollups: 'rollups',
} as const;

const pad = (offset: string | bigint | number): string => String(offset).padStart(20, '0');

export interface ObservationObjectCoordinates {
  readonly cycle: number;
  readonly provinceCode: string;
  readonly cityCode: string;
  readonly topic: string;
  readonly partition: number;
  /** First Kafka offset of the batch the object was cut from. */
  readonly startOffset: string;
}

/** `observations/cycle=2024/province_code=110000/city_code=110100/<topic>+<partition>+<startOffset>.parquet` */
export const observationObjectKey = (c: ObservationObjectCoordinates): string =>
  `${datasets.observations}/cycle=${c.cycle}/province_code=${c.provinceCode}/city_code=${c.cityCode}/` +
  `${c.topic}+${c.partition}+${pad(c.startOffset)}.parquet`;

/** Prefix of the commit log for one topic partition; entries sort by start offset. */
export const manifestPrefix = (dataset: string, topic: string, partition: number): string =>
  `_manifests/${dataset}/${topic}/${partition}/`;

export const manifestKey = (dataset: string, topic: string, partition: number, startOffset: string): string =>
  `${manifestPrefix(dataset, topic, partition)}${pad(startOffset)}.json`;

export const allManifestsPrefix = (dataset: string): string => `_manifests/${dataset}/`;

export const rollupObjectKey = (cycle: number, name: string): string =>
  `${datasets.rollups}/cycle=${cycle}/${name}.parquet`;

/** DuckDB types of the fields an observation is reported with (which apply depends on its indicator's kind). */
export const reportedFieldTypes = {
  value: 'DOUBLE',
  numerator: 'DOUBLE',
  denominator: 'DOUBLE',
  quantity: 'DOUBLE',
  population: 'DOUBLE',
  weight: 'DOUBLE',
  meets: 'BOOLEAN',
} as const;

/** Column names and DuckDB types of an observation object, in file order. */
export const observationColumns = {
  catalogue_version: 'VARCHAR',
  district_code: 'VARCHAR',
  street_code: 'VARCHAR',
  unit_level: 'VARCHAR',
  unit_code: 'VARCHAR',
  indicator_code: 'VARCHAR',
  ...reportedFieldTypes,
  submission_id: 'VARCHAR',
  content_hash: 'VARCHAR',
  submitted_at: 'TIMESTAMP',
  received_at: 'TIMESTAMP',
  validated_at: 'TIMESTAMP',
  source_topic: 'VARCHAR',
  source_partition: 'INTEGER',
  source_offset: 'BIGINT',
} as const;

/** The Hive partition columns, taken from object paths rather than stored in the files. */
export const observationPartitionTypes = {
  cycle: 'INTEGER',
  province_code: 'VARCHAR',
  city_code: 'VARCHAR',
} as const;

/** Sorting within an object: readers filtering by indicator or unit skip row groups by their statistics. */
export const observationOrder = ['indicator_code', 'unit_code'] as const;
