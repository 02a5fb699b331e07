/**
 * Memory of a large upload through the Graph adapter: a generated 200 MB CSV is uploaded to the local emulator by a
 * child process, which reports its RSS before the upload and at its peak during it. The bound the project holds
 * to: the peak grows by less than 64 MB (the body is streamed, never held whole).
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { startGraphEmulator } from '../emulator/index';

export const description = 'peak RSS growth of the Graph adapter uploading a 200 MB file (child process), and its throughput';

const MB = 1024 * 1024;

async function generate(file: string, bytes: number): Promise<number> {
  const out = createWriteStream(file);
  const header = 'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType\r\n';
  out.write(header);
  let written = header.length;
  let i = 0;
  while (written < bytes) {
    const row = `0a1b2c3d-1111-4e5f-8a9b-${String(i++).padStart(12, '0')},user,perm-${i % 97},Door ${i % 97},"Access, badge ${i % 13}",Physical\r\n`;
    written += row.length;
    if (!out.write(row)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return written;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'arsync-upload-bench-'));
  const emulator = await startGraphEmulator({ seedSample: true, behaviour: { keepContentBytes: 0 } });
  try {
    const file = path.join(dir, 'big.csv');
    const bytes = await generate(file, 200 * MB);
    const sample = emulator.sample!;
    const job = {
      graphUrl: emulator.graphUrl,
      authorityHost: emulator.authorityHost,
      tenantId: emulator.tenantId,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      caPem: emulator.caCertificatePem,
      ...sample,
      file,
    };
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--expose-gc', path.join(__dirname, 'uploadChild.js')],
        { env: { ...process.env, UPLOAD_BENCH_JOB: JSON.stringify(job) }, maxBuffer: MB },
        (error, out, err) => (error ? reject(new Error(`child failed: ${err}`)) : resolve(out)),
      );
    });
    const r = JSON.parse(stdout.trim()) as { bytes: number; seconds: number; baselineRss: number; sampledPeakRss: number; maxRss: number };
    const held = emulator.admin.state().sessions.find((s) => s.referenceId === sample.reviewInstanceId)?.files.find((f) => f.name === 'big.csv');
    const growth = Math.max(r.sampledPeakRss, r.maxRss) - r.baselineRss;
    const result = {
      measuredAt: new Date().toISOString(),
      machine: `${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`,
      fileBytes: bytes,
      receivedBytes: held?.size ?? null,
      seconds: Number(r.seconds.toFixed(2)),
      throughputMBps: Number((bytes / MB / r.seconds).toFixed(1)),
      baselineRssMB: Number((r.baselineRss / MB).toFixed(1)),
      peakRssMB: Number((Math.max(r.sampledPeakRss, r.maxRss) / MB).toFixed(1)),
      peakGrowthMB: Number((growth / MB).toFixed(1)),
      boundMB: 64,
      withinBound: growth < 64 * MB,
    };
    console.log(JSON.stringify(result, null, 2));
    writeFileSync(path.join(__dirname, '..', '..', 'bench', 'results', 'upload.json'), `${JSON.stringify(result, null, 2)}\n`);
    if (held?.size !== bytes) throw new Error('The emulator did not receive the whole file');
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
