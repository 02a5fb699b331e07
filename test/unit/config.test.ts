import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/core/errors';

const route = { source: 'BuildingAccessData', catalogId: '3f6d2a8e-51b4-4c1d-9a77-0c2b5e9d4a10', resourceId: '8b1e7c4d-2f90-4e6a-b3c5-71d0a9e2f6b4' };
const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', ROUTES: JSON.stringify([route]) };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, { readFile: () => { throw new Error('no file'); } });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config.graph).toEqual({ baseUrl: 'https://graph.microsoft.com', shape: 'v1.0', extraCaPem: [] });
    expect(config.storage).toEqual({ connectionString: 'UseDevelopmentStorage=true', container: 'access-data', ledgerTable: 'accessreviewsync' });
    expect(config.sweepSchedule).toBe('0 */5 * * * *');
    expect(config.routes).toEqual([
      { ...route, schema: 'graph-v1', headerAliases: {}, delimiter: 'auto', policy: { mode: 'strict' }, shrinkGuardRatio: 0.5, maxFileBytes: 2 * 1024 ** 3 },
    ]);
  });

  it('picks the legacy schema by default for the original beta shape', () => {
    expect(loadConfig({ ...base, GRAPH_API_SHAPE: 'beta-2025' }).routes[0]!.schema).toBe('legacy-2025');
  });

  it('reports every problem at once', () => {
    const found = problems({
      GRAPH_API_SHAPE: 'v2',
      GRAPH_BASE_URL: 'http://graph.example.com/v1.0',
      ACCESS_DATA_CONTAINER: 'Bad_Name',
      SWEEP_SCHEDULE: '*/5 * * * *',
      AZURE_CLIENT_SECRET: 'x',
      ROUTES: JSON.stringify([{ source: 'a/b', catalogId: 'nope', resourceId: route.resourceId, policy: { mode: 'lenient' } }, route, route]),
    });
    expect(found).toEqual([
      'ACCESS_DATA_CONTAINER must be a valid container name (3-63 lowercase letters, digits and single hyphens)',
      'No storage: set AzureWebJobsStorage, ACCESS_DATA_STORAGE or ACCESS_DATA_STORAGE__serviceUri',
      'GRAPH_API_SHAPE must be one of v1.0, beta, beta-2025 (got "v2")',
      'GRAPH_BASE_URL must use https',
      'GRAPH_BASE_URL is an origin without a version, e.g. https://graph.microsoft.com',
      'AZURE_CLIENT_SECRET needs AZURE_TENANT_ID and AZURE_CLIENT_ID',
      "ROUTES[0].source must be a folder name (1-200 characters, no '/', '\\' or control characters)",
      'ROUTES[0].catalogId must be a GUID',
      'ROUTES[0].policy.mode must be "strict" or "tolerant"',
      'Two routes have the source "BuildingAccessData"; each source needs exactly one route',
      'SWEEP_SCHEDULE must be an NCRONTAB expression with 6 fields (seconds first), e.g. "0 */5 * * * *"',
    ]);
  });

  it('refuses a header alias onto a column the route schema does not have', () => {
    const routes = JSON.stringify([{ ...route, schema: 'legacy-2025', headerAliases: { 'Employee Object ID': 'principalId', Owners: 'resourceowners' } }]);
    expect(problems({ AzureWebJobsStorage: 'x', ROUTES: routes })).toEqual([
      'ROUTES[0].headerAliases maps "Employee Object ID" to "principalId", which is not a column of the legacy-2025 schema',
    ]);
  });

  it('allows plain http only for loopback Graph test servers', () => {
    expect(loadConfig({ ...base, GRAPH_BASE_URL: 'http://127.0.0.1:8443' }).graph.baseUrl).toBe('http://127.0.0.1:8443');
  });

  it('accepts identity-based storage and derives the table endpoint', () => {
    const config = loadConfig({ ROUTES: base.ROUTES, ACCESS_DATA_STORAGE__serviceUri: 'https://acct.blob.core.windows.net' });
    expect(config.storage).toMatchObject({ blobServiceUri: 'https://acct.blob.core.windows.net', tableServiceUri: 'https://acct.table.core.windows.net' });
  });

  it('says so when no route is configured', () => {
    expect(problems({ AzureWebJobsStorage: 'x' })).toEqual(['No routes: set ROUTES (JSON) or ROUTES_FILE to say which source feeds which catalog resource']);
  });
});
