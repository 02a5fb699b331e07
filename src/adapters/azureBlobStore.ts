/**
 * {@link BlobStore} over Azure Blob Storage (`@azure/storage-blob`), one container.
 *
 * Choices worth knowing:
 * - Uploads are staged as blocks of `blockBytes` with at most `uploadConcurrency` in flight, then committed with
 *   the caller's condition; memory is bounded by about `blockBytes × (uploadConcurrency + 1)` whatever the body
 *   size, and a blob appears whole or not at all. The content MD5 is computed on the way and stored at commit, so
 *   every blob this store writes carries one (the service only computes it itself for single-shot uploads).
 * - Reads are a HEAD (the version to pin, and the size: a ranged GET on an empty blob is a 416) followed by ranged
 *   GETs of `readRangeBytes`, each conditional on that ETag, so an overwrite between ranges fails the stream with
 *   `storage.conditionFailed` instead of splicing two versions. The SDK's own mid-range resume pins to the ETag too.
 * - Copies are server-side and verified against the source's size and MD5 before they are reported.
 */
import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient, type BlobClient, type BlobGetPropertiesResponse, type ContainerClient } from '@azure/storage-blob';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { checkBlobMetadata, checkBlobName, type BlobInfo, type BlobStore } from '../core/blobStore';
import { AbortedError, StorageError, type SyncError } from '../core/errors';
import { serviceErrorCode, statusOf, toStorageError } from './storageErrors';

/** How to reach the account: a connection string (Azurite, keys) or a service URI with an Entra credential. */
export type AzureBlobConnection = { connectionString: string } | { serviceUri: string; credential: TokenCredential };

/** Tuning; the defaults suit files up to several GB on a small Functions instance. */
export interface AzureBlobStoreOptions {
  /** Block size of streamed uploads (and the single-shot limit for Buffer bodies). Default 4 MiB. */
  blockBytes?: number;
  /** Blocks in flight per upload. Default 4. */
  uploadConcurrency?: number;
  /** Bytes per ranged GET of `openRead`. Default 8 MiB. */
  readRangeBytes?: number;
  /** Polling interval while a server-side copy is pending (same-account copies usually finish at once). Default 1 s. */
  copyPollIntervalMs?: number;
}

/** The adapter: the port plus start-up provisioning. */
export interface AzureBlobStore extends BlobStore {
  readonly containerName: string;
  /** Creates the container when missing (idempotent); called once at start by the composition root. */
  ensureContainer(): Promise<void>;
}

const MiB = 1024 * 1024;

export function createAzureBlobStore(connection: AzureBlobConnection, containerName: string, options: AzureBlobStoreOptions = {}): AzureBlobStore {
  const service =
    'connectionString' in connection
      ? BlobServiceClient.fromConnectionString(connection.connectionString)
      : new BlobServiceClient(connection.serviceUri, connection.credential);
  return new AzureBlobStoreImpl(service.getContainerClient(containerName), containerName, options);
}

class AzureBlobStoreImpl implements AzureBlobStore {
  private readonly blockBytes: number;
  private readonly uploadConcurrency: number;
  private readonly readRangeBytes: number;
  private readonly copyPollIntervalMs: number;

  constructor(
    private readonly container: ContainerClient,
    readonly containerName: string,
    options: AzureBlobStoreOptions,
  ) {
    this.blockBytes = options.blockBytes ?? 4 * MiB;
    this.uploadConcurrency = Math.max(1, options.uploadConcurrency ?? 4);
    this.readRangeBytes = options.readRangeBytes ?? 8 * MiB;
    this.copyPollIntervalMs = options.copyPollIntervalMs ?? 1000;
  }

  async ensureContainer(): Promise<void> {
    try {
      await this.container.createIfNotExists();
    } catch (error) {
      throw toStorageError(error, { operation: 'blob.ensureContainer', file: this.containerName });
    }
  }

  async *list(prefix: string, options: { signal?: AbortSignal } = {}): AsyncIterable<BlobInfo> {
    const pages = this.container.listBlobsFlat({ prefix, includeMetadata: true, abortSignal: options.signal }).byPage({ maxPageSize: 1000 });
    for (;;) {
      let page;
      try {
        page = await pages.next();
      } catch (error) {
        throw toStorageError(error, { operation: 'blob.list', file: prefix });
      }
      if (page.done) return;
      for (const item of page.value.segment.blobItems) {
        const p = item.properties;
        yield info(item.name, p.etag, p.contentLength, p.contentType, p.lastModified, item.metadata, p.contentMD5);
      }
    }
  }

  async stat(name: string, options: { signal?: AbortSignal } = {}): Promise<BlobInfo | undefined> {
    checkBlobName(name);
    try {
      return fromProperties(name, await this.blob(name).getProperties({ abortSignal: options.signal }));
    } catch (error) {
      const mapped = toStorageError(error, { operation: 'blob.stat', file: name });
      if (mapped.code === 'storage.notFound') return undefined;
      throw mapped;
    }
  }

  async openRead(name: string, options: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<Readable> {
    checkBlobName(name);
    const blob = this.blob(name);
    const head = await this.properties(blob, name, 'blob.openRead', options.ifMatch, options.signal);
    const etag = head.etag!;
    const size = head.contentLength ?? 0;
    const rangeBytes = this.readRangeBytes;
    const signal = options.signal;
    async function* ranges(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < size; offset += rangeBytes) {
        const count = Math.min(rangeBytes, size - offset);
        let received = 0;
        try {
          const response = await blob.download(offset, count, { conditions: { ifMatch: etag }, abortSignal: signal, maxRetryRequests: 5 });
          const body = response.readableStreamBody;
          if (!body) throw new StorageError('storage.unavailable', 'Storage blob.openRead failed: the response had no body', 'retry', { operation: 'blob.openRead', file: name });
          for await (const chunk of body as AsyncIterable<Buffer>) {
            received += chunk.length;
            yield chunk;
          }
        } catch (error) {
          throw await goneOrChanged(toStorageError(error, { operation: 'blob.openRead', file: name }), blob, signal);
        }
        // A range that ends early would silently shorten the file; the SDK resumes drops, so this is a bug guard.
        if (received !== count)
          throw new StorageError('storage.unavailable', `Storage blob.openRead failed: a range returned ${received} of ${count} bytes`, 'retry', { operation: 'blob.openRead', file: name });
      }
    }
    // Not object mode: the buffer is counted in bytes, so read-ahead stays at about one chunk, not 16 chunks.
    return Readable.from(ranges(), { objectMode: false, highWaterMark: 64 * 1024 });
  }

  async write(name: string, body: Readable | Buffer, options: Parameters<BlobStore['write']>[2] = {}): Promise<BlobInfo> {
    checkBlobName(name);
    if (options.metadata) checkBlobMetadata(options.metadata, name);
    if (options.ifMatch !== undefined && options.ifNoneMatch !== undefined)
      throw new StorageError('storage.invalidRequest', 'A write takes ifMatch or ifNoneMatch, not both', 'fatal', { operation: 'blob.write', file: name });
    const createOnly = options.ifNoneMatch === '*';
    const conditions = createOnly ? { ifNoneMatch: '*' } : options.ifMatch !== undefined ? { ifMatch: options.ifMatch } : undefined;
    const blob = this.blob(name).getBlockBlobClient();
    const call = { operation: 'blob.write', file: name, createOnly };
    const signal = options.signal;
    const metadata = options.metadata ?? {};

    if (Buffer.isBuffer(body) && body.length <= this.blockBytes) {
      const md5 = createHash('md5').update(body).digest();
      try {
        const res = await blob.upload(body, body.length, { blobHTTPHeaders: { blobContentType: options.contentType, blobContentMD5: md5 }, metadata, conditions, abortSignal: signal });
        return info(name, res.etag, body.length, options.contentType, res.lastModified, metadata, md5);
      } catch (error) {
        throw toStorageError(error, call);
      }
    }

    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const md5 = createHash('md5');
    const blockIds: string[] = [];
    // Block ids must all have the same length within a blob; a fresh prefix keeps concurrent writers apart.
    const idPrefix = randomUUID();
    const inFlight = new Set<Promise<void>>();
    let stageFailure: unknown;
    let size = 0;
    const stage = (data: Buffer) => {
      const id = Buffer.from(`${idPrefix}-${String(blockIds.length).padStart(6, '0')}`).toString('base64');
      blockIds.push(id);
      const task: Promise<void> = blob
        .stageBlock(id, data, data.length, { transactionalContentMD5: createHash('md5').update(data).digest(), abortSignal: signal })
        .then(
          () => undefined,
          (error: unknown) => {
            stageFailure ??= error;
          },
        )
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    };
    const checkStaging = () => {
      if (stageFailure !== undefined) throw new StageFailed(stageFailure);
    };

    // Each block is filled in place (the body's chunks are copied in and can be freed at once) rather than collected
    // and concatenated, which held every chunk and the joined copy at the same time.
    let block = Buffer.allocUnsafeSlow(this.blockBytes);
    let blockUsed = 0;
    try {
      for await (const raw of source as AsyncIterable<Buffer | string>) {
        const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
        md5.update(chunk);
        size += chunk.length;
        let offset = 0;
        while (offset < chunk.length) {
          const copied = chunk.copy(block, blockUsed, offset, Math.min(chunk.length, offset + this.blockBytes - blockUsed));
          blockUsed += copied;
          offset += copied;
          if (blockUsed === this.blockBytes) {
            stage(block);
            block = Buffer.allocUnsafeSlow(this.blockBytes);
            blockUsed = 0;
            // Backpressure: stop pulling the body while the uploads are saturated.
            while (inFlight.size >= this.uploadConcurrency) await Promise.race(inFlight);
            checkStaging();
          }
        }
        if (signal?.aborted) throw new AbortedError('blob.write');
      }
      if (blockUsed > 0) stage(block.subarray(0, blockUsed));
      await Promise.all(inFlight);
      checkStaging();
    } catch (error) {
      await Promise.all(inFlight);
      if (!Buffer.isBuffer(body) && !body.destroyed) body.destroy();
      // Nothing was committed: the staged blocks are discarded by the service. A failing body keeps its own error
      // (a validation failure stays a validation failure); a failed block upload is mapped.
      if (error instanceof StageFailed) throw toStorageError(error.cause, call);
      throw error;
    }

    const digest = md5.digest();
    try {
      const res = await blob.commitBlockList(blockIds, { blobHTTPHeaders: { blobContentType: options.contentType, blobContentMD5: digest }, metadata, conditions, abortSignal: signal });
      return info(name, res.etag, size, options.contentType, res.lastModified, metadata, digest);
    } catch (error) {
      // Another writer's commit discards our uncommitted blocks (the service keeps one uncommitted list per blob).
      if (statusOf(error) === 400 && serviceErrorCode(error) === 'InvalidBlockList') {
        if (createOnly && (await this.stat(name, { signal }))) throw new StorageError('storage.alreadyExists', 'Storage blob.write failed: already exists', 'skip', { operation: 'blob.write', file: name, status: 409 });
        throw new StorageError('storage.conflict', 'Storage blob.write failed: a concurrent write to the same blob discarded this upload', 'retry', { operation: 'blob.write', file: name, status: 400 });
      }
      throw toStorageError(error, call);
    }
  }

  async copy(from: string, to: string, options: Parameters<BlobStore['copy']>[2] = {}): Promise<BlobInfo> {
    checkBlobName(from);
    checkBlobName(to);
    if (options.metadata) checkBlobMetadata(options.metadata, to);
    const signal = options.signal;
    const source = this.blob(from);
    const target = this.blob(to);
    const src = await this.properties(source, from, 'blob.copy', options.ifMatch, signal);
    let copyId: string | undefined;
    try {
      const poller = await target.beginCopyFromURL(source.url, {
        sourceConditions: { ifMatch: src.etag },
        metadata: options.metadata,
        abortSignal: signal,
        intervalInMs: this.copyPollIntervalMs,
      });
      const done = await poller.pollUntilDone();
      copyId = done.copyId;
      if (done.copyStatus !== undefined && done.copyStatus !== 'success')
        throw new StorageError('storage.copyFailed', `Storage blob.copy failed: the copy ended ${done.copyStatus}`, 'retry', { operation: 'blob.copy', file: to });
    } catch (error) {
      // A 404 or 412 here is about the source: it vanished or changed after the HEAD.
      throw toStorageError(error, { operation: 'blob.copy', file: statusOf(error) === 404 || statusOf(error) === 412 ? from : to });
    }
    const dest = await this.properties(target, to, 'blob.copy', undefined, signal);
    const problem =
      copyId !== undefined && dest.copyId !== undefined && dest.copyId !== copyId
        ? 'another copy replaced the destination'
        : dest.copyStatus !== undefined && dest.copyStatus !== 'success'
          ? `the destination's copy is ${dest.copyStatus}`
          : dest.contentLength !== src.contentLength
            ? 'the destination size differs from the source'
            : src.contentMD5 && dest.contentMD5 && Buffer.compare(Buffer.from(src.contentMD5), Buffer.from(dest.contentMD5)) !== 0
              ? 'the destination MD5 differs from the source'
              : undefined;
    if (problem) {
      // Never leave a destination that a later stat would take for a good copy.
      await target.deleteIfExists({ conditions: { ifMatch: dest.etag } }).catch(() => undefined);
      throw new StorageError('storage.copyMismatch', `Storage blob.copy failed verification: ${problem}`, 'retry', { operation: 'blob.copy', file: to });
    }
    return fromProperties(to, dest);
  }

  async delete(name: string, options: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<boolean> {
    checkBlobName(name);
    try {
      await this.blob(name).delete({ deleteSnapshots: 'include', conditions: options.ifMatch === undefined ? undefined : { ifMatch: options.ifMatch }, abortSignal: options.signal });
      return true;
    } catch (error) {
      const mapped = toStorageError(error, { operation: 'blob.delete', file: name });
      if (mapped.code === 'storage.notFound') return false;
      // If-Match against a missing blob may be answered 412 rather than 404: gone is gone, not "changed".
      if (mapped.code === 'storage.conditionFailed' && !(await this.stat(name, { signal: options.signal }))) return false;
      throw mapped;
    }
  }

  async setMetadata(name: string, metadata: Record<string, string>, options: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<BlobInfo> {
    checkBlobName(name);
    checkBlobMetadata(metadata, name);
    const blob = this.blob(name);
    // Read the properties, then change exactly that version, so the returned info describes the blob we changed.
    // Without a caller's ETag a concurrent writer only costs another round.
    for (let attempt = 1; ; attempt++) {
      const props = await this.properties(blob, name, 'blob.setMetadata', options.ifMatch, options.signal);
      try {
        const res = await blob.setMetadata(metadata, { conditions: { ifMatch: props.etag }, abortSignal: options.signal });
        return info(name, res.etag, props.contentLength, props.contentType, res.lastModified, metadata, props.contentMD5);
      } catch (error) {
        const mapped = toStorageError(error, { operation: 'blob.setMetadata', file: name });
        if (mapped.code === 'storage.conditionFailed' && options.ifMatch === undefined && attempt < 5) continue;
        throw mapped;
      }
    }
  }

  private blob(name: string): BlobClient {
    return this.container.getBlobClient(name);
  }

  /** HEAD, optionally pinned; maps 404 and 412 to `storage.notFound` and `storage.conditionFailed`. */
  private async properties(blob: BlobClient, name: string, operation: string, ifMatch: string | undefined, signal: AbortSignal | undefined): Promise<BlobGetPropertiesResponse> {
    try {
      return await blob.getProperties({ conditions: ifMatch === undefined ? undefined : { ifMatch }, abortSignal: signal });
    } catch (error) {
      throw await goneOrChanged(toStorageError(error, { operation, file: name }), blob, signal);
    }
  }
}

/**
 * If-Match against a blob that no longer exists is answered 412 by Azurite (and the HTTP rules allow it), but the
 * port promises `storage.notFound` for a vanished blob: one unconditional HEAD tells the two apart.
 */
async function goneOrChanged(error: SyncError, blob: BlobClient, signal: AbortSignal | undefined): Promise<SyncError> {
  if (error.code !== 'storage.conditionFailed') return error;
  try {
    await blob.getProperties({ abortSignal: signal });
    return error;
  } catch (headError) {
    const mapped = toStorageError(headError, { operation: error.context.operation ?? 'blob', file: error.context.file });
    return mapped.code === 'storage.notFound' ? mapped : error;
  }
}

/** Carries a block upload's failure out of the body loop, so it is told apart from the body's own errors. */
class StageFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('block upload failed');
  }
}

function info(
  name: string,
  etag: string | undefined,
  size: number | undefined,
  contentType: string | undefined,
  lastModified: Date | undefined,
  metadata: Record<string, string> | undefined,
  md5: Uint8Array | undefined,
): BlobInfo {
  const result: BlobInfo = { name, etag: quoted(etag ?? ''), size: size ?? 0, lastModified: lastModified?.getTime() ?? 0, metadata: { ...(metadata ?? {}) } };
  if (contentType) result.contentType = contentType;
  if (md5 && md5.length > 0) result.contentMd5 = Buffer.from(md5).toString('base64');
  return result;
}

/** Listings give ETags bare (`0x8D…`), headers quoted (`"0x8D…"`); the port always hands out the header form. */
function quoted(etag: string): string {
  return etag === '' || etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

function fromProperties(name: string, p: BlobGetPropertiesResponse): BlobInfo {
  return info(name, p.etag, p.contentLength, p.contentType, p.lastModified, p.metadata, p.contentMD5);
}
