/**
 * The composition root: configuration → adapters → the core's dependencies. The functions, the CLI and the local
 * host all build their runtime here, so they run the same job.
 */
import { hostname } from 'node:os';
import { createAzureBlobStore } from './adapters/azureBlobStore';
import { createCredential } from './adapters/credential';
import { GraphReviewClient } from './adapters/graph/graphReviewClient';
import { createTableLedger } from './adapters/tableLedger';
import { loadConfigFromEnvironment, type SyncConfig } from './config';
import type { BlobStore } from './core/blobStore';
import { systemClock } from './core/clock';
import type { Ledger } from './core/ledger';
import type { Clock, Logger } from './core/ports';
import type { ReviewGraph } from './core/reviewGraph';
import type { SweepDeps } from './core/sweep';

export interface Runtime {
  config: SyncConfig;
  store: BlobStore;
  ledger: Ledger;
  graph: ReviewGraph;
  clock: Clock;
  /** The core's dependencies for one unit of work; `owner` names the worker in leases. */
  deps(logger: Logger, owner?: string, signal?: AbortSignal): SweepDeps;
  /**
   * Runs work after a handler has answered (the callout's 202). Not guaranteed to finish if the host recycles: the
   * sweep picks up whatever it leaves.
   */
  background(work: () => Promise<void>): void;
  /** Resolves when every background task has settled (tests, the local host, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  clock?: Clock;
  graph?: ReviewGraph;
  store?: BlobStore;
  ledger?: Ledger;
}

/** Builds adapters from configuration and makes sure the container and the ledger table exist. */
export async function createRuntime(config: SyncConfig, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const clock = overrides.clock ?? systemClock;
  const credential = createCredential(config.credential);
  const { storage } = config;
  const storageCredential = storage.connectionString ? undefined : createCredential({ ...config.credential, extraCaPem: [] });
  const blobStore =
    overrides.store ??
    createAzureBlobStore(
      storage.connectionString ? { connectionString: storage.connectionString } : { serviceUri: storage.blobServiceUri!, credential: storageCredential! },
      storage.container,
    );
  const ledger =
    overrides.ledger ??
    createTableLedger(
      storage.connectionString ? { connectionString: storage.connectionString } : { endpoint: storage.tableServiceUri!, credential: storageCredential! },
      storage.ledgerTable,
    );
  if (!overrides.store) await (blobStore as BlobStore & { ensureContainer(): Promise<void> }).ensureContainer();
  if (!overrides.ledger) await (ledger as Ledger & { ensureTable(): Promise<void> }).ensureTable();
  const graphClient = overrides.graph
    ? undefined
    : new GraphReviewClient({ baseUrl: config.graph.baseUrl, shape: config.graph.shape, credential, extraCaPem: config.graph.extraCaPem, clock });
  const graph = overrides.graph ?? graphClient!;
  const host = hostname();
  const running = new Set<Promise<void>>();
  return {
    config,
    store: blobStore,
    ledger,
    graph,
    clock,
    deps(logger, owner = `${host}:${process.pid}`, signal) {
      return {
        store: blobStore,
        ledger,
        graph,
        clock,
        logger,
        routes: config.routes,
        owner,
        deadlineWarningMinutes: config.deadlineWarningMinutes,
        signal,
      };
    },
    background(work) {
      const task = work().catch(() => undefined);
      running.add(task);
      void task.finally(() => running.delete(task));
    },
    async idle() {
      while (running.size > 0) await Promise.all([...running]);
    },
    async close() {
      while (running.size > 0) await Promise.all([...running]);
      graphClient?.close();
    },
  };
}

let current: Promise<Runtime> | undefined;

/** The process-wide runtime the function handlers use, built on first use from the app settings. */
export function getRuntime(): Promise<Runtime> {
  current ??= createRuntime(loadConfigFromEnvironment()).catch((error: unknown) => {
    current = undefined;
    throw error;
  });
  return current;
}

/** Replaces the process-wide runtime (the local host and tests build theirs on Azurite and the emulator). */
export function setRuntime(runtime: Runtime | undefined): void {
  current = runtime ? Promise.resolve(runtime) : undefined;
}
