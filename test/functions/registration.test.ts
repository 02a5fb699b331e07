/**
 * Every function is registered with the intended trigger, path, connection setting name and schedule: the metadata
 * the real host would receive, captured by spying on app.* before each module loads.
 */
import { app } from '@azure/functions';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

beforeEach(() => {
  vi.resetModules();
});
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

async function load() {
  const { app: fresh } = await import('@azure/functions');
  const storageBlob = vi.spyOn(fresh, 'storageBlob').mockImplementation(() => undefined);
  const http = vi.spyOn(fresh, 'http').mockImplementation(() => undefined);
  const timer = vi.spyOn(fresh, 'timer').mockImplementation(() => undefined);
  const appStart = vi.spyOn(fresh.hook, 'appStart').mockImplementation(() => ({ dispose() {} }) as never);
  const ingest = await import('../../functions/ingest.js');
  const callout = await import('../../functions/reviewCallout.js');
  const sweep = await import('../../functions/sweep.js');
  const startup = await import('../../functions/startup.js');
  return { storageBlob, http, timer, appStart, ingest, callout, sweep, startup };
}

describe('function registration', () => {
  it('uses the documented defaults', async () => {
    vi.stubEnv('ACCESS_DATA_CONTAINER', '');
    vi.stubEnv('ACCESS_DATA_STORAGE', '');
    vi.stubEnv('ACCESS_DATA_STORAGE__serviceUri', '');
    vi.stubEnv('SWEEP_SCHEDULE', '');
    vi.stubEnv('INGEST_TRIGGER_SOURCE', '');
    const m = await load();
    expect(m.storageBlob.mock.calls).toEqual([
      ['ingest', { path: 'access-data/inbox/{name}', connection: 'AzureWebJobsStorage', source: 'LogsAndContainerScan', handler: m.ingest.ingest }],
    ]);
    expect(m.http.mock.calls).toEqual([
      ['reviewCallout', { methods: ['POST'], authLevel: 'function', route: 'review-callout', handler: m.callout.reviewCallout }],
    ]);
    expect(m.timer.mock.calls).toEqual([['sweep', { schedule: '0 */5 * * * *', runOnStartup: false, handler: m.sweep.sweep }]]);
    expect(m.appStart.mock.calls).toEqual([[m.startup.checkStartup]]);
    // The test-mode package must not have been asked to register anything for real.
    expect(app).toBeDefined();
  });

  it('follows the settings: data container, data connection, Event Grid source and schedule', async () => {
    vi.stubEnv('ACCESS_DATA_CONTAINER', 'hr-exports');
    vi.stubEnv('ACCESS_DATA_STORAGE__serviceUri', 'https://acct.blob.core.windows.net');
    vi.stubEnv('SWEEP_SCHEDULE', '0 */10 * * * *');
    vi.stubEnv('INGEST_TRIGGER_SOURCE', 'EventGrid');
    const m = await load();
    expect(m.storageBlob.mock.calls[0]).toEqual([
      'ingest',
      { path: 'hr-exports/inbox/{name}', connection: 'ACCESS_DATA_STORAGE', source: 'EventGrid', handler: m.ingest.ingest },
    ]);
    expect(m.timer.mock.calls[0]![1]).toMatchObject({ schedule: '0 */10 * * * *' });
  });
});
