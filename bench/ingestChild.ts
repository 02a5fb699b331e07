/**
 * Child process of ingest.bench: ingests one inbox blob on Azurite the way the blob trigger does (stream it down,
 * validate, stream the canonical file up, archive the original, stage, settle, empty the inbox) and prints one JSON
 * line with the outcome, the time and its peak RSS (`process.resourceUsage().maxRSS`, kept by the kernel).
 */
import { createRuntime } from '../src/compose';
import { loadConfig } from '../src/config';
import { createJsonLineLogger } from '../src/core/log';
import { ingestBlob } from '../src/core/ingest';

async function main(): Promise<void> {
  const job = JSON.parse(process.env.INGEST_BENCH_JOB ?? '{}') as { env: Record<string, string>; blob: string };
  const runtime = await createRuntime(loadConfig(job.env));
  const baselineRssBytes = process.memoryUsage().rss;
  // INGEST_BENCH_TRACE=1: memory by kind once a second on stderr, to see where a peak comes from.
  const trace = process.env.INGEST_BENCH_TRACE
    ? setInterval(() => {
        const m = process.memoryUsage();
        process.stderr.write(`${JSON.stringify({ rss: m.rss >> 20, heapTotal: m.heapTotal >> 20, external: m.external >> 20, arrayBuffers: m.arrayBuffers >> 20 })}\n`);
      }, 1000)
    : undefined;
  const logger = createJsonLineLogger({ sink: () => undefined, minLevel: 'error' });
  const started = process.hrtime.bigint();
  const result = await ingestBlob(job.blob, runtime.deps(logger, 'ingest-bench'));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (trace) clearInterval(trace);
  await runtime.close();
  process.stdout.write(`${JSON.stringify({ outcome: result.outcome, seconds, baselineRssBytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`ingest bench child failed: ${error instanceof Error ? error.message : 'error'}\n`);
  process.exitCode = 1;
});
