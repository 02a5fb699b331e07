/**
 * Delimiter detection from the header line.
 *
 * csv-parse has its own `delimiter_auto`, but it scores every printable character over a 2 KB sample of all lines
 * (a space, `:` or `.` can win, and quoted commas in data rows count). Exports differ only in `,`, `;` and tab,
 * and the header line is the one line whose cells are ours to predict, so the choice is made there: the candidate
 * that occurs most often outside quotes in the first non-blank line; ties go to `,`, then `;`, then tab.
 */
import { Transform, type TransformCallback } from 'node:stream';

export type Delimiter = ',' | ';' | '\t';

/** Bytes held back at most while looking for the end of the header line. */
const MAX_HEADER_BYTES = 64 * 1024;

/** Picks the delimiter from the text that starts the file (the header line is found inside it). */
export function detectDelimiter(text: string): Delimiter {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let started = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (!started) {
      if (ch === '\r' || ch === '\n') continue;
      started = true;
    }
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\r' || ch === '\n')) break;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  if (counts[','] >= counts[';'] && counts[','] >= counts['\t']) return ',';
  return counts[';'] >= counts['\t'] ? ';' : '\t';
}

/**
 * A pass-through stage that holds the first bytes until the header line is complete (or 64 KB, or the end), then
 * reports the delimiter before any byte reaches the parser.
 */
export class DelimiterSniffer extends Transform {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private decided = false;
  // Scan state carried across chunks, so that each byte is looked at once however small the chunks are.
  private started = false;
  private quoted = false;
  private readonly onDetect: (delimiter: Delimiter) => void;

  constructor(onDetect: (delimiter: Delimiter) => void) {
    super();
    this.onDetect = onDetect;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.decided) {
      callback(null, chunk);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= MAX_HEADER_BYTES || this.lineEndIn(chunk)) this.decide();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (!this.decided) this.decide();
    callback();
  }

  /** True once a line end after some non-blank text, outside quotes, has been seen. */
  private lineEndIn(chunk: Buffer): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      const lineEnd = b === 0x0a || b === 0x0d;
      if (!this.started) {
        if (lineEnd) continue;
        this.started = true;
      }
      if (b === 0x22) this.quoted = !this.quoted;
      else if (lineEnd && !this.quoted) return true;
    }
    return false;
  }

  private decide(): void {
    const all = Buffer.concat(this.held);
    this.held = [];
    this.decided = true;
    this.onDetect(detectDelimiter(all.subarray(0, MAX_HEADER_BYTES).toString('utf8')));
    if (all.length > 0) this.push(all);
  }
}
