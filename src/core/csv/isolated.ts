/**
 * validateCsv in a worker thread, for the job's ingest path.
 *
 * Why: validating is CPU-bound (about 12 MB/s), so a gigabyte export would hold the Functions worker's event loop for
 * over a minute, delaying every callout and timer it serves; and its per-row garbage makes V8 grow the young
 * generation to its default ceiling (about 48 MiB), which alone took a 1 GB validation to the edge of the 150 MB
 * memory bound. A worker thread has its own event loop and its own heap, whose young generation `resourceLimits`
 * caps (measured: 156 MB peak RSS with the default young generation, 116 MB with a 2 MiB semi-space, at the same
 * speed). Bytes cross between the threads one chunk at a time, acknowledged, so backpressure holds both ways and
 * neither side buffers the file.
 */
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { AbortedError, SyncError, type Disposition, type ErrorContext } from '../errors';
import type { ValidateOptions, ValidationSummary } from './validate';

/** The young generation of the validation worker (three semi-spaces of 2 MiB). */
export const VALIDATION_YOUNG_GENERATION_MB = 6;

export interface WorkerInput {
  options: Omit<ValidateOptions, 'onProgress' | 'signal'>;
  progress: boolean;
  output: boolean;
}
export type ToWorker = { t: 'in'; chunk: Uint8Array } | { t: 'end' } | { t: 'inError' } | { t: 'outAck' } | { t: 'outError' };
export type ToParent =
  | { t: 'pull' }
  | { t: 'out'; chunk: Uint8Array }
  | { t: 'outEnd' }
  | { t: 'progress'; bytes: number }
  | { t: 'done'; summary: ValidationSummary }
  | { t: 'error'; error: { code: string; message: string; disposition: Disposition; context: ErrorContext } };

/**
 * The worker entry: the compiled `validateWorker.js` beside this file. Under the test runner this file is TypeScript;
 * Node 20 workers take no `--import` hooks, so a small script registers tsx's require hook and loads the TS entry.
 */
function workerEntry(): { script: string; eval: boolean } {
  if (!__filename.endsWith('.ts')) return { script: path.join(__dirname, 'validateWorker.js'), eval: false };
  const tsx = require.resolve('tsx/cjs');
  return { script: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(path.join(__dirname, 'validateWorker.ts'))});`, eval: true };
}

/** Same contract as validateCsv: resolves with the summary, rejects only for I/O failures, aborts and bad options. */
export function validateCsvIsolated(input: Readable, options: ValidateOptions, output?: Writable): Promise<ValidationSummary> {
  const { onProgress, signal, ...plain } = options;
  if (signal?.aborted) {
    input.destroy();
    return Promise.reject(new AbortedError('CSV validation'));
  }
  const entry = workerEntry();
  const workerInput: WorkerInput = { options: plain, progress: onProgress !== undefined, output: output !== undefined };
  const worker = new Worker(entry.script, {
    eval: entry.eval,
    workerData: workerInput,
    resourceLimits: { maxYoungGenerationSizeMb: VALIDATION_YOUNG_GENERATION_MB },
  });
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  return new Promise<ValidationSummary>((resolve, reject) => {
    let settled = false;
    let inputError: unknown;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      settle();
    };
    const onAbort = () => {
      input.destroy();
      finish(() => reject(new AbortedError('CSV validation')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const post = (message: ToWorker, transfer?: ArrayBuffer[]) => {
      if (!settled) worker.postMessage(message, transfer);
    };
    const pull = async () => {
      try {
        const next = await chunks.next();
        if (next.done) return post({ t: 'end' });
        const copy = typeof next.value === 'string' ? new Uint8Array(Buffer.from(next.value)) : new Uint8Array(next.value);
        post({ t: 'in', chunk: copy }, [copy.buffer as ArrayBuffer]);
      } catch (error) {
        // Kept to reject with: the caller must see the storage error (an ETag that changed, a blob that went away).
        inputError ??= error;
        post({ t: 'inError' });
      }
    };
    worker.on('message', (message: ToParent) => {
      switch (message.t) {
        case 'pull':
          void pull();
          break;
        case 'out': {
          const accepted = output!.write(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength));
          if (accepted) post({ t: 'outAck' });
          else output!.once('drain', () => post({ t: 'outAck' }));
          break;
        }
        case 'outEnd':
          if (!output!.writableEnded) output!.end();
          break;
        case 'progress':
          onProgress?.(message.bytes);
          break;
        case 'done':
          // Every output chunk was acknowledged before validation ended; its end may still be on its way.
          if (output && !output.writableEnded) output.end();
          finish(() => resolve(message.summary));
          break;
        case 'error':
          finish(() => reject(inputError ?? new SyncError(message.error.code, message.error.message, message.error.disposition, message.error.context)));
          break;
      }
    });
    output?.on('error', () => post({ t: 'outError' }));
    worker.on('error', () => finish(() => reject(new SyncError('csv.worker', 'The CSV validation worker failed', 'retry'))));
    worker.on('exit', (code) => finish(() => reject(new SyncError('csv.worker', `The CSV validation worker stopped (exit code ${code})`, 'retry'))));
  });
}
