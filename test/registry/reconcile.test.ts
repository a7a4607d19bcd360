import { describe, expect, it } from "vitest";
import { RegistryError } from "../../registry/errors.js";
import { disableModel } from "../../registry/entries.js";
import { reconcile, reconcileSql, reconcileStatements } from "../../registry/reconcile.js";
import { registerModel } from "../../registry/entries.js";
import type { DesiredEntry } from "../../registry/types.js";
import { DIGEST_A, DIGEST_B, desired, runPsql, snapshotEntries, useRegistryDatabase } from "./support.js";

const ctx = useRegistryDatabase();

function row(model: string, environment: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    deployment_environment: environment,
    model_name: model,
    engine: "vllm",
    served_model_name: `org/${model}`,
    image_digest: DIGEST_A,
    deployment_endpoint: `${model}-${environment}.inference.svc.cluster.local:8000`,
    deployment_namespace: "inference",
    deployment_status: "ready",
    managed_by: "stack",
    disabled_by: null,
    ...overrides,
  };
}

describe("reconcile (pg)", () => {
  it("adds desired models as ready, stack-managed, health-stamped", async () => {
    const { client } = await ctx.migratedDb();
    const result = await reconcile(client, [desired("mistral", "staging"), desired("llama", "staging")], "staging");
    expect(result).toEqual({ environment: "staging", inserted: ["llama", "mistral"], updated: [], disabled: [] });
    expect(await snapshotEntries(client)).toEqual([row("llama", "staging"), row("mistral", "staging")]);
    const { rows } = await client.query("SELECT count(*)::int AS n FROM routable_models WHERE last_health_check_at > now() - interval '5 s'");
    expect(rows[0].n).toBe(2);
  });

  it("updates a changed digest and endpoint, leaving unchanged entries unwritten", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging"), desired("qwen", "staging")], "staging");
    const before = (await client.query("SELECT model_name, updated_at FROM model_registry_entries ORDER BY model_name")).rows;

    const result = await reconcile(
      client,
      [desired("llama", "staging", { imageDigest: DIGEST_B, endpoint: "llama-v2.inference.svc.cluster.local:8000" }), desired("qwen", "staging")],
      "staging",
    );

    expect(result).toEqual({ environment: "staging", inserted: [], updated: ["llama"], disabled: [] });
    expect(await snapshotEntries(client)).toEqual([
      row("llama", "staging", { image_digest: DIGEST_B, deployment_endpoint: "llama-v2.inference.svc.cluster.local:8000" }),
      row("qwen", "staging"),
    ]);
    const after = (await client.query("SELECT model_name, updated_at FROM model_registry_entries ORDER BY model_name")).rows;
    expect(after[1].updated_at).toEqual(before[1].updated_at);
  });

  it("disables a model removed from the stack, never deleting it, and re-enables it when it comes back", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "production"), desired("qwen", "production")], "production");

    const removed = await reconcile(client, [desired("llama", "production")], "production");
    expect(removed.disabled).toEqual(["qwen"]);
    expect(await snapshotEntries(client)).toEqual([
      row("llama", "production"),
      row("qwen", "production", { deployment_status: "disabled", disabled_by: "reconcile" }),
    ]);

    const back = await reconcile(client, [desired("llama", "production"), desired("qwen", "production")], "production");
    expect(back).toEqual({ environment: "production", inserted: [], updated: ["qwen"], disabled: [] });
    expect(await snapshotEntries(client)).toEqual([row("llama", "production"), row("qwen", "production")]);
  });

  it("leaves other environments and manual entries untouched", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging")], "staging");
    await reconcile(client, [desired("llama", "production"), desired("qwen", "production")], "production");
    await registerModel(client, {
      modelName: "legacy", environment: "production", engine: "llamacpp", endpoint: "10.0.0.7:8080", namespace: "legacy",
    });

    const result = await reconcile(client, [], "production");

    expect(result.disabled).toEqual(["llama", "qwen"]);
    const rows = await snapshotEntries(client);
    expect(rows.find((r) => r.model_name === "legacy")).toMatchObject({ deployment_status: "ready", managed_by: "manual" });
    expect(rows.find((r) => r.deployment_environment === "staging")).toEqual(row("llama", "staging"));
  });

  it("is idempotent: a second run changes nothing", async () => {
    const { client } = await ctx.migratedDb();
    const set = [desired("llama", "development", { imageDigest: null }), desired("qwen", "development", { engine: "llamacpp" })];
    await reconcile(client, set, "development");
    await reconcile(client, [], "staging");
    const state = (await client.query("SELECT * FROM model_registry_entries ORDER BY id")).rows;

    const again = await reconcile(client, [...set].reverse(), "development");

    expect(again).toEqual({ environment: "development", inserted: [], updated: [], disabled: [] });
    expect((await client.query("SELECT * FROM model_registry_entries ORDER BY id")).rows).toEqual(state);
  });

  it("keeps an operator's disable across deploys while updating the entry's facts", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging")], "staging");
    await disableModel(client, "llama", "staging");

    await reconcile(client, [desired("llama", "staging", { imageDigest: DIGEST_B })], "staging");

    expect(await snapshotEntries(client)).toEqual([
      row("llama", "staging", { image_digest: DIGEST_B, deployment_status: "disabled", disabled_by: "operator" }),
    ]);
  });

  it.each<[string, DesiredEntry[], RegExp]>([
    ["a bad engine", [{ ...desired("a", "staging"), engine: "tgi" as never }], /desired\[0\]\.engine: engine "tgi" is not one of vllm, llamacpp/],
    ["a tag instead of a digest", [desired("a", "staging", { imageDigest: "v0.8.5" })], /desired\[0\]\.imageDigest: image digest "v0.8.5"/],
    ["a model name that is not a DNS label", [desired("Llama_3", "staging")], /desired\[0\]\.modelName: model name "Llama_3" is not a DNS label/],
    ["a duplicate model", [desired("a", "staging"), desired("a", "staging")], /desired\[1\]\.modelName: "a" already at desired\[0\]/],
    ["an endpoint with a scheme", [desired("a", "staging", { endpoint: "http://a:8000" })], /desired\[0\]\.endpoint: endpoint "http:\/\/a:8000" is not host:port/],
  ])("rejects %s without changing any row", async (_label, entries, message) => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("keep", "staging")], "staging");
    const before = await snapshotEntries(client);
    const error = await reconcile(client, entries, "staging").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).kind).toBe("input");
    expect((error as RegistryError).message).toMatch(message);
    expect(await snapshotEntries(client)).toEqual(before);
  });

  it("rejects a bad environment without changing any row", async () => {
    const { client } = await ctx.migratedDb();
    await expect(reconcile(client, [desired("a", "prod")], "prod" as never)).rejects.toThrow(
      'environment "prod" is not one of development, staging, production',
    );
    expect(await snapshotEntries(client)).toEqual([]);
  });
});

describe("reconcile SQL script (psql, as the in-cluster Job runs it)", () => {
  const steps: Array<[string, DesiredEntry[]]> = [
    ["add", [desired("llama", "production"), desired("qwen", "production")]],
    ["change digest", [desired("llama", "production", { imageDigest: DIGEST_B }), desired("qwen", "production")]],
    ["remove", [desired("llama", "production", { imageDigest: DIGEST_B })]],
    ["re-run", [desired("llama", "production", { imageDigest: DIGEST_B })]],
    ["empty", []],
  ];

  it("gives the same rows as the pg path at every step, other environments untouched", async () => {
    const viaPg = await ctx.migratedDb();
    const viaPsql = await ctx.migratedDb();
    for (const target of [viaPg, viaPsql]) {
      await reconcile(target.client, [desired("llama", "staging")], "staging");
    }
    for (const [step, entries] of steps) {
      await reconcile(viaPg.client, entries, "production");
      const result = await runPsql(ctx.server(), viaPsql.db, reconcileSql(entries, "production"));
      expect(result.exitCode, `${step}: ${result.stderr}`).toBe(0);
      expect(await snapshotEntries(viaPsql.client), step).toEqual(await snapshotEntries(viaPg.client));
    }
    expect((await snapshotEntries(viaPsql.client)).map((r) => `${r.deployment_environment}/${r.model_name}=${r.deployment_status}`)).toEqual([
      "production/llama=disabled",
      "production/qwen=disabled",
      "staging/llama=ready",
    ]);
  });

  it("stores hostile values verbatim through both psql and pg", async () => {
    const hostile = [
      "x'); DROP TABLE model_registry_entries; --",
      "back\\slash \\' \\\\ E'x'",
      "new\nline\n\\! touch /tmp/modelfleet-pwned\n:foo :'foo' :\"foo\"",
      "dollar $$ $tag$ unicode ✓ 名前",
    ];
    const entries = hostile.map((served, i) => desired(`m${i}`, "staging", { servedModelName: served }));
    const viaPg = await ctx.migratedDb();
    const viaPsql = await ctx.migratedDb();
    await reconcile(viaPg.client, entries, "staging");
    const result = await runPsql(ctx.server(), viaPsql.db, reconcileSql(entries, "staging"));
    expect(result.exitCode, result.stderr).toBe(0);
    for (const target of [viaPg, viaPsql]) {
      const { rows } = await target.client.query("SELECT served_model_name FROM model_registry_entries ORDER BY model_name");
      expect(rows.map((r) => r.served_model_name)).toEqual(hostile);
    }
  });

  it("rolls back and exits non-zero when a statement fails (schema missing)", async () => {
    const { db, client } = await ctx.emptyDb();
    const result = await runPsql(ctx.server(), db, reconcileSql([desired("a", "staging")], "staging"));
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('relation "model_registry_entries" does not exist');
    const { rows } = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction'");
    expect(rows[0].n).toBe(0);
  });

  it("is deterministic: the same set in any order gives the same bytes", () => {
    const a = [desired("b", "staging"), desired("a", "staging")];
    expect(reconcileSql(a, "staging")).toBe(reconcileSql([...a].reverse(), "staging"));
    expect(reconcileSql(a, "staging")).toContain("SELECT pg_advisory_xact_lock(");
    expect(reconcileStatements([], "staging").upsert).toBeNull();
  });
});

describe("concurrent reconciles", () => {
  it("serialize: the final state is exactly one of the desired sets, with nothing lost elsewhere", async () => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("other", "staging")], "staging");
    const sets: DesiredEntry[][] = [
      ["a", "b", "c"],
      ["b", "c", "d"],
      ["c", "d", "e", "f"],
      ["a", "f"],
      ["g"],
      ["a", "b", "c", "d", "e", "f", "g"],
    ].map((names, i) => names.map((n) => desired(n, "production", { imageDigest: i % 2 ? DIGEST_A : DIGEST_B })));
    const clients = await Promise.all(sets.map(() => ctx.connectTo(db)));

    await Promise.all(sets.map((set, i) => reconcile(clients[i]!, set, "production")));

    const rows = await snapshotEntries(client);
    const ready = rows.filter((r) => r.deployment_environment === "production" && r.deployment_status === "ready");
    const winner = sets.findIndex(
      (set) =>
        JSON.stringify(set.map((d) => [d.modelName, d.imageDigest])) ===
        JSON.stringify(ready.map((r) => [r.model_name, r.image_digest])),
    );
    expect(winner, JSON.stringify(ready)).toBeGreaterThanOrEqual(0);
    // Every model any run wrote still exists (disabled, never deleted), and the other environment is intact.
    expect(rows.filter((r) => r.deployment_environment === "production").map((r) => r.model_name)).toEqual(
      ["a", "b", "c", "d", "e", "f", "g"],
    );
    expect(rows.filter((r) => r.deployment_environment === "production" && r.deployment_status !== "ready").every(
      (r) => r.deployment_status === "disabled" && r.disabled_by === "reconcile",
    )).toBe(true);
    expect(rows.find((r) => r.deployment_environment === "staging")).toEqual(row("other", "staging"));
  });

  it("serialize the psql script with the pg path", async () => {
    const { db, client } = await ctx.migratedDb();
    const other = await ctx.connectTo(db);
    const first = [desired("a", "production"), desired("b", "production")];
    const second = [desired("c", "production")];
    const [, script] = await Promise.all([reconcile(other, first, "production"), runPsql(ctx.server(), db, reconcileSql(second, "production"))]);
    expect(script.exitCode, script.stderr).toBe(0);
    const ready = (await snapshotEntries(client)).filter((r) => r.deployment_status === "ready").map((r) => r.model_name);
    expect([["a", "b"], ["c"]]).toContainEqual(ready);
  });
});
