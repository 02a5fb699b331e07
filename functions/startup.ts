/**
 * At host start: check every setting and create the container and ledger table, so that a wrong deployment stops
 * at once with one message listing every problem, instead of at the first file.
 */
import { app } from '@azure/functions';
import { getRuntime } from '../src/compose';

export async function checkStartup(): Promise<void> {
  await getRuntime();
}

app.hook.appStart(checkStartup);
