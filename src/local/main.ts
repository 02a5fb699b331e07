/**
 * `npm start`: the embedded default. Runs everything on this machine: in-process Azurite, and (as the job grows)
 * the Graph emulator and the three functions through a small local host.
 */
import { startAzurite } from './azurite';

async function run(): Promise<void> {
  const azurite = await startAzurite();
  console.log(`Azurite (in memory) is serving blobs at ${azurite.blobEndpoint}`);
  console.log('Press Ctrl-C to stop.');
  const stop = async () => {
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
