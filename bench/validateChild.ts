/**
 * Child process of validate.bench.ts: validates one file with the canonical output streamed to a discarding sink,
 * and prints one JSON line with its time and peak RSS (`process.resourceUsage().maxRSS`, which the kernel keeps, so
 * no sampling can miss a peak).
 */
import { createReadStream, statSync } from 'node:fs';
import { Writable } from 'node:stream';
import { validateCsv } from '../src/core/csv';

async function main(): Promise<void> {
  const file = process.argv[2]!;
  const schema = (process.argv[3] ?? 'entra-portal') as 'entra-portal';
  const size = statSync(file).size;
  const discard = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const started = process.hrtime.bigint();
  const summary = await validateCsv(createReadStream(file, { highWaterMark: 64 * 1024 }), { fileName: 'bench.csv', schema, declaredSize: size }, discard);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const usage = process.resourceUsage();
  process.stdout.write(
    `${JSON.stringify({
      outcome: summary.outcome,
      rejection: summary.rejection?.code ?? null,
      rows: summary.rows,
      distinctPrincipals: summary.distinctPrincipals,
      bytesIn: summary.bytesIn,
      bytesOut: summary.bytesOut,
      seconds,
      maxRssBytes: usage.maxRSS * 1024,
      heapUsedBytes: process.memoryUsage().heapUsed,
    })}\n`,
  );
}

void main().catch((error: unknown) => {
  process.stderr.write(`validate bench child failed: ${error instanceof Error ? error.name : 'error'}\n`);
  process.exitCode = 1;
});
