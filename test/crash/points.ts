/**
 * Named crash points for the kill-and-recover suite (reliability A2): each is a call on one of the core's ports
 * (ledger, blob store, Graph) that the worker process dies just before, during or just after. The core is not told:
 * the worker wraps its adapters, so what is tested is exactly the production code path.
 */
import { Transform } from 'node:stream';
import type { ReopenableSource } from '../../src/core/ports';

export type Port = 'ledger' | 'store' | 'graph';

export interface CrashPoint {
  port: Port;
  method: string;
  /** `mid` only for `graph.uploadFile`: the process dies after the body's first chunk has left. */
  when: 'before' | 'after' | 'mid';
  /** Which calls count (by their arguments); the worker dies at the nth counted call. */
  match(args: readonly unknown[]): boolean;
  /** True when the point is met once per file (so a two-file scenario may die at the second). */
  perFile: boolean;
}

const name = (args: readonly unknown[], i: number): string => String(args[i] ?? '');
const state = (args: readonly unknown[]): string => String(args[1] ?? '');
/** The record family: `create` takes it as its first argument, `update` in the record it is given. */
const kind = (args: readonly unknown[]): string => String((args[0] as { kind?: string } | undefined)?.kind ?? args[0] ?? '');

/** Every step boundary of ingest and fulfil, in the order a file meets them. */
export const CRASH_POINTS: Record<string, CrashPoint> = {
  'ingest:after-claim': { port: 'ledger', method: 'create', when: 'after', perFile: true, match: (a) => kind(a) === 'blob' },
  'ingest:after-validate': { port: 'store', method: 'write', when: 'after', perFile: true, match: (a) => name(a, 0).includes('/_pending/') },
  'ingest:after-archive-original': { port: 'store', method: 'copy', when: 'after', perFile: true, match: (a) => name(a, 1).includes('/_received/') },
  'ingest:after-stage': { port: 'store', method: 'copy', when: 'after', perFile: true, match: (a) => name(a, 1).startsWith('staged/') },
  'ingest:after-settle': { port: 'ledger', method: 'update', when: 'after', perFile: true, match: (a) => kind(a) === 'blob' && state(a) === 'staged' },
  'ingest:before-inbox-delete': { port: 'store', method: 'delete', when: 'before', perFile: true, match: (a) => name(a, 0).startsWith('inbox/') },
  'fulfil:after-request': { port: 'ledger', method: 'create', when: 'after', perFile: false, match: (a) => kind(a) === 'request' },
  'fulfil:after-lease': { port: 'ledger', method: 'update', when: 'after', perFile: false, match: (a) => kind(a) === 'request' && state(a) === 'uploading' },
  'fulfil:after-create': { port: 'graph', method: 'createUploadSession', when: 'after', perFile: false, match: () => true },
  'fulfil:mid-upload': { port: 'graph', method: 'uploadFile', when: 'mid', perFile: true, match: () => true },
  'fulfil:after-upload': { port: 'graph', method: 'uploadFile', when: 'after', perFile: true, match: () => true },
  'fulfil:after-patch': { port: 'graph', method: 'completeUploadSession', when: 'after', perFile: false, match: () => true },
  'fulfil:before-archive': { port: 'store', method: 'copy', when: 'before', perFile: true, match: (a) => name(a, 1).startsWith('archive/') && !name(a, 1).includes('/_received/') },
  'fulfil:before-done': { port: 'ledger', method: 'update', when: 'before', perFile: false, match: (a) => kind(a) === 'request' && state(a) === 'done' },
};

/**
 * Wraps one port so that the process calls `die` at the nth matching call of the point's method. Other methods and
 * calls pass through, bound to the real object (adapters keep private state that a Proxy receiver would not have).
 */
export function withCrashPoint<T extends object>(target: T, port: Port, point: CrashPoint | undefined, nth: number, die: () => never): T {
  if (!point || point.port !== port) return target;
  let seen = 0;
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (prop !== point.method) return fn.bind(obj);
      return async (...args: unknown[]) => {
        if (!point.match(args) || ++seen !== nth) return fn.apply(obj, args);
        if (point.when === 'before') die();
        if (point.when === 'mid') args[2] = dyingSource(args[2] as ReopenableSource, die);
        const result = await fn.apply(obj, args);
        if (point.when === 'after') die();
        return result;
      };
    },
  });
}

/** A file source whose stream lets its first chunk through and kills the process at the second. */
function dyingSource(source: ReopenableSource, die: () => never): ReopenableSource {
  return {
    name: source.name,
    size: source.size,
    async open(signal) {
      let chunks = 0;
      const stream = await source.open(signal);
      return stream.pipe(
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            if (++chunks > 1) die();
            callback(null, chunk);
          },
        }),
      );
    },
  };
}
