/**
 * Odd blob names (reliability D16) and personal-data canaries (E2) through the whole job: every file ends in a
 * terminal state with its copy, and no canary (a PII-looking file name, a UPN, a formula cell) reaches any log line;
 * Graph log lines do carry the request ids an operator quotes to support.
 */
import { afterEach, expect, it } from 'vitest';
import { csv, envelopeCallout, HEADER, row, reconcileAndClose, startSyncHarness, type SyncHarness } from './harness';

let h: SyncHarness | undefined;
afterEach(async () => {
  const done = h;
  h = undefined;
  await reconcileAndClose(done);
});

const CANARY_NAME = 'jane.doe@contoso.com salaries';
const CANARY_UPN = 'john.smith@fabrikam.example';
const CANARY_FORMULA = '=HYPERLINK("http://evil.example","x")';

it('handles odd names end to end and keeps every canary out of the logs', async () => {
  h = await startSyncHarness();
  const names = [
    `${CANARY_NAME}.csv`,
    'cafe\u0301 (nfd).csv',
    'a%2Fb.csv',
    'trailing-dot.csv.',
    // 990 characters: fits under inbox/, but not under the archive's longer folder.
    `deep/${'d'.repeat(200)}/${'n'.repeat(780)}.csv`,
  ];
  for (const [i, name] of names.entries()) await h.drop(name, csv(row(10 + i, `door-${i}`)));
  await h.drop('people.csv', `${HEADER}\r\n${row(1).replace('Badge access', CANARY_UPN)}\r\n`);
  await h.drop('formula.csv', `${HEADER}\r\n${row(2).replace('Door door-a', CANARY_FORMULA.replace(/"/g, '""')).replace(',Door', ',"Door').replace('door-a,=', 'door-a,"=')}\r\n`);
  const review = h.startInstance();
  h.emulator.admin.addFault({ method: 'POST', path: '/uploadFile$', kind: 'throttle', retryAfter: '1', times: 1 });
  await h.callout(envelopeCallout(h, review));
  const report = await h.runSweep();
  expect(report.failedSteps).toEqual([]);
  expect(await h.list('inbox/')).toEqual([]);
  expect(await h.request(review.reviewInstanceId)).toMatchObject({ state: 'done' });

  const logText = h.logs.map((l) => l.text).join('\n');
  for (const canary of ['jane.doe', 'contoso', CANARY_UPN, 'HYPERLINK', 'evil.example', 'cafe', 'a%2Fb', 'trailing-dot', 'nnnnnnnnnn']) {
    expect(logText).not.toContain(canary);
  }
  const throttled = h.logs.find((l) => l.text.startsWith('graph.throttled'));
  expect(throttled?.text).toMatch(/"requestId":"[0-9a-f-]{36}"/);
  expect(throttled?.text).toMatch(/"clientRequestId":"[0-9a-f-]{36}"/);
  // The long name's copy was shortened to fit Azure's limit, not lost.
  const received = await h.list(`archive/${h.source}/_received/`);
  expect(received.some((n) => n.length <= 1024 && /~[0-9a-f]{16}\.csv$/.test(n))).toBe(true);
});
