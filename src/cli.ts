/**
 * The `accessreview-sync` command line. Commands are added as the job grows; each returns its exit code:
 * 0 success, 1 the work was refused (e.g. a rejected file), 2 usage or I/O error.
 */
import { VALIDATE_USAGE, validateCommand } from './commands/validate';

export const USAGE = `Usage: accessreview-sync <command> [options]

Commands:
  help                 show this text
${VALIDATE_USAGE}`;

export async function main(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const [command] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === 'validate') return validateCommand(argv.slice(1), { out, err: (t) => process.stderr.write(t) });
  out(`Unknown command: ${command}\n\n${USAGE}`);
  return 2;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
