// Generated from schemas/http/*.schema.json by scripts/generate-types.mjs. Do not edit.

/**
 * identified (待整改) -> planned (已制定计划) -> in_progress (整改中) -> rectified (已整改, verified by the province or the ministry).
 */
export type RectificationState = 'identified' | 'planned' | 'in_progress' | 'rectified';

/**
 * Every body schema of schemas/http, by file name.
 */
export interface HttpBodies {
  'bulk-summary'?: BulkSummary;
  'catalogue-version'?: CatalogueVersion;
  'dry-run-report'?: DryRunReport;
  'expected-units'?: ExpectedUnits;
  'line-result'?: LineResult;
  'pipeline-status'?: PipelineStatus;
  problem?: Problem;
  'query-request'?: QueryRequest;
  'query-result'?: QueryResult;
  receipt?: Receipt;
  'rectification-list'?: RectificationList;
  'rectification-note'?: RectificationNote;
  'rectification-plan'?: RectificationPlan;
  rectification?: Rectification;
  'review-comment'?: ReviewComment;
  'review-request'?: ReviewRequest;
  review?: Review;
  'submission-list'?: SubmissionList;
  'submission-state'?: SubmissionState;
  'table-catalogue'?: TableCatalogue;
}
/**
 * Per-line result of an NDJSON upload, or per-row result of a spreadsheet upload. Accepted lines are in Kafka when this is sent.
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
  /**
   * Spreadsheet rows that name a unit but hold no values: not sent, and not refused.
   */
  skipped?: number;
}
/**
 * What became of one line of an NDJSON upload, or one row of a spreadsheet upload (then with its sheet and row).
 */
export interface LineResult {
  /**
   * Line number in the (decompressed) upload, counting blank lines; for a spreadsheet, the row number in its sheet (the same as `row`).
   */
  line: number;
  /**
   * The sheet of a spreadsheet upload the row is in (`csv` for a CSV upload).
   */
  sheet?: string;
  /**
   * The row as the spreadsheet shows it, header rows included.
   */
  row?: number;
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
  /**
   * In a spreadsheet upload: the column's letters (G, AA).
   */
  column?: string;
  /**
   * In a spreadsheet upload: the column's header, in the language of the answer.
   */
  header?: string;
}
/**
 * One version of the indicator catalogue as a city reports against it: each indicator with its kind, the fields a submission gives for it (with their names and units), its range in stored units, its standard and the unit levels it is reported on.
 */
export interface CatalogueVersion {
  /**
   * The version, e.g. 2024.1: what a submission names as catalogueVersion.
   */
  id: string;
  cycle: number;
  title: LocalizedText;
  supersedes?: string;
  /**
   * Every indicator of the version in catalogue order, retired ones included (status says which).
   */
  indicators: CatalogueIndicator[];
}
export interface LocalizedText {
  zh: string;
  en: string;
}
export interface CatalogueIndicator {
  code: string;
  nameZh: string;
  nameEn: string;
  dimension: 'housing' | 'community' | 'block' | 'city';
  kind: 'count' | 'length' | 'rate' | 'perCapita' | 'share' | 'score' | 'mean';
  aggregation: 'sum' | 'ratio' | 'perCapita' | 'share' | 'weightedMean';
  direction: 'higherIsBetter' | 'lowerIsBetter';
  unit: MeasurementUnit;
  /**
   * Inclusive bounds of the unit value, in stored units (fractions for percentages; unit.scale presents them).
   */
  range: {
    min: number;
    max: number;
  };
  standard?: {
    operator: '<=' | '>=' | '==';
    value: number;
    note?: string;
  };
  unitLevels: ('housing' | 'community' | 'block' | 'district' | 'city')[];
  /**
   * The observation fields a submission gives for this indicator, exactly these and no others.
   */
  fields: IndicatorField[];
  status: 'active' | 'retired';
  since?: string;
  retiredIn?: string;
}
export interface MeasurementUnit {
  zh: string;
  en: string;
  /**
   * A stored value times scale is the value in this unit (1 when absent).
   */
  scale?: number;
}
export interface IndicatorField {
  field: 'value' | 'numerator' | 'denominator' | 'quantity' | 'population' | 'weight' | 'meets';
  nameZh: string;
  nameEn: string;
  type: 'number' | 'boolean';
  unit?: MeasurementUnit;
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
 * The urban communities a city is expected to report in a cycle (from the division registry, with the county-level cities the cycle names reporting on their own), each with its name and whether a submission of it was stored in the lake.
 */
export interface ExpectedUnits {
  cityCode: string;
  cycle: number;
  /**
   * How many units the city is expected to report.
   */
  expected: number;
  /**
   * How many of them have a stored submission in the cycle.
   */
  reported: number;
  /**
   * Sorted by code.
   */
  units: ExpectedUnit[];
}
export interface ExpectedUnit {
  level: 'community';
  code: string;
  /**
   * The official name, e.g. 多福巷社区.
   */
  name: string;
  /**
   * A submission of this unit in this cycle was stored in the lake (status stored or counted).
   */
  reported: boolean;
}
/**
 * The pipeline's health for the people on call: each stage's rate, lag and colour by the thresholds, ingest's and validate's rejections by reason and by city with submission ids to follow, the last hour a point a minute, the current cycle's reporting per province with its deadline and unreported cities, and every service's own figures. An analyst sees the reporting only, a provincial one its own province's.
 */
export interface PipelineStatus {
  generatedAt: string;
  /**
   * The zone the page shows times in.
   */
  timeZone: 'Asia/Shanghai';
  windowSeconds: number;
  thresholds: StatusThresholds;
  stages: StageStatus[];
  rejections: {
    submissions: number;
    inWindow: number;
    byReason: RejectionReason[];
    /**
     * False until both rejection topics were read to their end once after start.
     */
    caughtUp: boolean;
    byStage: {
      ingest: number;
      validate: number;
    };
    byCity: CityRejections[];
  };
  history: HistoryPoint[];
  completeness: {
    cycle: number | null;
    /**
     * The lake's completeness view when it exists, else current observations.
     */
    source: 'completeness' | 'observations_current';
    provinces: ProvinceCompleteness[];
    deadline: string | null;
    citiesUnreported: number | null;
  };
  services: ServiceMetrics[];
  /**
   * Sources that could not be read this time, with why.
   */
  problems: string[];
}
export interface StatusThresholds {
  lagAmber: number;
  lagRed: number;
  rejectedShareAmber: number;
  rejectedShareRed: number;
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
  rejectedInWindow: number;
  health: 'green' | 'amber' | 'red';
  why: string[];
}
export interface RejectionReason {
  stage: 'ingest' | 'validate';
  reason: string;
  total: number;
  inWindow: number;
}
export interface CityRejections {
  /**
   * The credential's city; unknown without a city credential.
   */
  cityCode: string;
  total: number;
  inWindow: number;
  byStage: {
    ingest: number;
    validate: number;
  };
  byReason: {
    stage: 'ingest' | 'validate';
    reason: string;
    total: number;
  }[];
  examples: RejectionExample[];
}
export interface RejectionExample {
  submissionId: string;
  stage: 'ingest' | 'validate';
  reasons: string[];
  at: string;
}
export interface HistoryPoint {
  at: string;
  perMinute: {
    ingest: number;
    validate: number;
    aggregate: number;
  };
  lag: {
    validate: number;
    aggregate: number;
  };
  rejected: {
    ingest: number;
    validate: number;
  };
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
 * The ledger items acted on that the credential may read (a city its own, a province's reviewer or analyst its province's, the ministry all), ordered by cycle, city, unit level, unit and indicator. Items nobody has acted on are not listed: the query service's rectification view shows every ledger item with its state.
 */
export interface RectificationList {
  items: Rectification[];
}
/**
 * The rectification (整改) of one shortfall ledger item (问题台账: a cycle, a unit and an indicator), as on rectification.v1: its recorded state, the latest plan, every evidence file (stored in the lake bucket, named by its SHA-256) and every action taken on it (who, when, why), the latest last. An item nobody has acted on is identified, with no actions. consolidated and reopened are not recorded: the lake derives them from the next cycle's data.
 */
export interface Rectification {
  kind: 'rectification';
  /**
   * The cycle whose data found the shortfall.
   */
  cycle: number;
  provinceCode: string;
  cityCode: string;
  unitLevel: 'housing' | 'community' | 'block' | 'district' | 'city';
  unitCode: string;
  indicatorCode: string;
  state: RectificationState;
  plan?: RectificationPlan;
  evidence: RectificationEvidence[];
  actions: {
    action: 'plan' | 'progress' | 'evidence' | 'verify' | 'return';
    /**
     * The credential's name.
     */
    by: string;
    credentialId: string;
    /**
     * city, reviewer:province:<code> or reviewer:ministry.
     */
    role: string;
    at: string;
    state: RectificationState;
    /**
     * A progress note, a verification's remark or a return's reason.
     */
    note?: string;
    plan?: RectificationPlan;
    evidence?: RectificationEvidence;
  }[];
}
/**
 * A city's plan for a ledger item: the measure, the department responsible and the date it is due.
 */
export interface RectificationPlan {
  /**
   * 整改措施.
   */
  measure: string;
  /**
   * 责任部门.
   */
  department: string;
  /**
   * 完成时限: a calendar date, YYYY-MM-DD (2026-02-30 is refused).
   */
  targetDate: string;
}
/**
 * A document or photo the city attached, stored in the lake bucket under objectKey.
 */
export interface RectificationEvidence {
  sha256: string;
  bytes: number;
  contentType: 'image/jpeg' | 'image/png' | 'application/pdf';
  fileName: string;
  /**
   * evidence/cycle=<cycle>/city_code=<city>/<sha256> in the lake bucket.
   */
  objectKey: string;
}
/**
 * What is said with a rectification action: a progress note (required to report progress), a return's reason (required to return), a remark on a verification.
 */
export interface RectificationNote {
  note?: string;
}
/**
 * A reviewer's remark on a city's data, naming the unit and the indicator it is about.
 */
export interface ReviewComment {
  text: string;
  /**
   * Code of the unit (district, street or community).
   */
  unit?: string;
  /**
   * Catalogue code of the indicator.
   */
  indicator?: string;
}
/**
 * What a reviewer says with an action: a reason (required to reopen; a return needs a reason or comments) and comments naming units and indicators.
 */
export interface ReviewRequest {
  reason?: string;
  /**
   * @maxItems 200
   */
  comments?: ReviewComment[];
}
/**
 * The review of one city's data for one cycle, as on reviews.v1: its state and every action taken on it (who, when, why, and the comments naming units and indicators), the latest last. A city nobody has acted on is a draft with no actions.
 */
export interface Review {
  kind: 'review';
  cycle: number;
  cityCode: string;
  /**
   * accepted: the city's data for the cycle are locked; new submissions for it are refused (city_cycle_locked) until a reviewer reopens it.
   */
  state: 'draft' | 'submitted' | 'returned' | 'approved' | 'accepted' | 'reopened';
  actions: {
    action: 'submit' | 'return' | 'approve' | 'accept' | 'reopen';
    /**
     * The credential's name.
     */
    by: string;
    credentialId: string;
    /**
     * city, reviewer:province:<code> or reviewer:ministry.
     */
    role: string;
    at: string;
    /**
     * The state the action left.
     */
    state: 'draft' | 'submitted' | 'returned' | 'approved' | 'accepted' | 'reopened';
    reason?: string;
    comments?: ReviewComment[];
  }[];
}
/**
 * One page of a city's submissions, oldest received first (then by id), each as GET /v1/submissions/{submissionId} gives it. nextCursor, when present, asks for the next page.
 */
export interface SubmissionList {
  submissions: SubmissionState[];
  /**
   * Pass as cursor for the next page; absent on the last page.
   */
  nextCursor?: string;
}
/**
 * Where a submission is: accepted (in Kafka), valid (passed every rule), rejected (with every problem), stored (in the lake), counted (in rollups, completeness, ledger and flags written to the lake).
 */
export interface SubmissionState {
  submissionId: string;
  cityCode: string;
  /**
   * The cycle the submission reports for (absent while only a later stage's record of it was read).
   */
  cycle?: number;
  /**
   * The unit the submission reports for (absent like cycle).
   */
  unit?: {
    level: 'housing' | 'community' | 'block' | 'district' | 'city';
    code: string;
  };
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
