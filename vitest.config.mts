import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/azurite.globalSetup.mts'],
    // Integration tests run real servers on loopback; generous ceilings catch hangs, they are not performance claims.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
