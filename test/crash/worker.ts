/**
 * The worker process of the crash suite: joins a harness (its app settings come in the environment), wraps its
 * ports with one crash point, and runs a script of deliveries and callouts through the exported handlers, as the
 * Functions host would. It dies by SIGKILL at the crash point: no finally block, no flush, like a recycled host.
 *
 * Environment: the harness's app settings, plus ARSYNC_CRASH_POINT (a name in CRASH_POINTS), ARSYNC_CRASH_NTH and
 * ARSYNC_CRASH_SCRIPT (JSON: `[{ "deliver": "<blob name>" } | { "callout": <body> }]`).
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { createRuntime, setRuntime } from '../../src/compose';
import { loadConfig } from '../../src/config';
import { ingest } from '../../functions/ingest';
import { reviewCallout } from '../../functions/reviewCallout';
import { CRASH_POINTS, withCrashPoint } from './points';

type Step = { deliver: string } | { callout: unknown };

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // Not reached: SIGKILL cannot be caught. The throw satisfies the type.
  throw new Error('SIGKILL did not end the process');
}

function context(functionName: string, triggerMetadata: Record<string, unknown> = {}): InvocationContext {
  return new InvocationContext({ invocationId: randomUUID(), functionName, triggerMetadata, logHandler: () => undefined });
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const point = CRASH_POINTS[process.env.ARSYNC_CRASH_POINT ?? ''];
  if (!point) throw new Error('ARSYNC_CRASH_POINT names no crash point');
  const nth = Number(process.env.ARSYNC_CRASH_NTH ?? '1');
  const base = await createRuntime(config);
  const runtime = await createRuntime(config, {
    ledger: withCrashPoint(base.ledger, 'ledger', point, nth, die),
    store: withCrashPoint(base.store, 'store', point, nth, die),
    graph: withCrashPoint(base.graph, 'graph', point, nth, die),
  });
  setRuntime(runtime);
  const script = JSON.parse(process.env.ARSYNC_CRASH_SCRIPT ?? '[]') as Step[];
  for (const step of script) {
    if ('deliver' in step) {
      await ingest(Buffer.alloc(0), context('ingest', { blobTrigger: `${config.storage.container}/${step.deliver}` })).catch(() => undefined);
    } else {
      await reviewCallout(
        new HttpRequest({
          method: 'POST',
          url: 'http://localhost/api/review-callout',
          body: { string: JSON.stringify(step.callout) },
          headers: { 'content-type': 'application/json' },
        }),
        context('reviewCallout'),
      );
      await runtime.idle();
    }
  }
  await runtime.close();
  await base.close();
  process.stdout.write('script completed without reaching the crash point\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`crash worker failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
