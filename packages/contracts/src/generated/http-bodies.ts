// Generated from schemas/http/*.schema.json by scripts/generate-types.mjs. Do not edit.

/**
 * Every body schema of schemas/http, by file name.
 */
export interface HttpBodies {
  'bulk-summary'?: BulkSummary;
  'dry-run-report'?: DryRunReport;
  'line-result'?: LineResult;
  'pipeline-status'?: PipelineStatus;
  problem?: Problem;
  'query-request'?: QueryRequest;
  'query-result'?: QueryResult;
  receipt?: Receipt;
  'submission-state'?: SubmissionState;
  'table-catalogue'?: TableCatalogue;
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
 * The pipeline's health: each stage's rate and lag, rejections by reason, the current cycle's reporting per province, and the services' own figures. A provincial analyst sees its own province's reporting only.
 */
export interface PipelineStatus {
  generatedAt: string;
  windowSeconds: number;
  stages: StageStatus[];
  rejections: {
    submissions: number;
    inWindow: number;
    byReason: RejectionReason[];
    /**
     * False until submissions.rejected.v1 was read to its end once after start.
     */
    caughtUp: boolean;
  };
  completeness: {
    cycle: number | null;
    /**
     * The lake's completeness view when it exists, else current observations.
     */
    source: 'completeness' | 'observations_current';
    provinces: ProvinceCompleteness[];
  };
  services: ServiceMetrics[];
  /**
   * Sources that could not be read this time, with why.
   */
  problems: string[];
}
export interface StageStatus {
  name: 'ingest' | 'validate' | 'aggregate';
  /**
   * What the stage reads (ingest: HTTP).
   */
  consumes: string;
  produces: string[];
  group?: string;
  /**
   * Records the stage handled within the window.
   */
  inWindow: number;
  perMinute: number;
  /**
   * Records still to be handled (consumer lag); absent for ingest.
   */
  lag?: number;
  lagByPartition?: {
    partition: number;
    lag: number;
  }[];
}
export interface RejectionReason {
  reason: string;
  total: number;
  inWindow: number;
}
export interface ProvinceCompleteness {
  code: string;
  name: string;
  citiesReporting: number;
  citiesExpected: number | null;
  unitsReporting: number;
  unitsExpected: number | null;
  reportingRate: number | null;
  reportingRateOnTime: number | null;
}
export interface ServiceMetrics {
  name: string;
  url: string;
  up: boolean;
  figures: {
    [k: string]: number;
  };
}
/**
 * One read-only SELECT over the documented views (GET /v1/tables).
 */
export interface QueryRequest {
  /**
   * A single SELECT (or WITH … SELECT); a provincial analyst's rows are limited to their province.
   */
  sql: string;
}
/**
 * A result as JSON: columns, then rows in column order. Streamed: when a limit stops the query after rows were sent, `complete` is false and `error` says why.
 */
export interface QueryResult {
  columns: {
    name: string;
    /**
     * The DuckDB type, e.g. BIGINT, DECIMAL(38,6), TIMESTAMP.
     */
    type: string;
  }[];
  rows: unknown[][];
  rowCount: number;
  complete: boolean;
  error?: {
    code: string;
    message: string;
  };
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
/**
 * The views an analyst may query, with their columns, and the table macros.
 */
export interface TableCatalogue {
  tables: TableDescription[];
  macros: MacroDescription[];
}
export interface TableDescription {
  name: string;
  doc: string;
  columns: TableColumn[];
  /**
   * The column a provincial analyst's rows are chosen by; absent when every analyst reads the whole view.
   */
  provinceColumn?: string;
}
export interface TableColumn {
  name: string;
  type: string;
  doc?: string;
}
export interface MacroDescription {
  name: string;
  doc: string;
  parameters: string[];
}
