/**
 * The no-personal-data canary (reliability.md E2 for the validator): fixtures full of canary values go through every
 * outcome (accepted, each kind of rejection, thrown I/O and abort errors, the CLI with its logger), and no canary
 * value appears in any summary, report, printed text, log line or error.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { validateCommand } from '../../src/commands/validate';
import { formatSummaryText, validateCsv, writeReports } from '../../src/core/csv';
import { MemoryLogger } from '../support/memoryLogger';
import { G6, crlf } from './helpers';

const CANARIES = [
  'canary.person@contoso-canary.example',
  'c0ffee00-dead-4bee-8f00-00000000c0de',
  'C0FFEE00-DEAD-4BEE-8F00-00000000C0DE',
  '=HYPERLINK("http://canary.example/x")',
  'HYPERLINK',
  'canary.example',
  'Zebulon Canaryfield',
  'CANARY-SECRET-4711',
  'Canary Vault Door',
  'canaryperm-77',
];

const good = (n: number): string => `c0ffee00-dead-4bee-8f00-0000000000${String(n).padStart(2, '0')},user,canaryperm-77,Canary Vault Door,Zebulon Canaryfield,CANARY-SECRET-4711`;
const text = (...rows: string[]): Buffer => Buffer.from(crlf(G6, ...rows));

const FIXTURES: Record<string, Buffer> = {
  accepted: text(good(1), good(2).replace('canaryperm-77', 'canaryperm-78')),
  badGuid: text(good(1), 'canary.person@contoso-canary.example,user,canaryperm-77,Canary Vault Door,x,y'),
  badGuid2: text('c0ffee00-dead-4bee-8f00-00000000c0dX,user,canaryperm-77,Canary Vault Door,x,y'),
  formula: text(good(1).replace('Canary Vault Door', '"=HYPERLINK(""http://canary.example/x"")"')),
  duplicate: text(good(1), good(1)),
  ragged: text(`${good(1)},Zebulon Canaryfield`),
  quote: text(`${good(1)},"CANARY-SECRET-4711`),
  headerless: Buffer.from(crlf(good(1), good(2))),
  badUtf8: Buffer.concat([text(good(1)), Buffer.from('Zebulon Canaryfield'), Buffer.from([0xe9]), Buffer.from('CANARY-SECRET-4711')]),
  control: text(good(1).replace('CANARY-SECRET-4711', 'CANARY-SECRET-4711\u0000')),
  type: text(good(1).replace(',user,', ',Zebulon Canaryfield,')),
  tooLong: text(good(1).replace('CANARY-SECRET-4711', `CANARY-SECRET-4711${'x'.repeat(5000)}`)),
};

const dir = mkdtempSync(path.join(os.tmpdir(), 'arsync-canary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function assertClean(label: string, haystack: string): void {
  for (const canary of CANARIES) {
    expect(haystack.includes(canary), `${label} leaks ${canary}`).toBe(false);
  }
}

describe('canary: no cell value escapes', () => {
  test('summaries, reports and summary text of every fixture', async () => {
    const outcomes: string[] = [];
    for (const [name, bytes] of Object.entries(FIXTURES)) {
      for (const policy of [{ mode: 'strict' as const }, { mode: 'tolerant' as const, maxRejectedRatio: 0.9 }]) {
        const summary = await validateCsv(Readable.from([bytes]), { fileName: `${name}.csv`, schema: 'graph-v1', policy });
        outcomes.push(summary.rejection?.code ?? 'accepted');
        const reports = writeReports(summary, { fileName: `${name}.csv` });
        assertClean(name, JSON.stringify(summary) + reports.json + reports.csv + formatSummaryText(summary, 1000));
      }
    }
    // The fixtures do reach the paths they are meant to.
    for (const code of ['accepted', 'rows.invalid', 'header.missing', 'decode.invalidUtf8', 'csv.quoteNotClosed', 'rows.tooManyRejected']) expect(outcomes).toContain(code);
  });

  test('thrown errors (I/O and abort) carry no data', async () => {
    const failing = new Readable({
      read() {
        this.push(FIXTURES.accepted);
        this.destroy(new Error('reset while reading CANARY-SECRET-4711'));
      },
    });
    const io = await validateCsv(failing, { fileName: 'a.csv', schema: 'graph-v1' }).catch((e: unknown) => e);
    expect(io).toMatchObject({ code: 'csv.io' });
    const controller = new AbortController();
    const slow = new Readable({
      read() {
        this.push(FIXTURES.accepted);
        controller.abort();
      },
    });
    const aborted = await validateCsv(slow, { fileName: 'a.csv', schema: 'graph-v1', signal: controller.signal }).catch((e: unknown) => e);
    expect(aborted).toMatchObject({ code: 'aborted' });
    for (const e of [io, aborted]) assertClean('error', `${(e as Error).message} ${JSON.stringify(e)} ${String(e)}`);
  });

  test('the CLI: printed text, stderr, log lines and report files', async () => {
    const logger = new MemoryLogger();
    let printed = '';
    for (const [name, bytes] of Object.entries(FIXTURES)) {
      const file = path.join(dir, `${name}.csv`);
      writeFileSync(file, bytes);
      const prefix = path.join(dir, name);
      const code = await validateCommand([file, '--report', prefix, '--json'], { out: (t) => (printed += t), err: (t) => (printed += t), logger });
      expect([0, 1]).toContain(code);
      printed += readFileSync(`${prefix}.report.json`, 'utf8') + readFileSync(`${prefix}.report.csv`, 'utf8');
    }
    expect(logger.events()).toContain('csv.validated');
    assertClean('cli', printed + logger.text());
  });
});
