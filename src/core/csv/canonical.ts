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

/**
 * The canonical writer for a whole file: records go straight into Buffers of about `chunkBytes` instead of into
 * strings. A large export then never exists as JavaScript strings that outlive their row: lines batched as strings
 * survived the young generation's collections, were promoted, and made V8 grow both generations (measured: see
 * bench/validate.bench.ts). Chunks are handed out whole; their concatenation is exactly `formatTable(records)`.
 */
export class CanonicalChunker {
  private buffer: Buffer;
  private used = 0;

  constructor(private readonly chunkBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(chunkBytes);
  }

  /** Appends one record; returns the previous chunk when this record did not fit beside it, otherwise null. */
  add(fields: readonly string[]): Buffer | null {
    // The most bytes the record can take: 3 UTF-8 bytes a UTF-16 unit (doubled quotes take 2), 2 quotes and a comma
    // a field, CRLF. Checked up front so that a record is written in one piece.
    let worst = 2;
    for (let i = 0; i < fields.length; i++) worst += 3 * fields[i]!.length + 3;
    let full: Buffer | null = null;
    if (this.used + worst > this.buffer.length) {
      full = this.take();
      if (worst > this.buffer.length) this.buffer = Buffer.allocUnsafe(Math.max(this.chunkBytes, worst));
    }
    const b = this.buffer;
    if (fields.length === 1 && fields[0] === '') {
      this.used += b.write('""', this.used, 'latin1');
    } else {
      for (let i = 0; i < fields.length; i++) {
        if (i > 0) b[this.used++] = 0x2c;
        const value = fields[i]!;
        if (NEEDS_QUOTES.test(value)) {
          b[this.used++] = 0x22;
          this.used += b.write(value.replace(QUOTE, '""'), this.used, 'utf8');
          b[this.used++] = 0x22;
        } else if (value.length > 0) {
          this.used += b.write(value, this.used, 'utf8');
        }
      }
    }
    b[this.used++] = 0x0d;
    b[this.used++] = 0x0a;
    return full;
  }

  /** Hands out what has been written since the last chunk (possibly nothing) and starts a new chunk. */
  take(): Buffer {
    const chunk = this.buffer.subarray(0, this.used);
    // A new buffer rather than a reused one: the consumer may hold the chunk until it has been written.
    this.buffer = Buffer.allocUnsafe(this.chunkBytes);
    this.used = 0;
    return chunk;
  }
}
