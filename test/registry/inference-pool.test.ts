/**
 * The registry records the InferencePool that serves each entry (migration 0004, issue #15): written by the deploy's
 * reconcile (pg and the in-cluster psql script alike) and by manual registration, returned by route() and by the
 * router cache, which is told when it changes. Against a real PostgreSQL.
 */
import { afterEach, describe, expect, it } from "vitest";
import { desiredEntries, registrationSql } from "../../components/registry/scripts.js";
import { parseStackConfig } from "../../config/load.js";
import { listEntries, registerModel } from "../../registry/entries.js";
import { RegistryError } from "../../registry/errors.js";
import { reconcile, reconcileSql } from "../../registry/reconcile.js";
import { ROUTER_QUERY, route } from "../../registry/route.js";
import { RouterCache, type RouterCacheEvent } from "../../registry/router-cache.js";
import { stackValues } from "../helpers/stack-values.js";
import { desired, runPsql, useRegistryDatabase } from "./support.js";

const ctx = useRegistryDatabase();
const caches: RouterCache[] = [];
afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.stop()));
});

const pools = async (client: Parameters<typeof listEntries>[0]) =>
  Object.fromEntries((await listEntries(client)).map((e) => [`${e.environment}/${e.modelName}`, e.inferencePool]));

describe("reconcile records the pool", () => {
  it("default: no pool (null); a stack with pools records, changes and clears it, each change an update", async () => {
    // Given a registry with two models, one published as a pool
    const { client } = await ctx.migratedDb();
    let result = await reconcile(client, [desired("llama", "staging", { inferencePool: "llama-staging" }), desired("qwen", "staging")], "staging");
    expect(result.inserted).toEqual(["llama", "qwen"]);
    expect(await pools(client)).toEqual({ "staging/llama": "llama-staging", "staging/qwen": null });

    // When the same set is reconciled again: nothing is written
    result = await reconcile(client, [desired("llama", "staging", { inferencePool: "llama-staging" }), desired("qwen", "staging")], "staging");
    expect(result).toEqual({ environment: "staging", inserted: [], updated: [], disabled: [] });

    // When the stack starts publishing qwen's pool and stops publishing llama's: both are updates
    result = await reconcile(client, [desired("llama", "staging"), desired("qwen", "staging", { inferencePool: "qwen-staging" })], "staging");
    expect(result.updated).toEqual(["llama", "qwen"]);
    expect(await pools(client)).toEqual({ "staging/llama": null, "staging/qwen": "qwen-staging" });
  });

  it("the in-cluster psql script writes the same rows as the pg path", async () => {
    const viaPg = await ctx.migratedDb();
    const viaPsql = await ctx.migratedDb();
    const entries = [desired("llama", "production", { inferencePool: "llama-production" }), desired("qwen", "production")];
    await reconcile(viaPg.client, entries, "production");
    const run = await runPsql(ctx.server(), viaPsql.db, reconcileSql(entries, "production"));
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await pools(viaPsql.client)).toEqual(await pools(viaPg.client));
    expect(await pools(viaPsql.client)).toEqual({ "production/llama": "llama-production", "production/qwen": null });
  });

  it("rejects a pool that is not a Kubernetes object name before any query, naming the entry", async () => {
    const { client } = await ctx.migratedDb();
    const bad = desired("llama", "staging", { inferencePool: "Llama_Pool" });
    await expect(reconcile(client, [bad], "staging")).rejects.toThrow(
      /desired\[0\]\.inferencePool: inference pool "Llama_Pool" is not a Kubernetes object name \(lower-case letters, digits, "-" and "\.", at most 253 characters, e\.g\. qwen3-production\)/,
    );
    expect(await listEntries(client)).toEqual([]);
  });
});

describe("registration from the stack config (components/registry/scripts.ts)", () => {
  it("default: no pool; with gateway.inferencePool every model's row names its pool, through the Job's psql script", async () => {
    const plain = parseStackConfig(stackValues("staging"), "Pulumi.staging.yaml", "staging");
    expect(desiredEntries(plain.models, plain).map((e) => e.inferencePool)).toEqual([null, null]);

    // Given a stack that publishes pools
    const config = parseStackConfig(stackValues("staging", { gateway: { inferencePool: true } }), "Pulumi.staging.yaml", "staging");
    const { db, client } = await ctx.migratedDb();

    // When the registration Job's script runs
    const run = await runPsql(ctx.server(), db, registrationSql(config.models, config));

    // Then each row names the model's pool (its Service name)
    expect(run.exitCode, run.stderr).toBe(0);
    expect(await pools(client)).toEqual({ "staging/gguf": "gguf-staging", "staging/qwen3": "qwen3-staging" });
  });
});

describe("manual registration", () => {
  it("default: no pool; can configure one; re-registering without it clears it", async () => {
    const { client } = await ctx.migratedDb();
    const args = { modelName: "legacy", environment: "staging", engine: "vllm", endpoint: "10.0.0.7:8080", namespace: "legacy" };
    expect((await registerModel(client, args)).entry.inferencePool).toBeNull();
    const withPool = await registerModel(client, { ...args, inferencePool: "legacy-pool" });
    expect(withPool).toMatchObject({ changed: true, entry: { inferencePool: "legacy-pool" } });
    expect((await registerModel(client, { ...args, inferencePool: "legacy-pool" })).changed).toBe(false);
    expect((await registerModel(client, args)).entry.inferencePool).toBeNull();
  });

  it("rejects a bad pool name with the value and the rule", async () => {
    const { client } = await ctx.migratedDb();
    const error = await registerModel(client, {
      modelName: "legacy", environment: "staging", engine: "vllm", endpoint: "10.0.0.7:8080", namespace: "legacy", inferencePool: "a".repeat(254),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).kind).toBe("input");
    expect((error as RegistryError).message).toMatch(/^inference pool "a{40}"…\(254 chars\) is not a Kubernetes object name/);
  });
});

describe("routers read the pool", () => {
  it("route() and ROUTER_QUERY return it next to the endpoint; absent when none", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging", { inferencePool: "llama-staging" }), desired("qwen", "staging")], "staging");
    expect(await route(client, "llama", "staging")).toEqual({ ok: true, endpoint: desired("llama", "staging").endpoint, inferencePool: "llama-staging" });
    const qwen = await route(client, "qwen", "staging");
    expect(qwen).toEqual({ ok: true, endpoint: desired("qwen", "staging").endpoint });
    expect("inferencePool" in qwen).toBe(false);
    expect((await client.query(ROUTER_QUERY, ["llama", "staging", 30])).rows).toEqual([
      { deployment_endpoint: desired("llama", "staging").endpoint, inference_pool: "llama-staging" },
    ]);
  });

  it("the router cache returns it, and is told at once when a deploy changes it", async () => {
    // Given a cache over a registry with one pooled model
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging", { inferencePool: "llama-staging" })], "staging");
    const cache = new RouterCache({ url: db.url, environment: "staging" });
    caches.push(cache);
    await cache.start();
    expect(cache.lookup("llama")).toEqual({ ok: true, endpoint: desired("llama", "staging").endpoint, inferencePool: "llama-staging" });

    // When a deploy stops publishing the pool
    const changed = new Promise<RouterCacheEvent>((resolve) => {
      const off = cache.subscribe((event) => {
        if (event.type === "change" && event.model === "llama") {
          off();
          resolve(event);
        }
      });
    });
    await reconcile(client, [desired("llama", "staging")], "staging");

    // Then the cache reloads that model and answers without a pool
    expect(await changed).toEqual({ type: "change", model: "llama", status: "ready" });
    expect(cache.lookup("llama")).toEqual({ ok: true, endpoint: desired("llama", "staging").endpoint });
    expect("inferencePool" in cache.lookup("llama")).toBe(false);
  });
});
