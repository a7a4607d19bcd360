/**
 * The library an API router embeds to find a model's endpoint without a database round trip per request
 * (docs/router.md). It keeps the route table of one environment in memory, loaded with the router's statement
 * semantics (registry/route.ts: routable exactly when the entry is `ready` and its last health check is at most
 * `staleAfterSeconds` old), and listens on `model_registry_changed` (migration 0002): each notification reloads
 * that one model. A dropped connection is re-opened with exponential backoff, and the whole table is reloaded then.
 * Staleness is evaluated locally at every lookup, so an entry whose health checks stop turns unroutable with no event.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { performance } from "node:perf_hooks";
import type pg from "pg";
import { defaultRedactor, Redactor } from "../secrets/redact.js";
import { connect, describeDatabaseUrl } from "./connection.js";
import { RegistryError } from "./errors.js";
import { DEFAULT_STALE_AFTER_SECONDS, type RouteFailureReason } from "./route.js";
import type { DeploymentStatus, DisabledBy, Environment } from "./types.js";
import { parseBoundedInteger, parseEnvironment, parseModelName, parseStaleAfterSeconds } from "./validate.js";

/** The channel migration 0002's trigger notifies; payload `{"model", "environment", "op"}`. */
export const REGISTRY_CHANGES_CHANNEL = "model_registry_changed";

/** Why the cache refuses a model: route()'s reasons, plus `unavailable` before the first load. */
export type RouterCacheFailureReason = RouteFailureReason | "unavailable";

/** What a router answers for a model: its endpoint, or the HTTP status and JSON body to send back. */
export type RouterCacheLookup =
  | {
      readonly ok: true;
      readonly endpoint: string;
      /** The InferencePool serving the model (in its namespace), to hand to a Gateway; absent when none is published. */
      readonly inferencePool?: string;
    }
  | {
      readonly ok: false;
      /** 404 for a model the environment does not have; 503 for one it has but cannot route to now. */
      readonly httpStatus: 404 | 503;
      readonly reason: RouterCacheFailureReason;
      /** For the router's log: what is wrong and what fixes it (the same wording as `modelfleet registry route`). */
      readonly detail: string;
      /** The response body (`application/json`): `{"error":{"type","code","message","model"?,"environment"}}`. */
      readonly body: string;
    };

/** One line of the cache's log. Never holds the database URL, its password or an API key. */
export interface RouterCacheLogEntry {
  readonly level: "info" | "warn";
  readonly event: "connected" | "disconnected" | "connect-failed" | "reconnect-scheduled" | "reloaded" | "bad-notification";
  readonly message: string;
}

/** What changed in the table, for callers that want to observe it (metrics, tests, benchmarks). */
export type RouterCacheEvent =
  | { readonly type: "loaded"; readonly models: number }
  | { readonly type: "change"; readonly model: string; readonly status: DeploymentStatus | null }
  | { readonly type: "disconnected" };

export interface RouterCacheOptions {
  /** `postgres://…` URL of the registry database (Secret `modelfleet-registry-credentials`, key `url`). Never logged. */
  readonly url: string;
  /** The environment whose models this router serves. */
  readonly environment: Environment;
  /** Freshness threshold of a health check, 1 to 86400 s. @default DEFAULT_STALE_AFTER_SECONDS (registry/route.ts) */
  readonly staleAfterSeconds?: number;
  /** Delay before the first reconnect attempt, 10 to 60000 ms; doubled after each failure. @default 100 */
  readonly reconnectInitialDelayMs?: number;
  /** Longest delay between reconnect attempts, 10 to 300000 ms. @default 5000 */
  readonly reconnectMaxDelayMs?: number;
  /** How often the connection is pinged, 100 to 300000 ms; no answer within the interval drops it. @default 10000 */
  readonly pingIntervalMs?: number;
  /** @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Receives the cache's log lines. @default - discarded */
  readonly log?: (entry: RouterCacheLogEntry) => void;
}

interface CachedEntry {
  readonly status: DeploymentStatus;
  readonly endpoint: string;
  readonly inferencePool: string | null;
  readonly disabledBy: DisabledBy | null;
  /** When the last health check happened, on this process's monotonic clock (ms), or null when never checked. */
  readonly checkedAt: number | null;
}

interface EntryRow {
  model_name: string;
  deployment_status: DeploymentStatus;
  deployment_endpoint: string;
  inference_pool: string | null;
  disabled_by: DisabledBy | null;
  age_ms: number | null;
}

// The age of the last health check is computed by the server (its own clock against its own timestamp) and turned
// into a local monotonic time on arrival, so clock skew between router and database does not matter.
const COLUMNS = `model_name, deployment_status, deployment_endpoint, inference_pool, disabled_by,
  CASE WHEN last_health_check_at IS NULL THEN NULL -- greatest() would turn a NULL into 0: "checked just now"
       ELSE CAST(greatest(0, extract(epoch FROM now() - last_health_check_at) * 1000) AS float8) END AS age_ms
FROM model_registry_entries`;
const LOAD_ALL = { name: "router-cache-load-all", text: `SELECT ${COLUMNS} WHERE deployment_environment = $1` };
const LOAD_ONE = { name: "router-cache-load-one", text: `SELECT ${COLUMNS} WHERE deployment_environment = $1 AND model_name = $2` };

const LIMITS = {
  reconnectInitialDelayMs: { min: 10, max: 60_000 },
  reconnectMaxDelayMs: { min: 10, max: 300_000 },
  pingIntervalMs: { min: 100, max: 300_000 },
  connectTimeoutMs: { min: 100, max: 300_000 },
} as const;

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * Whether the presented API key equals the expected one, in time that does not depend on where they differ or on
 * the presented key's length: both are hashed with SHA-256 and the equal-length digests compared with
 * `crypto.timingSafeEqual`. A missing or empty presented key is never authorized.
 * @throws RegistryError("input") when the expected key is empty (a router must not run with no key configured).
 */
export function authorize(presentedKey: string | null | undefined, expectedKey: string): boolean {
  if (typeof expectedKey !== "string" || expectedKey.length === 0) {
    throw new RegistryError("input", "authorize: the expected API key is empty; configure the stack's API key (Secret <model>-<environment>-credentials, key api-key)");
  }
  const presented = typeof presentedKey === "string" ? presentedKey : "";
  const equal = timingSafeEqual(sha256(presented), sha256(expectedKey));
  return equal && presented.length > 0;
}

/** How a key may appear in a log: the first 8 hex digits of its SHA-256 (`key:1a2b3c4d`). Never log the key itself. */
export function keyFingerprint(key: string): string {
  return `key:${sha256(key).toString("hex").slice(0, 8)}`;
}

interface ChangePayload {
  readonly model: string | null;
  readonly environment: string | null;
  readonly op: string;
}

/** The trigger's payload, or null when it is not one (then the listener reloads everything). */
function parsePayload(text: string | undefined): ChangePayload | null {
  let value: unknown;
  try {
    value = JSON.parse(text ?? "");
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { model, environment, op } = value as Record<string, unknown>;
  if (typeof op !== "string") return null;
  const textOrNull = (v: unknown): string | null | undefined => (typeof v === "string" || v === null ? v : undefined);
  const m = textOrNull(model);
  const e = textOrNull(environment);
  if (m === undefined || e === undefined) return null;
  return { model: m, environment: e, op };
}

function failure(
  httpStatus: 404 | 503,
  reason: RouterCacheFailureReason,
  detail: string,
  message: string,
  environment: Environment,
  model: string | null,
): RouterCacheLookup {
  const error = {
    type: httpStatus === 404 ? "model_not_found" : "model_unavailable",
    code: reason,
    message,
    ...(model === null ? {} : { model }),
    environment,
  };
  return { ok: false, httpStatus, reason, detail, body: JSON.stringify({ error }) };
}

/** The in-memory route table of one environment, kept current over LISTEN/NOTIFY. See the module comment. */
export class RouterCache {
  readonly environment: Environment;
  readonly staleAfterSeconds: number;
  readonly #url: string;
  readonly #redactor = new Redactor();
  readonly #log: (entry: RouterCacheLogEntry) => void;
  readonly #reconnectInitialDelayMs: number;
  readonly #reconnectMaxDelayMs: number;
  readonly #pingIntervalMs: number;
  readonly #connectTimeoutMs: number;
  readonly #listeners = new Set<(event: RouterCacheEvent) => void>();
  #entries = new Map<string, CachedEntry>();
  #loaded = false;
  #stopped = false;
  #started = false;
  #client: pg.Client | undefined;
  /** Bumped on every connection attempt; callbacks of an older connection are ignored. */
  #generation = 0;
  #failures = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  /** Models whose reload is running; `dirty` when another notification arrived meanwhile (reload again after). */
  #reloading = new Map<string, "running" | "dirty">();
  #firstLoad: { resolve: () => void; reject: (error: Error) => void } | undefined;
  readonly #firstLoadPromise: Promise<void>;

  /** Checks the options; connects only on `start()`. @throws RegistryError("input") for a bad option. */
  constructor(options: RouterCacheOptions) {
    describeDatabaseUrl(options.url);
    this.#url = options.url;
    this.#redactor.addUrl(options.url);
    this.environment = parseEnvironment(options.environment);
    this.staleAfterSeconds = parseStaleAfterSeconds(options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS, "staleAfterSeconds");
    const ms = (name: keyof typeof LIMITS, fallback: number): number =>
      parseBoundedInteger(name, options[name] ?? fallback, LIMITS[name], "milliseconds");
    this.#reconnectInitialDelayMs = ms("reconnectInitialDelayMs", 100);
    this.#reconnectMaxDelayMs = ms("reconnectMaxDelayMs", 5_000);
    this.#pingIntervalMs = ms("pingIntervalMs", 10_000);
    this.#connectTimeoutMs = ms("connectTimeoutMs", 10_000);
    const log = options.log ?? (() => undefined);
    this.#log = (entry) => log({ ...entry, message: defaultRedactor.redact(this.#redactor.redact(entry.message)) });
    this.#firstLoadPromise = new Promise<void>((resolve, reject) => {
      this.#firstLoad = { resolve, reject };
    });
    // A caller that never awaits start() must not see an unhandled rejection when it stops early.
    this.#firstLoadPromise.catch(() => undefined);
  }

  /**
   * Connects, listens and loads the table; resolves once the first load is done. Connection failures are logged
   * and retried with backoff (the promise stays pending meanwhile); rejects only when `stop()` comes first.
   */
  start(): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      void this.#connect();
    }
    return this.#firstLoadPromise;
  }

  /** Stops listening and reconnecting and closes the connection. The table stays as it was. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#pingTimer);
    this.#firstLoad?.reject(new RegistryError("connection", "the router cache was stopped before its first load"));
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** True once the table has been loaded (it keeps answering from the last table while reconnecting). */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** True while the cache holds a live, listening connection. */
  get connected(): boolean {
    return this.#client !== undefined && this.#loaded;
  }

  /** Calls `listener` on every load, per-model change and disconnection; returns the function that unsubscribes. */
  subscribe(listener: (event: RouterCacheEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The endpoint to send a request for `model` to, or the refusal to answer with: unknown → 404; disabled, stale,
   * degraded, failed, pending, deploying, or no table loaded yet → 503. Evaluated at call time, in memory.
   */
  lookup(model: string): RouterCacheLookup {
    const env = this.environment;
    try {
      parseModelName(model);
    } catch (error) {
      const message = (error as Error).message;
      return failure(404, "unknown", message, message, env, null);
    }
    const name = `model ${JSON.stringify(model)} in ${env}`;
    const quoted = JSON.stringify(model);
    if (!this.#loaded) {
      return failure(503, "unavailable", "the route table has not been loaded from the registry yet (is the database reachable?)", "the router has not loaded its route table yet; retry shortly", env, model);
    }
    const entry = this.#entries.get(model);
    if (!entry) return failure(404, "unknown", `${name} is not registered`, `model ${quoted} is not served in ${env}`, env, model);
    const status = entry.status;
    switch (status) {
      case "ready": {
        const ageMs = entry.checkedAt === null ? null : performance.now() - entry.checkedAt;
        if (ageMs !== null && ageMs <= this.staleAfterSeconds * 1000) {
          return { ok: true, endpoint: entry.endpoint, ...(entry.inferencePool === null ? {} : { inferencePool: entry.inferencePool }) };
        }
        const detail =
          ageMs === null
            ? `${name} has never been health-checked; run \`modelfleet registry health\` or wait for the health checker`
            : `${name} was last health-checked ${Math.floor(ageMs / 1000)} s ago (threshold ${this.staleAfterSeconds} s); is the health checker running?`;
        return failure(503, "stale", detail, `model ${quoted} has not passed a health check in the last ${this.staleAfterSeconds} s`, env, model);
      }
      case "disabled":
        return failure(
          503,
          "disabled",
          entry.disabledBy === "operator"
            ? `${name} was disabled by an operator; \`modelfleet registry enable\` routes it again`
            : `${name} is disabled: it is no longer in the stack`,
          `model ${quoted} is disabled`,
          env,
          model,
        );
      case "degraded":
        return failure(503, "degraded", `${name} failed its last health check`, `model ${quoted} failed its last health check`, env, model);
      case "failed":
        return failure(503, "failed", `${name} failed to deploy`, `model ${quoted} failed to deploy`, env, model);
      case "pending":
      case "deploying":
        return failure(503, status, `${name} is ${status}, not ready yet`, `model ${quoted} is ${status}, not ready yet`, env, model);
      default: {
        const unreachable: never = status;
        return failure(503, "unknown", `${name} has unexpected status ${JSON.stringify(unreachable)}`, `model ${quoted} is not available`, env, model);
      }
    }
  }

  #emit(event: RouterCacheEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #toEntry(row: EntryRow, receivedAt: number): CachedEntry {
    return {
      status: row.deployment_status,
      endpoint: row.deployment_endpoint,
      inferencePool: row.inference_pool,
      disabledBy: row.disabled_by,
      checkedAt: row.age_ms === null ? null : receivedAt - row.age_ms,
    };
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const generation = ++this.#generation;
    let client: pg.Client;
    try {
      client = await connect(this.#url, { connectTimeoutMs: this.#connectTimeoutMs, applicationName: "modelfleet-router-cache" });
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#log({ level: "warn", event: "connect-failed", message: (error as Error).message });
      this.#scheduleReconnect();
      return;
    }
    if (generation !== this.#generation) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    client.on("notification", (message) => this.#onNotification(generation, client, message));
    client.on("error", (error) => this.#onDrop(generation, client, error.message));
    client.on("end", () => this.#onDrop(generation, client, "the server closed the connection"));
    try {
      // LISTEN first: a change committed while the table loads is then notified, and reloaded after the load.
      await client.query(`LISTEN ${REGISTRY_CHANGES_CHANNEL}`);
      await this.#loadAll(generation, client);
    } catch (error) {
      this.#onDrop(generation, client, (error as Error).message.split("\n")[0] ?? "");
      return;
    }
    if (generation !== this.#generation) return;
    this.#failures = 0;
    this.#startPing(generation, client);
    this.#log({ level: "info", event: "connected", message: `listening on ${REGISTRY_CHANGES_CHANNEL}; ${this.#entries.size} model(s) in ${this.environment} loaded` });
    this.#firstLoad?.resolve();
  }

  async #loadAll(generation: number, client: pg.Client): Promise<void> {
    const { rows } = await client.query<EntryRow>({ ...LOAD_ALL, values: [this.environment] });
    if (generation !== this.#generation) return;
    const receivedAt = performance.now();
    this.#entries = new Map(rows.map((row) => [row.model_name, this.#toEntry(row, receivedAt)]));
    this.#loaded = true;
    this.#emit({ type: "loaded", models: this.#entries.size });
  }

  #onNotification(generation: number, client: pg.Client, message: pg.Notification): void {
    if (generation !== this.#generation || message.channel !== REGISTRY_CHANGES_CHANNEL) return;
    const payload = parsePayload(message.payload);
    if (payload && payload.op !== "truncate" && payload.environment !== this.environment) return;
    if (payload && payload.op !== "truncate" && payload.model !== null) {
      this.#reloadModel(generation, client, payload.model);
      return;
    }
    // A truncate, or a payload this version does not understand: reload everything rather than guess.
    if (!payload) this.#log({ level: "warn", event: "bad-notification", message: `unexpected payload on ${REGISTRY_CHANGES_CHANNEL} (${(message.payload ?? "").length} chars); reloading every model` });
    this.#loadAll(generation, client).then(
      () => this.#log({ level: "info", event: "reloaded", message: `${this.#entries.size} model(s) in ${this.environment} reloaded` }),
      () => undefined, // a failed query means the connection dropped: #onDrop reconnects and reloads
    );
  }

  #reloadModel(generation: number, client: pg.Client, model: string): void {
    if (this.#reloading.has(model)) {
      // A query already sent may have read the row before this change committed: read it once more afterwards.
      this.#reloading.set(model, "dirty");
      return;
    }
    this.#reloading.set(model, "running");
    void (async () => {
      do {
        this.#reloading.set(model, "running");
        let rows: EntryRow[];
        try {
          ({ rows } = await client.query<EntryRow>({ ...LOAD_ONE, values: [this.environment, model] }));
        } catch {
          return; // the connection dropped: the reconnect reloads everything
        }
        if (generation !== this.#generation) return;
        const row = rows[0];
        if (row) this.#entries.set(model, this.#toEntry(row, performance.now()));
        else this.#entries.delete(model);
        this.#emit({ type: "change", model, status: row?.deployment_status ?? null });
      } while (this.#reloading.get(model) === "dirty" && generation === this.#generation);
      if (generation === this.#generation) this.#reloading.delete(model);
    })();
  }

  #startPing(generation: number, client: pg.Client): void {
    clearInterval(this.#pingTimer);
    let inFlight = false;
    this.#pingTimer = setInterval(() => {
      if (generation !== this.#generation) return;
      // No answer to the previous ping within a whole interval: the peer is gone without closing the socket.
      if (inFlight) {
        this.#onDrop(generation, client, `no answer to a ping within ${this.#pingIntervalMs} ms`);
        return;
      }
      inFlight = true;
      client.query("SELECT 1").then(
        () => {
          inFlight = false;
        },
        () => undefined,
      );
    }, this.#pingIntervalMs);
    this.#pingTimer.unref();
  }

  #onDrop(generation: number, client: pg.Client, reason: string): void {
    if (generation !== this.#generation || this.#client !== client) return;
    this.#generation++;
    this.#client = undefined;
    this.#reloading.clear();
    clearInterval(this.#pingTimer);
    client.end().catch(() => undefined);
    if (this.#stopped) return;
    this.#log({ level: "warn", event: "disconnected", message: `lost the registry connection (${reason}); serving the last table, which ages out after ${this.staleAfterSeconds} s` });
    this.#emit({ type: "disconnected" });
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const base = Math.min(this.#reconnectMaxDelayMs, this.#reconnectInitialDelayMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    // ±20% jitter, so a fleet of routers does not reconnect in lockstep after a database restart.
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.#log({ level: "info", event: "reconnect-scheduled", message: `reconnecting in ${delay} ms (attempt ${this.#failures})` });
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), delay);
  }
}
