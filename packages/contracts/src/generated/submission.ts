// Generated from schemas/submission/submission.v1.schema.json by scripts/generate-types.mjs. Do not edit.

/**
 * The examined unit. Communities, districts and cities carry their statistical division code; blocks and housing units carry a city-scoped id under their street.
 */
export type Unit = Unit1;
/**
 * A finite number within what the pipeline stores exactly.
 */
export type FiniteNumber = number;

/**
 * One city's examination results for one unit (housing, community, block, district or city) in one cycle. The submissionId is the idempotency key: the same id with the same content returns the same receipt, the same id with other content is refused.
 */
export interface Submission {
  /**
   * Client-generated UUID in canonical form (8-4-4-4-12 lowercase hex, no urn:uuid: prefix), unique per submission; reuse it when retrying.
   */
  submissionId: string;
  /**
   * Examination cycle (the year examined).
   */
  cycle: number;
  /**
   * Indicator catalogue version the observations refer to, e.g. 2024.1.
   */
  catalogueVersion: string;
  /**
   * Six-digit GB/T 2260 code of the reporting city: a prefecture-level city or municipality (110100 for Beijing), or a county-level city its cycle examines (640181 for 灵武市).
   */
  cityCode: string;
  unit: Unit;
  /**
   * @minItems 1
   * @maxItems 200
   */
  observations: [Observation, ...Observation[]];
  /**
   * When the city's system produced the submission (RFC 3339). Defaults to the time of receipt.
   */
  submittedAt?: string;
}
export interface Unit1 {
  level: 'housing' | 'community' | 'block' | 'district' | 'city';
  /**
   * community: 12 digits; district or city: 6 digits; block or housing: the 9-digit street code, a dash and a local id, e.g. 110101001-B07.
   */
  code: string;
  name?: string;
}
/**
 * One indicator's result for the unit. Which fields are required depends on the indicator's kind in the catalogue: value (count, length, score), numerator and denominator (rate), quantity and population (per-capita), meets (share of units meeting a standard), value and weight (weighted mean).
 */
export interface Observation {
  indicator: string;
  value?: FiniteNumber;
  numerator?: FiniteNumber;
  denominator?: FiniteNumber;
  quantity?: FiniteNumber;
  population?: FiniteNumber;
  weight?: FiniteNumber;
  meets?: boolean;
}
