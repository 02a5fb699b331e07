/**
 * Child process of upload.bench: uploads one file through the Graph adapter and reports its own memory.
 * Run only by upload.bench (it reads its job from environment variables the parent sets).
 */
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createCredential } from '../src/adapters/credential';
import { GraphReviewClient } from '../src/adapters/graph/graphReviewClient';
import type { ReopenableSource } from '../src/core/ports';

async function main(): Promise<void> {
  const job = JSON.parse(process.env.UPLOAD_BENCH_JOB ?? '{}') as Record<string, string>;
  const credential = createCredential({
    tenantId: job.tenantId,
    clientId: job.clientId,
    clientSecret: job.clientSecret,
    authorityHost: job.authorityHost,
    extraCaPem: [job.caPem!],
  });
  const graph = new GraphReviewClient({ baseUrl: job.graphUrl!, shape: 'v1.0', credential, extraCaPem: [job.caPem!] });
  const resource = { catalogId: job.catalogId!, resourceId: job.resourceId!, source: job.source! };
  const session = await graph.createUploadSession(resource, { reviewDefinitionId: job.reviewDefinitionId!, reviewInstanceId: job.reviewInstanceId! });
  const small: ReopenableSource = { name: 'warm-up.csv', size: 3, open: async () => Readable.from([Buffer.from('a\r\n')]) };
  // Warm up TLS, the token and the JIT, so that the baseline is the steady state before the big upload.
  await graph.uploadFile(resource, session.id, small);
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const size = statSync(job.file!).size;
  const source: ReopenableSource = { name: 'big.csv', size, open: async () => createReadStream(job.file!, { highWaterMark: 256 * 1024 }) };
  const started = performance.now();
  await graph.uploadFile(resource, session.id, source);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  graph.close();
  process.stdout.write(
    JSON.stringify({ bytes: size, seconds, baselineRss: baseline, sampledPeakRss: peak, maxRss: process.resourceUsage().maxRSS * 1024 }) + '\n',
  );
}

void main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  process.exit(1);
});
