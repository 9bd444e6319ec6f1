// The checks ingest itself applies to a submission before it reaches Kafka: the submission schema (with
// precise messages for numbers JSON cannot carry exactly), the credential's scope and the cycle's closing.
import { createHash } from 'node:crypto';
import {
  canonicalJson,
  compileContract,
  describeSchemaErrors,
  type ReceivedSubmission,
  type Submission,
  valueAtPointer,
} from '@citycheck/contracts';
import { maySubmitFor, type Principal } from '@citycheck/credentials';
import type { CycleBook } from '@citycheck/cycles';
import type { FieldProblem } from '@citycheck/errors';
import { cycleClosedProblem, type RuleContext, validateReceived } from '@citycheck/rules';

const validateSubmission = compileContract<Submission>('submission');

/**
 * The semantic rules validate applies (catalogue version, indicator and dimension, ranges, numerator <=
 * denominator, unit under the city, cycle open): `validateReceived` of @citycheck/rules with its rule
 * context bound. Returns every problem; none means valid.
 */
export type SemanticCheck = (received: ReceivedSubmission) => readonly FieldProblem[];

/**
 * The rules of `rules` as ingest applies them at its door (app options `semanticCheck` and `indicatorsOf`):
 * exactly what validate applies, with the catalogue the Chinese messages name the indicators from.
 */
export const rulesAtTheDoor = (
  rules: RuleContext,
): { readonly semanticCheck: SemanticCheck; readonly indicatorsOf: RuleContext['catalogue'] } => ({
  semanticCheck: (received) => {
    const outcome = validateReceived(received, rules);
    return outcome.kind === 'valid' ? [] : outcome.record.problems;
  },
  indicatorsOf: rules.catalogue,
});

/** A submission that passed the schema, with its content hash and the canonical text the hash was taken of. */
export interface CheckedSubmission {
  readonly submission: Submission;
  /** Hex SHA-256 of `canonical`: the same value as `contentHash` of @citycheck/contracts. */
  readonly contentHash: string;
  /**
   * The submission as canonical JSON (keys sorted at every depth): a JSON text of the same value, reused as the
   * submission inside the received record, so a submission is serialised once, not twice.
   */
  readonly canonical: string;
}

export type SchemaOutcome =
  | ({ readonly ok: true } & CheckedSubmission)
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/** Checks a parsed document against the submission schema. */
export const checkSchema = (document: unknown): SchemaOutcome => {
  if (validateSubmission(document)) {
    const canonical = canonicalJson(document);
    return {
      ok: true,
      submission: document,
      contentHash: createHash('sha256').update(canonical).digest('hex'),
      canonical,
    };
  }
  const problems = describeSchemaErrors(validateSubmission.errors, document).map((problem): FieldProblem => {
    // 1e400 parses to Infinity: say so, rather than "must be <= 1000000000000000".
    const value = valueAtPointer(document, problem.pointer);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      return {
        pointer: problem.pointer,
        rule: 'finite_number',
        message: 'is too large to be a number (it overflows to infinity); send a number from -1e15 to 1e15',
      };
    }
    return problem;
  });
  return { ok: false, problems };
};

/** The problem when the credential may not submit for the submission's city, else undefined. */
export const scopeProblem = (principal: Principal, cityCode: string): FieldProblem | undefined => {
  if (maySubmitFor(principal, cityCode)) return undefined;
  const scope = principal.kind === 'city' ? `city ${principal.cityCode}` : `an ${principal.kind} role`;
  return {
    pointer: '/cityCode',
    rule: 'credential_scope',
    message:
      principal.kind === 'city'
        ? `this credential submits for ${scope} only, not for ${cityCode}`
        : `this credential has ${scope}, which submits nothing`,
    value: cityCode,
  };
};

/**
 * The problem when the submission's cycle was closed at `at` (rule cycle_closed, for the city in Chinese with
 * the cycle and its closing), else undefined. Validate applies the same rule to the receipt time.
 */
export const cycleProblem = (
  cycles: CycleBook | undefined,
  cycle: number,
  at: Date,
): FieldProblem | undefined => {
  const window = cycles?.window(cycle, at);
  return window?.state === 'closed' ? cycleClosedProblem(window.settings) : undefined;
};
