/**
 * `npm run emulator [-- --port N]`: runs the Graph emulator standalone with the sample tenant, writes its CA
 * certificate to a temp file, prints one JSON line with everything a client needs, and serves until SIGINT/SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGraphEmulator } from './index';

function portFrom(argv: string[]): number {
  const index = argv.findIndex((a) => a === '--port' || a.startsWith('--port='));
  if (index < 0) return 0;
  const arg = argv[index] ?? '';
  const raw = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[index + 1];
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port needs a number between 0 and 65535, got '${String(raw)}'`);
    process.exit(2);
  }
  return port;
}

async function main(): Promise<void> {
  const emulator = await startGraphEmulator({ port: portFrom(process.argv.slice(2)), seedSample: true });
  const sample = emulator.sample;
  if (!sample) throw new Error('the sample tenant was not seeded');
  const caFile = path.join(os.tmpdir(), `graph-emulator-ca-${process.pid}.pem`);
  writeFileSync(caFile, emulator.caCertificatePem);
  console.log(
    JSON.stringify({
      graphUrl: emulator.graphUrl,
      tokenUrl: emulator.tokenUrl,
      authorityHost: emulator.authorityHost,
      tenantId: emulator.tenantId,
      clientId: emulator.clientId,
      clientSecret: emulator.clientSecret,
      catalogId: sample.catalogId,
      resourceId: sample.resourceId,
      source: sample.source,
      reviewDefinitionId: sample.reviewDefinitionId,
      reviewInstanceId: sample.reviewInstanceId,
      caFile,
    }),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
