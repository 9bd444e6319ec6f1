// Generated from schemas/submission/received-submission.v1.schema.json by scripts/generate-types.mjs. Do not edit.

/**
 * Value of topic submissions.received.v1: a submission as the ingest endpoint accepted it, with when and from whom.
 */
export interface ReceivedSubmission {
  /**
   * The submission exactly as sent (checked again by validate).
   */
  submission: {};
  /**
   * SHA-256 of the submission's canonical JSON.
   */
  contentHash: string;
  receivedAt: string;
  /**
   * Id (never the secret) of the credential that sent it.
   */
  credentialId?: string;
}
