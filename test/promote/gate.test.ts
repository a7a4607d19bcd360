import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reconcile } from "../../registry/reconcile.js";
import { loadStackFile } from "../../config/load.js";
import type { StackConfig } from "../../config/types.js";
import { readinessGate, verificationGate } from "../../promote/gate.js";
import { recordVerification } from "../../registry/verifications.js";
import { diffStacks } from "../../promote/diff.js";
import { affectedModels, promote, PromoteError } from "../../promote/promote.js";
import { readStackValues } from "../../config/load.js";
import { useRegistryDatabase } from "../registry/support.js";
import { useTempDirs } from "../helpers/temp-dir.js";
import { promoteCli } from "./support.js";

const tempDir = useTempDirs();

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "promote");
const OTHER_DIGEST = `sha256:${"e".repeat(64)}`;

describe("readinessGate against a real registry", () => {
  const ctx = useRegistryDatabase();
  const staging = (): StackConfig => loadStackFile(join(FIXTURES, "Pulumi.staging.yaml"));
  const register = async (client: Parameters<typeof reconcile>[0], config: StackConfig, digests: Partial<Record<string, string>> = {}) =>
    reconcile(
      client,
      config.models.map((m) => ({
        modelName: m.name,
        engine: m.engine,
        servedModelName: m.servedModelName,
        imageDigest: digests[m.name] ?? config.images[m.engine].digest ?? null,
        endpoint: m.endpoint,
        namespace: config.namespace,
      })),
      config.environment,
    );

  it("passes ready, fresh models on the pinned digest", async () => {
    const { client } = await ctx.migratedDb();
    const config = staging();
    await register(client, config);
    expect(await readinessGate(client, config, ["qwen3-8b", "qwen3-small-gguf"], 90)).toEqual([]);
  });

  it.each([
    ["not registered", "DELETE FROM model_registry_entries WHERE model_name = 'qwen3-8b'", "not in the registry for staging"],
    ["degraded", "UPDATE model_registry_entries SET deployment_status = 'degraded' WHERE model_name = 'qwen3-8b'", "degraded in staging, not ready"],
    ["disabled by an operator", "UPDATE model_registry_entries SET deployment_status = 'disabled', disabled_by = 'operator' WHERE model_name = 'qwen3-8b'", "disabled in staging, not ready"],
    ["never health-checked", "UPDATE model_registry_entries SET last_health_check_at = NULL WHERE model_name = 'qwen3-8b'", "never health-checked in staging"],
    ["stale", "UPDATE model_registry_entries SET last_health_check_at = now() - interval '91 seconds' WHERE model_name = 'qwen3-8b'", "last health check in staging is older than 90s"],
    ["on another digest", `UPDATE model_registry_entries SET image_digest = '${OTHER_DIGEST}' WHERE model_name = 'qwen3-8b'`, `staging runs ${OTHER_DIGEST}, the stack pins sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c`],
  ])("refuses a model %s", async (_, sql, reason) => {
    const { client } = await ctx.migratedDb();
    const config = staging();
    await register(client, config);
    await client.query(sql);
    expect(await readinessGate(client, config, ["qwen3-small-gguf", "qwen3-8b"], 90)).toEqual([{ model: "qwen3-8b", reason }]);
  });

  describe("verificationGate (--require-verified)", () => {
    const passed = async (client: Parameters<typeof reconcile>[0], model = "qwen3-8b") =>
      expect(await recordVerification(client, { model, environment: "staging", outcome: "passed", latencyMs: 640.4 })).toBe(true);

    it("passes a model verified on the pinned digest within the window, and records the latency", async () => {
      const { client } = await ctx.migratedDb();
      const config = staging();
      await register(client, config);
      await passed(client);
      expect(await verificationGate(client, config, ["qwen3-8b"], 30)).toEqual([]);
      const { rows } = await client.query("SELECT last_verify_latency_ms, last_verified_digest FROM model_registry_entries WHERE model_name = 'qwen3-8b'");
      expect(rows).toEqual([{ last_verify_latency_ms: 640, last_verified_digest: config.images.vllm.digest }]);
    });

    it.each([
      ["never verified", "", "never verified in staging: run `modelfleet verify --stack staging --model qwen3-8b --record`"],
      ["whose last verification failed", "UPDATE model_registry_entries SET last_verify_outcome = 'failed' WHERE model_name = 'qwen3-8b'", "the last verification in staging failed"],
      ["verified too long ago", "UPDATE model_registry_entries SET last_verified_at = now() - interval '31 minutes' WHERE model_name = 'qwen3-8b'", "last verified in staging 31 minute(s) ago, more than 30"],
      ["verified on another digest", `UPDATE model_registry_entries SET last_verified_digest = '${OTHER_DIGEST}' WHERE model_name = 'qwen3-8b'`, `verified in staging on ${OTHER_DIGEST}, but the stack pins sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c: verify again after the rollout`],
      ["not registered", "DELETE FROM model_registry_entries WHERE model_name = 'qwen3-8b'", "not in the registry for staging"],
    ])("refuses a model %s", async (name, sql, reason) => {
      const { client } = await ctx.migratedDb();
      const config = staging();
      await register(client, config);
      if (name !== "never verified") await passed(client);
      if (sql) await client.query(sql);
      expect(await verificationGate(client, config, ["qwen3-8b", "gone-from-source"], 30)).toEqual([{ model: "qwen3-8b", reason }]);
    });

    it("records nothing for a model without an entry", async () => {
      const { client } = await ctx.migratedDb();
      expect(await recordVerification(client, { model: "absent", environment: "staging", outcome: "passed" })).toBe(false);
    });
  });

  it("judges only the models it is given", async () => {
    const { client } = await ctx.migratedDb();
    const config = staging();
    await register(client, config, { "qwen3-8b": OTHER_DIGEST });
    expect(await readinessGate(client, config, ["qwen3-small-gguf"], 90)).toEqual([]);
  });

  it("a re-pinned engine image gates the models that run it, even when their own keys are unchanged", async () => {
    const { client } = await ctx.migratedDb();
    const config = staging();
    // Staging runs the llama.cpp model on an older build than the one the stack now pins.
    await register(client, config, { "qwen3-small-gguf": OTHER_DIGEST });
    const dir = tempDir("modelfleet-gate-");
    copyFileSync(join(FIXTURES, "Pulumi.staging.yaml"), join(dir, "Pulumi.staging.yaml"));
    // Production already matches staging except for the llama.cpp pin.
    const target = readFileSync(join(FIXTURES, "Pulumi.staging.yaml"), "utf8")
      .replace("environment: staging", "environment: production")
      .replace("namespace: llm-staging", "namespace: llm-prod")
      .replace("https://chat.staging.example.com", "https://chat.example.com")
      .replace("server-cuda-b11206@sha256:3e7673cce183a55f97a1bc3c80817f3c61452483c13bc088a6766388af4775fe", `server-cuda-b11206@${OTHER_DIGEST}`)
      .replace("replicas: 1", "replicas: 2");
    writeFileSync(join(dir, "Pulumi.production.yaml"), target);
    const seen: string[][] = [];
    const error = await promote({
      from: "staging",
      to: "production",
      dir,
      write: true,
      gate: async (source, models) => {
        seen.push([...models]);
        return (await readinessGate(client, source, models, source.registry.staleAfterSeconds)).map((f) => `${f.model}: ${f.reason}`);
      },
    }).catch((e: unknown) => e);
    expect(seen).toEqual([["qwen3-small-gguf"]]);
    expect(error).toBeInstanceOf(PromoteError);
    expect((error as PromoteError).message).toContain(`qwen3-small-gguf: staging runs ${OTHER_DIGEST}, the stack pins sha256:3e7673cce183a55f97a1bc3c80817f3c61452483c13bc088a6766388af4775fe`);
    expect(readFileSync(join(dir, "Pulumi.production.yaml"), "utf8")).toBe(target);
  });
});

/** Production as staging would make it, except for the image pins `edit` changes: an image-only promotion. */
function imageOnlyWorkspace(edit: (text: string) => string): { dir: string; before: string; now: () => string } {
  const dir = tempDir("modelfleet-gate-");
  copyFileSync(join(FIXTURES, "Pulumi.staging.yaml"), join(dir, "Pulumi.staging.yaml"));
  const before = edit(
    readFileSync(join(FIXTURES, "Pulumi.staging.yaml"), "utf8")
      .replace("environment: staging", "environment: production")
      .replace("namespace: llm-staging", "namespace: llm-prod")
      .replace("https://chat.staging.example.com", "https://chat.example.com")
      .replace("replicas: 1", "replicas: 2"),
  );
  writeFileSync(join(dir, "Pulumi.production.yaml"), before);
  return { dir, before, now: () => readFileSync(join(dir, "Pulumi.production.yaml"), "utf8") };
}

const cli = promoteCli;

const OLD_VLLM = `vllm/vllm-openai:v0.10.2@sha256:${"6".repeat(64)}`;
const STAGING_VLLM = "vllm/vllm-openai:v0.11.0@sha256:014a95f21c9edf6abe0aea6b07353f96baa4ec291c427bb1176dc7c93a85845c";

describe("--require-ready on an image-only promotion (models pick their image by engine)", () => {
  const ctx = useRegistryDatabase();

  it("an empty staging registry refuses the new vLLM pin, naming the vLLM model that would run it; nothing written", async () => {
    const { db } = await ctx.migratedDb();
    const ws = imageOnlyWorkspace((t) => t.replace(STAGING_VLLM, OLD_VLLM));
    const out = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--write", "--require-ready"], { MODELFLEET_DB_URL: db.url });
    expect(out.code).toBe(1);
    expect(out.stderr).toBe("error: not proven in staging, so nothing was written:\n  - qwen3-8b: not in the registry for staging\n");
    expect(ws.now()).toBe(ws.before);
  });

  it("a target with no images map at all: every model is gated, each named with its reason", async () => {
    const { db, client } = await ctx.migratedDb();
    const ws = imageOnlyWorkspace((t) => t.replace(/  modelfleet:images:\n(    .*\n)+/, ""));
    const staging = loadStackFile(join(FIXTURES, "Pulumi.staging.yaml"));
    // The vLLM model is proven; the llama.cpp one runs an older build in staging.
    await reconcile(
      client,
      staging.models.map((m) => ({ modelName: m.name, engine: m.engine, servedModelName: m.servedModelName, imageDigest: m.engine === "vllm" ? staging.images.vllm.digest! : OTHER_DIGEST, endpoint: m.endpoint, namespace: staging.namespace })),
      "staging",
    );
    const values = (dir: string, file: string) => readStackValues(readFileSync(join(dir, file), "utf8"), file);
    const changes = diffStacks(values(ws.dir, "Pulumi.staging.yaml"), values(ws.dir, "Pulumi.production.yaml"));
    expect(changes.map((c) => (c.kind === "set" ? c.key : c.kind))).toEqual(["images"]);
    expect(affectedModels(changes, staging)).toEqual(["qwen3-8b", "qwen3-small-gguf"]);
    const out = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--write", "--require-ready"], { MODELFLEET_DB_URL: db.url });
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(`error: not proven in staging, so nothing was written:\n  - qwen3-small-gguf: staging runs ${OTHER_DIGEST}, the stack pins ${staging.images.llamacpp.digest}\n`);
    expect(ws.now()).toBe(ws.before);
  });

  it("passes, and writes, when every model on the re-pinned engine is ready on that digest", async () => {
    const { db, client } = await ctx.migratedDb();
    const ws = imageOnlyWorkspace((t) => t.replace(STAGING_VLLM, OLD_VLLM));
    const staging = loadStackFile(join(FIXTURES, "Pulumi.staging.yaml"));
    const vllm = staging.models.filter((m) => m.engine === "vllm");
    await reconcile(client, vllm.map((m) => ({ modelName: m.name, engine: m.engine, servedModelName: m.servedModelName, imageDigest: staging.images.vllm.digest!, endpoint: m.endpoint, namespace: staging.namespace })), "staging");
    const out = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--write", "--require-ready"], { MODELFLEET_DB_URL: db.url });
    expect(out.code, out.stderr).toBe(0);
    expect(ws.now()).toBe(ws.before.replace(OLD_VLLM, STAGING_VLLM));
  });
});

describe("--require-verified on an image-only promotion", () => {
  const ctx = useRegistryDatabase();

  it("refuses a model verified on no run, passes once `verify --record` passed on the digest, and checks its flag", async () => {
    const { db, client } = await ctx.migratedDb();
    const ws = imageOnlyWorkspace((t) => t.replace(STAGING_VLLM, OLD_VLLM));
    const staging = loadStackFile(join(FIXTURES, "Pulumi.staging.yaml"));
    const vllm = staging.models.filter((m) => m.engine === "vllm");
    await reconcile(client, vllm.map((m) => ({ modelName: m.name, engine: m.engine, servedModelName: m.servedModelName, imageDigest: staging.images.vllm.digest!, endpoint: m.endpoint, namespace: staging.namespace })), "staging");
    const args = ["--from", "staging", "--to", "production", "--dir", ws.dir, "--write", "--require-verified", "60"];

    const refused = await cli(args, { MODELFLEET_DB_URL: db.url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("error: not proven in staging, so nothing was written:\n  - qwen3-8b: never verified in staging: run `modelfleet verify --stack staging --model qwen3-8b --record`\n");
    expect(ws.now()).toBe(ws.before);

    for (const m of vllm) await recordVerification(client, { model: m.name, environment: "staging", outcome: "passed", latencyMs: 900 });
    const passed = await cli(args, { MODELFLEET_DB_URL: db.url });
    expect(passed.code, passed.stderr).toBe(0);
    expect(ws.now()).toBe(ws.before.replace(OLD_VLLM, STAGING_VLLM));

    const bad = await cli(["--from", "staging", "--to", "production", "--dir", ws.dir, "--require-verified", "1.5"], { MODELFLEET_DB_URL: db.url });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--require-verified "1.5": a whole number of minutes from 1 to 10080');
  });
});
