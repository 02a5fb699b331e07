/**
 * `npm run bench [name…]`: runs every benchmark in bench/ (files named `*.bench.ts`, compiled to dist/bench), or
 * the named ones. Each benchmark prints its figures and writes them to bench/results/<name>.json. Figures are
 * measurements of this machine, reported in issue notes; tests never assert them.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

interface BenchModule {
  /** What the benchmark measures, one line. */
  description: string;
  run(args: readonly string[]): Promise<void>;
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.js'))
    .sort();
  const selected = files.filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.js$/, '')));
  if (selected.length === 0) {
    console.error(`No benchmark matches ${wanted.join(', ')}. Known: ${files.map((f) => f.replace(/\.bench\.js$/, '')).join(', ')}`);
    process.exitCode = 2;
    return;
  }
  for (const file of selected) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bench = require(path.join(__dirname, file)) as BenchModule;
    console.log(`\n== ${file.replace(/\.bench\.js$/, '')}: ${bench.description}`);
    await bench.run(process.argv.slice(2));
  }
}

void main();
