/**
 * The project's one error family.
 *
 * Every failure the job can name is a {@link SyncError}: it has a stable `code` an operator can search for, a
 * `disposition` that tells the caller what to do with it, and a `context` of operator facts (file, line, column,
 * rule, HTTP status, Graph request-id). It never carries a CSV cell value, a response body, a token or any other
 * personal data: messages are written by this project, never copied from a foreign error.
 */

/**
 * What the caller should do with a failure.
 * - `reject`: the input is bad; quarantine it with a report and do not retry.
 * - `retry`: transient; the same work may succeed later (within its budget).
 * - `skip`: nothing to do (already done, or no longer wanted); not an error for the operator.
 * - `fatal`: configuration, permission or programming problem; stop this unit of work and alert.
 */
export type Disposition = 'reject' | 'retry' | 'skip' | 'fatal';

/** Operator facts attached to an error. Every field is safe to log; none may hold data from a file or a body. */
export interface ErrorContext {
  /** Blob or file name the error concerns (as stored; never a cell value). */
  file?: string;
  /** 1-based physical line in the input file. */
  line?: number;
  /** Column name as the schema knows it (or the header as found, for header problems). */
  column?: string;
  /** The validation rule that failed, e.g. `principalId.guid`. */
  rule?: string;
  /** Byte offset in the input, for decoding problems. */
  byteOffset?: number;
  /** The operation that failed, e.g. `uploadSession.create`. */
  operation?: string;
  /** HTTP status of the failing response. */
  status?: number;
  /** Graph error code from the error envelope (`error.code`), never its message. */
  graphCode?: string;
  /** Graph's `request-id` response header (or `innerError.request-id`). */
  requestId?: string;
  /** The `client-request-id` this job sent. */
  clientRequestId?: string;
  /** Seconds the server asked us to wait, when it did. */
  retryAfterSeconds?: number;
  /** Number of attempts made before giving up. */
  attempts?: number;
}

/** Base class of every error this project throws on purpose. */
export class SyncError extends Error {
  readonly code: string;
  readonly disposition: Disposition;
  readonly context: ErrorContext;

  constructor(code: string, message: string, disposition: Disposition, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.disposition = disposition;
    this.context = { ...context };
  }

  /** A log-safe summary: code, disposition, message and context. Never the cause (foreign errors may carry data). */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, disposition: this.disposition, message: this.message, ...this.context };
  }
}

/** Type guard for {@link SyncError}, also across module copies (checks the shape, not the prototype). */
export function isSyncError(value: unknown): value is SyncError {
  return (
    value instanceof SyncError ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { code?: unknown }).code === 'string' &&
      typeof (value as { disposition?: unknown }).disposition === 'string' &&
      typeof (value as { context?: unknown }).context === 'object')
  );
}

/** One or more settings are wrong or missing. Lists every problem at once. */
export class ConfigError extends SyncError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('config.invalid', `Configuration is invalid:\n- ${problems.join('\n- ')}`, 'fatal');
    this.problems = [...problems];
  }
}

/**
 * A Microsoft Graph request failed. `status` is 0 when no HTTP response arrived (connection reset, DNS, TLS).
 * The message names the operation and the status; the response body is never kept.
 */
export class GraphRequestError extends SyncError {
  readonly status: number;
  readonly graphCode: string | undefined;
  readonly requestId: string | undefined;
  readonly clientRequestId: string | undefined;

  constructor(
    code: string,
    message: string,
    disposition: Disposition,
    context: ErrorContext & { status: number },
    options?: { cause?: unknown },
  ) {
    super(code, message, disposition, context, options);
    this.status = context.status;
    this.graphCode = context.graphCode;
    this.requestId = context.requestId;
    this.clientRequestId = context.clientRequestId;
  }
}

/** A storage (Blob or Table) operation failed. */
export class StorageError extends SyncError {}

/** Input data was refused: the file is quarantined with a report; retrying cannot help. */
export class ValidationError extends SyncError {
  constructor(code: string, message: string, context: ErrorContext = {}) {
    super(code, message, 'reject', context);
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends SyncError {
  constructor(operation: string) {
    super('aborted', `${operation} was cancelled`, 'skip', { operation });
  }
}
