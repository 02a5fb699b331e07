/**
 * The SDK error mapping, on synthetic SDK-shaped errors: every status class, and never a foreign message.
 */
import { describe, expect, it } from 'vitest';
import { toStorageError } from '../../src/adapters/storageErrors';
import { AbortedError, StorageError, ValidationError } from '../../src/core/errors';

/** Shaped like @azure/core-rest-pipeline's RestError, with a message that must never come through. */
function restError(statusCode: number | undefined, code?: string, requestId = 'req-1'): Error {
  const headers = new Map<string, string>([['x-ms-request-id', requestId], ...(code ? ([['x-ms-error-code', code]] as [string, string][]) : [])]);
  return Object.assign(new Error('SECRET https://acct.blob.core.windows.net/c/b?sig=SECRET RequestId:xyz'), {
    name: 'RestError',
    statusCode,
    code,
    response: { headers: { get: (name: string) => headers.get(name) } },
  });
}

describe('toStorageError', () => {
  it.each([
    [401, undefined, false, 'storage.forbidden', 'fatal'],
    [403, 'AuthorizationPermissionMismatch', false, 'storage.forbidden', 'fatal'],
    [404, 'BlobNotFound', false, 'storage.notFound', 'skip'],
    [404, undefined, false, 'storage.notFound', 'skip'],
    [404, 'ContainerNotFound', false, 'storage.containerNotFound', 'fatal'],
    [404, 'TableNotFound', false, 'storage.containerNotFound', 'fatal'],
    [409, 'BlobAlreadyExists', false, 'storage.alreadyExists', 'skip'],
    [409, 'EntityAlreadyExists', true, 'storage.alreadyExists', 'skip'],
    [409, 'LeaseIdMissing', false, 'storage.conflict', 'retry'],
    [412, 'ConditionNotMet', false, 'storage.conditionFailed', 'skip'],
    [412, 'ConditionNotMet', true, 'storage.alreadyExists', 'skip'],
    [408, undefined, false, 'storage.unavailable', 'retry'],
    [429, undefined, false, 'storage.unavailable', 'retry'],
    [500, 'InternalError', false, 'storage.unavailable', 'retry'],
    [503, 'ServerBusy', false, 'storage.unavailable', 'retry'],
    [400, 'InvalidHeaderValue', false, 'storage.invalidRequest', 'fatal'],
    [413, 'RequestBodyTooLarge', false, 'storage.invalidRequest', 'fatal'],
  ] as const)('HTTP %s %s (createOnly %s) → %s, %s', (status, code, createOnly, expected, disposition) => {
    const mapped = toStorageError(restError(status, code), { operation: 'blob.write', file: 'inbox/s/a.csv', createOnly });
    expect(mapped).toBeInstanceOf(StorageError);
    expect(mapped).toMatchObject({ code: expected, disposition, context: { operation: 'blob.write', file: 'inbox/s/a.csv', status, requestId: 'req-1' } });
    expect(mapped.message).not.toContain('SECRET');
    expect(mapped.message).not.toMatch(/https?:|RequestId:/);
    expect(JSON.stringify(mapped.toJSON())).not.toContain('SECRET');
    expect(mapped.cause).toBeUndefined();
  });

  it('maps failures without a response to storage.unavailable (retry)', () => {
    const reset = Object.assign(new Error('socket hang up SECRET'), { code: 'ECONNRESET' });
    expect(toStorageError(reset, { operation: 'blob.openRead' })).toMatchObject({ code: 'storage.unavailable', disposition: 'retry' });
    expect(toStorageError(restError(undefined, 'REQUEST_SEND_ERROR'), { operation: 'ledger.blob.get' })).toMatchObject({ code: 'storage.unavailable', disposition: 'retry' });
    expect(toStorageError(reset, { operation: 'blob.openRead' }).message).not.toContain('SECRET');
  });

  it('maps an SDK abort to AbortedError, and lets the project\'s own errors through unchanged', () => {
    const abort = Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });
    expect(toStorageError(abort, { operation: 'blob.write' })).toBeInstanceOf(AbortedError);
    const own = new ValidationError('csv.header.missing', 'Header missing');
    expect(toStorageError(own, { operation: 'blob.write' })).toBe(own);
  });
});
