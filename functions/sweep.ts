/** sweep: the timer-triggered batch run (see src/core/sweep.ts for what it does and why it is required). */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { invocationLogger } from '../src/adapters/functionsLogger';
import { getRuntime } from '../src/compose';
import { triggerSettings } from '../src/config';
import { sweep as runSweep, type SweepReport } from '../src/core/sweep';

export async function sweep(timer: Timer, context: InvocationContext): Promise<SweepReport> {
  const runtime = await getRuntime();
  const logger = invocationLogger(context);
  if (timer.isPastDue) logger.log('warn', 'sweep.pastDue', {});
  return runSweep(runtime.deps(logger, context.invocationId));
}

app.timer('sweep', { schedule: triggerSettings().sweepSchedule, runOnStartup: false, handler: sweep });
