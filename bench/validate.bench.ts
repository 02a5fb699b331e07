/**
 * CSV validation: throughput beside plain csv-parse on the same generated 200 MB file in the same run, and the peak
 * RSS of a child process validating a generated 1 GB file (the bound: under 150 MB). Files are generated in the OS
 * temp folder and deleted afterwards. `npm run bench validate [-- --small]` (`--small`: 20 MB and 100 MB, for a
 * quick look).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Parser } from 'csv-parse';
import { parseOptions, validateCsv } from '../src/core/csv';

export const description = 'CSV validation MB/s beside plain csv-parse (200 MB, same run) and peak RSS validating 1 GB in a child process';

const MB = 1024 * 1024;
const HEADER =
  'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType,ScopeId,ScopeDisplayName,EntitlementOwners_Users,EntitlementOwners_Groups,CustomData\r\n';

/**
 * The shape of toolchain.md §6's reference file: 11 columns, CRLF, a quoted owner list with a comma in every row,
 * quoted JSON with doubled quotes in CustomData, an escaped quote in every 7th description. 50,000 principals; every
 * row a distinct (principal, permission, scope), so the duplicate table holds one entry per row.
 */
export async function generate(file: string, bytes: number): Promise<{ bytes: number; rows: number }> {
  const out = createWriteStream(file);
  out.write(HEADER);
  let written = HEADER.length;
  let i = 0;
  const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
  while (written < bytes) {
    const principal = `0a1b2c3d-1111-4e5f-8a9b-${hex(i % 50_000, 12)}`;
    const owner1 = `7c9e6679-7425-40de-944b-${hex(i % 997, 12)}`;
    const owner2 = `9a8b7c6d-5e4f-4a3b-8c2d-${hex(i % 991, 12)}`;
    const description = i % 7 === 0 ? `"Door ""${i % 97}"" access, building ${i % 13}"` : `Access to door ${i % 97}`;
    const row = `${principal},EntraIdUser,perm-${i},Door ${i % 97},${description},Physical,app-${i % 5},Badge system ${i % 5},"${owner1},${owner2}",,"{""site"":""HQ-${i % 31}"",""floor"":${i % 9}}"\r\n`;
    written += Buffer.byteLength(row);
    i++;
    if (!out.write(row)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { bytes: written, rows: i };
}

async function timePlainParse(file: string): Promise<number> {
  const started = process.hrtime.bigint();
  let records = 0;
  await pipeline(
    createReadStream(file, { highWaterMark: 64 * 1024 }),
    new Parser({ ...parseOptions(), delimiter: ',' }),
    new Writable({
      objectMode: true,
      highWaterMark: 256,
      write(_record, _encoding, callback) {
        records++;
        callback();
      },
    }),
  );
  if (records === 0) throw new Error('plain parse read nothing');
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function timeValidate(file: string): Promise<{ seconds: number; outcome: string; rows: number }> {
  const discard = new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const started = process.hrtime.bigint();
  const summary = await validateCsv(createReadStream(file, { highWaterMark: 64 * 1024 }), { fileName: 'bench.csv', schema: 'entra-portal', declaredSize: statSync(file).size }, discard);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, outcome: summary.outcome, rows: summary.rows };
}

function child(file: string): Promise<{ outcome: string; rejection: string | null; rows: number; distinctPrincipals: number; bytesIn: number; seconds: number; maxRssBytes: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'validateChild.js'), file, 'entra-portal'], { maxBuffer: MB }, (error, stdout, stderr) =>
      error ? reject(new Error(`child failed: ${stderr}`)) : resolve(JSON.parse(stdout.trim()) as never),
    );
  });
}

export async function run(args: readonly string[]): Promise<void> {
  const small = args.includes('--small');
  const throughputBytes = (small ? 20 : 200) * MB;
  const memoryBytes = (small ? 100 : 1024) * MB;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'arsync-validate-bench-'));
  try {
    const file = path.join(dir, 'throughput.csv');
    const gen = await generate(file, throughputBytes);
    // Warm up both paths on the same file once would double the run time; instead alternate: parse, validate.
    const parseSeconds = await timePlainParse(file);
    const validated = await timeValidate(file);
    if (validated.outcome !== 'accepted') throw new Error('the generated file was not accepted');
    rmSync(file);

    const big = path.join(dir, 'memory.csv');
    const bigGen = await generate(big, memoryBytes);
    const c = await child(big);
    rmSync(big);
    if (c.outcome !== 'accepted') throw new Error(`the generated 1 GB file was not accepted (${c.rejection})`);

    const mbps = (bytes: number, seconds: number): number => Number((bytes / MB / seconds).toFixed(1));
    const result = {
      measuredAt: new Date().toISOString(),
      machine: `${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`,
      file: 'entra-portal shape of toolchain.md §6 (11 columns, CRLF, quoted lists and JSON); 50,000 principals; every row a distinct key',
      throughput: {
        fileBytes: gen.bytes,
        rows: gen.rows,
        plainCsvParse: { seconds: Number(parseSeconds.toFixed(2)), MBps: mbps(gen.bytes, parseSeconds) },
        validateCsv: { seconds: Number(validated.seconds.toFixed(2)), MBps: mbps(gen.bytes, validated.seconds) },
        validateVsParse: Number((parseSeconds / validated.seconds).toFixed(2)),
      },
      memory: {
        fileBytes: bigGen.bytes,
        rows: c.rows,
        distinctPrincipals: c.distinctPrincipals,
        seconds: Number(c.seconds.toFixed(1)),
        MBps: mbps(bigGen.bytes, c.seconds),
        // The bound is read in decimal megabytes (150,000,000 bytes), the stricter reading; MiB shown beside it.
        peakRssMB: Number((c.maxRssBytes / 1e6).toFixed(1)),
        peakRssMiB: Number((c.maxRssBytes / MB).toFixed(1)),
        boundMB: 150,
        withinBound: c.maxRssBytes < 150e6,
      },
    };
    console.log(JSON.stringify(result, null, 2));
    if (!small) writeFileSync(path.join(__dirname, '..', '..', 'bench', 'results', 'validate.json'), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
