/**
 * The worker-thread side of {@link validateCsvIsolated}: runs validateCsv on bytes pulled from the parent one chunk at
 * a time, and sends the canonical output back chunk by chunk, each acknowledged before the next (backpressure both
 * ways). Loaded only as a worker entry.
 */
import { Readable, Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { isSyncError } from '../errors';
import { validateCsv, type ValidateOptions } from './validate';
import type { ToParent, ToWorker, WorkerInput } from './isolated';

const port = parentPort;
if (!port) throw new Error('validateWorker runs only as a worker thread');
const data = workerData as WorkerInput;
const send = (message: ToParent, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

const input = new Readable({
  read() {
    send({ t: 'pull' });
  },
});
let outputCallback: ((error?: Error | null) => void) | undefined;
const output = data.output
  ? new Writable({
      write(chunk: Buffer, _encoding, callback) {
        outputCallback = callback;
        // A copy: chunks may share a pooled buffer, which cannot be transferred.
        const copy = new Uint8Array(chunk);
        send({ t: 'out', chunk: copy }, [copy.buffer as ArrayBuffer]);
      },
      final(callback) {
        send({ t: 'outEnd' });
        callback();
      },
    })
  : undefined;

port.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'in':
      input.push(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.byteLength));
      break;
    case 'end':
      input.push(null);
      break;
    case 'inError':
      input.destroy(new Error('the input stream failed'));
      break;
    case 'outAck': {
      const callback = outputCallback;
      outputCallback = undefined;
      callback?.();
      break;
    }
    case 'outError': {
      const callback = outputCallback;
      outputCallback = undefined;
      callback?.(new Error('the output stream failed'));
      break;
    }
  }
});

const options: ValidateOptions = {
  ...data.options,
  ...(data.progress ? { onProgress: (bytes: number) => send({ t: 'progress', bytes }) } : {}),
};
validateCsv(input, options, output).then(
  (summary) => send({ t: 'done', summary }),
  (error: unknown) =>
    send({
      t: 'error',
      error: isSyncError(error)
        ? { code: error.code, message: error.message, disposition: error.disposition, context: { ...error.context } }
        : { code: 'csv.unexpected', message: 'CSV validation stopped on an unexpected error', disposition: 'retry', context: {} },
    }),
);
