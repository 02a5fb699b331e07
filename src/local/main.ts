/**
 * `npm start`: the embedded default. Everything runs on this machine, in this process:
 * 1. Azurite (persisted under .local-data/azurite, so the archive and quarantine can be inspected between runs);
 * 2. the Graph emulator, seeded with the sample catalog, resource and catalog review of local.settings(.sample).json;
 * 3. the three functions through the local host (inbox polling, the callout on loopback, the timer);
 * 4. on first run, the sample exports are dropped into the inbox; then a review instance starts, its callout is
 *    posted as Entra's relay would, and every step is told until the upload session is complete;
 * 5. then it keeps watching for new drops until Ctrl-C.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRuntime, setRuntime } from '../compose';
import { environmentWithLocalSettings, loadConfig } from '../config';
import { ConfigError } from '../core/errors';
import { startGraphEmulator } from '../../emulator/index';
import { startAzurite, type RunningAzurite } from './azurite';
import { LocalHost, type Handlers } from './host';
import { createNarrator } from './narrator';
import { quietly } from './quietly';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DATA = path.join(ROOT, '.local-data');
const SAMPLE_DEFINITION_ID = '5a9c0e21-7d3b-4f58-8e16-c2b4a7d90f33';

async function startAzuriteOnDefaultPorts(): Promise<RunningAzurite> {
  const location = path.join(DATA, 'azurite');
  mkdirSync(location, { recursive: true });
  try {
    // The well-known ports, so that Storage Explorer's "local emulator" connection sees the same data.
    return await startAzurite({ location, blobPort: 10000, tablePort: 10002 });
  } catch {
    return startAzurite({ location });
  }
}

async function run(): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const verbose = process.argv.includes('--verbose');
  const narrator = createNarrator(say, { verbose });
  const settings = environmentWithLocalSettings(ROOT);
  const preview = (() => {
    try {
      return loadConfig({ ...settings, AzureWebJobsStorage: settings.AzureWebJobsStorage ?? 'UseDevelopmentStorage=true' });
    } catch (error) {
      if (error instanceof ConfigError) {
        say(error.message);
        process.exit(2);
      }
      throw error;
    }
  })();

  say('accessreview-upload-sync: local run (in-process Azurite + Graph emulator). Ctrl-C stops it.\n');
  const azurite = await startAzuriteOnDefaultPorts();
  say(`Storage (Azurite) at ${azurite.blobEndpoint}, data under ${path.relative(process.cwd(), DATA) || '.'}`);
  const emulator = await startGraphEmulator({ seedSample: false });
  const route = preview.routes[0]!;
  emulator.admin.seed({
    catalogs: [...new Set(preview.routes.map((r) => r.catalogId))].map((id) => ({ id, displayName: 'Sample catalog' })),
    resources: preview.routes.map((r) => ({ id: r.resourceId, catalogId: r.catalogId, displayName: r.source })),
    definitions: [{ id: SAMPLE_DEFINITION_ID, displayName: 'Quarterly badge access review', catalogIds: [...new Set(preview.routes.map((r) => r.catalogId))] }],
  });
  mkdirSync(DATA, { recursive: true });
  const caFile = path.join(DATA, 'emulator-ca.pem');
  writeFileSync(caFile, emulator.caCertificatePem);
  say(`Graph emulator at ${emulator.graphUrl} (API shape ${preview.graph.shape})\n`);

  const local = {
    AzureWebJobsStorage: azurite.connectionString,
    ACCESS_DATA_STORAGE: '',
    GRAPH_BASE_URL: emulator.graphUrl,
    GRAPH_EXTRA_CA_FILE: caFile,
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: emulator.clientId,
    AZURE_CLIENT_SECRET: emulator.clientSecret,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
  };
  const config = loadConfig({ ...settings, ...local });
  // The CLI can join this run: `env $(cat .local-data/cli.env | xargs) npm run cli -- status`. Loopback-only values.
  writeFileSync(path.join(DATA, 'cli.env'), `${Object.entries(local).map(([k, v]) => `${k}=${v}`).join('\n')}\n`);
  const runtime = await createRuntime(config);
  setRuntime(runtime);
  // Importing the function modules registers them with @azure/functions, which outside the real host only prints
  // "test mode" warnings; they say nothing useful here.
  const handlers = await quietly(async (): Promise<Handlers> => {
    const [{ ingest }, { reviewCallout }, { sweep }] = await Promise.all([
      import('../../functions/ingest.js'),
      import('../../functions/reviewCallout.js'),
      import('../../functions/sweep.js'),
    ]);
    return { ingest, reviewCallout, sweep };
  });
  const host = new LocalHost({ runtime, handlers, logger: narrator, container: config.storage.container, pollMs: 1000, sweepMs: 60_000, calloutPort: 7071 });
  await host.start();

  const marker = 'local/samples-dropped';
  if (!(await runtime.store.stat(marker))) {
    const folder = path.join(ROOT, 'samples', route.source);
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.csv'))) {
      await runtime.store.write(`inbox/${route.source}/${file}`, readFileSync(path.join(folder, file)), { contentType: 'text/csv' });
      say(`Dropped the sample ${file} into inbox/${route.source}/ (as an HR or badge system would)`);
    }
    await runtime.store.write(marker, Buffer.from(new Date().toISOString()));
  }
  await host.serially(() => host.pollInbox());

  const instance = await emulator.admin.startInstance(SAMPLE_DEFINITION_ID);
  say(`\nEntra: the catalog access review started instance ${instance.id}; it takes data for two hours.`);
  let done = false;
  narrator.on('review.request.fulfilled', () => {
    if (done) return;
    done = true;
    say('\nThe review has its data. Drop more CSVs into inbox/<source>/ (Azurite, port 10000) and they are checked and staged at once;');
    say('the next review instance receives the current snapshot.');
    say(`The CLI can look at this run: env $(cat ${path.relative(process.cwd(), path.join(DATA, 'cli.env')) || 'cli.env'} | xargs) npm run cli -- status`);
    say('Watching; Ctrl-C to stop.\n');
  });
  const callout = await fetch(host.calloutUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      source: '/identityGovernance/accessReviews',
      catalogId: route.catalogId,
      resourceId: route.resourceId,
      data: { '@odata.type': '#microsoft.graph.customDataProvidedResourceRequestAccessReviewDataCalloutData', reviewDefinitionId: SAMPLE_DEFINITION_ID, reviewInstanceId: instance.id },
    }),
  });
  say(`Callout posted to ${host.calloutUrl}: HTTP ${callout.status}`);
  await runtime.idle();
  if (!done) await host.serially(() => host.runSweep());

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('\nStopping…');
    await host.stop();
    await runtime.close();
    await emulator.close();
    await azurite.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

void run().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
