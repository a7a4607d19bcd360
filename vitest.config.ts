import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["node_modules/**", "build/**", "dist/**"],
    // Installs (as root) or names the Debian packages the integration suites need, and compiles build/ when the
    // sources are newer (tests run the CLI and the Pulumi program as compiled JavaScript), before any test runs.
    globalSetup: ["test/setup/system-deps.ts", "test/setup/build.ts"],
    // Integration suites start real servers (PostgreSQL, an OCI registry); give them room on a 2-core CI machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
