// Generated from schemas/submission/rejected-submission.v1.schema.json by scripts/generate-types.mjs. Do not edit.

/**
 * Value of topic submissions.rejected.v1: a submission that failed validation, with every reason.
 */
export interface RejectedSubmission {
  submissionId: string | null;
  cityCode: string | null;
  contentHash?: string;
  receivedAt: string;
  rejectedAt: string;
  problems: Problem[];
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
