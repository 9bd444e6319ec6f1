// The validation rules as a plain function, with the rule context of a deployment: validate applies them to
// every received submission, and ingest's dry run applies exactly the same.
export { createRuleContext } from './rule-context.js';
export type { RuleName, RuleProblem } from './rule-name.js';
export { cycleClosedProblem, type Outcome, placeUnit, type RuleContext, validateReceived } from './rules.js';
