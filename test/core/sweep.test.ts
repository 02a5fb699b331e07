/**
 * The sweep's tidying of `staged/` on fakes: what a dead ingest leaves behind goes, what live work needs stays.
 */
import { describe, expect, it } from 'vitest';
import { blobVersionKey, pendingName } from '../../src/core/layout';
import { KIND_BLOB, type BlobVersion } from '../../src/core/requests';
import { sweep } from '../../src/core/sweep';
import { FakeBlobStore } from '../support/fakeBlobStore';
import { FakeLedger } from '../support/fakeLedger';
import { FakeReviewGraph } from '../support/fakeReviewGraph';
import { ManualClock } from '../support/manualClock';
import { MemoryLogger } from '../support/memoryLogger';
import { testRoute } from '../support/route';

const route = testRoute();

describe('sweep tidies staged/', () => {
  it('deletes the pending file of a settled or abandoned version at once, keeps a live claim and a fresh file', async () => {
    const clock = new ManualClock();
    const store = new FakeBlobStore({ now: () => clock.now() });
    const ledger = new FakeLedger(() => clock.now());
    const version = (n: number, state: string, leaseUntil?: number) => {
      const name = `inbox/${route.source}/export-${n}.csv`;
      const key = blobVersionKey(name, `"etag-${n}"`);
      const value: BlobVersion = { name, etag: `"etag-${n}"`, size: 1, source: route.source, claimedAt: clock.now(), attempts: 1, ...(leaseUntil ? { lease: { owner: 'w', until: leaseUntil } } : {}) };
      return { key, value, state, pending: pendingName(route.source, key) };
    };
    const settled = version(1, 'staged');
    const live = version(2, 'claimed', clock.now() + 60 * 60_000);
    const dead = version(3, 'claimed', clock.now() + 5 * 60_000);
    for (const v of [settled, live, dead]) {
      await ledger.create(KIND_BLOB, v.key, v.state, v.value);
      await store.write(v.pending, Buffer.from('x'));
    }
    clock.advance(11 * 60_000);
    const fresh = `staged/${route.source}/_pending/${'f'.repeat(32)}.csv`;
    await store.write(fresh, Buffer.from('x'));

    const report = await sweep({ store, ledger, graph: new FakeReviewGraph(), clock, logger: new MemoryLogger(), routes: [route], owner: 'sweep', deadlineWarningMinutes: 30, discover: false });
    expect(report.failedSteps).toEqual([]);
    const pending = store.names().filter((n) => n.includes('/_pending/'));
    expect(pending.sort()).toEqual([live.pending, fresh].sort());
    expect(report.tidied).toBe(2);
  });
});
