// Generated from schemas/http/*.schema.json by scripts/generate-types.mjs. Do not edit.

/**
 * Every body schema of schemas/http, by file name.
 */
export interface HttpBodies {
  'bulk-summary'?: BulkSummary;
  'dry-run-report'?: DryRunReport;
  'line-result'?: LineResult;
  problem?: Problem;
  receipt?: Receipt;
  'submission-state'?: SubmissionState;
}
/**
 * Per-line result of an NDJSON upload. Accepted lines are in Kafka when this is sent.
 */
export interface BulkSummary {
  dryRun: boolean;
  /**
   * Non-blank lines read.
   */
  received: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  lines: LineResult[];
}
/**
 * What became of one line of an NDJSON upload.
 */
export interface LineResult {
  /**
   * Line number in the (decompressed) upload, counting blank lines.
   */
  line: number;
  submissionId: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  problems?: Problem[];
}
/**
 * One precise problem: the JSON pointer into the submission (or line), a stable rule name, a message, and where they apply the indicator and offending value.
 */
export interface Problem {
  pointer: string;
  rule: string;
  message: string;
  indicator?: string;
  value?: unknown;
}
/**
 * What would happen to the submission; nothing was stored.
 */
export interface DryRunReport {
  dryRun: true;
  submissionId: string | null;
  outcome: 'valid' | 'rejected';
  /**
   * new: would be accepted; duplicate: already accepted with this content; conflict: the id was used for other content.
   */
  idempotency: 'new' | 'duplicate' | 'conflict' | 'unknown';
  /**
   * The checks applied. Without `rules`, the catalogue and division rules run only after submission.
   */
  checks: ('schema' | 'credential_scope' | 'idempotency' | 'rules')[];
  problems: Problem[];
}
/**
 * Proof that the submission is stored in Kafka (submissions.received.v1). Resending the same submission returns this same receipt with 200.
 */
export interface Receipt {
  submissionId: string;
  status: 'accepted';
  /**
   * SHA-256 of the canonical JSON of the submission.
   */
  contentHash: string;
  receivedAt: string;
  /**
   * -1 while not yet known to the answering instance.
   */
  partition: number;
  offset: string;
  /**
   * Present when the submission was received after its cycle's reporting deadline (and before its closing): accepted, counted in the rollups, and not on time in completeness.
   */
  late?: true;
}
/**
 * Where a submission is: accepted (in Kafka), valid (passed every rule), rejected (with every problem), stored (in the lake), counted (in rollups, completeness, ledger and flags written to the lake).
 */
export interface SubmissionState {
  submissionId: string;
  cityCode: string;
  status: 'accepted' | 'valid' | 'rejected' | 'stored' | 'counted';
  contentHash: string;
  /**
   * Received after its cycle's deadline (see Receipt.late).
   */
  late?: true;
  /**
   * When the first derivation that includes the submission was written to the lake.
   */
  countedAt?: string;
  receipt?: Receipt;
  problems?: Problem[];
}
