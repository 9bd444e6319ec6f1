// A valid submission (Beijing, cycle 2024, one C01 count) with a fresh id, for tests that need one to send.
import { randomUUID } from 'node:crypto';

export const testSubmission = (overrides: Record<string, unknown> = {}) => ({
  submissionId: randomUUID(),
  cycle: 2024,
  catalogueVersion: '2024.1',
  cityCode: '110100',
  unit: { level: 'community', code: '110101001001' },
  observations: [{ indicator: 'C01', value: 2 }],
  ...overrides,
});
