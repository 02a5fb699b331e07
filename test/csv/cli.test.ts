/** The `validate` command through `main` (exit codes) and directly (messages, reports, route resolution, progress). */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { main } from '../../src/cli';
import { validateCommand, type ValidateRoute } from '../../src/commands/validate';
import { G6, crlf, row6 } from './helpers';

const dir = mkdtempSync(path.join(os.tmpdir(), 'arsync-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function cli(args: string[], extra: Partial<Parameters<typeof validateCommand>[1]> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await validateCommand(args, { out: (t) => (out += t), err: (t) => (err += t), ...extra });
  return { code, out, err };
}

describe('accessreview-sync validate', () => {
  test('exit 0 for an accepted file, with the summary printed', async () => {
    let out = '';
    const code = await main(['validate', file('ok.csv', crlf(G6, row6(1), row6(2)))], (t) => (out += t));
    expect(code).toBe(0);
    expect(out).toContain('ok.csv: ACCEPTED (schema graph-v1, strict, utf-8, delimiter ,)');
    expect(out).toContain('rows 2, accepted 2, rejected 0, distinct principals 2');
  });

  test('exit 1 for a rejected file; reports written beside the prefix', async () => {
    const bad = file('bad.csv', crlf(G6, row6(1), `nope,user,p,n,d,t`));
    const prefix = path.join(dir, 'out', 'bad');
    mkdirSync(path.dirname(prefix), { recursive: true });
    const { code, out } = await cli([bad, '--report', prefix]);
    expect(code).toBe(1);
    expect(out).toContain('line 3, column principalId: not a GUID');
    const json = JSON.parse(readFileSync(`${prefix}.report.json`, 'utf8')) as { outcome: string; code: string; issues: { line: number; column: string; rule: string; message: string }[] };
    expect(json).toMatchObject({ outcome: 'rejected', code: 'rows.invalid' });
    expect(json.issues).toEqual([{ line: 3, column: 'principalId', rule: 'principalId.guid', message: expect.stringContaining('line 3, column principalId') as unknown }]);
    const csv = readFileSync(`${prefix}.report.csv`, 'utf8');
    expect(csv.split('\r\n')[0]).toBe('kind,line,column,rule,message');
    expect(csv).toContain('issue,3,principalId,principalId.guid,');
  });

  test('a directory as --report gets report.json and report.csv inside', async () => {
    const reportDir = path.join(dir, 'reports');
    mkdirSync(reportDir);
    const { code } = await cli([file('ok2.csv', crlf(G6, row6(1))), '--report', reportDir]);
    expect(code).toBe(0);
    expect(existsSync(path.join(reportDir, 'report.json'))).toBe(true);
    expect(existsSync(path.join(reportDir, 'report.csv'))).toBe(true);
  });

  test('--tolerant, --delimiter, --schema and --release-shrink reach the validator', async () => {
    const mixed = file('mixed.csv', crlf(G6.replace(/,/g, ';'), row6(1).replace(/,/g, ';'), 'bad;user;p;n;d;t'));
    expect((await cli([mixed])).code).toBe(1);
    expect((await cli([mixed, '--tolerant=1'])).code).toBe(0);
    expect((await cli([mixed, '--tolerant=1', '--delimiter', 'comma'])).code).toBe(1);
    const headerOnly = file('empty.csv', crlf(G6));
    expect((await cli([headerOnly])).code).toBe(1);
    expect((await cli([headerOnly, '--release-shrink'])).code).toBe(0);
    expect((await cli([headerOnly, '--schema', 'legacy-2025', '--release-shrink'])).code).toBe(1);
  });

  test('exit 2 for usage errors and unreadable files', async () => {
    expect((await cli([])).code).toBe(2);
    expect((await cli(['a.csv', 'b.csv'])).code).toBe(2);
    const badSchema = await cli([file('s.csv', crlf(G6)), '--schema', 'nope']);
    expect(badSchema).toMatchObject({ code: 2 });
    expect(badSchema.err).toContain('--schema must be one of graph-v1, entra-portal, legacy-2025');
    const missing = await cli([path.join(dir, 'does-not-exist.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('cannot read');
    expect(await main(['validate'], () => undefined)).toBe(2);
  });

  test('--route without a resolver is a usage error; with one, the route settings apply', async () => {
    const f = file('route.csv', crlf('Employee Object ID;principalType;permissionId;permissionName;permissionDescription;permissionType', row6(1).replace(/,/g, ';')));
    const none = await cli([f, '--route', 'badges']);
    expect(none.code).toBe(2);
    expect(none.err).toContain('--route needs the route settings');
    const route: ValidateRoute = {
      schema: 'graph-v1',
      headerAliases: { 'Employee Object ID': 'principalId' },
      delimiter: ';',
      policy: { mode: 'strict' },
      shrinkGuardRatio: 0.5,
      maxFileBytes: 1_000_000,
    };
    const resolved = await cli([f, '--route', 'badges'], { resolveRoute: (name) => (name === 'badges' ? route : undefined) });
    expect(resolved.code).toBe(0);
    const unknown = await cli([f, '--route', 'other'], { resolveRoute: () => undefined });
    expect(unknown.code).toBe(2);
    const capped = await cli([f, '--route', 'badges'], { resolveRoute: () => ({ ...route, maxFileBytes: 10 }) });
    expect(capped.code).toBe(1);
    expect(capped.out).toContain('file.tooLarge');
  });

  test('progress goes to stderr on big files, at most every 5% (or each second)', async () => {
    const rows = Array.from({ length: 70_000 }, (_, i) => row6(i, { description: 'x'.repeat(180) }));
    const big = file('big.csv', crlf(G6, ...rows));
    let t = 0;
    const { code, err } = await cli([big], { now: () => t++ });
    expect(code).toBe(0);
    const lines = err.trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.length).toBeLessThanOrEqual(21);
    expect(lines[0]).toMatch(/^validating big\.csv: \d+% \(\d+ of \d+ MiB\)$/);
  });
});
