import { describe, expect, it } from "vitest";
import { disableModel, enableModel, listEntries, registerModel } from "../../registry/entries.js";
import { RegistryError } from "../../registry/errors.js";
import { reconcile } from "../../registry/reconcile.js";
import { DIGEST_A, desired, snapshotEntries, useRegistryDatabase } from "./support.js";

const ctx = useRegistryDatabase();

async function kindOf(promise: Promise<unknown>): Promise<[string, string]> {
  const error = await promise.then(() => null, (e: unknown) => e);
  if (!(error instanceof RegistryError)) throw new Error(`expected a RegistryError, got ${String(error)}`);
  return [error.kind, error.message];
}

const manual = { modelName: "legacy", environment: "production", engine: "llamacpp", endpoint: "10.0.0.7:8080", namespace: "legacy" };

describe("disable / enable", () => {
  it("disables and re-enables a model; repeating either changes nothing", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging")], "staging");

    expect(await disableModel(client, "llama", "staging")).toMatchObject({ changed: true, entry: { status: "disabled", disabledBy: "operator" } });
    expect(await disableModel(client, "llama", "staging")).toMatchObject({ changed: false });
    expect(await enableModel(client, "llama", "staging")).toMatchObject({ changed: true, entry: { status: "ready", disabledBy: null } });
    expect(await enableModel(client, "llama", "staging")).toMatchObject({ changed: false });
  });

  it("makes a reconcile-disabled model sticky when an operator disables it too", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging")], "staging");
    await reconcile(client, [], "staging");
    expect(await disableModel(client, "llama", "staging")).toMatchObject({ changed: true, entry: { disabledBy: "operator" } });
    await reconcile(client, [desired("llama", "staging")], "staging");
    expect((await snapshotEntries(client))[0]).toMatchObject({ deployment_status: "disabled", disabled_by: "operator" });
  });

  it.each([
    ["an unknown model", "nope", "staging", ["not-found", 'no model "nope" in staging; `modelfleet registry list --env staging` shows what exists']],
    ["a bad environment", "llama", "prod", ["input", 'environment "prod" is not one of development, staging, production']],
  ] as const)("rejects %s, changing no row", async (_label, model, env, expected) => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging")], "staging");
    const before = await snapshotEntries(client);
    expect(await kindOf(disableModel(client, model, env))).toEqual(expected);
    expect(await kindOf(enableModel(client, model, env))).toEqual(expected);
    expect(await snapshotEntries(client)).toEqual(before);
  });

  it("refuses to enable a model that left the stack", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging")], "staging");
    await reconcile(client, [], "staging");
    const [kind, message] = await kindOf(enableModel(client, "llama", "staging"));
    expect(kind).toBe("conflict");
    expect(message).toMatch(/no longer in the stack; add it back to Pulumi\.staging\.yaml/);
  });
});

describe("register", () => {
  it("adds a manual entry, ready but unchecked, served under its own name by default", async () => {
    const { client } = await ctx.migratedDb();
    const { entry, changed } = await registerModel(client, manual);
    expect(changed).toBe(true);
    expect(entry).toMatchObject({
      modelName: "legacy", environment: "production", engine: "llamacpp", servedModelName: "legacy", imageDigest: null,
      endpoint: "10.0.0.7:8080", namespace: "legacy", status: "ready", managedBy: "manual", lastHealthCheckAt: null,
    });
  });

  it("can configure the digest and served name; re-registering the same values changes nothing", async () => {
    const { client } = await ctx.migratedDb();
    const args = { ...manual, imageDigest: DIGEST_A, servedModelName: "org/Legacy-7B" };
    expect((await registerModel(client, args)).entry).toMatchObject({ imageDigest: DIGEST_A, servedModelName: "org/Legacy-7B" });
    expect((await registerModel(client, args)).changed).toBe(false);
    expect((await registerModel(client, { ...args, endpoint: "10.0.0.8:8080" })).changed).toBe(true);
  });

  it("refuses an entry the stack manages, but takes over one that left the stack", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "production")], "production");
    const [kind, message] = await kindOf(registerModel(client, { ...manual, modelName: "llama" }));
    expect([kind, message]).toEqual(["conflict", 'model "llama" in production is managed by the stack; change Pulumi.production.yaml instead']);

    await reconcile(client, [], "production");
    expect((await registerModel(client, { ...manual, modelName: "llama" })).entry).toMatchObject({ managedBy: "manual", status: "ready" });
  });

  it.each([
    ["model name", { modelName: "Bad Name" }, /model name "Bad Name" is not a DNS label/],
    ["environment", { environment: "qa" }, /environment "qa" is not one of/],
    ["engine", { engine: "tgi" }, /engine "tgi" is not one of vllm, llamacpp/],
    ["endpoint", { endpoint: "http://x:80/health" }, /endpoint "http:\/\/x:80\/health" is not host:port/],
    ["endpoint port", { endpoint: "x:70000" }, /endpoint "x:70000" is not host:port/],
    ["namespace", { namespace: "Not_OK" }, /namespace "Not_OK" is not a DNS label/],
    ["digest", { imageDigest: "sha256:1234" }, /image digest "sha256:1234" is not sha256:<64 lower-case hex>/],
  ])("rejects a bad %s, changing no row", async (_label, override, message) => {
    const { client } = await ctx.migratedDb();
    const error = await registerModel(client, { ...manual, ...override }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).kind).toBe("input");
    expect((error as RegistryError).message).toMatch(message);
    expect(await snapshotEntries(client)).toEqual([]);
  });
});

describe("list", () => {
  it("orders by environment then model, filters by environment and status", async () => {
    const { client } = await ctx.migratedDb();
    await reconcile(client, [desired("zeta", "staging"), desired("alpha", "staging")], "staging");
    await reconcile(client, [desired("beta", "production")], "production");
    await disableModel(client, "zeta", "staging");
    const names = (entries: { environment: string; modelName: string }[]) => entries.map((e) => `${e.environment}/${e.modelName}`);
    expect(names(await listEntries(client))).toEqual(["production/beta", "staging/alpha", "staging/zeta"]);
    expect(names(await listEntries(client, { environment: "staging" }))).toEqual(["staging/alpha", "staging/zeta"]);
    expect(names(await listEntries(client, { status: "disabled" }))).toEqual(["staging/zeta"]);
  });

  it("rejects a bad status or environment", async () => {
    const { client } = await ctx.migratedDb();
    expect(await kindOf(listEntries(client, { status: "running" }))).toEqual([
      "input", 'status "running" is not one of pending, deploying, ready, degraded, disabled, failed',
    ]);
    expect((await kindOf(listEntries(client, { environment: "dev" })))[0]).toBe("input");
  });

  it("says to migrate when the schema is missing", async () => {
    const { client } = await ctx.emptyDb();
    expect(await kindOf(listEntries(client))).toEqual([
      "database", "the registry schema is missing: run `modelfleet registry migrate up` first",
    ]);
  });
});
