/**
 * Reliability F1 (and A1 at scale): 200 files dropped at once across 20 sources, delivered by a host that runs 16
 * invocations at a time and delivers some files twice, concurrently; then the sweep discovers one catalog review
 * instance. Every source's snapshot
 * must hold its ten files, every source get exactly one complete session holding exactly them, and a file that
 * arrives after its review was fulfilled must end in a terminal state without touching the completed session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { blobVersionKey } from '../../src/core/layout';
import { KIND_BLOB, KIND_SNAPSHOT, type Snapshot } from '../../src/core/requests';
import { csv, reconcileAndClose, row, startSyncHarness, type SyncHarness } from './harness';

const SOURCES = 20;
const FILES_PER_SOURCE = 10;
/** The Functions host runs blob-trigger invocations 16 at a time (its default batch). */
const HOST_CONCURRENCY = 16;

/** Runs the tasks with at most `limit` in flight, as the host does with deliveries. */
async function pool(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

let h: SyncHarness | undefined;
afterEach(async () => {
  await reconcileAndClose(h);
  h = undefined;
});

describe('F1: 200 files at once', () => {
  it('every source gets one complete session with exactly its ten files; a late file settles without touching it', async () => {
    const extra = Array.from({ length: SOURCES - 1 }, (_, i) => `Source${String(i + 1).padStart(2, '0')}`);
    h = await startSyncHarness({ extraSources: extra });
    const sources = [h.source, ...extra];
    const dropped: { name: string; etag: string }[] = [];
    for (const [s, source] of sources.entries()) {
      for (let f = 0; f < FILES_PER_SOURCE; f++) {
        const content = csv(row(s * 1000 + f * 10), row(s * 1000 + f * 10 + 1));
        dropped.push(await h.runtime.store.write(`inbox/${source}/export-${f}.csv`, Buffer.from(content), { contentType: 'text/csv' }));
      }
    }
    expect(dropped).toHaveLength(200);
    // Every fifth file is delivered twice, the copies in the same batch: at-least-once, concurrently.
    const deliveries = dropped.flatMap((b, i) => (i % 5 === 0 ? [b.name, b.name] : [b.name]));
    // A delivery that throws is tried again, up to the host's five tries (then it would go to poison).
    const deliverLikeTheHost = async (name: string): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await h!.deliver(name);
        } catch (error) {
          if (attempt === 5) throw error;
        }
      }
    };
    await pool(
      deliveries.map((name) => () => deliverLikeTheHost(name)),
      HOST_CONCURRENCY,
    );

    for (const b of dropped) expect((await h.runtime.ledger.get(KIND_BLOB, blobVersionKey(b.name, b.etag)))?.state).toBe('staged');
    for (const source of sources) {
      const snapshot = await h.runtime.ledger.get<Snapshot>(KIND_SNAPSHOT, source);
      expect(snapshot?.value.files).toHaveLength(FILES_PER_SOURCE);
    }

    // The sample tenant's catalog review instance is in Initializing: the sweep discovers it for all 20 sources.
    const review = { reviewInstanceId: h.emulator.sample!.reviewInstanceId };
    await h.runSweep();
    const sessions = h.emulator.admin.state().sessions.filter((x) => x.referenceId === review.reviewInstanceId);
    expect(sessions).toHaveLength(SOURCES);
    for (const session of sessions) {
      expect(session.status).toBe('complete');
      expect(session.files).toHaveLength(FILES_PER_SOURCE);
    }
    for (const b of dropped) expect((await h.runtime.ledger.get(KIND_BLOB, blobVersionKey(b.name, b.etag)))?.state).toBe('uploaded');

    // A new version of one export after the review was fulfilled: staged for the next review, not sent to this one.
    const late = await h.runtime.store.write(`inbox/${h.source}/export-0.csv`, Buffer.from(csv(row(9999))), { contentType: 'text/csv' });
    await h.deliver(late.name);
    expect((await h.runtime.ledger.get(KIND_BLOB, blobVersionKey(late.name, late.etag)))?.state).toBe('staged');
    const after = h.emulator.admin.state().sessions.filter((x) => x.referenceId === review.reviewInstanceId);
    expect(after.map((s) => [s.id, s.status, s.files.length])).toEqual(sessions.map((s) => [s.id, 'complete', FILES_PER_SOURCE]));
  });
});
