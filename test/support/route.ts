import type { Route } from '../../src/core/routes';

/** A complete route for core unit tests, with the defaults loadConfig would give; override what a test is about. */
export function testRoute(overrides: Partial<Route> = {}): Route {
  return {
    source: 'BuildingAccessData',
    catalogId: '3f6d2a8e-51b4-4c1d-9a77-0c2b5e9d4a10',
    resourceId: '8b1e7c4d-2f90-4e6a-b3c5-71d0a9e2f6b4',
    schema: 'graph-v1',
    headerAliases: {},
    delimiter: 'auto',
    policy: { mode: 'strict' },
    shrinkGuardRatio: 0.5,
    maxFileBytes: 1e9,
    ...overrides,
  };
}
