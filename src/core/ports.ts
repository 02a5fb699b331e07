/**
 * The interfaces the core owns. Adapters in `src/adapters` implement them over the Azure and Graph SDKs; tests
 * implement them with fakes. Nothing here imports an SDK.
 */
import type { Readable } from 'node:stream';

/** Wall-clock time and waiting, injectable so that tests never sleep. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms` milliseconds; rejects with an AbortedError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A log field value: only scalars, so that nothing structured (a body, a record) can slip through. */
export type LogValue = string | number | boolean | null | undefined;

/** Fields of a log event. Keys outside the allow-list in `log.ts` are dropped by {@link Logger} implementations. */
export type LogFields = Readonly<Record<string, LogValue>>;

/**
 * Structured logging with stable dotted event names (`file.staged`, `graph.throttled`).
 * Implementations pass fields through `sanitizeLogFields` so that only allow-listed keys are written.
 */
export interface Logger {
  log(level: LogLevel, event: string, fields?: LogFields): void;
}

/**
 * A source of bytes that can be opened again from the start: an upload may be retried, and a consumed stream
 * cannot be sent twice.
 */
export interface ReopenableSource {
  /** The name the file gets in Graph (`files[].name`). */
  readonly name: string;
  /** Exact byte length; the multipart body's Content-Length is computed from it. */
  readonly size: number;
  /** A fresh stream of exactly `size` bytes from the first byte. */
  open(signal?: AbortSignal): Promise<Readable>;
}
