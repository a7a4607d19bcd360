/**
 * Values the help texts quote, copied here so that `--help` loads no implementation module (the database driver,
 * the crypto and bundle code, the policy engine). test/cli/constants.test.ts fails when one drifts from its source.
 */

/** registry/connection.ts DB_URL_ENV. */
export const DB_URL_ENV = "MODELFLEET_DB_URL";

/** synth/write.ts OWNERSHIP_MARKER. */
export const OWNERSHIP_MARKER = ".modelfleet-synth.json";

/** bundle/sign.ts PRIVATE_SUFFIX and PUBLIC_SUFFIX. */
export const PRIVATE_SUFFIX = ".private.pem";
export const PUBLIC_SUFFIX = ".public.pem";

/** policies/check.ts CHECK_LIMITS, the part the help text quotes. */
export const CHECK_HELP_LIMITS = {
  fileMaxBytes: 16 * 1024 * 1024,
  totalMaxBytes: 64 * 1024 * 1024,
  maxFiles: 10_000,
  maxDocumentsPerFile: 10_000,
} as const;

/** ops/verify-run.ts API_KEY_ENV. */
export const API_KEY_ENV = "MODELFLEET_API_KEY";

/** ops/status-run.ts DEFAULT_STATUS_PROBE_TIMEOUT_MS. */
export const STATUS_PROBE_TIMEOUT_MS = 5_000;

/** config/resolve.ts DEFAULT_LATENCY_BUDGET_SECONDS. */
export const LATENCY_BUDGET_SECONDS = 3;
