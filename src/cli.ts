/**
 * The `accessreview-sync` command line. Commands are added as the job grows; each returns its exit code:
 * 0 success, 1 the work was refused (e.g. a rejected file), 2 usage or I/O error.
 */
export const USAGE = `Usage: accessreview-sync <command> [options]

Commands:
  help                 show this text
`;

export async function main(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const [command] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  out(`Unknown command: ${command}\n\n${USAGE}`);
  return 2;
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
