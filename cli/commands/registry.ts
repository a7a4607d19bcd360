import type pg from "pg";
import { resolveDatabaseUrl, withConnection } from "../../registry/connection.js";
import { defaultRedactor } from "../../secrets/redact.js";
import { isRegistryError } from "../../registry/errors.js";
import { route } from "../../registry/route.js";
import { toRegistryError } from "../../registry/transaction.js";
import type { RegistryEntry } from "../../registry/types.js";
import {
  parseBoundedInteger,
  parseDigest,
  parseEndpoint,
  parseEngine,
  parseEnvironment,
  parseModelName,
  parseNamespace,
  parseServedModelName,
  parseStaleAfterSeconds,
  parseStatus,
  REGISTRY_LIMITS,
} from "../../registry/validate.js";
import type { DbOptions, RegisterCliOptions } from "../definitions/registry.js";
import { envIo, type EnvCliIo } from "../io.js";

export { registryCommand } from "../definitions/registry.js";

/** The registry commands also read MODELFLEET_DB_URL from `env`. */
export type RegistryCliIo = EnvCliIo;

export function processIo(): RegistryCliIo {
  return envIo();
}

// Each action imports what only it needs: node-pg-migrate (migrate), the entry writers, the health prober. So
// `registry route`, which the router's operators run most, loads the driver, the route query and the validators.
const migrations = () => import("../../registry/migrate.js");
const entryWriters = () => import("../../registry/entries.js");

const out = (io: RegistryCliIo, line = ""): void => io.stdout(`${line}\n`);

/** Runs an action: registry and database errors become `error: <one line>`, exit 2 for bad input, else 1. */
async function run(io: RegistryCliIo, fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    if (code) io.setExitCode(code);
  } catch (error) {
    const known = isRegistryError(error) || typeof (error as { code?: unknown })?.code === "string";
    if (!known) throw error;
    const registryError = toRegistryError(error);
    io.stderr(`error: ${defaultRedactor.redact(registryError.message)}\n`);
    io.setExitCode(registryError.kind === "input" ? 2 : 1);
  }
}

function connected<T>(io: RegistryCliIo, options: DbOptions, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = resolveDatabaseUrl(options.dbUrl, io.env);
  defaultRedactor.addUrl(url);
  return withConnection(url, fn);
}

/** `registry migrate up`. The actions behind cli/definitions/registry.ts follow. */
export function migrateUpAction(options: DbOptions, io: RegistryCliIo): Promise<void> {
  return run(io, async () => {
    const { migrateUp } = await migrations();
    const applied = await connected(io, options, (client) => migrateUp(client));
    if (applied.length === 0) out(io, "registry schema is up to date");
    for (const name of applied) out(io, `applied ${name}`);
  });
}

export function migrateDownAction(options: DbOptions & { count: string }, io: RegistryCliIo): Promise<void> {
  return run(io, async () => {
    const count = parseBoundedInteger("--count", options.count, REGISTRY_LIMITS.migrateDownCount, "migrations");
    const { migrateDown } = await migrations();
    const reverted = await connected(io, options, (client) => migrateDown(client, { count }));
    if (reverted.length === 0) out(io, "no applied migration to revert");
    for (const name of reverted) out(io, `reverted ${name}`);
  });
}

export function migrateStatusAction(options: DbOptions, io: RegistryCliIo): Promise<void> {
  return run(io, async () => {
    const { migrationStatus } = await migrations();
    const states = await connected(io, options, (client) => migrationStatus(client));
    for (const state of states) {
      const when = state.appliedAt ? state.appliedAt.toISOString() : "-";
      const label = state.appliedAt ? "applied" : "pending";
      out(io, `${label.padEnd(8)} ${when.padEnd(24)} ${state.name}${state.known ? "" : " (no such file in this build)"}`);
    }
    const pending = states.filter((state) => !state.appliedAt).length;
    out(io, pending === 0 ? "up to date" : `${pending} pending: run \`modelfleet registry migrate up\``);
  });
}

export function listAction(options: DbOptions & { env?: string; status?: string; json?: boolean }, io: RegistryCliIo): Promise<void> {
  return run(io, async () => {
    // Bad input is reported before connecting.
    if (options.env !== undefined) parseEnvironment(options.env);
    if (options.status !== undefined) parseStatus(options.status);
    const { listEntries } = await entryWriters();
    const entries = await connected(io, options, (client) =>
      listEntries(client, {
        ...(options.env === undefined ? {} : { environment: options.env }),
        ...(options.status === undefined ? {} : { status: options.status }),
      }),
    );
    if (options.json) out(io, JSON.stringify(entries.map(entryJson), null, 2));
    else out(io, formatTable(entries));
  });
}

export function routeAction(model: string, options: DbOptions & { env: string; staleAfter: string }, io: RegistryCliIo): Promise<void> {
  return run(io, async () => {
    parseModelName(model);
    const environment = parseEnvironment(options.env);
    const staleAfterSeconds = parseStaleAfterSeconds(options.staleAfter);
    const result = await connected(io, options, (client) => route(client, model, environment, { staleAfterSeconds }));
    if (result.ok) {
      out(io, result.endpoint);
      return 0;
    }
    io.stderr(`not routable (${result.reason}): ${result.detail}\n`);
    return 1;
  });
}

export function enableDisableAction(verb: "enable" | "disable", model: string, options: DbOptions & { env: string }, io: RegistryCliIo): Promise<void> {
  return run(io, async () => {
    parseModelName(model);
    const environment = parseEnvironment(options.env);
    const { disableModel, enableModel } = await entryWriters();
    const change = verb === "disable" ? disableModel : enableModel;
    const { entry, changed } = await connected(io, options, (client) => change(client, model, environment));
    const name = `model ${entry.modelName} in ${entry.environment}`;
    out(io, changed ? `${verb}d ${name} (now ${entry.status})` : `${name} is already ${entry.status}; nothing changed`);
  });
}

export function registerAction(model: string, options: RegisterCliOptions, io: RegistryCliIo): Promise<void> {
  return run(io, async () => {
    // Every value checked before connecting, so bad input never waits for (or reaches) the database.
    parseModelName(model);
    parseEnvironment(options.env);
    parseEngine(options.engine);
    parseEndpoint(options.endpoint);
    parseNamespace(options.namespace);
    parseDigest(options.digest);
    if (options.servedName !== undefined) parseServedModelName(options.servedName);
    const { registerModel } = await entryWriters();
    const { entry, changed } = await connected(io, options, (client) =>
      registerModel(client, {
        modelName: model,
        environment: options.env,
        engine: options.engine,
        endpoint: options.endpoint,
        namespace: options.namespace,
        imageDigest: options.digest ?? null,
        ...(options.servedName === undefined ? {} : { servedModelName: options.servedName }),
      }),
    );
    const name = `model ${entry.modelName} in ${entry.environment}`;
    out(io, changed ? `registered ${name} at ${entry.endpoint} (${entry.status}, manual)` : `${name} is already registered with these values; nothing changed`);
  });
}

export function healthAction(options: DbOptions & { env?: string; timeout: string; concurrency: string }, io: RegistryCliIo): Promise<void> {
  return run(io, async () => {
    const timeoutMs = parseBoundedInteger("--timeout", options.timeout, REGISTRY_LIMITS.cliHealthTimeoutMs, "milliseconds");
    const concurrency = parseBoundedInteger("--concurrency", options.concurrency, REGISTRY_LIMITS.healthConcurrency, "probes");
    const environment = options.env === undefined ? undefined : parseEnvironment(options.env);
    const { checkHealth } = await import("../../registry/health.js");
    const results = await connected(io, options, (client) => checkHealth(client, { ...(environment ? { environment } : {}), timeoutMs, concurrency }));
    for (const r of results) {
      const how = r.error ?? `HTTP ${r.httpStatus}`;
      out(io, `${r.environment.padEnd(12)} ${r.modelName.padEnd(24)} ${r.status.padEnd(9)} ${how}${r.recorded ? "" : " (changed meanwhile; not recorded)"}`);
    }
    const degraded = results.filter((r) => r.status === "degraded").length;
    out(io, `checked ${results.length}: ${results.length - degraded} ready, ${degraded} degraded`);
  });
}

function entryJson(entry: RegistryEntry): Record<string, unknown> {
  return {
    id: entry.id,
    modelName: entry.modelName,
    environment: entry.environment,
    status: entry.status,
    engine: entry.engine,
    servedModelName: entry.servedModelName,
    imageDigest: entry.imageDigest,
    endpoint: entry.endpoint,
    namespace: entry.namespace,
    managedBy: entry.managedBy,
    disabledBy: entry.disabledBy,
    inferencePool: entry.inferencePool ?? null,
    lastHealthCheckAt: entry.lastHealthCheckAt?.toISOString() ?? null,
    createdAt: entry.createdAt.toISOString(),
    updatedAt: entry.updatedAt.toISOString(),
  };
}

function formatTable(entries: readonly RegistryEntry[]): string {
  if (entries.length === 0) return "no entries";
  const header = ["ENVIRONMENT", "MODEL", "STATUS", "ENGINE", "ENDPOINT", "NAMESPACE", "MANAGED", "LAST HEALTH CHECK"];
  const rows = entries.map((e) => [
    e.environment,
    e.modelName,
    e.status === "disabled" && e.disabledBy ? `disabled (${e.disabledBy})` : e.status,
    e.engine,
    e.endpoint,
    e.namespace,
    e.managedBy,
    e.lastHealthCheckAt?.toISOString() ?? "never",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}
