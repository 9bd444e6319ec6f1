// The names of the rules a submission is validated against: stable, since cities branch on them
// (docs/integration.md lists them with their meaning).
import type { FieldProblem } from '@citycheck/errors';

export type RuleName =
  | 'catalogue_version_known'
  | 'catalogue_cycle'
  | 'cycle_open'
  | 'cycle_closed'
  | 'city_cycle_locked'
  | 'city_exists'
  | 'unit_exists'
  | 'unit_under_city'
  | 'indicator_unique'
  | 'indicator_known'
  | 'indicator_dimension'
  | 'kind_fields'
  | 'range'
  | 'integer_count'
  | 'weight_positive'
  | 'denominator_positive'
  | 'numerator_le_denominator'
  | 'population_positive';

/** A problem one of the rules found. */
export interface RuleProblem extends FieldProblem {
  readonly rule: RuleName;
}
