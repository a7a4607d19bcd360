import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { disableModel, registerModel } from "../../registry/entries.js";
import { checkHealth } from "../../registry/health.js";
import { route } from "../../registry/route.js";
import { useRegistryDatabase } from "./support.js";

const ctx = useRegistryDatabase();

interface Fake {
  server: Server;
  endpoint: string;
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<Fake> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, endpoint: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let ok: Fake;
let unavailable: Fake;
let silent: Fake;
let closedEndpoint = "";
const seenPaths: string[] = [];

beforeAll(async () => {
  ok = await listen((req, res) => {
    seenPaths.push(req.url ?? "");
    res.writeHead(200).end("ok");
  });
  unavailable = await listen((_req, res) => res.writeHead(503).end("loading"));
  silent = await listen(() => undefined); // accepts the connection, never answers
  const closed = await listen(() => undefined);
  closedEndpoint = closed.endpoint;
  await new Promise((resolve) => closed.server.close(resolve));
});
afterAll(async () => {
  for (const fake of [ok, unavailable, silent]) {
    fake.server.closeAllConnections();
    await new Promise((resolve) => fake.server.close(resolve));
  }
});

async function register(client: Parameters<typeof registerModel>[0], model: string, endpoint: string, environment = "staging") {
  await registerModel(client, { modelName: model, environment, engine: "vllm", endpoint, namespace: "ns" });
}

async function statusOf(client: Parameters<typeof registerModel>[0]) {
  const { rows } = await client.query(
    `SELECT model_name, deployment_status, last_health_check_at IS NOT NULL AND last_health_check_at > now() - interval '10 s' AS fresh
     FROM model_registry_entries ORDER BY model_name`,
  );
  return Object.fromEntries(rows.map((r) => [r.model_name, `${r.deployment_status}${r.fresh ? "" : " (not checked)"}`]));
}

describe("checkHealth", () => {
  it("marks 200 ready, 503 / no answer / refused degraded, stamps each, and the router follows", async () => {
    // Given four models: one healthy, one answering 503, one never answering, one with nothing listening
    const { client } = await ctx.migratedDb();
    await register(client, "healthy", ok.endpoint);
    await register(client, "loading", unavailable.endpoint);
    await register(client, "hung", silent.endpoint);
    await register(client, "gone", closedEndpoint);

    // When checking with a short timeout
    const started = Date.now();
    const results = await checkHealth(client, { timeoutMs: 300 });

    // Then each outcome is recorded, the hung one within about the timeout
    expect(Date.now() - started).toBeLessThan(3000);
    expect(results.map((r) => [r.modelName, r.status, r.httpStatus, r.error, r.recorded])).toEqual([
      ["gone", "degraded", null, "ECONNREFUSED", true],
      ["healthy", "ready", 200, null, true],
      ["hung", "degraded", null, "timed out after 300 ms", true],
      ["loading", "degraded", 503, "HTTP 503", true],
    ]);
    expect(await statusOf(client)).toEqual({ gone: "degraded", healthy: "ready", hung: "degraded", loading: "degraded" });
    expect(seenPaths).toContain("/health");
    expect(await route(client, "healthy", "staging")).toEqual({ ok: true, endpoint: ok.endpoint });
    expect(await route(client, "loading", "staging")).toMatchObject({ ok: false, reason: "degraded" });
  });

  it("brings a degraded model back to ready when it answers again", async () => {
    const { client } = await ctx.migratedDb();
    await register(client, "flappy", ok.endpoint);
    await client.query("UPDATE model_registry_entries SET deployment_status = 'degraded'");
    await checkHealth(client, { timeoutMs: 1000 });
    expect(await statusOf(client)).toEqual({ flappy: "ready" });
  });

  it("probes only ready and degraded entries of the chosen environment", async () => {
    const { client } = await ctx.migratedDb();
    await register(client, "a", ok.endpoint, "staging");
    await register(client, "b", ok.endpoint, "production");
    await register(client, "c", ok.endpoint, "staging");
    await disableModel(client, "c", "staging");
    const results = await checkHealth(client, { environment: "staging", timeoutMs: 1000 });
    expect(results.map((r) => `${r.environment}/${r.modelName}`)).toEqual(["staging/a"]);
    expect(await statusOf(client)).toEqual({ a: "ready", b: "ready (not checked)", c: "disabled (not checked)" });
  });

  it("does not overwrite an entry disabled while it was being probed", async () => {
    const { db, client } = await ctx.migratedDb();
    const operator = await ctx.connectTo(db);
    await register(client, "a", ok.endpoint);
    const fetchImpl: typeof fetch = async (input, init) => {
      await disableModel(operator, "a", "staging");
      return fetch(input, init);
    };
    const [result] = await checkHealth(client, { timeoutMs: 1000, fetchImpl });
    expect(result).toMatchObject({ status: "ready", recorded: false });
    expect(await statusOf(client)).toEqual({ a: "disabled (not checked)" });
  });

  it("keeps at most `concurrency` probes in flight", async () => {
    const { client } = await ctx.migratedDb();
    for (let i = 0; i < 7; i++) await register(client, `m${i}`, ok.endpoint);
    let inFlight = 0;
    let peak = 0;
    const fetchImpl: typeof fetch = async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight--;
      return new Response("ok", { status: 200 });
    };
    const results = await checkHealth(client, { concurrency: 3, fetchImpl });
    expect(results).toHaveLength(7);
    expect(peak).toBe(3);
  });

  it("rejects a bad environment before probing anything", async () => {
    const { client } = await ctx.migratedDb();
    await expect(checkHealth(client, { environment: "qa" })).rejects.toThrow('environment "qa" is not one of development, staging, production');
  });
});

describe("checkHealth bounds", () => {
  it.each([
    [{ timeoutMs: 3_000_000_000 }, 'timeoutMs "3000000000" must be a whole number of milliseconds from 1 to 300000'],
    [{ timeoutMs: 0 }, 'timeoutMs "0" must be a whole number of milliseconds from 1 to 300000'],
    [{ timeoutMs: 1.5 }, 'timeoutMs "1.5" must be a whole number of milliseconds from 1 to 300000'],
    [{ concurrency: 0 }, 'concurrency "0" must be a whole number of probes from 1 to 64'],
    [{ concurrency: 1_000_000 }, 'concurrency "1000000" must be a whole number of probes from 1 to 64'],
  ])("refuses %j before probing or recording anything", async (options, message) => {
    // Given a ready entry behind a healthy endpoint
    const { client } = await ctx.migratedDb();
    await registerModel(client, { modelName: "m", environment: "staging", engine: "vllm", endpoint: ok.endpoint, namespace: "ns" });
    const before = (await client.query("SELECT deployment_status, last_health_check_at FROM model_registry_entries")).rows;
    // When the check is asked for an out-of-range timeout or concurrency
    await expect(checkHealth(client, options)).rejects.toThrow(message);
    // Then nothing was recorded (a 3e9 ms timer would have fired at once and marked the model degraded)
    expect((await client.query("SELECT deployment_status, last_health_check_at FROM model_registry_entries")).rows).toEqual(before);
  });
});
