// What other parts of citycheck use of the validate service: the rules as a plain function and the rule
// context of a deployment (ingest's dry run applies exactly what validate will).
export { createRuleContext } from './rule-context.js';
export { type Outcome, type RuleContext, validateReceived } from './rules.js';
