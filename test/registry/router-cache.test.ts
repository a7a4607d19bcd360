import { createServer as createHttpServer } from "node:http";
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from "node:net";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { RegistryError } from "../../registry/errors.js";
import { route } from "../../registry/route.js";
import {
  authorize,
  keyFingerprint,
  RouterCache,
  type RouterCacheEvent,
  type RouterCacheLogEntry,
  type RouterCacheOptions,
} from "../../registry/router-cache.js";
import type { TestDatabase } from "../helpers/postgres.js";
import { useRegistryDatabase } from "./support.js";

const ctx = useRegistryDatabase();
const caches: RouterCache[] = [];

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.stop()));
});

interface Row {
  readonly model: string;
  readonly environment?: string;
  readonly status?: string;
  readonly disabledBy?: string | null;
  /** Seconds since the last health check; null: never checked. @default 0 */
  readonly checkedSecondsAgo?: number | null;
}

async function insert(client: pg.ClientBase, row: Row): Promise<void> {
  const environment = row.environment ?? "staging";
  const status = row.status ?? "ready";
  const checked = row.checkedSecondsAgo === undefined ? 0 : row.checkedSecondsAgo;
  await client.query(
    `INSERT INTO model_registry_entries (model_name, engine, served_model_name, deployment_endpoint, deployment_status,
       deployment_environment, deployment_namespace, disabled_by, last_health_check_at)
     VALUES ($1, 'vllm', 'org/' || $1, $1 || '-' || $2 || '.inference.svc.cluster.local:8000', $3, $2, 'inference', $4,
       CASE WHEN $5::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $5::float8) END)`,
    [row.model, environment, status, row.disabledBy ?? (status === "disabled" ? "operator" : null), checked],
  );
}

const endpointOf = (model: string, environment = "staging"): string => `${model}-${environment}.inference.svc.cluster.local:8000`;

interface Started {
  readonly cache: RouterCache;
  readonly events: RouterCacheEvent[];
  readonly logs: RouterCacheLogEntry[];
  /** Resolves at the first event (from now on) that `match` accepts; fails after `timeoutMs`. */
  next(match: (event: RouterCacheEvent) => boolean, timeoutMs?: number): Promise<RouterCacheEvent>;
}

function makeCache(db: TestDatabase | { url: string }, options: Partial<RouterCacheOptions> = {}): Started {
  const events: RouterCacheEvent[] = [];
  const logs: RouterCacheLogEntry[] = [];
  const cache = new RouterCache({ url: db.url, environment: "staging", log: (entry) => logs.push(entry), ...options });
  caches.push(cache);
  cache.subscribe((event) => events.push(event));
  const next = (match: (event: RouterCacheEvent) => boolean, timeoutMs = 5_000): Promise<RouterCacheEvent> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        unsubscribe();
        reject(new Error(`no matching router-cache event within ${timeoutMs} ms; events: ${JSON.stringify(events)}`));
      }, timeoutMs);
      const unsubscribe = cache.subscribe((event) => {
        if (!match(event)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(event);
      });
    });
  return { cache, events, logs, next };
}

async function started(db: TestDatabase, options: Partial<RouterCacheOptions> = {}): Promise<Started> {
  const made = makeCache(db, options);
  await made.cache.start();
  return made;
}

/** A loopback TCP proxy to `port`; `freeze()` silently stops forwarding on the connections open at that moment. */
async function freezableProxy(port: number): Promise<{ port: number; freeze(): void; close(): void }> {
  const open: Array<{ frozen: boolean; sockets: Socket[] }> = [];
  const server = createServer((inbound) => {
    const outbound = tcpConnect(port, "127.0.0.1");
    const pair = { frozen: false, sockets: [inbound, outbound] };
    open.push(pair);
    inbound.on("data", (data) => pair.frozen || outbound.write(data));
    outbound.on("data", (data) => pair.frozen || inbound.write(data));
    for (const socket of pair.sockets) {
      socket.on("error", () => undefined);
      socket.on("close", () => {
        if (!pair.frozen) pair.sockets.forEach((s) => s.destroy());
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => open.forEach((pair) => (pair.frozen = true)),
    close: () => {
      open.forEach((pair) => pair.sockets.forEach((s) => s.destroy()));
      server.close();
    },
  };
}

const changeOf = (model: string) => (event: RouterCacheEvent) => event.type === "change" && event.model === model;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("RouterCache: the route table", () => {
  it("answers exactly like route() for every status, freshness and environment", async () => {
    // Given entries in every state, and one in another environment
    const { db, client } = await ctx.migratedDb();
    const rows: Row[] = [
      { model: "ready-fresh" },
      { model: "ready-stale", checkedSecondsAgo: 500 },
      { model: "ready-never", checkedSecondsAgo: null },
      { model: "disabled-op", status: "disabled", disabledBy: "operator" },
      { model: "disabled-rec", status: "disabled", disabledBy: "reconcile" },
      { model: "degraded", status: "degraded" },
      { model: "failed", status: "failed" },
      { model: "pending", status: "pending" },
      { model: "deploying", status: "deploying" },
      { model: "elsewhere", environment: "production" },
    ];
    for (const row of rows) await insert(client, row);

    // When the cache loads the staging table
    const { cache } = await started(db);

    // Then every lookup gives route()'s verdict, endpoint and operator detail
    for (const model of [...rows.map((row) => row.model), "missing"]) {
      const expected = await route(client, model, "staging");
      const got = cache.lookup(model);
      if (expected.ok) {
        expect(got, model).toEqual({ ok: true, endpoint: expected.endpoint });
      } else {
        expect(got.ok, model).toBe(false);
        if (got.ok) continue;
        expect({ model, reason: got.reason }).toEqual({ model, reason: expected.reason });
        if (expected.reason !== "stale") expect(got.detail).toBe(expected.detail);
        expect(got.httpStatus).toBe(expected.reason === "unknown" ? 404 : 503);
      }
    }
    expect(cache.lookup("ready-fresh")).toEqual({ ok: true, endpoint: endpointOf("ready-fresh") });
    expect(cache.lookup("elsewhere")).toMatchObject({ ok: false, httpStatus: 404, reason: "unknown" });
  });

  it("answers 404 with a model_not_found body and 503 with a model_unavailable body naming the reason", async () => {
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "qwen", status: "disabled", disabledBy: "operator" });
    await insert(client, { model: "llama", status: "degraded" });
    const { cache } = await started(db);

    const unknown = cache.lookup("mistral");
    expect(unknown).toMatchObject({ ok: false, httpStatus: 404, reason: "unknown" });
    expect(!unknown.ok && JSON.parse(unknown.body)).toEqual({
      error: { type: "model_not_found", code: "unknown", message: 'model "mistral" is not served in staging', model: "mistral", environment: "staging" },
    });
    const disabled = cache.lookup("qwen");
    expect(disabled).toMatchObject({ ok: false, httpStatus: 503, reason: "disabled" });
    expect(!disabled.ok && disabled.body).toBe(
      '{"error":{"type":"model_unavailable","code":"disabled","message":"model \\"qwen\\" is disabled","model":"qwen","environment":"staging"}}',
    );
    const degraded = cache.lookup("llama");
    expect(!degraded.ok && JSON.parse(degraded.body).error).toMatchObject({ code: "degraded", type: "model_unavailable" });

    // A name that is not a model name is a 404 whose body does not echo it whole
    const junk = cache.lookup(`Bad/${"x".repeat(5000)}`);
    expect(junk).toMatchObject({ ok: false, httpStatus: 404, reason: "unknown" });
    expect(!junk.ok && junk.body.length).toBeLessThan(300);
    expect(!junk.ok && JSON.parse(junk.body).error.model).toBeUndefined();
  });

  it("turns a ready row whose health check ages out into 503 stale by itself, with no event", async () => {
    // Given a ready row checked 0.2 s ago and a 2 s threshold
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "llama", checkedSecondsAgo: 0.2 });
    const { cache, events, next } = await started(db, { staleAfterSeconds: 2 });
    expect(cache.lookup("llama")).toEqual({ ok: true, endpoint: endpointOf("llama") });
    const eventsBefore = events.length;

    // When it ages past the threshold while nothing changes in the database
    await sleep(2_000);

    // Then the cache refuses it as stale by itself
    const result = cache.lookup("llama");
    expect(result).toMatchObject({ ok: false, httpStatus: 503, reason: "stale" });
    expect(!result.ok && JSON.parse(result.body).error.message).toBe('model "llama" has not passed a health check in the last 2 s');
    expect(events.length).toBe(eventsBefore);
    // And route() in the database agrees
    expect(await route(client, "llama", "staging", { staleAfterSeconds: 2 })).toMatchObject({ ok: false, reason: "stale" });

    // When a health check is recorded, the row is routable again at once
    const changed = next(changeOf("llama"));
    await client.query("UPDATE model_registry_entries SET last_health_check_at = now()");
    await changed;
    expect(cache.lookup("llama")).toEqual({ ok: true, endpoint: endpointOf("llama") });
  });
});

describe("RouterCache: told at once over LISTEN/NOTIFY", () => {
  it("applies each change of its environment as it commits, per model, and ignores other environments", async () => {
    // Given a loaded cache
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "llama" });
    await insert(client, { model: "qwen" });
    const { cache, events, next } = await started(db);
    expect(cache.lookup("llama").ok).toBe(true);

    // When an operator disables llama
    let changed = next(changeOf("llama"));
    await client.query("UPDATE model_registry_entries SET deployment_status = 'disabled', disabled_by = 'operator' WHERE model_name = 'llama'");
    await changed;
    // Then it is refused at once, and qwen was not reloaded
    expect(cache.lookup("llama")).toMatchObject({ ok: false, httpStatus: 503, reason: "disabled" });
    expect(cache.lookup("qwen").ok).toBe(true);
    expect(events.filter((e) => e.type === "change").map((e) => e.type === "change" && e.model)).toEqual(["llama"]);

    // When it is enabled and re-pointed in one transaction
    changed = next(changeOf("llama"));
    await client.query("BEGIN");
    await client.query("UPDATE model_registry_entries SET deployment_status = 'ready', disabled_by = NULL WHERE model_name = 'llama'");
    await client.query("UPDATE model_registry_entries SET deployment_endpoint = 'llama-v2.inference.svc.cluster.local:8000' WHERE model_name = 'llama'");
    await client.query("COMMIT");
    await changed;
    await sleep(50); // a second notification of the same transaction, if any, lands too
    expect(cache.lookup("llama")).toEqual({ ok: true, endpoint: "llama-v2.inference.svc.cluster.local:8000" });

    // When a model is added, and another deleted
    changed = next(changeOf("gemma"));
    await insert(client, { model: "gemma" });
    await changed;
    expect(cache.lookup("gemma")).toEqual({ ok: true, endpoint: endpointOf("gemma") });
    changed = next(changeOf("qwen"));
    await client.query("DELETE FROM model_registry_entries WHERE model_name = 'qwen'");
    await changed;
    expect(cache.lookup("qwen")).toMatchObject({ ok: false, httpStatus: 404, reason: "unknown" });

    // When production changes, staging's cache does not even query
    const before = events.length;
    await insert(client, { model: "prod-only", environment: "production" });
    await client.query("UPDATE model_registry_entries SET deployment_status = 'degraded' WHERE deployment_environment = 'production'");
    changed = next(changeOf("gemma"));
    await client.query("UPDATE model_registry_entries SET deployment_status = 'degraded' WHERE model_name = 'gemma'");
    await changed;
    expect(events.slice(before)).toEqual([{ type: "change", model: "gemma", status: "degraded" }]);
    expect(cache.lookup("prod-only")).toMatchObject({ httpStatus: 404 });
  });

  it("ends with the database's state after a burst of changes to one model (no lost update)", async () => {
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "llama" });
    const { cache } = await started(db);
    const statuses = ["degraded", "ready", "degraded", "ready", "failed", "ready", "degraded"];
    for (const status of statuses) {
      void client.query("UPDATE model_registry_entries SET deployment_status = $1", [status]);
    }
    await client.query("SELECT 1");
    await expect.poll(() => cache.lookup("llama"), { timeout: 5_000, interval: 20 }).toMatchObject({ ok: false, reason: "degraded" });
    await sleep(100);
    expect(cache.lookup("llama")).toMatchObject({ ok: false, reason: "degraded" });
  });

  it("reloads everything after a TRUNCATE", async () => {
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "llama" });
    const { cache, next } = await started(db);
    const loaded = next((e) => e.type === "loaded");
    await client.query("TRUNCATE model_registry_entries");
    expect(await loaded).toEqual({ type: "loaded", models: 0 });
    expect(cache.lookup("llama")).toMatchObject({ httpStatus: 404 });
  });
});

describe("RouterCache: connection loss", () => {
  it("survives pg_terminate_backend: serves the last table, reconnects with backoff, and reloads fully", async () => {
    // Given a loaded cache and a ready model
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "llama" });
    await insert(client, { model: "qwen" });
    const { cache, logs, next } = await started(db, { reconnectInitialDelayMs: 1_000 });

    // When an administrator kills its backend, and a change is committed while it is away
    const dropped = next((e) => e.type === "disconnected");
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'modelfleet-router-cache' AND datname = current_database()",
    );
    expect(rows[0]?.n).toBe(1);
    await dropped;
    expect(cache.connected).toBe(false);
    const reloaded = next((e) => e.type === "loaded");
    await client.query("UPDATE model_registry_entries SET deployment_status = 'disabled', disabled_by = 'operator' WHERE model_name = 'llama'");
    await insert(client, { model: "gemma" });

    // Then while away it still answers from the last table
    expect(cache.lookup("llama")).toEqual({ ok: true, endpoint: endpointOf("llama") });
    // And after the reconnect the full reload carries what changed meanwhile, with no event for it
    expect(await reloaded).toEqual({ type: "loaded", models: 3 });
    expect(cache.connected).toBe(true);
    expect(cache.lookup("llama")).toMatchObject({ ok: false, reason: "disabled" });
    expect(cache.lookup("gemma").ok).toBe(true);
    await expect.poll(() => logs.map((l) => l.event)).toEqual(["connected", "disconnected", "reconnect-scheduled", "connected"]);
    expect(logs[1]?.message).toMatch(/^lost the registry connection \(terminating connection due to administrator command\)/);
    expect(logs[2]?.message).toMatch(/^reconnecting in \d+ ms \(attempt 1\)$/);
    const delay = Number(/in (\d+) ms/.exec(logs[2]?.message ?? "")?.[1]);
    expect(delay).toBeGreaterThanOrEqual(800);
    expect(delay).toBeLessThanOrEqual(1_200);

    // And it listens again
    const changed = next(changeOf("qwen"));
    await client.query("UPDATE model_registry_entries SET deployment_status = 'degraded' WHERE model_name = 'qwen'");
    await changed;
    expect(cache.lookup("qwen")).toMatchObject({ reason: "degraded" });
  });

  it("drops a connection whose peer stops answering (no FIN, no RST) after a missed ping, and reconnects", async () => {
    // Given a cache connected through a TCP proxy that can silently stop forwarding its current connections
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "llama" });
    const proxy = await freezableProxy(ctx.server().port);
    try {
      const url = db.url.replace(`:${ctx.server().port}/`, `:${proxy.port}/`);
      const { cache, logs, next } = await started({ name: db.name, url }, { pingIntervalMs: 200, reconnectInitialDelayMs: 10 });

      // When the network path goes dark and a change is committed meanwhile
      const dropped = next((e) => e.type === "disconnected");
      const reloaded = next((e) => e.type === "loaded", 5_000);
      proxy.freeze();
      await client.query("UPDATE model_registry_entries SET deployment_status = 'degraded'");

      // Then the missed ping drops the connection, and the reconnect's full load carries the change
      await dropped;
      expect(logs.find((l) => l.event === "disconnected")?.message).toMatch(/^lost the registry connection \(no answer to a ping within 200 ms\)/);
      await reloaded;
      expect(cache.lookup("llama")).toMatchObject({ ok: false, reason: "degraded" });
    } finally {
      proxy.close();
    }
  });

  it("reloads everything (and says so) on a notification it does not understand, without logging its text", async () => {
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "llama" });
    const { cache, logs, next } = await started(db);
    await client.query("UPDATE model_registry_entries SET deployment_status = 'failed'");
    const loaded = next((e) => e.type === "loaded");
    await client.query("SELECT pg_notify('model_registry_changed', 'sk-not-json-secret-0123456789')");
    expect(await loaded).toEqual({ type: "loaded", models: 1 });
    expect(cache.lookup("llama")).toMatchObject({ reason: "failed" });
    expect(logs.find((l) => l.event === "bad-notification")?.message).toBe("unexpected payload on model_registry_changed (29 chars); reloading every model");
    expect(JSON.stringify(logs)).not.toContain("sk-not-json");
  });

  it("before its first load answers 503 unavailable, retries with growing delays, and stop() ends start()", async () => {
    // Given a database URL nothing listens on
    const url = ctx.server().url("postgres").replace(`:${ctx.server().port}/`, ":1/");
    const { cache, logs } = makeCache({ url }, { reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 160, connectTimeoutMs: 1_000 });

    // When it starts
    const start = cache.start();
    await expect.poll(() => logs.filter((l) => l.event === "reconnect-scheduled").length, { timeout: 5_000 }).toBeGreaterThanOrEqual(5);

    // Then lookups are refused as unavailable, and the delays grow up to the cap
    const result = cache.lookup("llama");
    expect(result).toMatchObject({ ok: false, httpStatus: 503, reason: "unavailable" });
    expect(!result.ok && JSON.parse(result.body).error).toMatchObject({ type: "model_unavailable", code: "unavailable" });
    expect(logs[0]).toEqual({ level: "warn", event: "connect-failed", message: expect.stringMatching(/^cannot connect to PostgreSQL at 127\.0\.0\.1:1, database "postgres": connection refused/) });
    const delays = logs.filter((l) => l.event === "reconnect-scheduled").map((l) => Number(/in (\d+) ms/.exec(l.message)?.[1]));
    const bounds = [20, 40, 80, 160, 160].map((base) => [base * 0.8 - 1, base * 1.2 + 1]);
    delays.slice(0, 5).forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(bounds[i]![0]!);
      expect(delay).toBeLessThanOrEqual(bounds[i]![1]!);
    });
    await cache.stop();
    await expect(start).rejects.toThrow(/stopped before its first load/);
  });

  it("never logs the database password, even when it is wrong", async () => {
    const wrong = "Wr0ng-Secret%2Fpass";
    const url = ctx.server().url("postgres", wrong);
    const { cache, logs } = makeCache({ url }, { reconnectInitialDelayMs: 50, connectTimeoutMs: 2_000 });
    void cache.start();
    await expect.poll(() => logs.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    await cache.stop();
    const text = JSON.stringify(logs);
    expect(text).toContain('password authentication failed for user \\"modelfleet\\"');
    for (const form of [wrong, decodeURIComponent(wrong), ctx.server().password, url]) expect(text).not.toContain(form);
  });
});

describe("a router embedding the cache (the docs/router.md example, answering instead of proxying)", () => {
  it("answers 401 for a wrong key (logged as a fingerprint only), 404 and 503 with JSON bodies, and routes a ready model", async () => {
    // Given a router process built as docs/router.md shows
    const { db, client } = await ctx.migratedDb();
    await insert(client, { model: "llama" });
    await insert(client, { model: "qwen", status: "disabled", disabledBy: "operator" });
    const { cache, logs } = await started(db);
    const apiKey = "sk-router-doc-example-0123456789abcdef";
    const routerLog: string[] = [];
    const router = createHttpServer((req, res) => {
      const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!authorize(presented, apiKey)) {
        routerLog.push(JSON.stringify({ event: "unauthorized", key: presented ? keyFingerprint(presented) : null }));
        res.writeHead(401, { "content-type": "application/json" }).end('{"error":{"type":"unauthorized"}}');
        return;
      }
      const target = cache.lookup(req.url?.slice(1) ?? "");
      if (!target.ok) {
        res.writeHead(target.httpStatus, { "content-type": "application/json" }).end(target.body);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ endpoint: target.endpoint }));
    });
    await new Promise<void>((resolve) => router.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(router.address() as AddressInfo).port}`;
    const call = async (model: string, key: string | null = apiKey) => {
      const response = await fetch(`${base}/${model}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });
      return { status: response.status, body: await response.json() };
    };
    try {
      // When clients call it, Then:
      expect(await call("llama")).toEqual({ status: 200, body: { endpoint: endpointOf("llama") } });
      expect(await call("llama", `${apiKey}x`)).toEqual({ status: 401, body: { error: { type: "unauthorized" } } });
      expect(await call("llama", null)).toMatchObject({ status: 401 });
      expect(await call("mistral")).toMatchObject({ status: 404, body: { error: { type: "model_not_found", code: "unknown" } } });
      expect(await call("qwen")).toMatchObject({ status: 503, body: { error: { type: "model_unavailable", code: "disabled" } } });
      // And no log line holds the key, the wrong key or the database password
      expect(routerLog).toEqual([JSON.stringify({ event: "unauthorized", key: keyFingerprint(`${apiKey}x`) }), '{"event":"unauthorized","key":null}']);
      const everything = JSON.stringify([routerLog, logs]);
      for (const secret of [apiKey, ctx.server().password]) expect(everything).not.toContain(secret);
    } finally {
      await new Promise((resolve) => router.close(resolve));
    }
  });
});

describe("authorize and keyFingerprint", () => {
  const expected = "sk-router-test-key-0123456789abcdef";
  it.each([
    ["the same key", expected, true],
    ["a key differing in the last character", `${expected.slice(0, -1)}0`, false],
    ["a prefix of the key", expected.slice(0, 10), false],
    ["the key with a suffix", `${expected}x`, false],
    ["a much longer key", expected.repeat(100), false],
    ["an empty key", "", false],
    ["no key", undefined, false],
    ["null", null, false],
    ["the key in another case", expected.toUpperCase(), false],
  ])("%s → %s", (_label, presented, ok) => {
    expect(authorize(presented, expected)).toBe(ok);
  });

  it("compares non-ASCII keys by their bytes", () => {
    expect(authorize("clé-ü", "clé-ü")).toBe(true);
    expect(authorize("cle\u0301-ü", "clé-ü")).toBe(false);
  });

  it("refuses an empty expected key instead of authorizing everyone or no one silently", () => {
    expect(() => authorize("", "")).toThrow(RegistryError);
    expect(() => authorize("x", "")).toThrow(/the expected API key is empty/);
  });

  it("fingerprints a key as 8 hex digits of its SHA-256, stable and not containing the key", () => {
    expect(keyFingerprint("abc")).toBe("key:ba7816bf");
    expect(keyFingerprint(expected)).toMatch(/^key:[0-9a-f]{8}$/);
    expect(keyFingerprint(expected)).toBe(keyFingerprint(expected));
    expect(keyFingerprint(expected)).not.toBe(keyFingerprint(`${expected}x`));
    expect(keyFingerprint(expected)).not.toContain(expected.slice(0, 8));
  });
});

describe("RouterCache options", () => {
  it.each([
    [{ environment: "prod" }, /environment "prod" is not one of development, staging, production/],
    [{ staleAfterSeconds: 0 }, /staleAfterSeconds "0" must be a whole number of seconds from 1 to 86400/],
    [{ reconnectInitialDelayMs: 1 }, /reconnectInitialDelayMs "1" must be a whole number of milliseconds from 10 to 60000/],
    [{ url: "mysql://x" }, /scheme "mysql:" is not postgres:/],
  ])("rejects %j before connecting", (options, message) => {
    expect(() => new RouterCache({ url: "postgres://u:p@127.0.0.1:1/db", environment: "staging", ...(options as object) } as RouterCacheOptions)).toThrow(message);
  });
});
