// The citycheck CLI as a library, for tests and tools: the submit run, its HTTP client and the admin commands.
export {
  type AdminCommand,
  type AdminOptions,
  formatCredentialList,
  runCredentialsAdmin,
} from './admin-credentials.js';
export type { BulkSummary, FieldProblem, LineResult } from './answers.js';
export {
  type CityResults,
  type CityResultsOptions,
  fetchCityResults,
  formatCityResults,
  ResultsFailed,
} from './city-results.js';
export {
  backoffMs,
  closeHttp,
  defaultRetryPolicy,
  RetriesExhausted,
  type RetryPolicy,
  retryAfterMs,
  send,
} from './http.js';
export { type Chunk, chunksOf, findInputFiles } from './input-files.js';
export { type ChunkResult, loadState, statePathFor } from './resume-state.js';
export {
  formatSubmissionState,
  runSubmissionStatus,
  type StatusOptions,
  statusExitCode,
} from './submission-status.js';
export {
  type FileRejection,
  formatReport,
  resultOf,
  runSubmit,
  SubmitFailed,
  type SubmitOptions,
  type SubmitReport,
} from './submit.js';
