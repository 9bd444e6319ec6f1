// The wire contracts of citycheck: the JSON Schemas in schemas/, their generated TypeScript types, and
// compiled validators that turn schema violations into precise, pointer-addressed problems.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FieldProblem } from '@citycheck/errors';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';

export type { ReceivedSubmission } from './generated/received-submission.js';
export type { RejectedSubmission } from './generated/rejected-submission.js';
export type { Observation, Submission, Unit1 as Unit } from './generated/submission.js';
export type { ValidatedSubmission } from './generated/validated-submission.js';

const schemasDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'schemas', 'submission');

const readSchema = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as Record<string, unknown>;

export const schemas = {
  submission: readSchema('submission.v1.schema.json'),
  receivedSubmission: readSchema('received-submission.v1.schema.json'),
  validatedSubmission: readSchema('validated-submission.v1.schema.json'),
  rejectedSubmission: readSchema('rejected-submission.v1.schema.json'),
} as const;

// ajv-formats is CommonJS; under NodeNext its default export arrives as the module object.
const addFormats = ((addFormatsPlugin as unknown as { default?: typeof addFormatsPlugin }).default ??
  addFormatsPlugin) as unknown as (ajv: Ajv2020) => Ajv2020;

/** An ajv instance for the contracts: all errors, strict schemas, formats checked. */
export const createAjv = (): Ajv2020 => {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  return ajv;
};

let shared: Ajv2020 | undefined;
const sharedAjv = (): Ajv2020 => {
  if (shared === undefined) {
    shared = createAjv();
    for (const schema of Object.values(schemas)) shared.addSchema(schema);
  }
  return shared;
};

export const compileContract = <T>(name: keyof typeof schemas): ValidateFunction<T> => {
  const id = schemas[name].$id as string;
  const validate = sharedAjv().getSchema<T>(id);
  if (validate === undefined) throw new Error(`schema ${id} is not registered`);
  return validate;
};

/** Turns ajv's errors into problems a sender can act on, each addressed by the JSON pointer it concerns. */
export const describeSchemaErrors = (errors: readonly ErrorObject[] | null | undefined): FieldProblem[] => {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    // `if` only says which branch failed; the branch's own error names the field.
    if (error.keyword === 'if') continue;
    let pointer = error.instancePath;
    let message = error.message ?? 'is invalid';
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'required') {
      pointer = `${pointer}/${String(params.missingProperty)}`;
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      pointer = `${pointer}/${String(params.additionalProperty)}`;
      message = 'is not allowed here';
    } else if (error.keyword === 'enum') {
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const key = `${pointer}|${error.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ pointer: pointer === '' ? '/' : pointer, rule: `schema.${error.keyword}`, message });
  }
  return problems;
};

/** JSON with object keys sorted at every depth: equal documents give equal text whatever their key order. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
};

export const contentHash = (value: unknown): string =>
  createHash('sha256').update(canonicalJson(value)).digest('hex');
