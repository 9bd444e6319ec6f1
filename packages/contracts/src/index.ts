// The wire contracts of citycheck: the JSON Schemas in schemas/, their generated TypeScript types, and
// compiled validators that turn schema violations into precise, pointer-addressed problems.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FieldProblem } from '@citycheck/errors';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import type * as bodies from './generated/http-bodies.js';

export type { ReceivedSubmission } from './generated/received-submission.js';
export type { RejectedSubmission } from './generated/rejected-submission.js';
export type { Observation, Submission, Unit1 as Unit } from './generated/submission.js';
export type { ValidatedSubmission } from './generated/validated-submission.js';

/** A body as a service builds it and a client reads it: nothing in it changes once made. */
export type Immutable<T> = T extends readonly (infer Item)[]
  ? readonly Immutable<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]: Immutable<T[Key]> }
    : T;

// The HTTP bodies of schemas/http (types generated into generated/http-bodies.ts).
export type BulkSummary = Immutable<bodies.BulkSummary>;
export type CatalogueVersion = Immutable<bodies.CatalogueVersion>;
export type DryRunReport = Immutable<bodies.DryRunReport>;
export type ExpectedUnits = Immutable<bodies.ExpectedUnits>;
export type LineResult = Immutable<bodies.LineResult>;
export type MacroDescription = Immutable<bodies.MacroDescription>;
export type PipelineStatus = Immutable<bodies.PipelineStatus>;
export type Problem = Immutable<bodies.Problem>;
export type ProvinceCompleteness = Immutable<bodies.ProvinceCompleteness>;
export type QueryRequest = Immutable<bodies.QueryRequest>;
export type QueryResult = Immutable<bodies.QueryResult>;
export type Receipt = Immutable<bodies.Receipt>;
export type RejectionReason = Immutable<bodies.RejectionReason>;
export type ServiceMetrics = Immutable<bodies.ServiceMetrics>;
export type StageStatus = Immutable<bodies.StageStatus>;
export type SubmissionList = Immutable<bodies.SubmissionList>;
export type SubmissionState = Immutable<bodies.SubmissionState>;
export type TableCatalogue = Immutable<bodies.TableCatalogue>;
export type TableColumn = Immutable<bodies.TableColumn>;
export type TableDescription = Immutable<bodies.TableDescription>;

const schemasDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'schemas', 'submission');

const readSchema = (file: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(schemasDir, file), 'utf8')) as Record<string, unknown>;

const httpSchemasDir = join(schemasDir, '..', 'http');
const readHttpSchema = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(httpSchemasDir, `${name}.v1.schema.json`), 'utf8')) as Record<string, unknown>;

/** The bodies of the HTTP APIs (schemas/http), for route schemas and the OpenAPI documents. */
export const httpSchemas = {
  problem: readHttpSchema('problem'),
  receipt: readHttpSchema('receipt'),
  submissionState: readHttpSchema('submission-state'),
  dryRunReport: readHttpSchema('dry-run-report'),
  lineResult: readHttpSchema('line-result'),
  bulkSummary: readHttpSchema('bulk-summary'),
  queryRequest: readHttpSchema('query-request'),
  queryResult: readHttpSchema('query-result'),
  tableCatalogue: readHttpSchema('table-catalogue'),
  pipelineStatus: readHttpSchema('pipeline-status'),
  review: readHttpSchema('review'),
  reviewComment: readHttpSchema('review-comment'),
  reviewRequest: readHttpSchema('review-request'),
  rectification: readHttpSchema('rectification'),
  rectificationList: readHttpSchema('rectification-list'),
  rectificationPlan: readHttpSchema('rectification-plan'),
  rectificationNote: readHttpSchema('rectification-note'),
  catalogueVersion: readHttpSchema('catalogue-version'),
  expectedUnits: readHttpSchema('expected-units'),
  submissionList: readHttpSchema('submission-list'),
} as const;

/** A `$ref` to one of `httpSchemas` (or `schemas`), by its `$id`. */
export const schemaRef = (schema: Record<string, unknown>): { $ref: string } => ({
  $ref: String(schema.$id),
});

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
    // The rejected record's problems are the HTTP answers' Problem.
    for (const schema of [...Object.values(schemas), httpSchemas.problem]) shared.addSchema(schema);
  }
  return shared;
};

export const compileContract = <T>(name: keyof typeof schemas): ValidateFunction<T> => {
  const id = schemas[name].$id as string;
  const validate = sharedAjv().getSchema<T>(id);
  if (validate === undefined) throw new Error(`schema ${id} is not registered`);
  return validate;
};

/**
 * The one UUID rule of the API, for the schema's `submissionId` and for every route that takes an id: the
 * canonical text form only (8-4-4-4-12 lowercase hex). ajv's `format: uuid` also takes `urn:uuid:…` and
 * upper case, which would let one id be stored twice under two spellings. Read from the schema itself.
 */
export const canonicalUuidPattern: string = (
  schemas.submission as { properties: { submissionId: { pattern: string } } }
).properties.submissionId.pattern;
export const canonicalUuid = new RegExp(canonicalUuidPattern);
/** What a sender is told when an id is not a canonical UUID. */
export const uuidMessage =
  'must be a UUID in canonical form: 8-4-4-4-12 lowercase hex digits, without "urn:uuid:", braces or upper case';

/** One reference token of a JSON pointer, escaped as RFC 6901 says: `~` as `~0`, then `/` as `~1`. */
export const escapePointerToken = (token: string): string =>
  token.replaceAll('~', '~0').replaceAll('/', '~1');

/** The value a JSON pointer (RFC 6901) addresses in `document`; undefined when there is none. */
export const valueAtPointer = (document: unknown, pointer: string): unknown => {
  if (pointer === '' || pointer === '/') return document;
  let node = document;
  for (const token of pointer.split('/').slice(1)) {
    if (typeof node !== 'object' || node === null) return undefined;
    const key = token.replaceAll('~1', '/').replaceAll('~0', '~');
    if (!Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
};

// A problem repeats the offending value so the sender sees what was read; objects and arrays are named by
// their pointer alone (repeating a whole unit or list would bury the message), long strings are cut.
const offendingValue = (value: unknown): { value?: unknown } => {
  if (value === undefined || (typeof value === 'object' && value !== null)) return {};
  if (typeof value === 'string' && value.length > 200) return { value: `${value.slice(0, 200)}…` };
  return { value };
};

/**
 * Turns ajv's errors into problems a sender can act on, each addressed by the JSON pointer (RFC 6901,
 * escaped) it concerns and, given the validated `document`, carrying the offending value when it is a
 * scalar (a missing property has none).
 */
export const describeSchemaErrors = (
  errors: readonly ErrorObject[] | null | undefined,
  document?: unknown,
): FieldProblem[] => {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    // `if` only says which branch failed; the branch's own error names the field.
    if (error.keyword === 'if') continue;
    // ajv's instancePath is already escaped; property names from params are not.
    let pointer = error.instancePath;
    let message = error.message ?? 'is invalid';
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'required') {
      pointer = `${pointer}/${escapePointerToken(String(params.missingProperty))}`;
      message = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      pointer = `${pointer}/${escapePointerToken(String(params.additionalProperty))}`;
      message = 'is not allowed here';
    } else if (error.keyword === 'enum') {
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    }
    if (error.keyword === 'pattern' && params.pattern === canonicalUuidPattern) message = uuidMessage;
    const key = `${pointer}|${error.keyword}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const value = error.keyword === 'required' ? {} : offendingValue(valueAtPointer(document, pointer));
    problems.push({
      pointer: pointer === '' ? '/' : pointer,
      rule: `schema.${error.keyword}`,
      message,
      ...value,
    });
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
