/** `runVerify`: the verify command's choice of models, endpoint, key and output, against stand-in engines. */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { API_KEY_ENV, runVerify, VERIFY_EXIT, type VerifyRunOptions } from "../../ops/verify-run.js";
import { reconcile } from "../../registry/reconcile.js";
import { closeStandIns, KEY, standIn } from "../helpers/engine-stand-in.js";
import { desired, useRegistryDatabase } from "../registry/support.js";

afterEach(closeStandIns);
const ROOT = join(import.meta.dirname, "..", "..");

async function run(options: VerifyRunOptions, env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runVerify(options, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env, cwd: ROOT });
  return { code, stdout: out.join(""), stderr: err.join("") };
}

describe("runVerify", () => {
  it("verifies one model of the development stack through --endpoint-override and prints a table", async () => {
    const engine = await standIn({ models: ["qwen3-small"] });
    const result = await run({ stack: "development", model: "qwen3-small", endpointOverride: engine.url });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(VERIFY_EXIT.ok);
    expect(result.stdout).toMatch(/^PASS {2}qwen3-small {2}http:\/\/127\.0\.0\.1:\d+\n/);
    expect(result.stdout).toContain("completion");
    expect(result.stdout).toContain("(budget 3 s)");
    expect(result.stdout.trimEnd().split("\n").at(-1)).toBe("1 model(s) verified");
  });

  it("exits 1 with JSON naming the failed check when the engine serves another model", async () => {
    const engine = await standIn({ models: ["something-else"] });
    const result = await run({ stack: "development", model: "qwen3-small", endpointOverride: engine.url, json: true });
    expect(result.code).toBe(VERIFY_EXIT.failed);
    const parsed = JSON.parse(result.stdout) as { stack: string; results: Array<{ ok: boolean; checks: Array<{ check: string; ok: boolean }> }> };
    expect(parsed.stack).toBe("development");
    expect(parsed.results[0]!.ok).toBe(false);
    expect(parsed.results[0]!.checks.map((c) => [c.check, c.ok])).toEqual([["health", true], ["models", false]]);
  });

  it("sends the key from MODELFLEET_API_KEY to a guarded staging engine and never prints it", async () => {
    const engine = await standIn({ models: ["qwen3-8b"], requireKey: true });
    const result = await run({ stack: "staging", model: "qwen3-8b", endpointOverride: engine.url }, { [API_KEY_ENV]: KEY });
    expect(result.code).toBe(VERIFY_EXIT.ok);
    expect(result.stdout + result.stderr).not.toContain(KEY);
  });

  it.each<[string, VerifyRunOptions, NodeJS.ProcessEnv, string]>([
    ["a stack whose engines need a key, without one", { stack: "staging", model: "qwen3-8b", endpointOverride: "http://127.0.0.1:9" }, {}, `set ${API_KEY_ENV}`],
    ["--endpoint-override without --model", { stack: "development", endpointOverride: "http://127.0.0.1:9" }, {}, "--endpoint-override needs --model"],
    ["an endpoint with credentials in it", { stack: "development", model: "qwen3-small", endpointOverride: "http://user:pw@127.0.0.1:9" }, {}, "without credentials"],
    ["an unknown model", { stack: "development", model: "nope" }, {}, 'no model "nope" in Pulumi.development.yaml; its models are qwen3-small, qwen25-gguf'],
    ["a stack name that is not a DNS label", { stack: "../etc" }, {}, "--stack:"],
  ])("exits 2 before any request for %s", async (_name, options, env, message) => {
    const result = await run(options, env);
    expect(result.code).toBe(VERIFY_EXIT.usage);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain("pw@");
  });

  describe("--record", () => {
    const ctx = useRegistryDatabase();

    it("records each model's outcome and latency on its registry entry; a model without an entry fails the run", async () => {
      const { db, client } = await ctx.migratedDb();
      await reconcile(client, [desired("qwen3-small", "development")], "development");
      const engine = await standIn({ models: ["qwen3-small"] });
      const result = await run({ stack: "development", model: "qwen3-small", endpointOverride: engine.url, record: true }, { MODELFLEET_DB_URL: db.url });
      expect(result.code, result.stderr).toBe(VERIFY_EXIT.ok);
      expect(result.stderr).toBe("recorded 1 result(s) in the registry (development)\n");
      const { rows } = await client.query("SELECT last_verify_outcome, last_verify_latency_ms >= 0 AS timed, last_verified_at > now() - interval '1 minute' AS fresh FROM model_registry_entries");
      expect(rows).toEqual([{ last_verify_outcome: "passed", timed: true, fresh: true }]);

      const other = await standIn({ models: ["qwen25-gguf"] });
      const missing = await run({ stack: "development", model: "qwen25-gguf", endpointOverride: other.url, record: true }, { MODELFLEET_DB_URL: db.url });
      expect(missing.code).toBe(VERIFY_EXIT.failed);
      expect(missing.stderr).toContain("not recorded: qwen25-gguf has no registry entry in development");
    });

    it("exits 2 before any request when there is no database URL, and never prints the URL's password", async () => {
      const noUrl = await run({ stack: "development", model: "qwen3-small", endpointOverride: "http://127.0.0.1:9", record: true });
      expect(noUrl.code).toBe(VERIFY_EXIT.usage);
      expect(noUrl.stderr).toContain("--record: no database URL");
      const engine = await standIn({ models: ["qwen3-small"] });
      const badUrl = ctx.server().url("postgres", "wrong-password-Zr9");
      await expect(run({ stack: "development", model: "qwen3-small", endpointOverride: engine.url, record: true, dbUrl: badUrl })).rejects.toThrow(/cannot connect to PostgreSQL/);
      await run({ stack: "development", model: "qwen3-small", endpointOverride: engine.url, record: true, dbUrl: badUrl }).catch((error: Error) => expect(error.message).not.toContain("wrong-password-Zr9"));
    });
  });
});
