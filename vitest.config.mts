import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/azurite.globalSetup.mts'],
    // Integration tests run real servers on loopback; generous ceilings catch hangs, they are not performance claims.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Outside the Functions host, @azure/functions prints a "test mode" warning per module and registration; tests
    // call the handlers directly on purpose, so those lines only bury real output.
    onConsoleLog(log) {
      if (/package to test mode|because the "@azure\/functions" package is in test mode/.test(log)) return false;
    },
  },
});
