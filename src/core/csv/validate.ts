/**
 * Streaming validation and normalisation of one CSV export: bytes in, a canonical CSV and a summary out.
 *
 * input ─▶ Utf8Normaliser ─▶ DelimiterSniffer ─▶ csv-parse (on_record: header and row rules) ─▶ sink ─▶ output
 *
 * Every stage streams with backpressure, so memory does not grow with the file: the only state that grows is two
 * compact hash sets (8 bytes a slot, see hashSet.ts) for duplicate keys and distinct principals. A bad file is not an
 * exception: it ends in a summary with `outcome: 'rejected'`. `validateCsv` throws only when reading or writing
 * fails (the error of the failing stream, or a SyncError wrapping a foreign one) or when its signal aborts.
 *
 * Nothing from the file's cells ever enters a message, an issue or an error: issues name a line, a column (as the
 * schema calls it) and a rule; csv-parse's errors (which quote records) are mapped to our own codes by their `code`.
 */
import { createHash } from 'node:crypto';
import { Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser, type Info, type Options as ParseOptions } from 'csv-parse';
import { AbortedError, SyncError, ValidationError, isSyncError } from '../errors';
import { isGuid } from '../guid';
import type { RowPolicy } from '../routes';
import { CanonicalChunker } from './canonical';
import { DelimiterSniffer, type Delimiter } from './delimiter';
import { Utf8Normaliser, type DetectedEncoding } from './decode';
import { Hash64Set } from './hashSet';
import { headerKey, schemaFor, type ColumnSpec, type SchemaDefinition, type SchemaPreset } from './presets';

export type { Delimiter, DetectedEncoding, RowPolicy };

/**
 * What happens to a cell that starts with `=`, `+`, `-`, `@`, tab or CR (a spreadsheet would run it as a formula;
 * plain numbers such as `-12` or `+3.5` are exempt). Id columns never get here: a formula is not a GUID.
 * - `reject` (default): a row issue `<column>.formula`; the strict policy then rejects the file.
 * - `neutralise`: the canonical cell gets a leading `'` (OWASP's advice); the summary warns how many were changed.
 * - `allow`: written unchanged (Graph shows the values in a web page, not a spreadsheet).
 * NUL and other control characters are a separate rule (`<column>.controlChar`) whatever this policy says.
 */
export type FormulaPolicy = 'reject' | 'neutralise' | 'allow';

/** The shrink guard: a truncated export must not make a review look clean. */
export interface ShrinkGuardOptions {
  /** Reject when rows or distinct principals fall by more than this share of the previous file's. Default 0.5. */
  maxDropRatio?: number;
  /** Counts of the source's last accepted file (same file name). Without it only an empty file is caught. */
  previous?: { rows: number; distinctPrincipals: number };
  /**
   * An operator has released this file deliberately: the guard (and the no-rows check) let it through. Operators set
   * the blob metadata `arsync_release_shrink=true` (Azure metadata names must be C identifiers, so the name uses
   * underscores) or pass `--release-shrink` to the CLI.
   */
  released?: boolean;
}

export interface ValidateOptions {
  /** The file's name, for messages and the extension check (D17). Never a path with personal data in it. */
  fileName: string;
  schema: SchemaPreset;
  /** Export header → schema column, e.g. `{ "Employee Object ID": "principalId" }`; both sides match ignoring case. */
  headerAliases?: Record<string, string>;
  /** Field delimiter; `auto` (default) picks `,`, `;` or tab from the header line. */
  delimiter?: Delimiter | 'auto';
  /** Default `{ mode: 'strict' }`. Tolerant without limits drops at most 5% of the rows. */
  policy?: RowPolicy;
  shrinkGuard?: ShrinkGuardOptions;
  /** Default `reject`; see {@link FormulaPolicy}. */
  formulaCells?: FormulaPolicy;
  /** Longest cell in characters (rule `<column>.tooLong`). Default 4,000. */
  maxFieldLength?: number;
  /**
   * Longest record in bytes before parsing gives up (csv-parse `max_record_size`). It bounds memory, and it is how a
   * quote that is never closed shows up in a large file. Default 256 KiB.
   */
  maxRecordBytes?: number;
  /** The size the store reports. With `maxFileBytes`, a file over the cap is rejected before a byte is read (D10). */
  declaredSize?: number;
  /** Size cap in bytes, checked against `declaredSize` first and against the bytes actually read as they stream. */
  maxFileBytes?: number;
  /** The blob's content type, when known (D17): spreadsheets, archives and documents are refused. */
  contentType?: string;
  /** Called with the input bytes read so far, once per chunk. */
  onProgress?(bytesRead: number): void;
  signal?: AbortSignal;
}

/** One problem in one row: where and which rule. Never the cell's value. */
export interface RowIssue {
  /** 1-based physical line where the record starts (a quoted line break moves later records down). */
  line: number;
  /** The schema's column name; absent for whole-row rules (`row.columnCount`, `row.duplicate`). */
  column?: string;
  rule: string;
}

/** Something the operator should know that did not reject the file. */
export interface ValidationWarning {
  code: string;
  message: string;
  line?: number;
  column?: string;
  count?: number;
}

export interface Rejection {
  code: string;
  message: string;
  rule?: string;
  line?: number;
  column?: string;
  byteOffset?: number;
}

export interface ValidationSummary {
  outcome: 'accepted' | 'rejected';
  fileName: string;
  schema: SchemaPreset;
  policy: 'strict' | 'tolerant';
  /** Data records read (the header not counted). */
  rows: number;
  /** Rows written to the canonical output. */
  accepted: number;
  /** Rows with at least one issue (dropped in tolerant mode). */
  rejected: number;
  /** Distinct principals among the accepted rows. */
  distinctPrincipals: number;
  /** Every issue counted by rule, also past the first 1,000. */
  issuesByRule: Record<string, number>;
  /** The first 1,000 issues in file order. */
  issues: RowIssue[];
  issuesTruncated: boolean;
  warnings: ValidationWarning[];
  rejection?: Rejection;
  /** SHA-256 (hex) of the canonical output; empty when rejected (no canonical file exists then). */
  sha256: string;
  bytesIn: number;
  bytesOut: number;
  /** The delimiter used; undefined when the file was refused before its header was read. */
  delimiter: Delimiter | undefined;
  /** The input's encoding; undefined when the file was refused before its first byte was read. */
  encoding: DetectedEncoding | undefined;
  /** The limits in force, so that a report can say what "too long" meant. */
  limits: { maxFieldLength: number; maxRecordBytes: number; formulaCells: FormulaPolicy };
}

export const MAX_REPORTED_ISSUES = 1000;
export const DEFAULT_MAX_FIELD_LENGTH = 4000;
export const DEFAULT_MAX_RECORD_BYTES = 256 * 1024;
export const DEFAULT_MAX_DROP_RATIO = 0.5;
export const DEFAULT_TOLERANT_RATIO = 0.05;

/** Any character that needs a closer look: C0 and C1 controls, DEL, line separators, bidi overrides. */
// eslint-disable-next-line no-control-regex
const SPECIAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** Forbidden in every cell: SPECIAL minus tab, CR and LF. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /\r\n|\r|\n/g;
const FORMULA_LEAD = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?\d+(\.\d+)?$/;
const LIST_SEPARATOR = /[,;]/;
/** Extensions a CSV export may carry. */
const CSV_EXTENSIONS = ['.csv', '.txt'];
/** Content types a CSV may be stored with; anything else is refused (D17). */
const CSV_CONTENT_TYPES = new Set(['text/csv', 'text/plain', 'application/csv', 'text/comma-separated-values', 'application/vnd.ms-excel', 'application/octet-stream', 'binary/octet-stream']);

/**
 * The csv-parse options every file is read with (the delimiter and record size cap are added per file). A function,
 * so that each parser gets its own arrays.
 */
export function parseOptions(): ParseOptions {
  return {
    // CRLF, LF and CR all end a record, mixed in one file (csv-parse would otherwise keep the first one it meets).
    record_delimiter: ['\r\n', '\n', '\r'],
    quote: '"',
    escape: '"',
    // A stray quote inside an unquoted field (`5" screen`) is kept as a character instead of failing the file.
    relax_quotes: true,
    // Ragged rows become row issues with their line (and may be dropped in tolerant mode), not a parse failure.
    relax_column_count: true,
    skip_empty_lines: true,
    // The decoder has removed any BOM; a U+FEFF left at the start is data (and fails the header).
    bom: false,
  };
}

/** Validates and normalises one export. See the module comment for what throws and what rejects. */
export async function validateCsv(input: Readable, options: ValidateOptions, output?: Writable): Promise<ValidationSummary> {
  const run = new ValidationRun(options);
  const early = run.preflight();
  if (early) {
    // Refused from the properties alone: stop any download the caller has started.
    input.destroy();
    output?.end();
    return run.summary(early);
  }
  if (options.signal?.aborted) {
    input.destroy();
    throw new AbortedError('CSV validation');
  }

  const decoder = new Utf8Normaliser({ fileName: options.fileName, maxBytes: options.maxFileBytes, onProgress: options.onProgress });
  run.decoder = decoder;
  const parser = new RecordParser({ ...parseOptions(), delimiter: run.delimiter ?? ',', max_record_size: run.maxRecordBytes }, (record, info) =>
    run.onRecord(record, info),
  );
  run.parser = parser;
  const sink = run.createSink(output);

  // Remember which stream failed, so that an I/O failure can be told from a bug.
  let ioError: unknown;
  const onIoError = (error: unknown): void => {
    ioError ??= error;
  };
  input.once('error', onIoError);
  output?.on('error', onIoError);
  const stages: NodeJS.ReadWriteStream[] = [decoder];
  if (run.delimiter === undefined) {
    stages.push(
      new DelimiterSniffer((d) => {
        run.delimiter = d;
        parser.options.delimiter = [Buffer.from(d)];
      }),
    );
  }
  try {
    await pipeline([input, ...stages, parser, sink], options.signal ? { signal: options.signal } : {});
  } catch (error) {
    const rejection = run.classify(error);
    if (!rejection) {
      output?.off('error', onIoError);
      if (options.signal?.aborted) throw new AbortedError('CSV validation');
      if (error === ioError || (ioError !== undefined && !isSyncError(error))) {
        const cause = ioError ?? error;
        if (isSyncError(cause)) throw cause;
        throw new SyncError('csv.io', `Reading or writing ${options.fileName} failed`, 'retry', { file: options.fileName }, { cause });
      }
      throw error;
    }
    output?.off('error', onIoError);
    output?.end();
    return run.summary(rejection);
  } finally {
    input.off('error', onIoError);
  }
  output?.off('error', onIoError);
  const final = run.finalCheck();
  output?.end();
  return run.summary(final);
}

/**
 * csv-parse's Parser, with each record handed to `onRecord` the moment it is complete (with the parser's live `info`)
 * and only what `onRecord` returns passed on. Not csv-parse's own `on_record` option: for every record that builds
 * two object-spread copies of `info`, and V8 kept about 13% of the young generation alive across collections with
 * them (measured with --trace-gc-nvp on 100 MB: the young generation grew from 1 to 16 MB and peak RSS from 54 to
 * 93 MiB, csv-parse alone). Errors thrown by `onRecord` fail the stream at the end of the chunk being parsed.
 */
class RecordParser extends Parser {
  private failure: unknown;

  constructor(
    options: ParseOptions,
    private readonly onRecord: (record: string[], info: Info) => Buffer | null,
  ) {
    super(options);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (this.failure !== undefined) return false;
    if (chunk === null) return super.push(null, encoding);
    try {
      const out = this.onRecord(chunk as string[], this.info);
      return out === null ? true : super.push(out);
    } catch (error) {
      this.failure = error;
      return false;
    }
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    super._transform(chunk, encoding, (error) => callback(error ?? (this.failure as Error | undefined)));
  }

  override _flush(callback: TransformCallback): void {
    super._flush((error) => callback(error ?? (this.failure as Error | undefined)));
  }
}

/** The state of one validation; its methods are the pipeline's callbacks. */
class ValidationRun {
  readonly schema: SchemaDefinition;
  readonly options: ValidateOptions;
  readonly maxFieldLength: number;
  readonly maxRecordBytes: number;
  readonly formulaCells: FormulaPolicy;
  readonly policy: RowPolicy;
  delimiter: Delimiter | undefined;
  decoder: Utf8Normaliser | undefined;
  parser: Parser | undefined;

  private readonly aliases = new Map<string, string>();
  private readonly byKey = new Map<string, ColumnSpec>();
  private readonly allowedTypes = new Map<string, string>();
  /** The accepted principal types exactly as the preset spells them: most cells, with no lower-casing. */
  private readonly exactTypes = new Map<string, string>();
  private readonly keyIndexes: number[];
  private readonly principalIndex: number;
  private readonly tolerantMaxRows: number | undefined;
  private readonly tolerantMaxRatio: number | undefined;

  /** Field index of each schema column, once the header is read. */
  private columnIndex: number[] | undefined;
  private headerFields = 0;
  private lastEndLine = 0;
  /** Start line of the record being checked. */
  private currentLine = 0;
  private emptyLinesSeen = 0;
  private reserved = false;
  private readonly keys = new Hash64Set(1 << 14);
  private readonly principals = new Hash64Set(1 << 12);
  private readonly hash = createHash('sha256');
  /** False once the outcome is known to be a rejection: nothing more is worth writing. */
  writing = true;

  rows = 0;
  accepted = 0;
  rejected = 0;
  bytesOut = 0;
  neutralised = 0;
  readonly issuesByRule: Record<string, number> = {};
  readonly issues: RowIssue[] = [];
  readonly warnings: ValidationWarning[] = [];
  private readonly canonical = new CanonicalChunker();
  /** The canonical values of the row being checked; one array for the whole file. */
  private values: string[] = [];

  constructor(options: ValidateOptions) {
    this.options = options;
    this.schema = schemaFor(options.schema);
    this.maxFieldLength = positive(options.maxFieldLength, 'maxFieldLength') ?? DEFAULT_MAX_FIELD_LENGTH;
    this.maxRecordBytes = positive(options.maxRecordBytes, 'maxRecordBytes') ?? DEFAULT_MAX_RECORD_BYTES;
    this.formulaCells = options.formulaCells ?? 'reject';
    this.policy = options.policy ?? { mode: 'strict' };
    if (this.policy.mode === 'tolerant') {
      const { maxRejectedRows, maxRejectedRatio } = this.policy;
      const neither = maxRejectedRows === undefined && maxRejectedRatio === undefined;
      this.tolerantMaxRows = maxRejectedRows;
      this.tolerantMaxRatio = neither ? DEFAULT_TOLERANT_RATIO : maxRejectedRatio;
    }
    this.delimiter = options.delimiter === undefined || options.delimiter === 'auto' ? undefined : options.delimiter;
    for (const column of this.schema.columns) this.byKey.set(headerKey(column.name), column);
    for (const [from, to] of Object.entries(options.headerAliases ?? {})) {
      const target = this.byKey.get(headerKey(to));
      if (!target) {
        throw new SyncError('csv.options', `Header alias "${from}" points to "${to}", which is not a column of the ${this.schema.name} schema`, 'fatal', {
          file: options.fileName,
        });
      }
      this.aliases.set(headerKey(from), target.name);
    }
    for (const t of this.schema.principalTypes?.accepted ?? []) {
      this.allowedTypes.set(t.toLowerCase(), this.schema.principalTypes!.canonical);
      this.exactTypes.set(t, this.schema.principalTypes!.canonical);
    }
    const names = this.schema.columns.map((c) => c.name);
    this.keyIndexes = this.schema.keyColumns.map((k) => names.indexOf(k));
    this.principalIndex = names.indexOf(this.schema.principalColumn);
  }

  /** Checks that need no byte of the file: size cap (D10), extension and content type (D17). */
  preflight(): Rejection | undefined {
    const { declaredSize, maxFileBytes, fileName, contentType } = this.options;
    if (maxFileBytes !== undefined && declaredSize !== undefined && declaredSize > maxFileBytes) {
      return {
        code: 'file.tooLarge',
        rule: 'file.tooLarge',
        message: `The file is ${declaredSize} bytes, over the limit of ${maxFileBytes} bytes; it was not read. Split the export or raise the route's maxFileBytes.`,
      };
    }
    const lower = fileName.toLowerCase();
    if (!CSV_EXTENSIONS.some((ext) => lower.endsWith(ext))) {
      return { code: 'file.type', rule: 'file.extension', message: `The file name does not end in .csv (or .txt); only CSV exports are accepted.` };
    }
    if (contentType !== undefined && contentType.trim() !== '') {
      const base = contentType.split(';')[0]!.trim().toLowerCase();
      if (!CSV_CONTENT_TYPES.has(base)) {
        return {
          code: 'file.type',
          rule: 'file.contentType',
          message: `The file is stored with content type ${safeToken(base)}, which is not CSV; export the data as CSV (text/csv).`,
        };
      }
    }
    return undefined;
  }

  /**
   * Each record, as {@link RecordParser} hands it over: the header on the first call, a data row after. Returns a full
   * chunk of canonical output now and then, otherwise null.
   */
  onRecord(fields: string[], info: Info): Buffer | null {
    // Physical lines: csv-parse counts a quoted CRLF as two lines, so the start line is derived from the previous
    // record's end, the blank lines skipped since, and the line breaks inside this record's fields.
    const skipped = info.empty_lines - this.emptyLinesSeen;
    this.emptyLinesSeen = info.empty_lines;
    const line = this.lastEndLine + 1 + skipped;
    let breaks = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (LINE_BREAK.test(f)) breaks += f.match(LINE_BREAKS)!.length;
    }
    this.lastEndLine = line + breaks;
    this.currentLine = line;
    if (this.columnIndex === undefined) return this.onHeader(fields, line);
    this.rows++;
    if (!this.reserved && this.rows === 4096) this.reserve(info.bytes);
    return this.onRow(fields, line);
  }

  /** The line a failing record starts on, for errors raised between records. */
  nextRecordLine(): number {
    const empty = this.parser?.info.empty_lines ?? this.emptyLinesSeen;
    return this.lastEndLine + 1 + Math.max(0, empty - this.emptyLinesSeen);
  }

  private onHeader(fields: string[], line: number): Buffer | null {
    const index: number[] = new Array<number>(this.schema.columns.length).fill(-1);
    const names = this.schema.columns.map((c) => c.name);
    const duplicates: string[] = [];
    const extras: number[] = [];
    for (let i = 0; i < fields.length; i++) {
      const key = headerKey(fields[i]!);
      const target = this.aliases.get(key) ?? this.byKey.get(key)?.name;
      if (target === undefined) {
        extras.push(i);
        continue;
      }
      const j = names.indexOf(target);
      if (index[j] !== -1) {
        if (!duplicates.includes(target)) {
          duplicates.push(target);
          this.addIssue({ line, column: target, rule: 'header.duplicate' });
        }
        continue;
      }
      index[j] = i;
    }
    const missing = names.filter((_, j) => index[j] === -1);
    for (const column of missing) this.addIssue({ line, column, rule: 'header.missing' });
    // A header that lacks columns is often no header at all (the first line is data): then extra columns are named
    // by position only, so that no cell value reaches a warning.
    this.warnExtraColumns(fields, extras, line, missing.length === 0);
    if (missing.length > 0 || duplicates.length > 0) {
      this.writing = false;
      const parts: string[] = [];
      if (missing.length > 0) parts.push(`the header lacks ${missing.length === 1 ? 'the column' : 'the columns'} ${missing.join(', ')}`);
      if (duplicates.length > 0) parts.push(`it names ${duplicates.join(', ')} more than once`);
      const message = `Line ${line}: ${parts.join('; ')} (schema ${this.schema.name}; names match ignoring case, and the route's header aliases apply).`;
      throw new ValidationError(missing.length > 0 ? 'header.missing' : 'header.duplicate', message, {
        file: this.options.fileName,
        line,
        column: missing[0] ?? duplicates[0],
        rule: missing.length > 0 ? 'header.missing' : 'header.duplicate',
      });
    }
    this.columnIndex = index;
    this.headerFields = fields.length;
    this.values = new Array<string>(names.length).fill('');
    return this.emit(names);
  }

  private warnExtraColumns(fields: readonly string[], extras: readonly number[], line: number, showNames: boolean): void {
    for (const i of extras.slice(0, 20)) {
      const empty = headerKey(fields[i]!) === '';
      const where = showNames ? displayHeader(fields[i]!, i) : `column ${i + 1}`;
      this.warnings.push({
        code: empty ? 'header.emptyColumn' : 'header.extraColumn',
        line,
        column: where,
        message: empty ? `Column ${i + 1} has no name; it was dropped.` : `Column ${where} is not part of the ${this.schema.name} schema; it was dropped.`,
      });
    }
    if (extras.length > 20) this.warnings.push({ code: 'header.extraColumn', line, count: extras.length - 20, message: `${extras.length - 20} more columns were dropped.` });
  }

  private onRow(fields: string[], line: number): Buffer | null {
    if (fields.length !== this.headerFields) {
      this.addIssue({ line, rule: 'row.columnCount' });
      return this.rowRejected();
    }
    const columns = this.schema.columns;
    const index = this.columnIndex!;
    const values = this.values;
    let bad = false;
    for (let j = 0; j < columns.length; j++) {
      const spec = columns[j]!;
      const value = this.checkCell(spec, fields[index[j]!]!);
      if (value === undefined) {
        bad = true;
        continue;
      }
      values[j] = value;
    }
    if (bad) return this.rowRejected();
    if (!this.keys.addJoined(values, this.keyIndexes)) {
      this.addIssue({ line, rule: 'row.duplicate' });
      return this.rowRejected();
    }
    this.principals.addString(values[this.principalIndex]!);
    this.accepted++;
    return this.emit(values);
  }

  /** The canonical value of a cell, or undefined after recording the cell's first failing rule. */
  private checkCell(spec: ColumnSpec, raw: string): string | undefined {
    switch (spec.kind) {
      case 'guid': {
        // The common case (already a lower-case GUID) costs no new string.
        if (isLowerGuidAt(raw, 0) && raw.length === 36) return raw;
        const t = raw.trim();
        if (t === '') return this.fail(spec, 'required');
        return isGuid(t) ? t.toLowerCase() : this.fail(spec, 'guid');
      }
      case 'principalType': {
        const canonical = this.exactTypes.get(raw);
        if (canonical !== undefined) return canonical;
        const t = raw.trim();
        if (t === '') return this.fail(spec, 'required');
        return this.allowedTypes.get(t.toLowerCase()) ?? this.fail(spec, 'allowed');
      }
      case 'guidList': {
        if (raw.length > this.maxFieldLength) return this.fail(spec, 'tooLong');
        if (isCanonicalGuidList(raw)) return raw;
        if (raw.trim() === '') return '';
        const seen: string[] = [];
        for (const part of raw.split(LIST_SEPARATOR)) {
          const t = part.trim();
          if (t === '') continue;
          if (!isGuid(t)) return this.fail(spec, 'guidList');
          const g = t.toLowerCase();
          if (!seen.includes(g)) seen.push(g);
        }
        return seen.join(',');
      }
      case 'text': {
        if (spec.required && raw.trim() === '') return this.fail(spec, 'required');
        if (raw.length > this.maxFieldLength) return this.fail(spec, 'tooLong');
        if (SPECIAL.test(raw) && (CONTROL.test(raw) || (!spec.multiline && LINE_BREAK.test(raw)))) return this.fail(spec, 'controlChar');
        if (FORMULA_LEAD.test(raw) && !PLAIN_NUMBER.test(raw)) {
          if (this.formulaCells === 'reject') return this.fail(spec, 'formula');
          if (this.formulaCells === 'neutralise') {
            this.neutralised++;
            return `'${raw}`;
          }
        }
        return raw;
      }
    }
  }

  /** Records the cell's failing rule; returns undefined, the "no canonical value" of {@link checkCell}. */
  private fail(spec: ColumnSpec, check: string): undefined {
    this.addIssue({ line: this.currentLine, column: spec.name, rule: `${spec.name}.${check}` });
    return undefined;
  }

  private rowRejected(): null {
    this.rejected++;
    if (this.policy.mode === 'strict') {
      this.writing = false;
    } else if (this.tolerantMaxRows !== undefined && this.rejected > this.tolerantMaxRows) {
      this.writing = false;
      throw new ValidationError('rows.tooManyRejected', this.tooManyMessage(), { file: this.options.fileName, rule: 'rows.tooManyRejected' });
    }
    return null;
  }

  private tooManyMessage(): string {
    const first = this.issues[0];
    const limit =
      this.tolerantMaxRows !== undefined && this.rejected > this.tolerantMaxRows
        ? `more than the ${this.tolerantMaxRows} rows the tolerant policy may drop`
        : `more than ${formatRatio(this.tolerantMaxRatio ?? 0)} of the rows, the share the tolerant policy may drop`;
    return `${this.rejected} rows have problems, ${limit}.${first ? ` First: ${describeIssue(first, this.schema.name)}.` : ''} See the report for every line.`;
  }

  /**
   * Writes a canonical record and hands csv-parse a 64 KB chunk now and then instead of one line per record: the
   * object stream between the parser and the sink then moves a few items per chunk, not thousands. The sink takes
   * what is left at the end.
   */
  private emit(record: readonly string[]): Buffer | null {
    if (!this.writing) return null;
    return this.canonical.add(record);
  }

  private addIssue(issue: RowIssue): void {
    this.issuesByRule[issue.rule] = (this.issuesByRule[issue.rule] ?? 0) + 1;
    if (this.issues.length < MAX_REPORTED_ISSUES) this.issues.push(issue);
  }

  /**
   * Sizes the duplicate-key table once for the whole file, from the declared size and the bytes the first rows
   * took, so that it does not double (old and new tables coexisting) while a large file streams.
   */
  private reserve(decodedBytesSoFar: number): void {
    this.reserved = true;
    const size = this.options.declaredSize;
    const decoder = this.decoder;
    if (size === undefined || !decoder || decoder.bytesIn === 0 || decodedBytesSoFar <= 0) return;
    const decodedTotal = size * (decoder.bytesOut / decoder.bytesIn);
    const expectedRows = (this.rows / decodedBytesSoFar) * decodedTotal;
    // A little headroom: later rows may be shorter than the first ones.
    this.keys.reserve(Math.min(expectedRows * 1.05, 200_000_000));
  }

  /** The stream stage after the parser: batches canonical lines, hashes them and writes them with backpressure. */
  createSink(output: Writable | undefined): Writable {
    const write = (buffer: Buffer, callback: (error?: Error | null) => void): void => {
      if (buffer.length === 0 || !this.writing) {
        callback();
        return;
      }
      this.hash.update(buffer);
      this.bytesOut += buffer.length;
      if (!output || output.write(buffer)) {
        callback();
        return;
      }
      // Wait for the consumer; a failing output fails the pipeline instead of hanging it.
      const done = (error?: Error | null): void => {
        output.off('drain', onDrain);
        output.off('error', onError);
        output.off('close', onClose);
        callback(error);
      };
      const onDrain = (): void => done();
      const onError = (error: Error): void => done(error);
      const onClose = (): void => done(new Error('output closed before the canonical file was written'));
      output.on('drain', onDrain);
      output.on('error', onError);
      output.on('close', onClose);
    };
    return new Writable({
      objectMode: true,
      highWaterMark: 4,
      write: (chunk: Buffer, _encoding, callback) => write(chunk, callback),
      final: (callback) => write(this.canonical.take(), callback),
    });
  }

  /** Maps a pipeline failure to a rejection, or undefined when it is not about the file's content. */
  classify(error: unknown): Rejection | undefined {
    if (error instanceof ValidationError) {
      return {
        code: error.code,
        message: error.message,
        rule: error.context.rule,
        line: error.context.line,
        column: error.context.column,
        byteOffset: error.context.byteOffset,
      };
    }
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (typeof code !== 'string' || !(code.startsWith('CSV_') || code === 'INVALID_OPENING_QUOTE')) return undefined;
    const line = this.nextRecordLine();
    this.writing = false;
    switch (code) {
      case 'CSV_QUOTE_NOT_CLOSED':
        return {
          code: 'csv.quoteNotClosed',
          rule: 'csv.quoteNotClosed',
          line,
          message: `The record starting at line ${line} opens a quote that is never closed before the end of the file.`,
        };
      case 'CSV_MAX_RECORD_SIZE':
        return {
          code: 'csv.recordTooLarge',
          rule: 'csv.recordTooLarge',
          line,
          message: `The record starting at line ${line} is longer than ${this.maxRecordBytes} bytes; usually a quote that is never closed, otherwise a cell far too long.`,
        };
      default:
        // Other csv-parse codes (invalid closing quote, inconsistent lengths, …) cannot occur with the relaxed
        // options used here; they are mapped anyway so that no foreign message can escape.
        return { code: 'csv.malformed', rule: 'csv.malformed', line, message: `The record starting at line ${line} is not well-formed CSV (${safeToken(code)}).` };
    }
  }

  /** Checks that need the whole file: no header, the row policy, no rows, the shrink guard. */
  finalCheck(): Rejection | undefined {
    if (this.columnIndex === undefined) {
      return { code: 'file.empty', rule: 'file.empty', message: 'The file is empty: it has no header line.' };
    }
    if (this.rejected > 0) {
      if (this.policy.mode === 'strict') {
        const first = this.issues[0];
        return {
          code: 'rows.invalid',
          rule: first?.rule,
          line: first?.line,
          column: first?.column,
          message: `${this.rejected} of ${this.rows} rows have problems and the route's policy is strict.${first ? ` First: ${describeIssue(first, this.schema.name)}.` : ''} See the report for every line.`,
        };
      }
      const ratio = this.rejected / Math.max(1, this.rows);
      if ((this.tolerantMaxRows !== undefined && this.rejected > this.tolerantMaxRows) || (this.tolerantMaxRatio !== undefined && ratio > this.tolerantMaxRatio)) {
        return { code: 'rows.tooManyRejected', rule: 'rows.tooManyRejected', message: this.tooManyMessage() };
      }
      this.warnings.push({ code: 'rows.dropped', count: this.rejected, message: `${this.rejected} rows with problems were dropped (tolerant policy); see the report.` });
    }
    if (this.neutralised > 0) {
      this.warnings.push({
        code: 'cells.neutralised',
        count: this.neutralised,
        message: `${this.neutralised} cells that start like a spreadsheet formula were prefixed with ' (formulaCells=neutralise).`,
      });
    }
    const guard = this.options.shrinkGuard ?? {};
    const released = guard.released === true;
    if (this.accepted === 0) {
      if (!released) {
        return {
          code: 'file.noRows',
          rule: 'file.noRows',
          message: `The file has a header but no ${this.rows > 0 ? 'usable ' : ''}rows. If the source really has no access to review, release the file (blob metadata arsync_release_shrink=true, or --release-shrink).`,
        };
      }
      this.warnings.push({ code: 'shrink.released', message: 'The file has no rows; it was accepted because it was released.' });
    }
    const previous = guard.previous;
    if (previous) {
      const maxDrop = guard.maxDropRatio ?? DEFAULT_MAX_DROP_RATIO;
      const drops: [string, number, number, string][] = [
        ['shrink.rows', previous.rows, this.accepted, 'rows'],
        ['shrink.principals', previous.distinctPrincipals, this.principals.size, 'distinct principals'],
      ];
      for (const [code, before, now, what] of drops) {
        if (before <= 0) continue;
        const drop = (before - now) / before;
        if (drop <= maxDrop) continue;
        const text = `The file has ${now} ${what}, ${formatRatio(drop)} fewer than the last accepted file (${before}); the guard allows a drop of ${formatRatio(maxDrop)}.`;
        if (released) {
          this.warnings.push({ code: 'shrink.released', message: `${text} It was accepted because it was released.` });
          continue;
        }
        this.writing = false;
        return {
          code,
          rule: code,
          message: `${text} A truncated export would make the review look clean. If the drop is real, release the file: set the blob metadata arsync_release_shrink=true (or pass --release-shrink to the CLI).`,
        };
      }
    }
    return undefined;
  }

  summary(rejection: Rejection | undefined): ValidationSummary {
    const accepted = rejection === undefined;
    return {
      outcome: accepted ? 'accepted' : 'rejected',
      fileName: this.options.fileName,
      schema: this.schema.name,
      policy: this.policy.mode,
      rows: this.rows,
      accepted: this.accepted,
      rejected: this.rejected,
      distinctPrincipals: this.principals.size,
      issuesByRule: { ...this.issuesByRule },
      issues: [...this.issues],
      issuesTruncated: Object.values(this.issuesByRule).reduce((a, b) => a + b, 0) > this.issues.length,
      warnings: [...this.warnings],
      ...(rejection ? { rejection } : {}),
      sha256: accepted ? this.hash.digest('hex') : '',
      bytesIn: this.decoder?.bytesIn ?? 0,
      bytesOut: this.bytesOut,
      delimiter: this.delimiter,
      encoding: this.decoder?.encoding,
      limits: { maxFieldLength: this.maxFieldLength, maxRecordBytes: this.maxRecordBytes, formulaCells: this.formulaCells },
    };
  }
}

const DASH = 0x2d;
const COMMA = 0x2c;

/** A lower-case 8-4-4-4-12 GUID at `start` of `s` (what follows is not looked at); char codes, so no new string. */
function isLowerGuidAt(s: string, start: number): boolean {
  if (s.length < start + 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(start + i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== DASH) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) {
      return false;
    }
  }
  return true;
}

/**
 * True when a GUID list is already canonical (lower-case GUIDs joined by single commas, none repeated, no spaces):
 * then the cell is its own canonical value. Anything else takes the general path.
 */
function isCanonicalGuidList(s: string): boolean {
  if (s.length % 37 !== 36) return false;
  const count = (s.length + 1) / 37;
  // Pairwise comparison below is quadratic; long lists take the general path.
  if (count > 16) return false;
  for (let k = 0; k < count; k++) {
    const start = k * 37;
    if (!isLowerGuidAt(s, start)) return false;
    if (k < count - 1 && s.charCodeAt(start + 36) !== COMMA) return false;
    for (let j = 0; j < k; j++) if (sameGuidAt(s, j * 37, start)) return false;
  }
  return true;
}

function sameGuidAt(s: string, a: number, b: number): boolean {
  for (let i = 0; i < 36; i++) if (s.charCodeAt(a + i) !== s.charCodeAt(b + i)) return false;
  return true;
}

function positive(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) throw new SyncError('csv.options', `${name} must be a positive number`, 'fatal');
  return Math.floor(value);
}

function formatRatio(r: number): string {
  return `${Math.round(r * 1000) / 10}%`;
}

/** A token from outside (a content type, a csv-parse code) cut to a harmless shape before it enters a message. */
function safeToken(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9_.+/-]/g, '').slice(0, 80);
  return clean === '' ? '(unnamed)' : clean;
}

/**
 * A header cell as messages may show it. Header names are ours to show, but a file without a header row has data
 * in its first line: anything that does not look like a column name is shown by position only.
 */
export function displayHeader(name: string, index: number): string {
  const t = name.trim();
  return /^[A-Za-z][A-Za-z0-9 _.()#/-]{0,63}$/.test(t) && !GUID_ANYWHERE.test(t) ? `"${t}" (column ${index + 1})` : `column ${index + 1}`;
}
const GUID_ANYWHERE = /[0-9a-f]{8}-[0-9a-f]{4}/i;

const CHECK_TEXT: Record<string, string> = {
  guid: 'not a GUID (an object id such as 0a1b2c3d-0000-4000-8000-00000000000e)',
  required: 'empty, but a value is required',
  allowed: 'not a principal type this schema accepts',
  guidList: 'not a list of GUIDs separated by commas',
  tooLong: 'longer than the cell length limit',
  controlChar: 'contains a control character (NUL, a bidi override, or a line break in a one-line column)',
  formula: 'starts with =, +, -, @, tab or CR, which a spreadsheet runs as a formula',
  columnCount: 'has a different number of fields than the header',
  duplicate: 'repeats the identity (principal, permission and scope or resource) of an earlier row',
  missing: 'the header has no such column',
};

/** A line a person can act on, e.g. `line 14, column principalId: not a GUID (…) (rule principalId.guid)`. */
export function describeIssue(issue: RowIssue, schema?: SchemaPreset): string {
  const check = issue.rule.slice(issue.rule.lastIndexOf('.') + 1);
  let text = CHECK_TEXT[check] ?? 'breaks a rule';
  if (check === 'allowed' && schema) {
    const types = schemaFor(schema).principalTypes;
    if (types) text += ` (${types.accepted.join(' or ')}, written as ${types.canonical})`;
  }
  if (issue.rule === 'header.duplicate') text = 'the header names this column more than once';
  const where = issue.column === undefined ? `line ${issue.line}` : `line ${issue.line}, column ${issue.column}`;
  return `${where}: ${text} (rule ${issue.rule})`;
}
