// How validated submissions become lake rows (one per observation, with its place in the hierarchy and its
// Kafka coordinates), unpacked by DuckDB from the records' JSON text with no JavaScript object per observation.

// The observation objects' columns are the lake's schema, defined in @citycheck/lake.
export { observationColumns, observationOrder, observationPartitionTypes } from '@citycheck/lake';

import { sqlString as quote, reportedFieldTypes } from '@citycheck/lake';

/** The table the lake writer appends each record of a chunk to: its offset and its JSON text. */
export const chunkRecordsSql =
  'CREATE OR REPLACE TEMP TABLE chunk_records (source_offset BIGINT, body VARCHAR)';

// The fields of a validated submission (schemas/validated-submission) the lake keeps, as DuckDB reads them.
const submissionShape = JSON.stringify({
  cycle: 'INTEGER',
  provinceCode: 'VARCHAR',
  cityCode: 'VARCHAR',
  catalogueVersion: 'VARCHAR',
  districtCode: 'VARCHAR',
  streetCode: 'VARCHAR',
  unitLevel: 'VARCHAR',
  unitCode: 'VARCHAR',
  submissionId: 'VARCHAR',
  contentHash: 'VARCHAR',
  submittedAt: 'TIMESTAMP',
  receivedAt: 'TIMESTAMP',
  validatedAt: 'TIMESTAMP',
  observations: [{ indicator: 'VARCHAR', ...reportedFieldTypes }],
});

/** Temp table `submissions`: each record of `chunk_records` parsed, one row per record. */
export const chunkSubmissionsSql = `CREATE OR REPLACE TEMP TABLE submissions AS
  SELECT source_offset, from_json(body, ${quote(submissionShape)}) AS s FROM chunk_records`;

/** Temp table `chunk_rows`: one row per observation of `submissions`, the lake's columns and the partition's. */
export const chunkRowsSql = (
  topic: string,
  partition: number,
): string => `CREATE OR REPLACE TEMP TABLE chunk_rows AS
  SELECT s.cycle AS cycle, s.provinceCode AS province_code, s.cityCode AS city_code,
    s.catalogueVersion AS catalogue_version, s.districtCode AS district_code, s.streetCode AS street_code,
    s.unitLevel AS unit_level, s.unitCode AS unit_code,
    o.indicator AS indicator_code, o.value AS value, o.numerator AS numerator, o.denominator AS denominator,
    o.quantity AS quantity, o.population AS population, o.weight AS weight, o.meets AS meets,
    s.submissionId AS submission_id, s.contentHash AS content_hash, s.submittedAt AS submitted_at,
    s.receivedAt AS received_at, s.validatedAt AS validated_at,
    ${quote(topic)}::VARCHAR AS source_topic, ${partition}::INTEGER AS source_partition, source_offset
  FROM (SELECT source_offset, s, unnest(s.observations) AS o FROM submissions)`;
