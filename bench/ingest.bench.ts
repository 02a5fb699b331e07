/**
 * The whole ingest path on a 1 GB export: a child process ingests it from Azurite's inbox (download stream,
 * validation, canonical upload in blocks, archive copy, staging copy, ledger) and reports its peak RSS, which must
 * stay under 150 MB like validation alone. Azurite runs in this (parent) process with its data on disk, so its
 * memory is not the child's. `npm run bench ingest [-- --small]` (`--small`: 100 MB).
 */
import { execFile } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../src/local/azurite';
import { generate } from './validate.bench';

export const description = 'peak RSS of a child process ingesting a 1 GB export end to end on Azurite (validate, stage, archive)';

const MB = 1024 * 1024;

export async function run(args: readonly string[]): Promise<void> {
  const bytes = (args.includes('--small') ? 100 : 1024) * MB;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'arsync-ingest-bench-'));
  mkdirSync(path.join(dir, 'azurite'));
  const azurite = await startAzurite({ location: path.join(dir, 'azurite') });
  try {
    const file = path.join(dir, 'export.csv');
    const generated = await generate(file, bytes);
    const container = 'ingest-bench';
    const source = 'Badges';
    const blob = `inbox/${source}/export.csv`;
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await service.getContainerClient(container).createIfNotExists();
    await service
      .getContainerClient(container)
      .getBlockBlobClient(blob)
      .uploadStream(createReadStream(file, { highWaterMark: 4 * MB }), 4 * MB, 4, { blobHTTPHeaders: { blobContentType: 'text/csv' } });
    rmSync(file);

    const env = {
      AzureWebJobsStorage: azurite.connectionString,
      ACCESS_DATA_CONTAINER: container,
      LEDGER_TABLE: 'ingestbench',
      ROUTES: JSON.stringify([{ source, catalogId: '3f6d2a8e-0000-4000-8000-000000000001', resourceId: '8b1e7c4d-0000-4000-8000-000000000001', schema: 'entra-portal' }]),
    };
    const child = await new Promise<{ outcome: string; seconds: number; baselineRssBytes: number; maxRssBytes: number }>((resolve, reject) => {
      // INGEST_BENCH_NODE_ARGS: extra Node flags for the child (e.g. --trace-gc), whose lines then precede the result.
      const nodeArgs = (process.env.INGEST_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
      execFile(process.execPath, [...nodeArgs, path.join(__dirname, 'ingestChild.js')], { env: { ...process.env, INGEST_BENCH_JOB: JSON.stringify({ env, blob }) }, maxBuffer: MB }, (error, out, err) => {
        if (process.env.INGEST_BENCH_TRACE) process.stderr.write(err);
        if (error) reject(new Error(`child failed: ${err}`));
        else {
          if (nodeArgs.length > 0) process.stderr.write(out);
          resolve(JSON.parse(out.trim().split('\n').pop()!) as never);
        }
      });
    });
    if (child.outcome !== 'staged') throw new Error(`the generated export was not staged (${child.outcome})`);
    const result = {
      measuredAt: new Date().toISOString(),
      machine: `${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`,
      file: 'the validate bench file (entra-portal, 11 columns), uploaded to Azurite inbox/',
      fileBytes: generated.bytes,
      rows: generated.rows,
      outcome: child.outcome,
      seconds: Number(child.seconds.toFixed(1)),
      MBps: Number((generated.bytes / MB / child.seconds).toFixed(1)),
      baselineRssMB: Number((child.baselineRssBytes / 1e6).toFixed(1)),
      peakRssMB: Number((child.maxRssBytes / 1e6).toFixed(1)),
      peakRssMiB: Number((child.maxRssBytes / MB).toFixed(1)),
      boundMB: 150,
      withinBound: child.maxRssBytes < 150e6,
    };
    console.log(JSON.stringify(result, null, 2));
    if (!args.includes('--small')) writeFileSync(path.join(__dirname, '..', '..', 'bench', 'results', 'ingest.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await azurite.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
