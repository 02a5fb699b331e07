/**
 * ingest: blob trigger on `inbox/`. The trigger is only a signal: the bytes the host hands over (it buffers whole
 * blobs) are ignored, and the core streams the blob by name and ETag with the storage SDK. Then it fulfils any
 * pending request of the file's source.
 */
import { app, type InvocationContext } from '@azure/functions';
import { invocationLogger } from '../src/adapters/functionsLogger';
import { getRuntime } from '../src/compose';
import { triggerSettings } from '../src/config';
import { fulfilPendingForSource } from '../src/core/pending';
import { ingestBlob } from '../src/core/ingest';

export async function ingest(_blob: unknown, context: InvocationContext): Promise<void> {
  const runtime = await getRuntime();
  const logger = invocationLogger(context);
  // blobTrigger is "{container}/{path}"; the path inside the container is what the core names blobs by.
  const container = runtime.config.storage.container;
  const full = String(context.triggerMetadata?.blobTrigger ?? '');
  const name = full.startsWith(`${container}/`) ? full.slice(container.length + 1) : full;
  const deps = runtime.deps(logger, context.invocationId);
  const result = await ingestBlob(name, deps);
  if (result.outcome === 'staged') await fulfilPendingForSource(result.source, deps);
  // A transient failure is thrown so that the host retries the delivery (up to its poison threshold).
  if (result.outcome === 'retryLater') throw new Error(`ingest will be retried: ${result.reason}`);
}

const settings = triggerSettings();
app.storageBlob('ingest', {
  path: `${settings.container}/inbox/{name}`,
  connection: settings.connection,
  source: settings.ingestSource,
  handler: ingest,
});
