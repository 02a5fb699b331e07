/**
 * The implementations the storage contract suites run against: the in-memory fakes and the real adapters on the
 * in-process Azurite of the global setup. Each test gets a fresh container or table, so tests never see each
 * other's data and can run in any order.
 */
import { randomUUID } from 'node:crypto';
import { expect, inject } from 'vitest';
import { createAzureBlobStore, type AzureBlobStoreOptions } from '../../src/adapters/azureBlobStore';
import { createTableLedger } from '../../src/adapters/tableLedger';
import type { BlobStore } from '../../src/core/blobStore';
import { isSyncError } from '../../src/core/errors';
import type { Ledger } from '../../src/core/ledger';
import { FakeBlobStore } from '../support/fakeBlobStore';
import { FakeLedger } from '../support/fakeLedger';

/** Tuning both blob implementations understand, so that range and block boundaries are crossed with small bodies. */
export type BlobStoreTuning = Pick<AzureBlobStoreOptions, 'readRangeBytes' | 'blockBytes' | 'uploadConcurrency'>;

export interface BlobStoreImplementation {
  name: string;
  make(tuning?: BlobStoreTuning): Promise<BlobStore>;
}

export interface LedgerImplementation {
  name: string;
  make(): Promise<Ledger>;
}

export const blobStores: BlobStoreImplementation[] = [
  { name: 'FakeBlobStore', make: async (tuning = {}) => new FakeBlobStore({ readRangeBytes: tuning.readRangeBytes, chunkBytes: 16 * 1024 }) },
  {
    name: 'AzureBlobStore on Azurite',
    make: async (tuning = {}) => {
      const store = createAzureBlobStore({ connectionString: inject('azuriteConnectionString') }, `t-${randomUUID()}`, tuning);
      await store.ensureContainer();
      return store;
    },
  },
];

export const ledgers: LedgerImplementation[] = [
  { name: 'FakeLedger', make: async () => new FakeLedger() },
  {
    name: 'TableLedger on Azurite',
    make: async () => {
      const ledger = createTableLedger({ connectionString: inject('azuriteConnectionString') }, `t${randomUUID().replace(/-/g, '')}`);
      await ledger.ensureTable();
      return ledger;
    },
  },
];

/** Asserts that a promise rejects with a SyncError of this code (and disposition, when given); returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string, disposition?: string): Promise<unknown> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a rejection with ${code}`).toBeDefined();
  expect(isSyncError(error) ? { code: error.code, ...(disposition ? { disposition: error.disposition } : {}) } : error).toEqual({ code, ...(disposition ? { disposition } : {}) });
  return error;
}
