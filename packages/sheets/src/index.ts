// @citycheck/sheets: the spreadsheet a city fills in instead of writing JSON. The template's layout comes from
// the catalogue and the division registry; ingest reads the same layout back, one submission per filled row.
export {
  type CellProblem,
  locateProblem,
  type RowOutcome,
  type RowSubmission,
  rowSubmission,
  type SheetLanguage,
  sheetIdNamespace,
  stableSubmissionId,
  supersedingSubmissionId,
  uuidV5,
} from './row-submission.js';
export {
  columnLetter,
  type FieldColumn,
  headerRows,
  identityColumns,
  isFieldColumn,
  keyOfHeader,
  type SheetColumn,
  sheetColumns,
  sheetLevels,
  sheetNames,
} from './sheet-layout.js';
export {
  type CellValue,
  declaredUnpackedBytes,
  type ReadColumn,
  type ReadLimits,
  type ReadRow,
  readCsv,
  readWorkbook,
  type SheetTable,
  UnreadableSheet,
} from './sheet-read.js';
export {
  type ExpectedUnit,
  expectedUnitsOf,
  type TemplateOptions,
  templateCsv,
  templateWorkbook,
} from './template-write.js';
