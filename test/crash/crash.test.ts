/**
 * Reliability A2: a worker process is killed (SIGKILL) at every step boundary of ingest and fulfil, then the host's
 * redelivery and the timer sweep run, and everything must converge: the request done, one upload session holding
 * exactly the snapshot, every blob version in a terminal state, storage = ledger = Graph (reconciliation).
 *
 * The worker is a real child process on the same Azurite and emulator; its adapters are wrapped at one named point
 * (points.ts), so the code that dies is the production code. Each case draws its scenario from a seed: callout before
 * or after the drop, one or two files, which file's step is the fatal one, and whether the host redelivers before
 * the sweep. CI runs one seed a point; `ARSYNC_CRASH_SEEDS=20 npx vitest run test/crash` runs the full loop.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KIND_BLOB, TERMINAL_BLOB_STATES } from '../../src/core/requests';
import { csv, envelopeCallout, reconcileAndClose, row, startSyncHarness, type SyncHarness } from '../integration/harness';
import { prng } from '../support/prng';
import { CRASH_POINTS } from './points';

const SEEDS = Math.max(1, Number(process.env.ARSYNC_CRASH_SEEDS ?? '1'));
const WORKER = path.join(__dirname, 'worker.ts');
/** Longer than either lease (ingest 10 min, fulfil 15 min): the dead worker's claims have run out. */
const PAST_LEASES_MS = 16 * 60_000;

interface Scenario {
  calloutFirst: boolean;
  files: number;
  nth: number;
  redeliver: boolean;
}

function scenario(point: string, seed: number): Scenario {
  const next = prng(seed);
  const calloutFirst = next() < 0.5;
  const files = next() < 0.5 ? 1 : 2;
  // A callout before the drop is fulfilled as soon as the first file is staged: its plan holds that file alone.
  const planned = point.startsWith('fulfil:') && calloutFirst ? 1 : files;
  const nth = CRASH_POINTS[point]!.perFile ? 1 + Math.floor(next() * planned) : 1;
  return { calloutFirst, files, nth, redeliver: next() < 0.5 };
}

function runWorker(env: Record<string, string>): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', WORKER], { env: { ...process.env, ...env } }, (_error, _stdout, stderr) =>
      resolve({ code: child.exitCode, signal: child.signalCode, stderr }),
    );
  });
}

let h: SyncHarness | undefined;
afterEach(async () => {
  await reconcileAndClose(h);
  h = undefined;
});

const cases = Object.keys(CRASH_POINTS).flatMap((point, i) => Array.from({ length: SEEDS }, (_, s) => [point, i * 1000 + s] as const));

describe('a worker killed at a step boundary', () => {
  it.each(cases)('%s (seed %i): redelivery and the sweep converge to one complete session', async (point, seed) => {
    const s = scenario(point, seed);
    h = await startSyncHarness();
    const review = h.startInstance();
    // Big enough that an upload's body leaves in several chunks (for the mid-upload point).
    const names: string[] = [];
    for (let f = 0; f < s.files; f++) {
      const rows = Array.from({ length: 1500 }, (_, r) => row(f * 10_000 + r));
      names.push((await h.drop(`export-${f}.csv`, csv(...rows))).name);
    }
    const callout = { callout: envelopeCallout(h, review) };
    const deliveries = names.map((name) => ({ deliver: name }));
    const script = s.calloutFirst ? [callout, ...deliveries] : [...deliveries, callout];

    const worker = await runWorker({ ...h.env, ARSYNC_CRASH_POINT: point, ARSYNC_CRASH_NTH: String(s.nth), ARSYNC_CRASH_SCRIPT: JSON.stringify(script) });
    // The case only counts if the worker really died at the point.
    expect({ signal: worker.signal, stderr: worker.stderr.replace(/^WARNING: .*\n/gm, '') }).toEqual({ signal: 'SIGKILL', stderr: '' });

    // The host redelivers what is still in the inbox (at once, so the dead worker's claims still block it) ...
    if (s.redeliver) for (const name of await h.list('inbox/')) await h.deliver(name);
    // ... and the timer sweep runs after the leases have run out.
    h.clock.advance(PAST_LEASES_MS);
    await h.runSweep();

    expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'done' });
    const sessions = h.emulator.admin.state().sessions.filter((x) => x.referenceId === review.reviewInstanceId);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.status).toBe('complete');
    expect(await h.list('inbox/')).toEqual([]);
    for await (const blob of h.runtime.ledger.list<{ name: string }>(KIND_BLOB)) {
      expect(TERMINAL_BLOB_STATES as readonly string[]).toContain(blob.state);
    }
  });
});
