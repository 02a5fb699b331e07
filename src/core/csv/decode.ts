/**
 * Decoding before parsing: whatever the export's encoding, the parser sees UTF-8 bytes that are known to be valid,
 * so that no byte is ever silently replaced by U+FFFD.
 *
 * - UTF-8 with a BOM (the BOM is dropped) or without one: validated as it streams, sequences split across chunks
 *   are carried over; the first invalid byte rejects the file with its offset.
 * - UTF-16 LE or BE with a BOM: transcoded to UTF-8; an unpaired surrogate or an odd byte count rejects the file.
 * - UTF-16 without a BOM (a NUL in the first two bytes), UTF-32, and files that are plainly not text (ZIP, which
 *   includes .xlsx, old .xls, PDF, gzip) are rejected from their first bytes with a message saying what they look like.
 * - More bytes than `maxBytes` rejects the file as it streams (the declared size may be missing or wrong).
 */
import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { ValidationError } from '../errors';

export type DetectedEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be';

export interface DecodeOptions {
  fileName: string;
  /** Reject once more bytes than this arrive. */
  maxBytes?: number;
  /** Called with the number of input bytes read so far, after each chunk. */
  onProgress?: (bytesRead: number) => void;
}

const SNIFF_BYTES = 4;

/** A stream stage: input bytes in, valid UTF-8 bytes out. Errors are {@link ValidationError}s with a byte offset. */
export class Utf8Normaliser extends Transform {
  /** Input bytes seen so far. */
  bytesIn = 0;
  /** UTF-8 bytes passed on so far. */
  bytesOut = 0;
  encoding: DetectedEncoding | undefined;
  private carry: Buffer = Buffer.alloc(0);
  /** Input offset of `carry[0]`. */
  private carryOffset = 0;
  private readonly options: DecodeOptions;

  constructor(options: DecodeOptions) {
    super({ readableHighWaterMark: 64 * 1024 });
    this.options = options;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.bytesIn += chunk.length;
      const max = this.options.maxBytes;
      if (max !== undefined && this.bytesIn > max) {
        throw this.reject('file.tooLarge', `The file is larger than the limit of ${max} bytes.`, max);
      }
      this.consume(chunk, false);
      this.options.onProgress?.(this.bytesIn);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.consume(Buffer.alloc(0), true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private consume(chunk: Buffer, end: boolean): void {
    let data = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    let base = this.carryOffset;
    if (this.encoding === undefined) {
      if (data.length < SNIFF_BYTES && !end) {
        this.carry = Buffer.from(data);
        return;
      }
      const skip = this.sniff(data);
      data = data.subarray(skip);
      base += skip;
    }
    if (this.encoding === 'utf-8' || this.encoding === 'utf-8-bom') this.utf8(data, base, end);
    else this.utf16(data, base, end, this.encoding === 'utf-16be');
  }

  /** Decides the encoding from the first bytes; returns how many bytes of BOM to skip. */
  private sniff(b: Buffer): number {
    const at = (i: number): number => b[i] ?? -1;
    if (b.length === 0) {
      this.encoding = 'utf-8';
      return 0;
    }
    if ((at(0) === 0xff && at(1) === 0xfe && at(2) === 0 && at(3) === 0) || (at(0) === 0 && at(1) === 0 && at(2) === 0xfe && at(3) === 0xff)) {
      throw this.reject('decode.unsupportedEncoding', 'The file is UTF-32; export it as UTF-8 (or UTF-16 with a byte order mark).', 0);
    }
    if (at(0) === 0xef && at(1) === 0xbb && at(2) === 0xbf) {
      this.encoding = 'utf-8-bom';
      return 3;
    }
    if (at(0) === 0xff && at(1) === 0xfe) {
      this.encoding = 'utf-16le';
      return 2;
    }
    if (at(0) === 0xfe && at(1) === 0xff) {
      this.encoding = 'utf-16be';
      return 2;
    }
    const magic = notTextMagic(b);
    if (magic) throw this.reject('file.notCsv', `The file is not CSV text: it looks like ${magic}. Export the data as CSV.`, 0);
    // A CSV starts with a header name; a NUL in either of the first two bytes is UTF-16 text without its BOM,
    // whose byte order cannot be known for sure.
    if (at(0) === 0 || at(1) === 0) {
      throw this.reject('decode.utf16WithoutBom', 'The file looks like UTF-16 without a byte order mark; export it as UTF-8 (or UTF-16 with a BOM).', 0);
    }
    this.encoding = 'utf-8';
    return 0;
  }

  private utf8(data: Buffer, base: number, end: boolean): void {
    // Hold back a multi-byte sequence cut by the chunk boundary.
    let cut = data.length;
    if (!end) {
      for (let k = 1; k <= 3 && k <= data.length; k++) {
        const byte = data[data.length - k]!;
        if ((byte & 0xc0) === 0x80) continue;
        if (byte >= 0xc0) {
          const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
          if (need > k) cut = data.length - k;
        }
        break;
      }
    }
    const complete = data.subarray(0, cut);
    if (!isUtf8(complete)) {
      throw this.invalidUtf8(base + firstInvalidUtf8(complete));
    }
    if (end && cut < data.length) throw this.invalidUtf8(base + cut);
    this.carry = cut < data.length ? Buffer.from(data.subarray(cut)) : Buffer.alloc(0);
    this.carryOffset = base + cut;
    if (complete.length > 0) {
      this.bytesOut += complete.length;
      this.push(complete);
    }
  }

  private utf16(data: Buffer, base: number, end: boolean, bigEndian: boolean): void {
    let usable = data.length & ~1;
    const units = bigEndian ? Buffer.from(data.subarray(0, usable)).swap16() : data.subarray(0, usable);
    let str = units.toString('utf16le');
    // Hold back a high surrogate whose pair may come with the next chunk.
    if (!end && str.length > 0 && isHighSurrogate(str.charCodeAt(str.length - 1))) {
      str = str.slice(0, -1);
      usable -= 2;
    }
    const lone = LONE_SURROGATE.exec(str);
    if (lone) {
      throw this.reject('decode.invalidUtf16', `The UTF-16 text has an unpaired surrogate at byte ${base + 2 * lone.index}.`, base + 2 * lone.index);
    }
    if (end && usable < data.length) {
      throw this.reject('decode.invalidUtf16', `The UTF-16 text ends in the middle of a character at byte ${base + usable}.`, base + usable);
    }
    this.carry = usable < data.length ? Buffer.from(data.subarray(usable)) : Buffer.alloc(0);
    this.carryOffset = base + usable;
    if (str.length > 0) {
      const out = Buffer.from(str, 'utf8');
      this.bytesOut += out.length;
      this.push(out);
    }
  }

  private invalidUtf8(offset: number): ValidationError {
    return this.reject(
      'decode.invalidUtf8',
      `The file is not valid UTF-8: byte ${offset} does not start or continue a UTF-8 character (often a Latin-1 or Windows-1252 export). Export it as UTF-8.`,
      offset,
    );
  }

  private reject(code: string, message: string, byteOffset: number): ValidationError {
    return new ValidationError(code, message, { file: this.options.fileName, byteOffset, rule: code });
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** What the first bytes say the file is, when they say it is not text. */
function notTextMagic(b: Buffer): string | undefined {
  if (b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04) return 'a ZIP archive (an Excel .xlsx workbook is one)';
  if (b[0] === 0xd0 && b[1] === 0xcf && b[2] === 0x11 && b[3] === 0xe0) return 'an old Office document (.xls)';
  if (b[0] === 0x25 && b[1] === 0x50 && b[2] === 0x44 && b[3] === 0x46) return 'a PDF document';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'a gzip archive';
  return undefined;
}

/**
 * Offset of the first byte that breaks UTF-8 (WHATWG rules: no overlong forms, no surrogates, nothing above
 * U+10FFFF). Only called once `isUtf8` has said there is one, so speed does not matter. A sequence that is cut off
 * by the end of the buffer counts as broken at its first byte.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const n = b[i + k];
      if (n === undefined) return i;
      if (k === 1 ? n < lo || n > hi : n < 0x80 || n > 0xbf) return i;
    }
    i += need + 1;
  }
  return b.length;
}
