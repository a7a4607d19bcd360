// cli/definitions/constants.ts copies values the help texts quote, so `--help` loads none of their modules; each copy
// must equal its source.
import { describe, expect, it } from "vitest";
import { PRIVATE_SUFFIX, PUBLIC_SUFFIX } from "../../bundle/sign.js";
import * as copies from "../../cli/definitions/constants.js";
import { CHECK_LIMITS } from "../../policies/check.js";
import { DB_URL_ENV } from "../../registry/connection.js";
import { OWNERSHIP_MARKER } from "../../synth/write.js";
import { DEFAULT_LATENCY_BUDGET_SECONDS } from "../../config/resolve.js";
import { DEFAULT_STATUS_PROBE_TIMEOUT_MS } from "../../ops/status-run.js";
import { API_KEY_ENV } from "../../ops/verify-run.js";

describe("help constants", () => {
  it("equal the values the commands use", () => {
    expect(copies.DB_URL_ENV).toBe(DB_URL_ENV);
    expect(copies.OWNERSHIP_MARKER).toBe(OWNERSHIP_MARKER);
    expect(copies.PRIVATE_SUFFIX).toBe(PRIVATE_SUFFIX);
    expect(copies.PUBLIC_SUFFIX).toBe(PUBLIC_SUFFIX);
    expect(copies.API_KEY_ENV).toBe(API_KEY_ENV);
    expect(copies.STATUS_PROBE_TIMEOUT_MS).toBe(DEFAULT_STATUS_PROBE_TIMEOUT_MS);
    expect(copies.LATENCY_BUDGET_SECONDS).toBe(DEFAULT_LATENCY_BUDGET_SECONDS);
    expect(copies.CHECK_HELP_LIMITS).toEqual({
      fileMaxBytes: CHECK_LIMITS.fileMaxBytes,
      totalMaxBytes: CHECK_LIMITS.totalMaxBytes,
      maxFiles: CHECK_LIMITS.maxFiles,
      maxDocumentsPerFile: CHECK_LIMITS.maxDocumentsPerFile,
    });
  });
});
