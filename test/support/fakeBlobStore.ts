/**
 * An in-memory {@link BlobStore} with the adapter's semantics, for core unit tests: ETags change on every write,
 * conditions are enforced, reads are ranged and pinned to an ETag (an overwrite between ranges fails the stream),
 * names and metadata are checked by the same rules. The contract suite in `test/storage` holds it to the real
 * adapter on Azurite.
 *
 * Fault hooks for crash and retry tests: `failNext(operation, times, error)` makes the next calls of an operation
 * fail before they take effect; `calls` records every call in order.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { checkBlobMetadata, checkBlobName, type BlobInfo, type BlobStore, type CopyOptions, type WriteOptions } from '../../src/core/blobStore';
import { AbortedError, StorageError, type Disposition } from '../../src/core/errors';

export type FakeBlobOperation = 'list' | 'stat' | 'openRead' | 'write' | 'copy' | 'delete' | 'setMetadata';

export interface FakeBlobStoreOptions {
  /** Clock for `lastModified`. Default `Date.now`. */
  now?: () => number;
  /** Bytes per pinned range of `openRead` (the condition is re-checked between ranges). Default 8 MiB. */
  readRangeBytes?: number;
  /** Bytes per chunk emitted by `openRead`. Default 64 KiB. */
  chunkBytes?: number;
}

interface StoredBlob {
  data: Buffer;
  etag: string;
  contentType: string | undefined;
  lastModified: number;
  metadata: Record<string, string>;
  contentMd5: string;
}

export class FakeBlobStore implements BlobStore {
  /** Every call, in order: the operation and the blob name (or prefix). */
  readonly calls: { operation: FakeBlobOperation; name: string }[] = [];
  private readonly blobs = new Map<string, StoredBlob>();
  private readonly faults = new Map<FakeBlobOperation, { times: number; error: () => Error }>();
  private version = 0;
  private readonly now: () => number;
  private readonly readRangeBytes: number;
  private readonly chunkBytes: number;

  constructor(options: FakeBlobStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.readRangeBytes = options.readRangeBytes ?? 8 * 1024 * 1024;
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
  }

  /**
   * The next `times` calls of `operation` fail with `error()` (default: `storage.unavailable`, retry) before they
   * change anything. For `openRead` the failure comes from the promise, before any byte.
   */
  failNext(operation: FakeBlobOperation, times = 1, error: () => Error = () => storageError('storage.unavailable', operation, undefined, 'retry', 503)): void {
    this.faults.set(operation, { times, error });
  }

  /** Names currently stored, in list order (test assertions). */
  names(): string[] {
    return [...this.blobs.keys()].sort(compareNames);
  }

  /** The stored bytes of a blob, or undefined (test assertions). */
  content(name: string): Buffer | undefined {
    const blob = this.blobs.get(name);
    return blob ? Buffer.from(blob.data) : undefined;
  }

  async *list(prefix: string, options: { signal?: AbortSignal } = {}): AsyncIterable<BlobInfo> {
    this.enter('list', prefix, options.signal);
    for (const name of this.names()) {
      if (!name.startsWith(prefix)) continue;
      // A blob deleted while the listing runs may or may not appear; here it does not.
      const blob = this.blobs.get(name);
      if (blob) yield toInfo(name, blob);
      await Promise.resolve();
      throwIfAborted(options.signal, 'blob.list');
    }
  }

  async stat(name: string, options: { signal?: AbortSignal } = {}): Promise<BlobInfo | undefined> {
    checkBlobName(name);
    this.enter('stat', name, options.signal);
    await Promise.resolve();
    const blob = this.blobs.get(name);
    return blob ? toInfo(name, blob) : undefined;
  }

  async openRead(name: string, options: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<Readable> {
    checkBlobName(name);
    this.enter('openRead', name, options.signal);
    await Promise.resolve();
    const first = this.current(name, options.ifMatch, 'blob.openRead');
    const etag = first.etag;
    const size = first.data.length;
    const { readRangeBytes, chunkBytes } = this;
    const signal = options.signal;
    const pinned = (): StoredBlob => this.current(name, etag, 'blob.openRead');
    async function* ranges(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < size; offset += readRangeBytes) {
        await Promise.resolve();
        throwIfAborted(signal, 'blob.openRead');
        // Each range is conditional on the pinned ETag, as the adapter's ranged GETs are.
        const blob = pinned();
        const end = Math.min(offset + readRangeBytes, size);
        for (let at = offset; at < end; at += chunkBytes) yield Buffer.from(blob.data.subarray(at, Math.min(at + chunkBytes, end)));
      }
    }
    return Readable.from(ranges(), { objectMode: false, highWaterMark: chunkBytes });
  }

  async write(name: string, body: Readable | Buffer, options: WriteOptions = {}): Promise<BlobInfo> {
    checkBlobName(name);
    if (options.metadata) checkBlobMetadata(options.metadata, name);
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined)
      throw storageError('storage.invalidRequest', 'blob.write', name, 'fatal', 400);
    this.enter('write', name, options.signal);
    let data: Buffer;
    if (Buffer.isBuffer(body)) {
      data = Buffer.from(body);
      await Promise.resolve();
    } else {
      // The fake keeps blobs in memory anyway; a failing body rejects with its own error and commits nothing.
      const chunks: Buffer[] = [];
      for await (const chunk of body as AsyncIterable<Buffer | string>) {
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        throwIfAborted(options.signal, 'blob.write');
      }
      data = Buffer.concat(chunks);
    }
    throwIfAborted(options.signal, 'blob.write');
    // Conditions are evaluated at commit, after the body: as Put Block List does.
    const existing = this.blobs.get(name);
    if (options.ifNoneMatch === '*' && existing) throw storageError('storage.alreadyExists', 'blob.write', name, 'skip', 409);
    if (options.ifMatch !== undefined && existing?.etag !== options.ifMatch) throw storageError('storage.conditionFailed', 'blob.write', name, 'skip', 412);
    const blob: StoredBlob = {
      data,
      etag: this.nextEtag(),
      contentType: options.contentType,
      lastModified: this.now(),
      metadata: { ...(options.metadata ?? {}) },
      contentMd5: createHash('md5').update(data).digest('base64'),
    };
    this.blobs.set(name, blob);
    return toInfo(name, blob);
  }

  async copy(from: string, to: string, options: CopyOptions = {}): Promise<BlobInfo> {
    checkBlobName(from);
    checkBlobName(to);
    if (options.metadata) checkBlobMetadata(options.metadata, to);
    this.enter('copy', from, options.signal);
    await Promise.resolve();
    const source = this.current(from, options.ifMatch, 'blob.copy');
    const blob: StoredBlob = { ...source, data: Buffer.from(source.data), etag: this.nextEtag(), lastModified: this.now(), metadata: { ...(options.metadata ?? source.metadata) } };
    this.blobs.set(to, blob);
    return toInfo(to, blob);
  }

  async delete(name: string, options: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<boolean> {
    checkBlobName(name);
    this.enter('delete', name, options.signal);
    await Promise.resolve();
    const existing = this.blobs.get(name);
    if (!existing) return false;
    if (options.ifMatch !== undefined && existing.etag !== options.ifMatch) throw storageError('storage.conditionFailed', 'blob.delete', name, 'skip', 412);
    this.blobs.delete(name);
    return true;
  }

  async setMetadata(name: string, metadata: Record<string, string>, options: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<BlobInfo> {
    checkBlobName(name);
    checkBlobMetadata(metadata, name);
    this.enter('setMetadata', name, options.signal);
    await Promise.resolve();
    const existing = this.current(name, options.ifMatch, 'blob.setMetadata');
    const blob: StoredBlob = { ...existing, etag: this.nextEtag(), lastModified: this.now(), metadata: { ...metadata } };
    this.blobs.set(name, blob);
    return toInfo(name, blob);
  }

  /** The current version, or the errors a conditional request gets. */
  private current(name: string, ifMatch: string | undefined, operation: string): StoredBlob {
    const blob = this.blobs.get(name);
    if (!blob) throw storageError('storage.notFound', operation, name, 'skip', 404);
    if (ifMatch !== undefined && blob.etag !== ifMatch) throw storageError('storage.conditionFailed', operation, name, 'skip', 412);
    return blob;
  }

  private enter(operation: FakeBlobOperation, name: string, signal: AbortSignal | undefined): void {
    this.calls.push({ operation, name });
    throwIfAborted(signal, `blob.${operation}`);
    const fault = this.faults.get(operation);
    if (fault && fault.times > 0) {
      fault.times -= 1;
      throw fault.error();
    }
  }

  private nextEtag(): string {
    this.version += 1;
    return `"0xFAKE${this.version.toString(16).padStart(8, '0').toUpperCase()}"`;
  }
}

/** Name order of Azurite's listings: UTF-16 code units. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toInfo(name: string, blob: StoredBlob): BlobInfo {
  const info: BlobInfo = { name, etag: blob.etag, size: blob.data.length, lastModified: blob.lastModified, metadata: { ...blob.metadata }, contentMd5: blob.contentMd5 };
  if (blob.contentType) info.contentType = blob.contentType;
  return info;
}

function storageError(code: string, operation: string, file: string | undefined, disposition: Disposition, status: number): StorageError {
  return new StorageError(code, `Storage ${operation} failed: ${code.slice('storage.'.length)} (fake)`, disposition, { operation, status, ...(file === undefined ? {} : { file }) });
}

function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) throw new AbortedError(operation);
}
