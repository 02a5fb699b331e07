/** The job commands by name, and how the CLI builds their runtime (same composition as the functions). */
import { createRuntime, type Runtime } from '../compose';
import { environmentWithLocalSettings, loadConfig } from '../config';
import { routesCommand, statusCommand, syncCommand, uploadCommand, type CommandIo } from './jobCommands';

export { JOB_USAGE, type CommandIo } from './jobCommands';

export const JOB_COMMANDS: Readonly<Record<string, (args: string[], io: CommandIo) => Promise<number>>> = {
  sync: syncCommand,
  status: statusCommand,
  upload: uploadCommand,
  routes: routesCommand,
};

/** The runtime from the environment, then local.settings.json (falling back to the sample) in the working folder. */
export function runtimeFromEnvironment(cwd: string): () => Promise<Runtime> {
  let runtime: Promise<Runtime> | undefined;
  return () => (runtime ??= createRuntime(loadConfig(environmentWithLocalSettings(cwd))));
}
