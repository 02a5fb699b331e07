/** The job's CLI commands on the integration harness (Azurite + emulator), called in-process. */
import { afterEach, describe, expect, it } from 'vitest';
import { JOB_COMMANDS, type CommandIo } from '../../src/commands/index';
import { csv, row, startSyncHarness, type SyncHarness } from '../integration/harness';

let h: SyncHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function io(harness: SyncHarness): CommandIo & { stdout: string; stderr: string } {
  const r = {
    stdout: '',
    stderr: '',
    out: (t: string) => void (r.stdout += t),
    err: (t: string) => void (r.stderr += t),
    runtime: async () => harness.runtime,
  };
  return r;
}

async function run(name: string, args: string[], harness: SyncHarness) {
  const streams = io(harness);
  const code = await JOB_COMMANDS[name]!(args, streams);
  return { code, ...streams };
}

describe('CLI job commands', () => {
  it('routes discover prints a route skeleton for every custom data provided resource of the catalog', async () => {
    h = await startSyncHarness();
    const s = h.emulator.sample!;
    const result = await run('routes', ['discover', '--catalog', s.catalogId], h);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toContainEqual(expect.objectContaining({ source: s.source, catalogId: s.catalogId, resourceId: s.resourceId, schema: 'graph-v1' }));
    expect((await run('routes', ['discover'], h)).code).toBe(2);
  });

  it('sync --dry-run reports what waits and changes nothing; sync then does the work', async () => {
    h = await startSyncHarness();
    await h.drop('export.csv', csv(row(1)));
    const dry = await run('sync', ['--dry-run'], h);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, inbox: { waiting: 1 } });
    expect(await h.list('inbox/')).toHaveLength(1);
    expect(h.emulator.admin.state().sessions).toEqual([]);
    const real = await run('sync', [], h);
    expect(real.code).toBe(0);
    expect(await h.list('inbox/')).toEqual([]);
    // The emulator's sample instance is Initializing: discovery finds it and it is fulfilled.
    expect(h.emulator.admin.state().sessions.filter((x) => x.status === 'complete')).toHaveLength(1);
  });

  it('upload --instance fulfils one instance now, with progress, and status shows its session as Graph reports it', async () => {
    h = await startSyncHarness();
    await h.deliver((await h.drop('export.csv', csv(row(1), row(2)))).name);
    const review = h.startInstance();
    const up = await run('upload', ['--instance', review.reviewInstanceId], h);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(new RegExp(`^${h.source}: done session [0-9a-f-]{36}\\n$`));
    expect(up.stderr).toMatch(/: 100% \(\d+ of \d+ bytes\)/);
    const status = await run('status', [], h);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`${review.reviewInstanceId}  ${h.source}  done`);
    expect(status.stdout).toMatch(/session [0-9a-f-]{36}: complete, files: .*\.csv \(\d+ B\)/);
    const json = JSON.parse((await run('status', ['--json'], h)).stdout) as { sessions: Record<string, { status: string }> };
    expect(json.sessions[review.reviewInstanceId]?.status).toBe('complete');
  });

  it('upload --retry starts a failed request again once its cause is fixed; without --retry it says why it failed', async () => {
    h = await startSyncHarness();
    await h.deliver((await h.drop('export.csv', csv(row(1)))).name);
    const review = h.startInstance();
    h.emulator.admin.setAppRoles(h.emulator.clientId, ['AccessReview.Read.All']);
    const refused = await run('upload', ['--instance', review.reviewInstanceId], h);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^BuildingAccessData: failed \(Graph denied access/);
    h.emulator.admin.setAppRoles(h.emulator.clientId, ['EntitlementManagement.ReadWrite.All', 'AccessReview.Read.All']);
    const again = await run('upload', ['--instance', review.reviewInstanceId], h);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/failed earlier \(Graph denied access.*\); pass --retry/);
    const retried = await run('upload', ['--instance', review.reviewInstanceId, '--retry'], h);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/^BuildingAccessData: done session/);
    expect(h.emulator.admin.state().sessions.filter((s) => s.referenceId === review.reviewInstanceId)).toEqual([
      expect.objectContaining({ status: 'complete', files: [expect.objectContaining({ name: expect.stringMatching(/\.csv$/) })] }),
    ]);
  });

  it('upload refuses an instance that is not Initializing in a routed catalog, and needs --instance', async () => {
    h = await startSyncHarness();
    expect((await run('upload', [], h)).code).toBe(2);
    const unknown = await run('upload', ['--instance', '00000000-0000-4000-8000-000000000000'], h);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/not an Initializing instance/);
  });
});
