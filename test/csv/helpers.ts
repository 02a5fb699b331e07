import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { validateCsv, type ValidateOptions, type ValidationSummary } from '../../src/core/csv';

export const G6 = 'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType';

/** A GUID whose last group encodes `n` (deterministic, readable in failures). */
export function guid(n: number, prefix = '0a1b2c3d-1111-4e5f-8a9b-'): string {
  return `${prefix}${n.toString(16).padStart(12, '0')}`;
}

/** A graph-v1 data row. */
export function row6(n: number, extra: Partial<Record<'type' | 'permissionId' | 'name' | 'description' | 'ptype', string>> = {}): string {
  return [guid(n), extra.type ?? 'user', extra.permissionId ?? `perm-${n}`, extra.name ?? `Door ${n}`, extra.description ?? 'Badge access', extra.ptype ?? 'Physical'].join(',');
}

export interface Run {
  summary: ValidationSummary;
  output: string;
  outputBytes: Buffer;
}

/** Splits bytes into chunks of `size` (to exercise chunk boundaries). */
export function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** Runs the validator on bytes or text (UTF-8), collecting the canonical output. */
export async function validate(input: Buffer | string, options: Partial<ValidateOptions> = {}, chunkSize = 65536): Promise<Run> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const parts: Buffer[] = [];
  const output = new Writable({
    write(chunk: Buffer, _e, cb) {
      parts.push(chunk);
      cb();
    },
  });
  const summary = await validateCsv(Readable.from(chunks(bytes, chunkSize)), { fileName: 'access.csv', schema: 'graph-v1', ...options }, output);
  const outputBytes = Buffer.concat(parts);
  return { summary, output: outputBytes.toString('utf8'), outputBytes };
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** CRLF-joined lines with a final CRLF: what the canonical writer produces. */
export function crlf(...lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join('');
}
