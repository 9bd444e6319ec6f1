// How a validated submission becomes lake rows: one row per observation, carrying the unit's place in the
// division hierarchy and the Kafka coordinates it came from (for lineage and exactly-once checks).
import type { ValidatedSubmission } from '@citycheck/contracts';
import type { observationColumns } from '@citycheck/lake';

// The observation objects' columns are the lake's schema, defined in @citycheck/lake.
export { observationColumns, observationOrder, observationPartitionTypes } from '@citycheck/lake';

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
