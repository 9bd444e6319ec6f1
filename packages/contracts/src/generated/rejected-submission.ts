// Generated from schemas/submission/rejected-submission.v1.schema.json by scripts/generate-types.mjs. Do not edit.
import type { Problem } from './http-bodies.js';

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
