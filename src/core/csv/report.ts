/**
 * Reports for operators: a JSON report (the whole summary plus a sentence per issue) and a CSV report of the same
 * entries for people who live in spreadsheets. The CSV report is opened in Excel, so every text cell that starts like
 * a formula is neutralised with a leading `'`. Neither report holds a cell value of the validated file: issues carry
 * line, column and rule only.
 */
import { formatRecord } from './canonical';
import { describeIssue, type ValidationSummary } from './validate';

export interface ReportContext {
  /** The file the report is about (as the operator knows it). */
  fileName: string;
  /** Why the file was refused, when the caller refused it for a reason of its own (e.g. a full snapshot). */
  reason?: string;
  /** The code of that reason. */
  code?: string;
}

export interface Reports {
  json: string;
  csv: string;
}

const REPORT_HEADER = ['kind', 'line', 'column', 'rule', 'message'];
const FORMULA_LEAD = /^[=+\-@\t\r]/;

/** Makes a report cell safe to open in a spreadsheet. */
export function neutraliseCell(value: string): string {
  return FORMULA_LEAD.test(value) ? `'${value}` : value;
}

/**
 * Writes both reports. `summary` may be absent when a file was refused before validation (no route, say); the
 * reports then carry the context's reason alone.
 */
export function writeReports(summary: ValidationSummary | undefined, context: ReportContext): Reports {
  const rejection = summary?.rejection;
  const code = context.code ?? rejection?.code;
  const reason = context.reason ?? rejection?.message;
  const outcome = summary?.outcome === 'accepted' && context.reason === undefined ? 'accepted' : 'rejected';
  const issues = (summary?.issues ?? []).map((issue) => ({ ...issue, message: describeIssue(issue, summary?.schema) }));
  const report = {
    fileName: context.fileName,
    outcome,
    ...(code !== undefined ? { code } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(summary
      ? {
          schema: summary.schema,
          policy: summary.policy,
          encoding: summary.encoding ?? null,
          delimiter: summary.delimiter ?? null,
          rows: summary.rows,
          accepted: summary.accepted,
          rejected: summary.rejected,
          distinctPrincipals: summary.distinctPrincipals,
          bytesIn: summary.bytesIn,
          bytesOut: summary.bytesOut,
          sha256: summary.sha256,
          limits: summary.limits,
          rejection: rejection ?? null,
          issuesByRule: summary.issuesByRule,
          issuesTruncated: summary.issuesTruncated,
          warnings: summary.warnings,
        }
      : {}),
    issues,
  };

  const rows: string[][] = [REPORT_HEADER];
  if (reason !== undefined) {
    rows.push(['rejection', rejection?.line?.toString() ?? '', rejection?.column ?? '', rejection?.rule ?? code ?? '', reason]);
  }
  for (const w of summary?.warnings ?? []) rows.push(['warning', w.line?.toString() ?? '', w.column ?? '', w.code, w.message]);
  for (const i of issues) rows.push(['issue', String(i.line), i.column ?? '', i.rule, i.message]);
  if (summary?.issuesTruncated) {
    const total = Object.values(summary.issuesByRule).reduce((a, b) => a + b, 0);
    rows.push(['note', '', '', '', `Only the first ${issues.length} of ${total} issues are listed; the counts by rule cover all of them.`]);
  }
  const csv = rows.map((r) => formatRecord(r.map(neutraliseCell))).join('');
  return { json: `${JSON.stringify(report, null, 2)}\n`, csv };
}

/** One paragraph for a terminal: the outcome, the counts, and the first issues. */
export function formatSummaryText(summary: ValidationSummary, maxIssues = 20): string {
  const lines: string[] = [];
  lines.push(`${summary.fileName}: ${summary.outcome.toUpperCase()} (schema ${summary.schema}, ${summary.policy}, ${summary.encoding ?? 'encoding unknown'}, delimiter ${delimiterName(summary.delimiter)})`);
  lines.push(`  rows ${summary.rows}, accepted ${summary.accepted}, rejected ${summary.rejected}, distinct principals ${summary.distinctPrincipals}`);
  lines.push(`  bytes in ${summary.bytesIn}, canonical bytes ${summary.bytesOut}${summary.sha256 ? `, sha256 ${summary.sha256}` : ''}`);
  if (summary.rejection) lines.push(`  rejected (${summary.rejection.code}): ${summary.rejection.message}`);
  for (const w of summary.warnings) lines.push(`  warning (${w.code}): ${w.message}`);
  const rules = Object.entries(summary.issuesByRule);
  if (rules.length > 0) lines.push(`  issues by rule: ${rules.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  for (const issue of summary.issues.slice(0, maxIssues)) lines.push(`  ${describeIssue(issue, summary.schema)}`);
  if (summary.issues.length > maxIssues) lines.push(`  … ${summary.issues.length - maxIssues} more in the report`);
  return `${lines.join('\n')}\n`;
}

function delimiterName(d: string | undefined): string {
  return d === undefined ? 'unknown' : d === '\t' ? 'tab' : d;
}
