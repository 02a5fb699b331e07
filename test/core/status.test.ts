/**
 * The status document on fakes: open requests always listed, finished ones for a recent window, everything counted.
 */
import { describe, expect, it } from 'vitest';
import { KIND_REQUEST, type ReviewRequest } from '../../src/core/requests';
import { STATUS_MAX_FINISHED, STATUS_RECENT_MS, collectStatus } from '../../src/core/sweep';
import { FakeLedger } from '../support/fakeLedger';
import { ManualClock } from '../support/manualClock';
import { testRoute } from '../support/route';

const DAY = 86_400_000;
const route = testRoute();

function request(n: number, receivedAt: number): ReviewRequest {
  const id = `d7e4b9a0-13c6-4a2f-9b85-${n.toString(16).padStart(12, '0')}`;
  return { reviewDefinitionId: id, reviewInstanceId: id, source: route.source, catalogId: route.catalogId, resourceId: route.resourceId, origin: 'discovery', receivedAt, deadline: receivedAt + 2 * 3600_000 };
}

describe('collectStatus', () => {
  it('lists open requests whatever their age, finished ones from the recent window, and counts them all', async () => {
    const clock = new ManualClock();
    const ledger = new FakeLedger(() => clock.now());
    const now = clock.now();
    await ledger.create(KIND_REQUEST, 'old-pending', 'pending', request(1, now - 90 * DAY));
    await ledger.create(KIND_REQUEST, 'old-done', 'done', request(2, now - STATUS_RECENT_MS - 1));
    await ledger.create(KIND_REQUEST, 'recent-done', 'done', request(3, now - DAY));
    await ledger.create(KIND_REQUEST, 'recent-failed', 'failed', request(4, now - 2 * DAY));
    await ledger.create(KIND_REQUEST, 'uploading', 'uploading', request(5, now - 3 * DAY));

    const status = await collectStatus({ ledger, routes: [route], clock });
    expect(status.requests.map((r) => [r.reviewInstanceId.slice(-1), r.state])).toEqual([
      ['5', 'uploading'],
      ['1', 'pending'],
      ['3', 'done'],
      ['4', 'failed'],
    ]);
    expect(status.counts).toEqual({ pending: 1, done: 2, failed: 1, uploading: 1 });
    expect(status.finishedNotListed).toBe(1);

    const all = await collectStatus({ ledger, routes: [route], clock }, { all: true });
    expect(all.requests).toHaveLength(5);
    expect(all.finishedNotListed).toBe(0);
  });

  it('lists at most the newest STATUS_MAX_FINISHED finished requests', async () => {
    const clock = new ManualClock();
    const ledger = new FakeLedger(() => clock.now());
    const total = STATUS_MAX_FINISHED + 5;
    for (let i = 0; i < total; i++) await ledger.create(KIND_REQUEST, `r${i}`, 'done', request(i, clock.now() - i * 60_000));
    const status = await collectStatus({ ledger, routes: [route], clock });
    expect(status.requests).toHaveLength(STATUS_MAX_FINISHED);
    expect(status.requests[0]!.reviewInstanceId.endsWith('000000000000')).toBe(true);
    expect(status.finishedNotListed).toBe(5);
  });
});
