// Generated from schemas/submission/validated-submission.v1.schema.json by scripts/generate-types.mjs. Do not edit.

/**
 * Value of topic submissions.validated.v1: a submission that passed every rule, with its unit placed in the division hierarchy and each observation reduced to the unit value the rollups use.
 */
export interface ValidatedSubmission {
  submissionId: string;
  contentHash: string;
  cycle: number;
  catalogueVersion: string;
  provinceCode: string;
  cityCode: string;
  districtCode: string | null;
  streetCode: string | null;
  unitLevel: 'housing' | 'community' | 'block' | 'district' | 'city';
  unitCode: string;
  submittedAt: string;
  receivedAt: string;
  validatedAt: string;
  observations: {
    indicator: string;
    /**
     * The unit value compared with the standard (a rate as numerator/denominator, a share as 1 or 0).
     */
    value: number;
    numerator?: number;
    denominator?: number;
    quantity?: number;
    population?: number;
    weight?: number;
    meets?: boolean;
  }[];
}
