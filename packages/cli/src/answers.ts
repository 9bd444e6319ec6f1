// The shapes of ingest's answers the CLI reads (see schemas/openapi/ingest.openapi.json), and how one answer
// to a chunk becomes counts and rejections. Only what the CLI uses is declared; the rest passes through.

export interface FieldProblem {
  readonly pointer: string;
  readonly rule: string;
  readonly message: string;
  readonly indicator?: string;
  readonly value?: unknown;
}

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly problems?: readonly FieldProblem[];
  };
}

export interface LineResult {
  readonly line: number;
  readonly submissionId: string | null;
  readonly status: 'accepted' | 'duplicate' | 'rejected';
  readonly problems?: readonly FieldProblem[];
}

export interface BulkSummary {
  readonly dryRun: boolean;
  readonly received: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly lines: readonly LineResult[];
}

export interface DryRunReport {
  readonly dryRun: true;
  readonly submissionId: string | null;
  readonly outcome: 'valid' | 'rejected';
  readonly idempotency: string;
  readonly problems: readonly FieldProblem[];
}

export const isErrorBody = (body: unknown): body is ErrorBody =>
  typeof body === 'object' && body !== null && typeof (body as ErrorBody).error?.code === 'string';

export const isBulkSummary = (body: unknown): body is BulkSummary =>
  typeof body === 'object' && body !== null && Array.isArray((body as BulkSummary).lines);

export const isDryRunReport = (body: unknown): body is DryRunReport =>
  typeof body === 'object' && body !== null && (body as DryRunReport).dryRun === true && 'outcome' in body;
