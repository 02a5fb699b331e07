/**
 * The canonical CSV writer: comma-delimited, CRLF after every record (the last one too), RFC 4180 quoting applied
 * only where it is needed (a field holding `,`, `"`, CR or LF is wrapped in quotes and its quotes doubled). UTF-8
 * without BOM is the caller's encoding of the returned strings.
 */

const NEEDS_QUOTES = /[",\r\n]/;
const QUOTE = /"/g;

/** One field, quoted if (and only if) it has to be. */
export function formatField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(QUOTE, '""')}"` : value;
}

/** One record with its CRLF. */
export function formatRecord(fields: readonly string[]): string {
  // A record of one empty field would be an empty line, which parsers skip: write it as "" instead.
  if (fields.length === 1 && fields[0] === '') return '""\r\n';
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) line += ',';
    line += formatField(fields[i]!);
  }
  return `${line}\r\n`;
}

/** A whole table (for tests and small outputs). */
export function formatTable(records: readonly (readonly string[])[]): string {
  let out = '';
  for (const r of records) out += formatRecord(r);
  return out;
}
