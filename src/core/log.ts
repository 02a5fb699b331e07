/**
 * The log allow-list. Every logger passes its fields through {@link sanitizeLogFields}: a key that is not listed
 * here is dropped, a value that is not a scalar is dropped, and strings are cut and stripped of control characters.
 * This is what keeps cell values, bodies, tokens and SAS query strings out of the logs: they have no key to travel in.
 */
import { isSyncError } from './errors';
import type { LogFields, LogLevel, LogValue, Logger } from './ports';

/** Field names that may appear in a log line. Add a name only for a value that can never be personal data. */
export const ALLOWED_LOG_FIELDS: ReadonlySet<string> = new Set([
  // identity of the work
  'source',
  'route',
  'catalogId',
  'resourceId',
  'reviewDefinitionId',
  'reviewInstanceId',
  'uploadSessionId',
  'sessionStatus',
  'uploadName',
  'blobRef',
  'etag',
  'sha256',
  'shape',
  'schema',
  'state',
  'invocationId',
  'functionName',
  'trigger',
  // sizes and counts
  'bytes',
  'bytesDone',
  'rows',
  'accepted',
  'rejected',
  'issues',
  'files',
  'count',
  'percent',
  // where in a file
  'line',
  'column',
  'rule',
  'byteOffset',
  // HTTP and Graph
  'operation',
  'method',
  'status',
  'graphCode',
  'requestId',
  'clientRequestId',
  'retryAfterSeconds',
  'waitMs',
  'attempt',
  'attempts',
  'durationMs',
  // outcome
  'code',
  'disposition',
  'reason',
  'errorCode',
  'errorName',
  'errorMessage',
  'deadline',
  'minutesLeft',
  'dryRun',
  'port',
  'url',
]);

const MAX_STRING = 300;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Returns only the allow-listed, scalar fields, with strings cut to a safe length and control characters removed. */
export function sanitizeLogFields(fields: LogFields | undefined): Record<string, LogValue> {
  const out: Record<string, LogValue> = {};
  if (!fields) return out;
  for (const [key, value] of Object.entries(fields)) {
    if (!ALLOWED_LOG_FIELDS.has(key)) continue;
    if (value === undefined) continue;
    if (typeof value === 'string') {
      const clean = value.replace(CONTROL, ' ');
      out[key] = clean.length > MAX_STRING ? `${clean.slice(0, MAX_STRING)}…` : clean;
    } else if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
      out[key] = value;
    }
  }
  return out;
}

/**
 * Log fields for an error. A {@link SyncError}'s message is ours and safe; a foreign error's message may quote data
 * (csv-parse quotes records, HTTP libraries quote bodies), so only its class name is kept.
 */
export function errorLogFields(error: unknown): Record<string, LogValue> {
  if (isSyncError(error)) {
    return {
      errorCode: error.code,
      errorMessage: error.message,
      disposition: error.disposition,
      status: error.context.status,
      graphCode: error.context.graphCode,
      requestId: error.context.requestId,
      clientRequestId: error.context.clientRequestId,
      line: error.context.line,
      column: error.context.column,
      rule: error.context.rule,
    };
  }
  const name = error instanceof Error ? error.name : typeof error;
  return { errorCode: 'unexpected', errorName: name };
}

/** A logger that writes one JSON object per line to a sink (the CLI and the local host pass stdout). */
export function createJsonLineLogger(options: { sink: (line: string) => void; minLevel?: LogLevel; now?: () => number }): Logger {
  const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
  const min = order[options.minLevel ?? 'info'];
  const sink = options.sink;
  const now = options.now ?? Date.now;
  return {
    log(level, event, fields) {
      if (order[level] < min) return;
      sink(JSON.stringify({ time: new Date(now()).toISOString(), level, event, ...sanitizeLogFields(fields) }));
    },
  };
}

/** A logger that discards everything. */
export const silentLogger: Logger = { log() {} };
