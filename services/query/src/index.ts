// The query service as a library: the app factory, the engine and its SQL guard, the status source and the
// documented model, for tests, the CLI and benchmarks.
export { negotiateFormat, type ResultFormat, resultFormats } from './accept.js';
export { buildQueryApp, type QueryAppOptions } from './app.js';
export { documentedViews, lakeMacros, type MacroDoc, provinceCondition, type ViewDoc } from './lake-model.js';
export { createLakeViewDefiner, type LakeViewDefiner } from './lake-views.js';
export { queryOpenApiDocument } from './openapi-document.js';
export { createPgDoor, type PgDoor, type PgDoorOptions } from './pg-door.js';
export {
  createPipelineStatus,
  type PipelineStatus,
  type PipelineStatusOptions,
  type PipelineStatusSource,
  type ProvinceCompleteness,
  type RejectionReason,
  type StageStatus,
} from './pipeline-status.js';
export {
  createQueryEngine,
  type MacroDescription,
  type ParquetExport,
  type QueryEngine,
  type QueryEngineOptions,
  type QueryLimits,
  type QueryResultStream,
  type QueryScope,
  type TableDescription,
} from './query-engine.js';
export { type CheckedQuery, checkQuery, inspectStatementTree, leadingKeyword } from './sql-guard.js';
