/**
 * `accessreview-sync validate <file>`: the validator on a local file, the same code the sync job runs on a blob.
 * Prints the summary, writes report.json and report.csv when asked, and exits 0 (accepted), 1 (rejected) or 2
 * (usage or I/O error).
 */
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummaryText, validateCsv, writeReports, type ValidateOptions, type ValidationSummary } from '../core/csv';
import { isSyncError } from '../core/errors';
import { errorLogFields } from '../core/log';
import type { Logger } from '../core/ports';
import { SCHEMA_PRESETS, type Route, type SchemaPreset } from '../core/routes';

export const VALIDATE_USAGE = `  validate <file> [--schema graph-v1|entra-portal|legacy-2025] [--delimiter auto|comma|semicolon|tab]
           [--tolerant[=maxRows]] [--report <path-prefix>] [--release-shrink] [--route <name>] [--json]
                       check a CSV export as the job would, print the summary, write <prefix>report.json/.csv
`;

/** Route settings as the validator needs them (the route resolver of the job's configuration provides them). */
export type ValidateRoute = Pick<Route, 'schema' | 'headerAliases' | 'delimiter' | 'policy' | 'shrinkGuardRatio' | 'maxFileBytes'> & Partial<Route>;

export interface ValidateCommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Resolves `--route <name>` to its settings; without it `--route` is a usage error. */
  resolveRoute?: (name: string) => Promise<ValidateRoute | undefined> | ValidateRoute | undefined;
  /** Structured events (`csv.validated`, `csv.failed`); fields pass the log allow-list. */
  logger?: Logger;
  /** Clock for progress throttling (tests pass a fake; nothing here sleeps). */
  now?: () => number;
}

/** Files smaller than this validate in a moment; progress lines would be noise. */
const PROGRESS_MIN_BYTES = 16 * 1024 * 1024;

const DELIMITERS: Record<string, ValidateOptions['delimiter']> = {
  auto: 'auto',
  comma: ',',
  ',': ',',
  semicolon: ';',
  ';': ';',
  tab: '\t',
  '\\t': '\t',
  '\t': '\t',
};

export async function validateCommand(args: readonly string[], io: ValidateCommandIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        schema: { type: 'string' },
        delimiter: { type: 'string' },
        tolerant: { type: 'string' },
        report: { type: 'string' },
        'release-shrink': { type: 'boolean' },
        route: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usage(io, error instanceof Error ? error.message : 'invalid arguments');
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(`Usage:\n${VALIDATE_USAGE}`);
    return 0;
  }
  if (positionals.length !== 1) return usage(io, positionals.length === 0 ? 'validate needs a file' : 'validate takes one file');
  const file = positionals[0]!;

  let route: ValidateRoute | undefined;
  if (values.route !== undefined) {
    if (!io.resolveRoute) return usage(io, '--route needs the route settings of a configured job, which this command was not given; pass --schema (and --delimiter, --tolerant) instead');
    route = await io.resolveRoute(values.route);
    if (!route) return usage(io, `no route named ${values.route}`);
  }
  if (values.schema !== undefined && !(SCHEMA_PRESETS as readonly string[]).includes(values.schema)) {
    return usage(io, `--schema must be one of ${SCHEMA_PRESETS.join(', ')}`);
  }
  let delimiter = route?.delimiter ?? 'auto';
  if (values.delimiter !== undefined) {
    const d = DELIMITERS[values.delimiter];
    if (!d) return usage(io, '--delimiter must be auto, comma, semicolon or tab');
    delimiter = d;
  }
  let policy = route?.policy ?? { mode: 'strict' as const };
  if (values.tolerant !== undefined) {
    if (values.tolerant === '') policy = { mode: 'tolerant' };
    else {
      const n = Number(values.tolerant);
      if (!Number.isInteger(n) || n < 0) return usage(io, '--tolerant=<maxRows> needs a whole number');
      policy = { mode: 'tolerant', maxRejectedRows: n };
    }
  }
  const schema = (values.schema as SchemaPreset | undefined) ?? route?.schema ?? 'graph-v1';

  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) return ioFailure(io, `${file} is not a file`);
    size = info.size;
  } catch {
    return ioFailure(io, `cannot read ${file}`);
  }

  const fileName = path.basename(file);
  const now = io.now ?? Date.now;
  let lastAt = now();
  let lastPercent = 0;
  const onProgress =
    size >= PROGRESS_MIN_BYTES
      ? (bytes: number): void => {
          const percent = Math.floor((bytes / size) * 100);
          const t = now();
          if (percent >= lastPercent + 5 || (t - lastAt >= 1000 && percent > lastPercent)) {
            lastPercent = percent;
            lastAt = t;
            io.err(`validating ${fileName}: ${percent}% (${(bytes / 1048576).toFixed(0)} of ${(size / 1048576).toFixed(0)} MiB)\n`);
          }
        }
      : undefined;

  let summary: ValidationSummary;
  try {
    summary = await validateCsv(createReadStream(file), {
      fileName,
      schema,
      headerAliases: route?.headerAliases ?? {},
      delimiter,
      policy,
      shrinkGuard: { released: values['release-shrink'] === true, ...(route ? { maxDropRatio: route.shrinkGuardRatio } : {}) },
      declaredSize: size,
      ...(route ? { maxFileBytes: route.maxFileBytes } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
  } catch (error) {
    io.logger?.log('error', 'csv.failed', { ...errorLogFields(error), route: values.route });
    return ioFailure(io, isSyncError(error) ? error.message : `validating ${fileName} failed`);
  }

  io.out(values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummaryText(summary));
  io.logger?.log(summary.outcome === 'accepted' ? 'info' : 'warn', 'csv.validated', {
    route: values.route,
    schema,
    rows: summary.rows,
    accepted: summary.accepted,
    rejected: summary.rejected,
    issues: summary.issues.length,
    code: summary.rejection?.code,
    sha256: summary.sha256 || undefined,
    bytes: summary.bytesIn,
  });

  if (values.report !== undefined) {
    const reports = writeReports(summary, { fileName });
    const base = await reportBase(values.report);
    try {
      await writeFile(`${base}report.json`, reports.json);
      await writeFile(`${base}report.csv`, reports.csv);
    } catch {
      return ioFailure(io, `cannot write the report to ${base}report.json / .csv`);
    }
    io.out(`report: ${base}report.json, ${base}report.csv\n`);
  }
  return summary.outcome === 'accepted' ? 0 : 1;
}

/** A directory (existing, or written with a trailing slash) gets report.json inside; anything else is a prefix. */
async function reportBase(prefix: string): Promise<string> {
  if (prefix.endsWith('/') || prefix.endsWith(path.sep)) return prefix;
  const info = await stat(prefix).catch(() => undefined);
  if (info?.isDirectory()) return `${prefix}${path.sep}`;
  return `${prefix}.`;
}

function usage(io: ValidateCommandIo, problem: string): number {
  io.err(`validate: ${problem}\n\nUsage:\n${VALIDATE_USAGE}`);
  return 2;
}

function ioFailure(io: ValidateCommandIo, problem: string): number {
  io.err(`validate: ${problem}\n`);
  return 2;
}
