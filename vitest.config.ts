import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "apps/*/src/**/*.test.ts",
      "packages/*/src/**/*.test.ts",
      "examples/*/src/**/*.test.ts",
      "scripts/**/*.test.ts",
      "monitoring/**/*.test.ts",
    ],
    // One Redis for the whole run (REDIS_URL, else a container, else redis-server on a free port);
    // each test file isolates itself with its own queue prefix.
    globalSetup: ["packages/testing/src/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: the apps under test, Redis and the runner share them.
    maxWorkers: 2,
  },
});
