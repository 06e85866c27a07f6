import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The suite-wide leak check: capture all log output and every secret, scan after the run.
    // Also: the deployable bundles, built once per run for the bundle, package and yml tests.
    globalSetup: ["test/support/leak-check.ts", "test/support/build-once.ts"],
    setupFiles: ["test/support/capture-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
