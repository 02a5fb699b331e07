/**
 * CSV validation and normalisation: presets, the streaming validator, the canonical writer and the reports.
 * The sync job calls {@link validateCsv} on every file that lands and {@link writeReports} for refused ones.
 */
export { validateCsv, describeIssue, parseOptions, MAX_REPORTED_ISSUES, DEFAULT_MAX_FIELD_LENGTH, DEFAULT_MAX_RECORD_BYTES, DEFAULT_MAX_DROP_RATIO, DEFAULT_TOLERANT_RATIO } from './validate';
export type { ValidateOptions, ValidationSummary, RowIssue, Rejection, ValidationWarning, FormulaPolicy, ShrinkGuardOptions, RowPolicy, Delimiter, DetectedEncoding } from './validate';
export { SCHEMAS, schemaFor, headerKey } from './presets';
export type { SchemaDefinition, ColumnSpec, ColumnKind, SchemaPreset } from './presets';
export { writeReports, formatSummaryText, neutraliseCell } from './report';
export type { Reports, ReportContext } from './report';
export { CanonicalChunker, formatField, formatRecord, formatTable } from './canonical';
export { Hash64Set, hash64 } from './hashSet';
