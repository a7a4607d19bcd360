import pg from "pg";
import { describe, expect, it } from "vitest";
import { disableModel, registerModel } from "../../registry/entries.js";
import { RegistryError } from "../../registry/errors.js";
import { reconcile } from "../../registry/reconcile.js";
import { DEFAULT_STALE_AFTER_SECONDS, ROUTER_QUERY, route, type RouteResult } from "../../registry/route.js";
import { desired, useRegistryDatabase } from "./support.js";

const ctx = useRegistryDatabase();
const ENDPOINT = "llama-production.inference.svc.cluster.local:8000";

async function setRow(client: pg.ClientBase, status: string, checkedSecondsAgo: number | null): Promise<void> {
  await client.query(
    `UPDATE model_registry_entries SET deployment_status = $1,
       disabled_by = CASE WHEN $1 = 'disabled' THEN 'operator' END,
       last_health_check_at = CASE WHEN $2::int IS NULL THEN NULL ELSE now() - make_interval(secs => $2::int) END
     WHERE model_name = 'llama' AND deployment_environment = 'production'`,
    [status, checkedSecondsAgo],
  );
}

async function routerQuery(client: pg.ClientBase, model: string, env: string, staleAfter = DEFAULT_STALE_AFTER_SECONDS): Promise<string | null> {
  const { rows } = await client.query<{ deployment_endpoint: string }>(ROUTER_QUERY, [model, env, staleAfter]);
  return rows[0]?.deployment_endpoint ?? null;
}

describe("route", () => {
  it.each<[string, string, number | null, RouteResult | { ok: false; reason: string; detail: RegExp }]>([
    ["ready, checked 10 s ago", "ready", 10, { ok: true, endpoint: ENDPOINT }],
    ["ready, checked 40 s ago", "ready", 40, { ok: false, reason: "stale", detail: /last health-checked 40 s ago \(threshold 30 s\)/ }],
    ["ready, never checked", "ready", null, { ok: false, reason: "stale", detail: /never been health-checked/ }],
    ["degraded", "degraded", 5, { ok: false, reason: "degraded", detail: /failed its last health check/ }],
    ["disabled", "disabled", 5, { ok: false, reason: "disabled", detail: /disabled by an operator/ }],
    ["failed", "failed", 5, { ok: false, reason: "failed", detail: /failed to deploy/ }],
    ["pending", "pending", null, { ok: false, reason: "pending", detail: /is pending, not ready yet/ }],
  ])("%s", async (_label, status, ago, expected) => {
    // Given one entry in that state
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "production")], "production");
    await setRow(client, status, ago);

    // When routing
    const result = await route(client, "llama", "production");

    // Then the result names the endpoint or the reason, and agrees with the router's own statement
    if (expected.ok) expect(result).toEqual(expected);
    else expect(result).toMatchObject({ ok: false, reason: expected.reason, detail: expect.stringMatching(expected.detail) });
    expect(await routerQuery(client, "llama", "production")).toBe(result.ok ? ENDPOINT : null);
  });

  it("reports an unknown model, and a known model in another environment as unknown there", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "production")], "production");
    expect(await route(client, "nope", "production")).toEqual({
      ok: false, reason: "unknown", detail: 'model "nope" in production is not registered',
    });
    expect(await route(client, "llama", "staging")).toMatchObject({ ok: false, reason: "unknown" });
  });

  it("says a model removed from the stack is disabled for that reason", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "production")], "production");
    await reconcile(client, [], "production");
    expect(await route(client, "llama", "production")).toEqual({
      ok: false, reason: "disabled", detail: 'model "llama" in production is disabled: it is no longer in the stack',
    });
  });

  it("default threshold is 30 s (three health-checker rounds); can configure it", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "production")], "production");
    await setRow(client, "ready", 20);
    expect((await route(client, "llama", "production")).ok).toBe(true);
    await setRow(client, "ready", 60);
    expect(await route(client, "llama", "production")).toMatchObject({ ok: false, reason: "stale" });
    expect((await route(client, "llama", "production", { staleAfterSeconds: 90 })).ok).toBe(true);
    expect(await routerQuery(client, "llama", "production", 30)).toBeNull();
  });

  it("rejects a bad environment or threshold", async () => {
    const { client } = await ctx.migratedDb();
    await expect(route(client, "llama", "prod" as never)).rejects.toThrow('environment "prod" is not one of development, staging, production');
    await expect(route(client, "llama", "production", { staleAfterSeconds: -1 })).rejects.toThrow('staleAfterSeconds "-1" must be a whole number of seconds from 1 to 86400');
    await expect(route(client, "llama", "production", { staleAfterSeconds: 86_401 })).rejects.toThrow('staleAfterSeconds "86401" must be a whole number of seconds from 1 to 86400');
  });

  it("refuses a 100 kB model name before any query, in a short message", async () => {
    // A client that was never connected queues queries forever: reaching the database would hang, not reject.
    const unconnected = new pg.Client();
    const attempt = route(unconnected, "a".repeat(100_000), "production");
    const outcome = await Promise.race([attempt.then(() => "resolved", (error: Error) => error), new Promise((resolve) => setTimeout(() => resolve("hung"), 2_000))]);
    expect(outcome).toBeInstanceOf(RegistryError);
    expect((outcome as RegistryError).kind).toBe("input");
    expect((outcome as RegistryError).message).toBe(`model name "${"a".repeat(40)}"…(100000 chars) is not a DNS label (lower-case letters, digits and "-", at most 63 characters)`);
  });

  it("stops routing at once when an operator disables the model", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "production")], "production");
    expect((await route(client, "llama", "production")).ok).toBe(true);
    await disableModel(client, "llama", "production");
    expect(await route(client, "llama", "production")).toMatchObject({ ok: false, reason: "disabled" });
  });

  it("does not route a freshly registered manual model before its first health check", async () => {
    const { client } = await ctx.migratedDb();
    await registerModel(client, { modelName: "m", environment: "staging", engine: "vllm", endpoint: "m:8000", namespace: "ns" });
    expect(await route(client, "m", "staging")).toMatchObject({ ok: false, reason: "stale" });
  });
});
