/**
 * The fakes' fault hooks and call logs, which core crash tests rely on (the semantics are in the contract suites).
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from '../../src/core/errors';
import { FakeBlobStore } from '../support/fakeBlobStore';
import { FakeLedger } from '../support/fakeLedger';

describe('FakeBlobStore fault hooks', () => {
  it('fails the next N calls of one operation before they take effect, then recovers', async () => {
    const store = new FakeBlobStore({ now: () => 1_000 });
    store.failNext('write', 2);
    await expect(store.write('a.csv', Buffer.from('1'))).rejects.toMatchObject({ code: 'storage.unavailable', disposition: 'retry' });
    await expect(store.write('a.csv', Buffer.from('2'))).rejects.toMatchObject({ code: 'storage.unavailable' });
    expect(store.names()).toEqual([]);
    const info = await store.write('a.csv', Buffer.from('3'));
    expect(info.lastModified).toBe(1_000);
    expect(store.content('a.csv')?.toString()).toBe('3');
    expect(store.calls.map((c) => c.operation)).toEqual(['write', 'write', 'write']);
  });

  it('throws a caller-chosen error', async () => {
    const store = new FakeBlobStore();
    await store.write('a.csv', Buffer.from('x'));
    store.failNext('copy', 1, () => new StorageError('storage.copyMismatch', 'verification failed', 'retry'));
    await expect(store.copy('a.csv', 'b.csv')).rejects.toMatchObject({ code: 'storage.copyMismatch' });
    expect(store.names()).toEqual(['a.csv']);
  });
});

describe('FakeLedger fault hooks', () => {
  it('fails the next N calls of one operation without changing anything, and dumps every record', async () => {
    const ledger = new FakeLedger(() => 42);
    const record = (await ledger.create('blob', 'k', 'claimed', { n: 1 }))!;
    ledger.failNext('update');
    await expect(ledger.update(record, 'uploaded', { n: 2 })).rejects.toMatchObject({ code: 'storage.unavailable', disposition: 'retry' });
    expect(await ledger.get('blob', 'k')).toEqual(record);
    const updated = await ledger.update(record, 'uploaded', { n: 2 });
    expect(updated).toMatchObject({ state: 'uploaded', updatedAt: 42 });
    expect(ledger.dump()).toEqual([updated]);
  });
});
