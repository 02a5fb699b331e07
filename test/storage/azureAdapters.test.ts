/**
 * What only the Azure adapters can show, on Azurite: bounded buffering of uploads (observed on the service's
 * uncommitted block list), refusals mapped without leaking secrets, provisioning that is idempotent.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, inject, it } from 'vitest';
import { createAzureBlobStore } from '../../src/adapters/azureBlobStore';
import { createTableLedger } from '../../src/adapters/tableLedger';
import { isSyncError } from '../../src/core/errors';
import { expectCode } from './implementations';

const KiB = 1024;
/** The store's block size in the bounded-upload test (raise it above the bound to see that test fail). */
const STORE_BLOCK_BYTES = 64 * KiB;
const connectionString = () => inject('azuriteConnectionString');
/** Same account, wrong key: every request is refused with 403. */
const wrongKey = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==';
const withWrongKey = () => connectionString().replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`);

describe('AzureBlobStore on Azurite', () => {
  it('uploads a body while it is still being produced, holding at most a few blocks', async () => {
    const container = `t-${randomUUID()}`;
    const blockBytes = 64 * KiB;
    const uploadConcurrency = 2;
    const store = createAzureBlobStore({ connectionString: connectionString() }, container, { blockBytes: STORE_BLOCK_BYTES, uploadConcurrency });
    await store.ensureContainer();
    const probe = BlobServiceClient.fromConnectionString(connectionString()).getContainerClient(container).getBlockBlobClient('big/flow.bin');
    const size = 3 * 1024 * KiB;
    const chunk = 16 * KiB;
    // The store may hold the blocks in flight, the one being filled, and what sits in stream buffers; a store that
    // buffered the whole body would never let the producer past this lead.
    const allowedLead = blockBytes * (uploadConcurrency + 2) + 64 * KiB;
    let produced = 0;
    async function* producer(): AsyncGenerator<Buffer> {
      while (produced < size) {
        for (let polls = 0; ; polls++) {
          const staged = (await probe.getBlockList('uncommitted').catch(() => ({ uncommittedBlocks: [] }))).uncommittedBlocks ?? [];
          const stagedBytes = staged.reduce((sum, b) => sum + b.size, 0);
          if (produced - stagedBytes <= allowedLead) break;
          if (polls > 2000) throw new Error(`the store held ${produced - stagedBytes} bytes without uploading them`);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const n = Math.min(chunk, size - produced);
        produced += n;
        yield Buffer.alloc(n, produced % 251);
      }
    }
    const info = await store.write('big/flow.bin', Readable.from(producer()));
    expect(info.size).toBe(size);
    expect(produced).toBe(size);
    expect((await probe.getProperties()).contentLength).toBe(size);
  });

  it('maps a refused key to storage.forbidden (fatal) without the key, the URL or the SDK text', async () => {
    const store = createAzureBlobStore({ connectionString: withWrongKey() }, `t-${randomUUID()}`);
    for (const attempt of [() => store.stat('inbox/s/a.csv'), () => store.write('inbox/s/a.csv', Buffer.from('x')), () => store.ensureContainer()]) {
      const error = await expectCode(attempt(), 'storage.forbidden', 'fatal');
      const text = `${String((error as Error).message)} ${JSON.stringify(isSyncError(error) ? error.toJSON() : error)}`;
      expect(text).not.toContain(wrongKey);
      expect(text).not.toMatch(/https?:\/\//);
      expect(text).not.toMatch(/Server failed to authenticate|RequestId:/i);
      expect(isSyncError(error) && error.context.status).toBe(403);
      expect((error as { cause?: unknown }).cause).toBeUndefined();
    }
  });

  it('reports a missing container as storage.containerNotFound (fatal), and ensureContainer is idempotent', async () => {
    const store = createAzureBlobStore({ connectionString: connectionString() }, `t-${randomUUID()}`);
    await expectCode(store.write('a.csv', Buffer.from('x')), 'storage.containerNotFound', 'fatal');
    await store.ensureContainer();
    await store.ensureContainer();
    expect((await store.write('a.csv', Buffer.from('x'))).size).toBe(1);
  });

  it('carries the service request id for support cases', async () => {
    const store = createAzureBlobStore({ connectionString: connectionString() }, `t-${randomUUID()}`);
    await store.ensureContainer();
    const v1 = await store.write('a.csv', Buffer.from('1'));
    await store.write('a.csv', Buffer.from('2'));
    const error = await expectCode(store.write('a.csv', Buffer.from('3'), { ifMatch: v1.etag }), 'storage.conditionFailed');
    expect(isSyncError(error) && error.context).toMatchObject({ operation: 'blob.write', file: 'a.csv', status: 412, requestId: expect.any(String) });
  });
});

describe('TableLedger on Azurite', () => {
  it('maps a refused key to storage.forbidden without leaking it, and ensureTable is idempotent', async () => {
    const table = `t${randomUUID().replace(/-/g, '')}`;
    const refused = createTableLedger({ connectionString: withWrongKey() }, table);
    const error = await expectCode(refused.get('blob', 'k'), 'storage.forbidden', 'fatal');
    expect(JSON.stringify(isSyncError(error) ? error.toJSON() : error)).not.toContain(wrongKey);

    const ledger = createTableLedger({ connectionString: connectionString() }, table);
    await ledger.ensureTable();
    await ledger.ensureTable();
    expect(await ledger.create('blob', 'k', 'claimed', { ok: true })).toBeDefined();
  });

  it('reports a missing table as storage.containerNotFound (fatal)', async () => {
    const ledger = createTableLedger({ connectionString: connectionString() }, `t${randomUUID().replace(/-/g, '')}`);
    await expectCode(ledger.create('blob', 'k', 'claimed', {}), 'storage.containerNotFound', 'fatal');
  });
});
