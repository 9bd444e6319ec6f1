// How a validated submission becomes lake rows: one row per observation, carrying the unit's place in the
// division hierarchy and the Kafka coordinates it came from (for lineage and exactly-once checks).
import type { ValidatedSubmission } from '@citycheck/contracts';

/** Column names and DuckDB types of an observation object, in file order. */
export const observationColumns = {
  catalogue_version: 'VARCHAR',
  district_code: 'VARCHAR',
  street_code: 'VARCHAR',
  unit_level: 'VARCHAR',
  unit_code: 'VARCHAR',
  indicator_code: 'VARCHAR',
  value: 'DOUBLE',
  numerator: 'DOUBLE',
  denominator: 'DOUBLE',
  quantity: 'DOUBLE',
  population: 'DOUBLE',
  weight: 'DOUBLE',
  meets: 'BOOLEAN',
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

export type ObservationRow = { [K in keyof typeof observationColumns]: string | number | boolean | null };

export interface SourceCoordinates {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export const toObservationRows = (record: ValidatedSubmission, source: SourceCoordinates): ObservationRow[] =>
  record.observations.map((observation) => ({
    catalogue_version: record.catalogueVersion,
    district_code: record.districtCode,
    street_code: record.streetCode,
    unit_level: record.unitLevel,
    unit_code: record.unitCode,
    indicator_code: observation.indicator,
    value: observation.value,
    numerator: observation.numerator ?? null,
    denominator: observation.denominator ?? null,
    quantity: observation.quantity ?? null,
    population: observation.population ?? null,
    weight: observation.weight ?? null,
    meets: observation.meets ?? null,
    submission_id: record.submissionId,
    content_hash: record.contentHash,
    submitted_at: record.submittedAt,
    received_at: record.receivedAt,
    validated_at: record.validatedAt,
    source_topic: source.topic,
    source_partition: source.partition,
    source_offset: source.offset,
  }));
