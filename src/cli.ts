/**
 * The `accessreview-sync` command line, over the same composition as the functions. Exit codes: 0 success, 1 the
 * work was refused or failed (a rejected file, a failed request), 2 usage, configuration or I/O error.
 * Settings come from the environment, then local.settings.json (falling back to the sample) in the working folder.
 */
import { createRuntime, type Runtime } from './compose';
import { JOB_COMMANDS, JOB_USAGE } from './commands/index';
import { VALIDATE_USAGE, validateCommand } from './commands/validate';
import { environmentWithLocalSettings, loadConfig } from './config';
import { ConfigError, isSyncError } from './core/errors';

export const USAGE = `Usage: accessreview-sync <command> [options]

Commands:
  help                 show this text
${VALIDATE_USAGE}${JOB_USAGE}
Exit codes: 0 success, 1 refused or failed, 2 usage, configuration or I/O error.
`;

export async function main(
  argv: readonly string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
  cwd: string = process.cwd(),
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  const config = () => loadConfig(environmentWithLocalSettings(cwd));
  let runtime: Promise<Runtime> | undefined;
  try {
    if (command === 'validate') {
      return await validateCommand(rest, { out, err, resolveRoute: (name) => config().routes.find((r) => r.source === name) });
    }
    const job = JOB_COMMANDS[command];
    if (!job) {
      err(`Unknown command: ${command}\n\n${USAGE}`);
      return 2;
    }
    return await job(rest, { out, err, runtime: () => (runtime ??= createRuntime(config())) });
  } catch (error) {
    if (error instanceof ConfigError || isSyncError(error)) err(`${error.message}\n`);
    else err(`${command} failed: ${error instanceof Error ? error.name : 'unexpected error'}\n`);
    return 2;
  } finally {
    if (runtime) await (await runtime.catch(() => undefined))?.close();
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
