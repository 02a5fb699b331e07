import type { TestProject } from 'vitest/node';
import { startAzurite } from '../../src/local/azurite.js';

/** One in-memory Azurite for the whole run, on ephemeral loopback ports; tests use their own containers. */
export default async function setup(project: TestProject) {
  const azurite = await startAzurite();
  project.provide('azuriteConnectionString', azurite.connectionString);
  return async () => {
    await azurite.close();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    azuriteConnectionString: string;
  }
}
