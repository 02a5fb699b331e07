/** validateCsv in a worker thread behaves exactly as validateCsv in the caller's thread. */
import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/core/errors';
import { validateCsv, type ValidateOptions } from '../../src/core/csv';
import { validateCsvIsolated } from '../../src/core/csv/isolated';

const HEADER = 'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType';
const row = (n: number) => `6f1b6c1e-5b7a-4d8e-9a51-${String(n).padStart(12, '0')},user,door-${n % 7},Door ${n % 7},"Access, badge",Physical`;

function collect(): Writable & { bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _e, callback) {
      parts.push(chunk);
      // A slow consumer, so that the worker has to wait for acknowledgements.
      setImmediate(callback);
    },
  }) as Writable & { bytes: () => Buffer };
  sink.bytes = () => Buffer.concat(parts);
  return sink;
}

function chunked(text: string | Buffer, size = 4096): Readable {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

const options: ValidateOptions = { fileName: 'export.csv', schema: 'graph-v1' };

describe('validateCsvIsolated', () => {
  it.each([
    ['an accepted file', `${HEADER}\r\n${Array.from({ length: 3000 }, (_, i) => row(i)).join('\r\n')}\r\n`],
    ['a rejected file', `${HEADER}\r\nnot-a-guid,user,door,Door,Badge,Physical\r\n${row(1)}\r\n`],
    ['UTF-16LE with a BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER}\r\n${row(1)}\r\n`, 'utf16le')])],
  ])('gives the same summary and canonical bytes as the in-thread validator for %s', async (_name, content) => {
    const inThread = collect();
    const expected = await validateCsv(chunked(content), options, inThread);
    const isolated = collect();
    const progress: number[] = [];
    const actual = await validateCsvIsolated(chunked(content), { ...options, onProgress: (b) => progress.push(b) }, isolated);
    expect(actual).toEqual(expected);
    expect(isolated.bytes().equals(inThread.bytes())).toBe(true);
    expect(isolated.writableEnded).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('rejects with the input stream’s own error, so a changed blob is still recognised', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from(`${HEADER}\r\n`));
        this.destroy(new StorageError('storage.conditionFailed', 'The blob changed', 'skip', { status: 412 }));
      },
    });
    await expect(validateCsvIsolated(failing, options, collect())).rejects.toMatchObject({ code: 'storage.conditionFailed' });
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    let first = true;
    const endless = new Readable({
      read() {
        this.push(Buffer.from(first ? `${HEADER}\r\n` : `${row(1)}\r\n`));
        first = false;
      },
    });
    const running = validateCsvIsolated(endless, { ...options, signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'aborted' });
  });
});
