/**
 * The BlobStore contract: the same tests against the in-memory fake and the Azure adapter on Azurite.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BlobInfo, BlobStore } from '../../src/core/blobStore';
import { blobStores, expectCode } from './implementations';

const MiB = 1024 * 1024;
const md5 = (data: Buffer) => createHash('md5').update(data).digest('base64');

/** Deterministic, incompressible-looking bytes, so a spliced or shifted read cannot pass for the original. */
function pattern(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function listAll(store: BlobStore, prefix: string): Promise<BlobInfo[]> {
  const all: BlobInfo[] = [];
  for await (const info of store.list(prefix)) all.push(info);
  return all;
}

/** A body produced lazily in chunks; counts what was pulled. */
function lazyBody(size: number, seed: number, chunk = 64 * 1024): { stream: Readable; pulled: () => number } {
  const data = pattern(Math.min(size, 1 * MiB), seed);
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= size) return void this.push(null);
      const n = Math.min(chunk, size - produced);
      const start = produced % data.length;
      const piece = start + n <= data.length ? data.subarray(start, start + n) : Buffer.concat([data.subarray(start), data.subarray(0, n - (data.length - start))]);
      produced += n;
      this.push(Buffer.from(piece));
    },
  });
  return { stream, pulled: () => produced };
}

describe.each(blobStores)('BlobStore contract: $name', ({ make }) => {
  it('writes, stats, lists and reads back a blob with its properties', async () => {
    const store = await make();
    const body = Buffer.from('\ufeffprincipalId,displayName\r\n1,Ada\r\n', 'utf8');
    const written = await store.write('inbox/src/a.csv', body, { contentType: 'text/csv', metadata: { arsync_sha256: 'abc' } });
    expect(written).toMatchObject({ name: 'inbox/src/a.csv', size: body.length, contentType: 'text/csv', metadata: { arsync_sha256: 'abc' }, contentMd5: md5(body) });
    expect(written.etag).not.toBe('');
    expect(written.lastModified).toBeGreaterThan(0);

    const stat = await store.stat('inbox/src/a.csv');
    expect(stat).toMatchObject({ name: 'inbox/src/a.csv', etag: written.etag, size: body.length, contentType: 'text/csv', metadata: { arsync_sha256: 'abc' }, contentMd5: md5(body) });
    expect(await readAll(await store.openRead('inbox/src/a.csv'))).toEqual(body);
    expect(await store.stat('inbox/src/missing.csv')).toBeUndefined();

    const listed = await listAll(store, 'inbox/');
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: 'inbox/src/a.csv', etag: written.etag, size: body.length, metadata: { arsync_sha256: 'abc' } });
  });

  it('writes an empty blob and reads it back empty', async () => {
    const store = await make();
    const info = await store.write('e/empty.csv', Buffer.alloc(0));
    expect(info.size).toBe(0);
    expect((await store.stat('e/empty.csv'))?.size).toBe(0);
    expect((await readAll(await store.openRead('e/empty.csv', { ifMatch: info.etag }))).length).toBe(0);
    const streamed = await store.write('e/empty-stream.csv', Readable.from([]));
    expect(streamed.size).toBe(0);
    expect((await readAll(await store.openRead('e/empty-stream.csv'))).length).toBe(0);
  });

  it('changes the ETag on every write and replaces only the version named by ifMatch', async () => {
    const store = await make();
    const v1 = await store.write('x/f.csv', Buffer.from('one'));
    const v2 = await store.write('x/f.csv', Buffer.from('two'));
    expect(v2.etag).not.toBe(v1.etag);
    await expectCode(store.write('x/f.csv', Buffer.from('stale'), { ifMatch: v1.etag }), 'storage.conditionFailed', 'skip');
    expect((await readAll(await store.openRead('x/f.csv'))).toString()).toBe('two');
    const v3 = await store.write('x/f.csv', Buffer.from('three'), { ifMatch: v2.etag });
    expect(v3.etag).not.toBe(v2.etag);
    expect((await store.stat('x/f.csv'))?.etag).toBe(v3.etag);
    await expectCode(store.write('x/nothing.csv', Buffer.from('a'), { ifMatch: v3.etag }), 'storage.conditionFailed');
    expect(await store.stat('x/nothing.csv')).toBeUndefined();
  });

  it('creates only once with ifNoneMatch "*": five concurrent creates, exactly one wins', async () => {
    const store = await make();
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => store.write('c/once.csv', Buffer.from(`writer ${i}`), { ifNoneMatch: '*' })));
    const won = results.filter((r): r is PromiseFulfilledResult<BlobInfo> => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'storage.alreadyExists', disposition: 'skip' });
    const content = (await readAll(await store.openRead('c/once.csv'))).toString();
    expect(content).toMatch(/^writer \d$/);
    expect((await store.stat('c/once.csv'))?.etag).toBe(won[0]!.value.etag);
  });

  it('creates only once with ifNoneMatch "*" for streamed multi-block bodies too', async () => {
    const store = await make({ blockBytes: 64 * 1024, uploadConcurrency: 2 });
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((seed) => store.write('c/big.bin', lazyBody(300 * 1024, seed).stream, { ifNoneMatch: '*' })));
    const won = results.filter((r): r is PromiseFulfilledResult<BlobInfo> => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'storage.alreadyExists' });
    const stored = await readAll(await store.openRead('c/big.bin'));
    expect(stored.length).toBe(300 * 1024);
    expect(md5(stored)).toBe(won[0]!.value.contentMd5);
  });

  it('lists by plain prefix, in name order, with metadata', async () => {
    const store = await make();
    for (const name of ['inbox/b/2.csv', 'inbox/a/1.csv', 'inbox/ab.csv', 'staged/a/1.csv', 'inbox/a/0.csv']) await store.write(name, Buffer.from(name), { metadata: { n: String(name.length) } });
    expect((await listAll(store, 'inbox/a')).map((b) => b.name)).toEqual(['inbox/a/0.csv', 'inbox/a/1.csv', 'inbox/ab.csv']);
    expect((await listAll(store, 'inbox/a/')).map((b) => b.name)).toEqual(['inbox/a/0.csv', 'inbox/a/1.csv']);
    const all = await listAll(store, '');
    expect(all.map((b) => b.name)).toEqual(['inbox/a/0.csv', 'inbox/a/1.csv', 'inbox/ab.csv', 'inbox/b/2.csv', 'staged/a/1.csv']);
    expect(all.every((b) => b.metadata['n'] === String(b.name.length) && b.size === Buffer.byteLength(b.name))).toBe(true);
    expect(await listAll(store, 'nothing/')).toEqual([]);
  });

  it('stores odd names exactly: Unicode forms, %2F, #, ?, spaces, a trailing dot, 1,024 characters', async () => {
    const store = await make();
    const nfc = 'inbox/s/caf\u00e9.csv';
    const nfd = 'inbox/s/cafe\u0301.csv';
    const names = [nfc, nfd, 'inbox/s/a%2Fb.csv', 'inbox/s/h#a?b=c&d.csv', 'inbox/s/with space .csv', 'inbox/s/trailing.', 'inbox/s/\u{1F600} emoji.csv', `inbox/s/${'x'.repeat(1024 - 'inbox/s/'.length)}`];
    expect(names.at(-1)).toHaveLength(1024);
    for (const name of names) await store.write(name, Buffer.from(`content of ${name}`));
    for (const name of names) {
      expect((await store.stat(name))?.name).toBe(name);
      expect((await readAll(await store.openRead(name))).toString()).toBe(`content of ${name}`);
    }
    const listed = (await listAll(store, 'inbox/s/')).map((b) => b.name);
    expect([...listed].sort()).toEqual([...names].sort());
    // NFC and NFD are two different blobs, and %2F is not decoded into a folder.
    expect((await readAll(await store.openRead(nfc))).toString()).not.toBe((await readAll(await store.openRead(nfd))).toString());
    expect(await store.stat('inbox/s/a/b.csv')).toBeUndefined();
    expect(await store.delete('inbox/s/trailing.')).toBe(true);
    expect(await store.stat('inbox/s/trailing')).toBeUndefined();
  });

  it('refuses names it cannot address faithfully, and never touches the blob they would alias', async () => {
    const store = await make();
    await store.write('b.csv', Buffer.from('the real b'));
    await store.write('dir/x.csv', Buffer.from('the real x'));
    for (const name of ['a/../b.csv', 'dir/./x.csv', '../b.csv', 'back\\slash.csv', 'ctl\u0001.csv', 'x'.repeat(1025), '']) {
      await expectCode(store.write(name, Buffer.from('overwritten')), 'storage.invalidName', 'reject');
      await expectCode(store.openRead(name), 'storage.invalidName');
      await expectCode(store.delete(name), 'storage.invalidName');
    }
    expect((await readAll(await store.openRead('b.csv'))).toString()).toBe('the real b');
    expect((await readAll(await store.openRead('dir/x.csv'))).toString()).toBe('the real x');
    expect((await listAll(store, '')).map((b) => b.name)).toEqual(['b.csv', 'dir/x.csv']);
  });

  it('openRead pinned to an ETag fails after an overwrite or a delete, and finds a missing blob missing', async () => {
    const store = await make();
    const v1 = await store.write('r/f.csv', Buffer.from('version one'));
    expect((await readAll(await store.openRead('r/f.csv', { ifMatch: v1.etag }))).toString()).toBe('version one');
    await store.write('r/f.csv', Buffer.from('version two'));
    await expectCode(store.openRead('r/f.csv', { ifMatch: v1.etag }), 'storage.conditionFailed', 'skip');
    await store.delete('r/f.csv');
    await expectCode(store.openRead('r/f.csv', { ifMatch: v1.etag }), 'storage.notFound', 'skip');
    await expectCode(store.openRead('r/never.csv'), 'storage.notFound', 'skip');
  });

  it.each([
    ['pinned by ifMatch', true],
    ['pinned to the version it started on', false],
  ])('a read %s fails mid-stream when the blob is overwritten, and never splices two versions', async (_label, withIfMatch) => {
    const store = await make({ readRangeBytes: 64 * 1024 });
    const v1Data = pattern(2 * MiB, 1);
    const v1 = await store.write('r/big.bin', v1Data);
    const stream = await store.openRead('r/big.bin', withIfMatch ? { ifMatch: v1.etag } : {});
    const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    const received: Buffer[] = [first.value as Buffer];
    await store.write('r/big.bin', pattern(2 * MiB, 2));
    const error = await (async () => {
      try {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) received.push(next.value);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: 'storage.conditionFailed' });
    const got = Buffer.concat(received);
    expect(got.length).toBeLessThan(v1Data.length);
    expect(got.equals(v1Data.subarray(0, got.length))).toBe(true);
  });

  it('a read fails mid-stream with storage.notFound when the blob is deleted', async () => {
    const store = await make({ readRangeBytes: 64 * 1024 });
    const data = pattern(1 * MiB, 3);
    await store.write('r/gone.bin', data);
    const iterator = ((await store.openRead('r/gone.bin')) as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    expect(await store.delete('r/gone.bin')).toBe(true);
    const error = await (async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next());
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'storage.notFound' });
  });

  it('streams a multi-MB body in and out without holding it whole', async () => {
    const store = await make({ blockBytes: 256 * 1024, uploadConcurrency: 2, readRangeBytes: 1 * MiB });
    const size = 6 * MiB + 12345;
    const body = lazyBody(size, 7);
    const expected = createHash('md5');
    for (let offset = 0; offset < size; offset += MiB) expected.update(pattern(Math.min(size, MiB), 7).subarray(0, Math.min(MiB, size - offset)));
    const info = await store.write('big/stream.bin', body.stream, { contentType: 'application/octet-stream' });
    expect(body.pulled()).toBe(size);
    expect(info).toMatchObject({ size, contentMd5: expected.digest('base64'), contentType: 'application/octet-stream' });
    expect((await store.stat('big/stream.bin'))?.contentMd5).toBe(info.contentMd5);

    // Read it back hashing chunk by chunk: the stream delivers many bounded chunks, never one buffer of the blob.
    const hash = createHash('md5');
    let total = 0;
    let chunks = 0;
    let largest = 0;
    for await (const chunk of (await store.openRead('big/stream.bin', { ifMatch: info.etag })) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      total += chunk.length;
      chunks += 1;
      largest = Math.max(largest, chunk.length);
    }
    expect(total).toBe(size);
    expect(hash.digest('base64')).toBe(info.contentMd5);
    expect(chunks).toBeGreaterThan(6);
    expect(largest).toBeLessThanOrEqual(1 * MiB);
  });

  it('a failing body rejects with its own error and commits nothing', async () => {
    const store = await make({ blockBytes: 64 * 1024 });
    await store.write('w/kept.csv', Buffer.from('previous'));
    const boom = new Error('the validator refused row 7');
    async function* failing(): AsyncGenerator<Buffer> {
      yield pattern(200 * 1024, 4);
      throw boom;
    }
    await expect(store.write('w/kept.csv', Readable.from(failing()))).rejects.toBe(boom);
    await expect(store.write('w/new.csv', Readable.from(failing()))).rejects.toBe(boom);
    expect((await readAll(await store.openRead('w/kept.csv'))).toString()).toBe('previous');
    expect(await store.stat('w/new.csv')).toBeUndefined();
  });

  it('copies a version, verified, and replaces an existing destination', async () => {
    const store = await make();
    const data = pattern(300 * 1024, 5);
    const src = await store.write('inbox/s/f.csv', data, { contentType: 'text/csv', metadata: { origin: 'hr' } });
    const copy = await store.copy('inbox/s/f.csv', 'archive/s/i1/f.csv', { ifMatch: src.etag });
    expect(copy).toMatchObject({ name: 'archive/s/i1/f.csv', size: data.length, contentType: 'text/csv', metadata: { origin: 'hr' }, contentMd5: md5(data) });
    expect(copy.etag).not.toBe(src.etag);
    expect((await readAll(await store.openRead('archive/s/i1/f.csv', { ifMatch: copy.etag }))).equals(data)).toBe(true);
    // The source is untouched.
    expect((await store.stat('inbox/s/f.csv'))?.etag).toBe(src.etag);

    const again = await store.copy('inbox/s/f.csv', 'archive/s/i1/f.csv', { ifMatch: src.etag, metadata: { arsync_rows: '2' } });
    expect(again.metadata).toEqual({ arsync_rows: '2' });
    expect(again.etag).not.toBe(copy.etag);
    expect((await store.stat('archive/s/i1/f.csv'))?.metadata).toEqual({ arsync_rows: '2' });
  });

  it('refuses to copy a changed or missing source, leaving no destination', async () => {
    const store = await make();
    const v1 = await store.write('inbox/s/f.csv', Buffer.from('one'));
    await store.write('inbox/s/f.csv', Buffer.from('two'));
    await expectCode(store.copy('inbox/s/f.csv', 'archive/f.csv', { ifMatch: v1.etag }), 'storage.conditionFailed');
    await expectCode(store.copy('inbox/s/none.csv', 'archive/none.csv'), 'storage.notFound');
    expect(await listAll(store, 'archive/')).toEqual([]);
  });

  it('deletes, if the ETag still matches, and says when the blob was already gone', async () => {
    const store = await make();
    const v1 = await store.write('d/f.csv', Buffer.from('one'));
    const v2 = await store.write('d/f.csv', Buffer.from('two'));
    await expectCode(store.delete('d/f.csv', { ifMatch: v1.etag }), 'storage.conditionFailed', 'skip');
    expect((await store.stat('d/f.csv'))?.etag).toBe(v2.etag);
    expect(await store.delete('d/f.csv', { ifMatch: v2.etag })).toBe(true);
    expect(await store.stat('d/f.csv')).toBeUndefined();
    expect(await store.delete('d/f.csv', { ifMatch: v2.etag })).toBe(false);
    expect(await store.delete('d/f.csv')).toBe(false);
  });

  it('sets metadata conditionally, keeping the content, and checks metadata names', async () => {
    const store = await make();
    const v1 = await store.write('m/f.csv', Buffer.from('content'), { contentType: 'text/csv', metadata: { a: '1' } });
    const v2 = await store.setMetadata('m/f.csv', { state: 'staged', rows: '12' }, { ifMatch: v1.etag });
    expect(v2).toMatchObject({ size: 7, contentType: 'text/csv', metadata: { state: 'staged', rows: '12' }, contentMd5: v1.contentMd5 });
    expect(v2.etag).not.toBe(v1.etag);
    expect(await store.stat('m/f.csv')).toMatchObject({ etag: v2.etag, metadata: { state: 'staged', rows: '12' } });
    await expectCode(store.setMetadata('m/f.csv', { state: 'late' }, { ifMatch: v1.etag }), 'storage.conditionFailed');
    await expectCode(store.setMetadata('m/none.csv', { state: 'x' }), 'storage.notFound');
    await expectCode(store.setMetadata('m/f.csv', { 'Bad-Name': 'x' }), 'storage.invalidMetadata', 'fatal');
    await expectCode(store.write('m/g.csv', Buffer.from('x'), { metadata: { note: 'caf\u00e9' } }), 'storage.invalidMetadata');
    expect((await readAll(await store.openRead('m/f.csv'))).toString()).toBe('content');
  });

  it('honours an aborted signal', async () => {
    const store = await make();
    await store.write('s/f.csv', Buffer.from('x'));
    const signal = AbortSignal.abort();
    await expectCode(store.write('s/g.csv', Buffer.from('y'), { signal }), 'aborted');
    await expectCode(store.openRead('s/f.csv', { signal }), 'aborted');
    expect(await store.stat('s/g.csv')).toBeUndefined();
  });
});
