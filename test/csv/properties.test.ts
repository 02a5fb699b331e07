/**
 * Properties (reliability.md P1–P3), at least 10,000 generated cases each:
 * - P1 generated tables round-trip through the canonical writer and the parser configuration the validator uses, and
 *   the chunked writer the validator streams with writes the same bytes at any chunk size;
 * - P2 arbitrary bytes up to 64 KB end in acceptance or a classified rejection, never a throw. Each case's work is
 *   bounded by its input (at most 64 KB, a linear pipeline, a record size cap), not by a timer;
 * - P3 a valid table written canonically is accepted and comes back byte for byte (the canonical form is a fixed
 *   point of the validator).
 */
import { Readable, Writable } from 'node:stream';
import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { describe, expect, test } from 'vitest';
import { CanonicalChunker, formatTable, parseOptions, validateCsv, type ValidateOptions } from '../../src/core/csv';
import { prng } from '../support/prng';
import { chunks, G6 } from './helpers';

const RUNS = 10_000;

const KNOWN_REJECTIONS = new Set([
  'file.tooLarge',
  'file.type',
  'file.notCsv',
  'file.empty',
  'file.noRows',
  'decode.invalidUtf8',
  'decode.invalidUtf16',
  'decode.utf16WithoutBom',
  'decode.unsupportedEncoding',
  'csv.quoteNotClosed',
  'csv.recordTooLarge',
  'csv.malformed',
  'header.missing',
  'header.duplicate',
  'rows.invalid',
  'rows.tooManyRejected',
  'shrink.rows',
  'shrink.principals',
]);

/** Characters that stress CSV: delimiters, quotes, every line end, spaces, non-ASCII, astral. */
const tricky = fc.constantFrom(',', '"', '\r', '\n', '\r\n', ';', '\t', ' ', 'a', 'Z', '0', 'é', '€', '😀', "'", '=');
const cell = fc.oneof(fc.string({ unit: tricky, maxLength: 12 }), fc.string({ maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 6 }));

describe('P1 canonical writer ↔ parser', () => {
  test('any table of 2+ columns parses back to itself; the chunked writer writes the same bytes', () => {
    const table = fc.integer({ min: 2, max: 6 }).chain((width) => fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 6 }));
    fc.assert(
      fc.property(table, fc.integer({ min: 1, max: 96 }), (rows, chunkBytes) => {
        const text = formatTable(rows);
        const back = parse(text, { ...parseOptions(), delimiter: ',' }) as string[][];
        expect(back).toEqual(rows);
        // Small chunks force records across chunk ends and records larger than a chunk.
        const chunker = new CanonicalChunker(chunkBytes);
        const parts: Buffer[] = [];
        for (const row of rows) {
          const full = chunker.add(row);
          if (full) parts.push(full);
        }
        parts.push(chunker.take());
        expect(Buffer.concat(parts).toString('utf8')).toBe(text);
      }),
      { numRuns: RUNS },
    );
  });
});

// Safe free text for valid rows: no control characters, no formula lead, never blank when required.
const textUnit = fc.constantFrom('a', 'b', 'Z', ' ', ',', '"', ';', 'é', '😀', '0', '.', '\r\n', '\n');
const freeText = fc.string({ unit: textUnit, maxLength: 20 }).filter((s) => !/^[=+\-@\t\r]/.test(s));
const nonBlank = freeText.filter((s) => s.trim() !== '');
const oneLine = fc.string({ unit: fc.constantFrom('a', 'b', '7', '-', '_', ' ', '"', ','), minLength: 1, maxLength: 10 }).filter((s) => s.trim() !== '' && !/^[-]/.test(s));

describe('P3 the canonical form is a fixed point', () => {
  test('a valid graph-v1 table is accepted and written back unchanged', async () => {
    const rowArb = fc.tuple(fc.uuid(), oneLine, nonBlank, freeText, freeText);
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 64 }), async (rows, chunkSize) => {
        const table = [G6.split(','), ...rows.map(([id, perm, name, desc, type], i) => [id.toLowerCase(), 'user', `${perm}${i}`, name, desc, type])];
        const text = formatTable(table);
        const parts: Buffer[] = [];
        const out = new Writable({
          write(c: Buffer, _e, cb) {
            parts.push(c);
            cb();
          },
        });
        const summary = await validateCsv(Readable.from(chunks(Buffer.from(text), chunkSize)), { fileName: 'p.csv', schema: 'graph-v1' }, out);
        expect(summary.rejection).toBeUndefined();
        expect(summary.rows).toBe(rows.length);
        expect(Buffer.concat(parts).toString('utf8')).toBe(text);
      }),
      { numRuns: RUNS },
    );
  });
});

const CSV_BYTES = Buffer.from(',;\t"\r\n abcdef0123456789-', 'latin1');
const ODD_BYTES = [0x00, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xef, 0xbb, 0xbf, 0xff, 0xfe, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0];

/** Bytes mostly from CSV's own alphabet, some from UTF-8's edges. */
function csvishBytes(seed: number, length: number): Buffer {
  const next = prng(seed);
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = next() < 0.97 ? CSV_BYTES[Math.floor(next() * CSV_BYTES.length)]! : ODD_BYTES[Math.floor(next() * ODD_BYTES.length)]!;
  return b;
}

/** A plausible export (valid or nearly), then a few random byte edits. */
function mutatedExport(seed: number, rows: number, edits: number): Buffer {
  const next = prng(seed);
  const hex = (n: number): string => Math.floor(next() * 16 ** n).toString(16).padStart(n, '0');
  const lines = [next() < 0.5 ? G6 : G6.toUpperCase().replace(/,/g, next() < 0.5 ? ',' : ';')];
  for (let i = 0; i < rows; i++) {
    lines.push(`${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(12)},${next() < 0.9 ? 'user' : 'group'},p${i % 50},"Door, ${i}",desc ${i},Physical`);
  }
  const b = Buffer.from(lines.join(next() < 0.5 ? '\r\n' : '\n'));
  for (let k = 0; k < edits && b.length > 0; k++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
  return b;
}

const bytesArb = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 4, arbitrary: fc.tuple(fc.integer(), fc.integer({ min: 0, max: 65536 })).map(([s, n]) => csvishBytes(s, n)) },
  { weight: 3, arbitrary: fc.tuple(fc.integer(), fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 4 })).map(([s, r, e]) => mutatedExport(s, r, e)) },
);

const optionsArb = fc.record({
  schema: fc.constantFrom('graph-v1', 'entra-portal', 'legacy-2025') as fc.Arbitrary<ValidateOptions['schema']>,
  delimiter: fc.constantFrom('auto', ',', ';') as fc.Arbitrary<ValidateOptions['delimiter']>,
  tolerant: fc.boolean(),
  maxRecordBytes: fc.constantFrom(undefined, 1024, 8192),
});

describe('P2 arbitrary bytes', () => {
  test('up to 64 KB always end in acceptance or a classified rejection', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(bytesArb, optionsArb, fc.integer({ min: 1, max: 8192 }), async (bytes, o, chunk) => {
        const size = bytes.length > 4096 ? Math.max(chunk, 512) : chunk;
        const summary = await validateCsv(Readable.from(chunks(bytes, size)), {
          fileName: 'fuzz.csv',
          schema: o.schema,
          delimiter: o.delimiter,
          policy: o.tolerant ? { mode: 'tolerant', maxRejectedRatio: 0.5 } : { mode: 'strict' },
          ...(o.maxRecordBytes ? { maxRecordBytes: o.maxRecordBytes } : {}),
        });
        if (summary.outcome === 'accepted') {
          expect(summary.rejection).toBeUndefined();
          expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);
          expect(summary.accepted).toBeGreaterThan(0);
        } else {
          expect(KNOWN_REJECTIONS.has(summary.rejection?.code ?? '')).toBe(true);
        }
        seen.add(summary.rejection?.code ?? 'accepted');
        expect(summary.bytesIn).toBeLessThanOrEqual(bytes.length);
        for (const issue of summary.issues) {
          expect(Number.isInteger(issue.line) && issue.line >= 1).toBe(true);
          expect(issue.rule).toMatch(/^[A-Za-z_]+\.[A-Za-z]+$/);
        }
      }),
      { numRuns: RUNS },
    );
    // The generators reach deep into the pipeline, not only the decoder's first bytes.
    for (const code of ['accepted', 'rows.invalid', 'header.missing', 'decode.invalidUtf8', 'csv.quoteNotClosed']) expect(seen).toContain(code);
  });
});
