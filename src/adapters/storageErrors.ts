/**
 * Maps Azure Storage SDK failures (Blob and Table) to the project's {@link StorageError}s.
 *
 * The SDK's messages are never copied: they can hold request URLs (with a SAS query when one is used) and service
 * text. Only the status, the service's error code (a fixed vocabulary such as `ConditionNotMet`) and the
 * `x-ms-request-id` are kept, which is what an operator needs to open a support case. The SDK error is not kept as
 * `cause` either, because `util.inspect` would print it with its request.
 */
import { AbortedError, isSyncError, StorageError, type Disposition, type ErrorContext, type SyncError } from '../core/errors';

/** What the mapper knows about the call that failed. */
export interface StorageCallContext {
  /** e.g. `blob.write`, `ledger.request.update`. */
  operation: string;
  /** The blob name (or ledger kind/key) concerned; goes to `context.file`, never into the message. */
  file?: string;
  /**
   * How to read a 404, 409 and 412 for this call: a HEAD has no error code, and `ifNoneMatch: '*'` is a 409 on
   * Put Blob but a 412 on Put Block List.
   */
  createOnly?: boolean;
}

interface RestErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
  response?: { headers?: { get(name: string): string | undefined } };
  details?: unknown;
}

/** Network-level failures that leave no HTTP response: worth retrying. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'REQUEST_SEND_ERROR', 'ERR_STREAM_PREMATURE_CLOSE']);

/** The service's error code (`BlobNotFound`, `EntityAlreadyExists`, …) from a RestError, when it sent one. */
export function serviceErrorCode(error: unknown): string | undefined {
  const e = error as RestErrorLike;
  const fromHeader = e.response?.headers?.get('x-ms-error-code');
  if (fromHeader) return fromHeader;
  const details = e.details as { errorCode?: unknown; odataError?: { code?: unknown } } | undefined;
  if (typeof details?.errorCode === 'string') return details.errorCode;
  if (typeof details?.odataError?.code === 'string') return details.odataError.code;
  // storage-blob puts the service code in `code`; node network errors put theirs (E…) there too.
  return typeof e.code === 'string' && !NETWORK_CODES.has(e.code) ? e.code : undefined;
}

/** HTTP status of a RestError, or undefined when no response arrived. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as RestErrorLike | undefined)?.statusCode;
  return typeof status === 'number' && status > 0 ? status : undefined;
}

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'AbortError';
}

/**
 * The project's error for an SDK failure. Errors that are already ours pass through unchanged, so a mapper can
 * wrap code that throws both.
 */
export function toStorageError(error: unknown, call: StorageCallContext): SyncError {
  if (isSyncError(error)) return error;
  if (isAbort(error)) return new AbortedError(call.operation);
  const status = statusOf(error);
  const serviceCode = serviceErrorCode(error);
  const requestId = (error as RestErrorLike | undefined)?.response?.headers?.get('x-ms-request-id');
  const context: ErrorContext = { operation: call.operation, ...(call.file === undefined ? {} : { file: call.file }), ...(status === undefined ? {} : { status }), ...(requestId ? { requestId } : {}) };
  const fail = (code: string, what: string, disposition: Disposition) =>
    new StorageError(code, `Storage ${call.operation} failed: ${what}${serviceCode ? ` (${serviceCode})` : ''}`, disposition, context);

  if (status === undefined) {
    const networkCode = (error as { code?: unknown } | undefined)?.code;
    if (typeof networkCode === 'string' && NETWORK_CODES.has(networkCode)) return fail('storage.unavailable', `no response (${networkCode})`, 'retry');
    // RestErrors without a status are transport failures; anything else is unexpected but still a storage call
    // that did not complete, so retry within the caller's budget rather than crash the worker.
    return fail('storage.unavailable', 'no response from the service', 'retry');
  }
  if (status === 401 || status === 403) return fail('storage.forbidden', 'access refused; check the identity\'s role assignment or the account key', 'fatal');
  if (status === 404) {
    if (serviceCode === 'ContainerNotFound' || serviceCode === 'TableNotFound') return fail('storage.containerNotFound', 'the container or table does not exist', 'fatal');
    return fail('storage.notFound', 'not found', 'skip');
  }
  if (status === 409) {
    if (serviceCode === 'BlobAlreadyExists' || serviceCode === 'EntityAlreadyExists' || (call.createOnly && serviceCode === undefined))
      return fail('storage.alreadyExists', 'already exists', 'skip');
    return fail('storage.conflict', 'the service refused for now', 'retry');
  }
  if (status === 412) {
    if (call.createOnly) return fail('storage.alreadyExists', 'already exists', 'skip');
    return fail('storage.conditionFailed', 'the version changed', 'skip');
  }
  if (status === 408 || status === 429 || status >= 500) return fail('storage.unavailable', `the service is unavailable (HTTP ${status})`, 'retry');
  return fail('storage.invalidRequest', `the request was refused (HTTP ${status})`, 'fatal');
}
