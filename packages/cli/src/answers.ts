// The shapes of ingest's answers the CLI reads, from the same schemas the service declares on its routes
// (schemas/http, types generated into @citycheck/contracts), and guards that tell which answer came back.
import type { BulkSummary, DryRunReport, LineResult, Problem } from '@citycheck/contracts';
import type { ErrorBody } from '@citycheck/errors';

export type { BulkSummary, DryRunReport, ErrorBody, LineResult };
/** One precise problem with a submission or line (schemas/http/problem.v1.schema.json). */
export type FieldProblem = Problem;

export const isErrorBody = (body: unknown): body is ErrorBody =>
  typeof body === 'object' && body !== null && typeof (body as ErrorBody).error?.code === 'string';

export const isBulkSummary = (body: unknown): body is BulkSummary =>
  typeof body === 'object' && body !== null && Array.isArray((body as BulkSummary).lines);

export const isDryRunReport = (body: unknown): body is DryRunReport =>
  typeof body === 'object' && body !== null && (body as DryRunReport).dryRun === true && 'outcome' in body;
