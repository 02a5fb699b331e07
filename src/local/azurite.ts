/**
 * Azurite (the Azure Storage emulator) in this process, for tests and the embedded `npm start`.
 *
 * Azurite has no programmatic entry point (its package `main` is the VS Code extension), so its server classes are
 * loaded by deep path. Those paths and the positional constructor arguments are Azurite internals: the version is
 * pinned exactly in package.json for that reason.
 */
import path from 'node:path';

/** The well-known development account key every Azurite installation uses; not a secret. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Loopback host to listen on. */
  host?: string;
  /** Blob port; 0 picks a free one. */
  blobPort?: number;
  /** Table port; 0 picks a free one. */
  tablePort?: number;
  /** A folder to persist to; when absent everything is kept in memory and gone on close. */
  location?: string;
}

export interface RunningAzurite {
  blobEndpoint: string;
  tableEndpoint: string;
  /** A full connection string for the development account on these endpoints. */
  connectionString: string;
  close(): Promise<void>;
}

interface AzuriteServer {
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
}
type ServerCtor = new (config: unknown) => AzuriteServer;
type ConfigCtor = new (...args: unknown[]) => unknown;

function load<T>(modulePath: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(modulePath) as { default: T }).default;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const host = options.host ?? '127.0.0.1';
  const inMemory = options.location === undefined;
  const loc = options.location;
  const BlobServer = load<ServerCtor>('azurite/dist/src/blob/BlobServer');
  const BlobConfiguration = load<ConfigCtor>('azurite/dist/src/blob/BlobConfiguration');
  const TableServer = load<ServerCtor>('azurite/dist/src/table/TableServer');
  const TableConfiguration = load<ConfigCtor>('azurite/dist/src/table/TableConfiguration');

  // BlobConfiguration(host, port, keepAlive, metadataDBPath, extentDBPath, persistenceArray, enableAccessLog,
  //   accessLogStream, enableDebugLog, debugLogPath, loose, skipApiVersionCheck, cert, key, pwd, oauth,
  //   disableProductStyleUrl, inMemoryPersistence)
  // skipApiVersionCheck: storage-blob 12.32 speaks API 2026-04-06, newer than Azurite 3.35 knows.
  const blob = new BlobServer(
    new BlobConfiguration(
      host,
      options.blobPort ?? 0,
      5,
      loc ? path.join(loc, '__azurite_blob__.json') : undefined,
      loc ? path.join(loc, '__azurite_blob_extent__.json') : undefined,
      loc ? [{ locationId: 'Default', locationPath: path.join(loc, 'blobstorage'), maxConcurrency: 10 }] : undefined,
      false,
      undefined,
      false,
      undefined,
      false,
      true,
      '',
      '',
      '',
      undefined,
      true,
      inMemory,
    ),
  );
  // TableConfiguration(host, port, keepAlive, dbPath, enableDebugLog, enableAccessLog, accessLogStream,
  //   debugLogPath, loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, inMemoryPersistence)
  const table = new TableServer(
    new TableConfiguration(
      host,
      options.tablePort ?? 0,
      5,
      loc ? path.join(loc, '__azurite_table__.json') : undefined,
      false,
      false,
      undefined,
      undefined,
      false,
      true,
      '',
      '',
      '',
      undefined,
      true,
      inMemory,
    ),
  );
  await blob.start();
  try {
    await table.start();
  } catch (error) {
    await blob.close();
    throw error;
  }
  const blobEndpoint = `${blob.getHttpServerAddress()}/${AZURITE_ACCOUNT}`;
  const tableEndpoint = `${table.getHttpServerAddress()}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    tableEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${blobEndpoint};TableEndpoint=${tableEndpoint};`,
    async close() {
      await Promise.all([blob.close(), table.close()]);
    },
  };
}
