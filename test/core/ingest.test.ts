/** Ingest on fakes (no sockets): one blob version from drop to snapshot or quarantine, exactly once. */
import { beforeEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/core/errors';
import { ingestBlob, type IngestDeps } from '../../src/core/ingest';
import { blobVersionKey } from '../../src/core/layout';
import { KIND_BLOB, KIND_SNAPSHOT, type BlobVersion, type Snapshot } from '../../src/core/requests';
import type { Route } from '../../src/core/routes';
import { FakeBlobStore } from '../support/fakeBlobStore';
import { FakeLedger } from '../support/fakeLedger';
import { ManualClock } from '../support/manualClock';
import { MemoryLogger } from '../support/memoryLogger';
import { testRoute } from '../support/route';

const route: Route = testRoute({ source: 'Badges', maxFileBytes: 10_000 });
const GOOD =
  'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType\r\n' +
  '6f1b6c1e-5b7a-4d8e-9a51-000000000001,user,door-a,Door A,Badge access,Physical\r\n';

let store: FakeBlobStore;
let ledger: FakeLedger;
let deps: IngestDeps;

beforeEach(() => {
  const clock = new ManualClock();
  store = new FakeBlobStore({ now: () => clock.now() });
  ledger = new FakeLedger();
  deps = { store, ledger, clock, logger: new MemoryLogger(), routes: [route], owner: 'test' };
});

async function drop(name: string, content: string) {
  return store.write(name, Buffer.from(content));
}
async function state(name: string, etag: string) {
  return (await ledger.get<BlobVersion>(KIND_BLOB, blobVersionKey(name, etag)))?.state;
}

describe('ingest', () => {
  it('stages a valid file, archives its original, and only then empties the inbox', async () => {
    const blob = await drop('inbox/Badges/export.csv', GOOD);
    const result = await ingestBlob(blob.name, deps);
    expect(result.outcome).toBe('staged');
    const names = store.names();
    expect(names.filter((n) => n.startsWith('inbox/'))).toEqual([]);
    expect(names.filter((n) => n.startsWith('archive/Badges/_received/'))).toHaveLength(1);
    const snapshot = (await ledger.get<Snapshot>(KIND_SNAPSHOT, 'Badges'))!.value;
    expect(snapshot.files).toHaveLength(1);
    expect(store.content(snapshot.files[0]!.stagedName)!.toString()).toBe(GOOD);
    expect(await state(blob.name, blob.etag)).toBe('staged');
    expect(names.some((n) => n.includes('/_pending/'))).toBe(false);
  });

  it('abandons a version its producer overwrote mid-way: nothing staged, the new version stays in the inbox', async () => {
    const blob = await drop('inbox/Badges/export.csv', GOOD);
    store.failNext('copy', 1, () => new StorageError('storage.conditionFailed', 'The blob changed', 'skip', { status: 412 }));
    expect(await ingestBlob(blob.name, deps)).toMatchObject({ outcome: 'failed', reason: 'overwritten during processing' });
    expect(await state(blob.name, blob.etag)).toBe('superseded');
    expect(await ledger.get(KIND_SNAPSHOT, 'Badges')).toBeUndefined();
    expect(store.names().filter((n) => n.startsWith('staged/'))).toEqual([]);
    expect(store.names()).toContain(blob.name);
  });

  it('leaves a transient failure for the next delivery, which finishes it once', async () => {
    const blob = await drop('inbox/Badges/export.csv', GOOD);
    store.failNext('write', 1);
    expect((await ingestBlob(blob.name, deps)).outcome).toBe('retryLater');
    expect(await state(blob.name, blob.etag)).toBe('claimed');
    expect((await ingestBlob(blob.name, deps)).outcome).toBe('staged');
    expect((await ingestBlob(blob.name, deps)).outcome).toBe('gone');
    expect((await ledger.get<Snapshot>(KIND_SNAPSHOT, 'Badges'))!.value.files).toHaveLength(1);
  });

  it('treats a second delivery of a settled version as a duplicate', async () => {
    const blob = await drop('inbox/Badges/export.csv', GOOD);
    // Settled, but the inbox could not be emptied (the two deletes: the pending file's, then the original's): the
    // duplicate delivery finishes the tidy-up.
    store.failNext('delete', 2, () => new Error('storage went away'));
    expect((await ingestBlob(blob.name, deps)).outcome).toBe('staged');
    expect(store.names()).toContain(blob.name);
    expect(await ingestBlob(blob.name, deps)).toEqual({ outcome: 'duplicate' });
    expect(store.names()).not.toContain(blob.name);
  });

  it('refuses a file over the size cap from its properties, without reading it', async () => {
    const blob = await drop('inbox/Badges/huge.csv', GOOD + 'x'.repeat(20_000));
    store.calls.length = 0;
    expect(await ingestBlob(blob.name, deps)).toMatchObject({ outcome: 'rejected' });
    expect(store.calls.filter((c) => c.operation === 'openRead' && c.name === blob.name)).toEqual([]);
    expect(store.names().filter((n) => n.startsWith('rejected/Badges/')).map((n) => n.split('/').pop()).sort()).toEqual(['huge.csv', 'report.csv', 'report.json']);
  });

  it('quarantines a file in a folder no route knows, with a report saying so', async () => {
    const blob = await drop('inbox/Unknown/a.csv', GOOD);
    expect(await ingestBlob(blob.name, deps)).toMatchObject({ outcome: 'rejected', reason: 'No route is configured for the source folder "Unknown"' });
    const report = store.names().find((n) => n.startsWith('rejected/Unknown/') && n.endsWith('report.json'))!;
    expect(JSON.parse(store.content(report)!.toString())).toMatchObject({ code: 'route.unknown' });
  });
});
