/**
 * The blob store port: one container of the data storage account, as the core needs it.
 *
 * Implemented over Azure Blob Storage by `src/adapters/azureBlobStore.ts` and in memory by
 * `test/support/fakeBlobStore.ts`; one contract suite (`test/storage`) runs against both, so the semantics written
 * here are the ones both keep. Every failure is a {@link StorageError} with one of the {@link BlobStoreErrorCode}s.
 */
import type { Readable } from 'node:stream';
import { StorageError } from './errors';

/** What the store knows about one blob version. */
export interface BlobInfo {
  /** Full blob name inside the container, exactly as stored (no Unicode normalisation, no decoding). */
  name: string;
  /** The version's ETag, opaque; pass it back as `ifMatch` to act on exactly this version. Changes on every write. */
  etag: string;
  /** Length in bytes. */
  size: number;
  /** The Content-Type the blob was written with, when it has one. */
  contentType?: string;
  /** Last write (content or metadata), milliseconds since the epoch. */
  lastModified: number;
  /** User metadata. Names are lower-case identifiers (see {@link checkBlobMetadata}); values printable ASCII. */
  metadata: Record<string, string>;
  /**
   * Base64 MD5 of the whole content, when the service has one. Writes through this port always record it; blobs
   * written by other tools in blocks may have none.
   */
  contentMd5?: string;
}

/** Options every call accepts: cancellation. An aborted call rejects with an `AbortedError` (code `aborted`). */
export interface SignalOptions {
  signal?: AbortSignal;
}

/** Options of {@link BlobStore.openRead}. */
export interface OpenReadOptions extends SignalOptions {
  /**
   * Read only this version. Without it the read pins itself to the version current when it starts, so a stream
   * never mixes bytes of two versions either way.
   */
  ifMatch?: string;
}

/** Options of {@link BlobStore.write}. */
export interface WriteOptions extends SignalOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  /** `'*'`: create only; an existing blob fails the write with `storage.alreadyExists` and is left untouched. */
  ifNoneMatch?: '*';
  /** Replace only this version; any other state (changed or gone) fails with `storage.conditionFailed`. */
  ifMatch?: string;
}

/** Options of {@link BlobStore.copy}. */
export interface CopyOptions extends SignalOptions {
  /** Copy only this version of the source; otherwise the version current when the copy starts. */
  ifMatch?: string;
  /** Metadata of the destination; when absent the source's metadata is copied. */
  metadata?: Record<string, string>;
}

/** Options of {@link BlobStore.delete}. */
export interface DeleteOptions extends SignalOptions {
  /** Delete only this version; a changed blob fails with `storage.conditionFailed` and is kept. */
  ifMatch?: string;
}

/** Options of {@link BlobStore.setMetadata}. */
export interface SetMetadataOptions extends SignalOptions {
  /** Change only this version; otherwise `storage.conditionFailed`. */
  ifMatch?: string;
}

/** One container. All names are full blob names (`inbox/{source}/file.csv`), checked by {@link checkBlobName}. */
export interface BlobStore {
  /**
   * Every blob under a prefix (a plain string prefix, not a folder: `inbox/a` also matches `inbox/ab.csv`), paged
   * internally, in name order (UTF-16 code unit order, as Azurite and the fake sort). Blobs written while the
   * listing runs may or may not appear.
   */
  list(prefix: string, options?: SignalOptions): AsyncIterable<BlobInfo>;
  /** The current version's properties, or `undefined` when there is no such blob. */
  stat(name: string, options?: SignalOptions): Promise<BlobInfo | undefined>;
  /**
   * A stream of the blob's bytes; with ifMatch, fails with code 'storage.conditionFailed' if the blob changed since
   * (also mid-stream: ranged/retried reads stay pinned to that ETag) and 'storage.notFound' if gone. Failures before
   * the first byte reject the promise; later ones destroy the stream with the same errors. The stream is pulled,
   * never read ahead beyond its buffer, so memory stays flat whatever the blob size.
   */
  openRead(name: string, options?: OpenReadOptions): Promise<Readable>;
  /**
   * Streams a body into a blob (never buffering it whole). ifNoneMatch '*' = create only ('storage.alreadyExists' on
   * conflict); ifMatch = replace only that version ('storage.conditionFailed'). The blob appears whole or not at
   * all. If the body stream fails, the write rejects with the body's own error and nothing is committed.
   */
  write(name: string, body: Readable | Buffer, options?: WriteOptions): Promise<BlobInfo>;
  /**
   * Server-side copy of the source version (ifMatch) to a new name (an existing destination is replaced, so a
   * repeated copy is idempotent); resolves when the copy is complete and verified (same size and, where both have
   * one, the same content MD5). A destination that fails verification is deleted and the call rejects with
   * `storage.copyMismatch`: a partial destination is never reported as success.
   */
  copy(from: string, to: string, options?: CopyOptions): Promise<BlobInfo>;
  /** Deletes the blob (and its snapshots). Resolves `false` if it was already gone. */
  delete(name: string, options?: DeleteOptions): Promise<boolean>;
  /** Replaces the user metadata (content untouched; the ETag changes). `storage.notFound` if there is no blob. */
  setMetadata(name: string, metadata: Record<string, string>, options?: SetMetadataOptions): Promise<BlobInfo>;
}

/**
 * Codes of the {@link StorageError}s a {@link BlobStore} throws, with their dispositions:
 * - `storage.notFound` (skip): the blob (version) is gone; nothing left to do with it.
 * - `storage.conditionFailed` (skip): the blob changed since the ETag the caller holds; that version is history.
 * - `storage.alreadyExists` (skip): a create-only write lost to an existing blob.
 * - `storage.copyMismatch` (retry): a copy did not verify; the destination was removed.
 * - `storage.copyFailed` (retry): the service reported the copy failed or was aborted.
 * - `storage.conflict` (retry): the service refused for a passing reason (a lease, a container being deleted).
 * - `storage.unavailable` (retry): throttled, timed out, 5xx or no response at all.
 * - `storage.forbidden` (fatal): authentication or authorisation refused; configuration or role assignment.
 * - `storage.containerNotFound` (fatal): the container does not exist; configuration.
 * - `storage.invalidName` (reject): a blob name this store refuses to address (see {@link checkBlobName}).
 * - `storage.invalidMetadata` (fatal): metadata the service would refuse (see {@link checkBlobMetadata}).
 * - `storage.invalidRequest` (fatal): any other 4xx; a programming problem.
 */
export type BlobStoreErrorCode =
  | 'storage.notFound'
  | 'storage.conditionFailed'
  | 'storage.alreadyExists'
  | 'storage.copyMismatch'
  | 'storage.copyFailed'
  | 'storage.conflict'
  | 'storage.unavailable'
  | 'storage.forbidden'
  | 'storage.containerNotFound'
  | 'storage.invalidName'
  | 'storage.invalidMetadata'
  | 'storage.invalidRequest';

/** Azure's limit on a blob name, in characters. */
export const MAX_BLOB_NAME_LENGTH = 1024;

/**
 * Refuses, with `storage.invalidName` (disposition `reject`), the names that cannot be addressed faithfully.
 * Measured on the SDK and Azurite, not assumed: URL parsing resolves `.` and `..` segments (`a/../b.csv` would read
 * and write `b.csv`), the service turns `\` into `/`, listings cannot carry control characters, and Azure caps
 * names at 1,024 characters. Everything else (Unicode in either normal form, `%2F`, `#`, `?`, spaces, a trailing
 * `.`) is stored and listed exactly as given. Refusing is safer than touching a different blob.
 */
export function checkBlobName(name: string): void {
  const problem =
    name.length === 0
      ? 'is empty'
      : name.length > MAX_BLOB_NAME_LENGTH
        ? `is longer than ${MAX_BLOB_NAME_LENGTH} characters`
        : name.split('/').some((segment) => segment === '.' || segment === '..')
          ? 'has a "." or ".." path segment'
          : name.includes('\\')
            ? 'contains a backslash'
            : // eslint-disable-next-line no-control-regex
              /[\u0000-\u001f\u007f-\u009f]/.test(name)
              ? 'contains a control character'
              : /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name)
                ? 'contains a lone surrogate'
                : undefined;
  if (problem) throw new StorageError('storage.invalidName', `Blob name ${problem}; it cannot be stored faithfully`, 'reject', { file: name.slice(0, MAX_BLOB_NAME_LENGTH) });
}

/** Azure's limit on all metadata names and values together, in bytes. */
export const MAX_METADATA_BYTES = 8 * 1024;

/**
 * Refuses (`storage.invalidMetadata`, fatal) metadata the service would refuse or alter: names must be lower-case
 * C# identifiers (the service treats names case-insensitively and listing returns them lower-case, so mixed case
 * would not round-trip), values printable ASCII without leading or trailing spaces (HTTP headers trim them), and
 * the whole under 8 KiB.
 */
export function checkBlobMetadata(metadata: Record<string, string>, file?: string): void {
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) {
    bytes += key.length + value.length;
    const problem = !/^[a-z_][a-z0-9_]*$/.test(key)
      ? `metadata name "${key.slice(0, 64)}" is not a lower-case identifier`
      : !/^[\x20-\x7e]*$/.test(value)
        ? `metadata "${key}" has a value outside printable ASCII`
        : value !== value.trim()
          ? `metadata "${key}" has a value with leading or trailing spaces`
          : undefined;
    if (problem) throw new StorageError('storage.invalidMetadata', `Blob ${problem}`, 'fatal', file === undefined ? {} : { file });
  }
  if (bytes > MAX_METADATA_BYTES) throw new StorageError('storage.invalidMetadata', `Blob metadata exceeds ${MAX_METADATA_BYTES} bytes`, 'fatal', file === undefined ? {} : { file });
}
