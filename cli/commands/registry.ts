import { Command } from "commander";
import type pg from "pg";
import { DB_URL_ENV, resolveDatabaseUrl, withConnection } from "../../registry/connection.js";
import { defaultRedactor } from "../../secrets/redact.js";
import { checkHealth } from "../../registry/health.js";
import { disableModel, enableModel, listEntries, registerModel } from "../../registry/entries.js";
import { isRegistryError } from "../../registry/errors.js";
import { migrateDown, migrateUp, migrationStatus } from "../../registry/migrate.js";
import { DEFAULT_STALE_AFTER_SECONDS, route } from "../../registry/route.js";
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
import { ENVIRONMENTS } from "../../config/environments.js";
import { processIo as baseIo, type CliIo } from "../io.js";

/** The registry commands also read MODELFLEET_DB_URL from `env`. */
export interface RegistryCliIo extends CliIo {
  readonly env: NodeJS.ProcessEnv;
}

export function processIo(): RegistryCliIo {
  return { ...baseIo(), env: process.env };
}

const ENV_LIST = ENVIRONMENTS.join(" | ");
const DB_URL_HELP = `PostgreSQL URL, postgres://user:password@host:port/database (default: $${DB_URL_ENV}); never printed`;

interface DbOptions {
  dbUrl?: string;
}

/**
 * `modelfleet registry`: migrate, inspect, route, enable/disable, register and health-check the model registry.
 * Every failure is one line on stderr and a non-zero exit code; a database URL or password is never printed.
 */
export function registryCommand(io: RegistryCliIo = processIo()): Command {
  const out = (line = ""): void => io.stdout(`${line}\n`);

  /** Wraps an action: registry and database errors become `error: <one line>`, exit 2 for bad input, else 1. */
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<number | void>) =>
    async (...args: A): Promise<void> => {
      try {
        const code = await fn(...args);
        if (code) io.setExitCode(code);
      } catch (error) {
        const known = isRegistryError(error) || typeof (error as { code?: unknown })?.code === "string";
        if (!known) throw error;
        const registryError = toRegistryError(error);
        io.stderr(`error: ${defaultRedactor.redact(registryError.message)}\n`);
        io.setExitCode(registryError.kind === "input" ? 2 : 1);
      }
    };

  const connected = <T>(options: DbOptions, fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const url = resolveDatabaseUrl(options.dbUrl, io.env);
    defaultRedactor.addUrl(url);
    return withConnection(url, fn);
  };

  const registry = new Command("registry")
    .description("Manage the PostgreSQL model registry the router reads: schema, entries, routing, health")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      "after",
      `\nThe database URL comes from --db-url or $${DB_URL_ENV}. See docs/registry.md for the operator guide.`,
    );

  // migrate up | down | status
  const migrate = registry
    .command("migrate")
    .description("Apply, revert or list the registry's schema migrations (node-pg-migrate, one transaction)");
  migrate
    .command("up")
    .description("Apply every pending migration in one transaction; a failure leaves the schema as it was")
    .option("--db-url <url>", DB_URL_HELP)
    .action(
      run(async (options: DbOptions) => {
        const applied = await connected(options, (client) => migrateUp(client));
        if (applied.length === 0) out("registry schema is up to date");
        for (const name of applied) out(`applied ${name}`);
      }),
    );
  migrate
    .command("down")
    .description("Revert the newest applied migration(s) in one transaction (drops the registry's data!)")
    .option("--count <n>", "how many migrations to revert, newest first (1 to 100)", "1")
    .option("--db-url <url>", DB_URL_HELP)
    .action(
      run(async (options: DbOptions & { count: string }) => {
        const count = parseBoundedInteger("--count", options.count, REGISTRY_LIMITS.migrateDownCount, "migrations");
        const reverted = await connected(options, (client) => migrateDown(client, { count }));
        if (reverted.length === 0) out("no applied migration to revert");
        for (const name of reverted) out(`reverted ${name}`);
      }),
    );
  migrate
    .command("status")
    .description("List each migration as applied (with its time) or pending")
    .option("--db-url <url>", DB_URL_HELP)
    .action(
      run(async (options: DbOptions) => {
        const states = await connected(options, (client) => migrationStatus(client));
        for (const state of states) {
          const when = state.appliedAt ? state.appliedAt.toISOString() : "-";
          const label = state.appliedAt ? "applied" : "pending";
          out(`${label.padEnd(8)} ${when.padEnd(24)} ${state.name}${state.known ? "" : " (no such file in this build)"}`);
        }
        const pending = states.filter((state) => !state.appliedAt).length;
        out(pending === 0 ? "up to date" : `${pending} pending: run \`modelfleet registry migrate up\``);
      }),
    );

  registry
    .command("list")
    .description("List registry entries, ordered by environment then model")
    .option("--env <environment>", `only this environment (${ENV_LIST})`)
    .option("--status <status>", "only this status (pending | deploying | ready | degraded | disabled | failed)")
    .option("--json", "print a JSON array instead of a table")
    .option("--db-url <url>", DB_URL_HELP)
    .action(
      run(async (options: DbOptions & { env?: string; status?: string; json?: boolean }) => {
        // Bad input is reported before connecting.
        if (options.env !== undefined) parseEnvironment(options.env);
        if (options.status !== undefined) parseStatus(options.status);
        const entries = await connected(options, (client) =>
          listEntries(client, {
            ...(options.env === undefined ? {} : { environment: options.env }),
            ...(options.status === undefined ? {} : { status: options.status }),
          }),
        );
        if (options.json) out(JSON.stringify(entries.map(entryJson), null, 2));
        else out(formatTable(entries));
      }),
    );

  registry
    .command("route")
    .description("Print the endpoint the router would use for a model, or exit 1 saying why there is none")
    .argument("<model>", "model name")
    .requiredOption("--env <environment>", `environment (${ENV_LIST})`)
    .option(
      "--stale-after <seconds>",
      "a ready model whose last health check is older is not routable (1 to 86400)",
      String(DEFAULT_STALE_AFTER_SECONDS),
    )
    .option("--db-url <url>", DB_URL_HELP)
    .addHelpText("after", "\nReasons: unknown, disabled, degraded, stale, failed, pending, deploying.")
    .action(
      run(async (model: string, options: DbOptions & { env: string; staleAfter: string }) => {
        parseModelName(model);
        const environment = parseEnvironment(options.env);
        const staleAfterSeconds = parseStaleAfterSeconds(options.staleAfter);
        const result = await connected(options, (client) => route(client, model, environment, { staleAfterSeconds }));
        if (result.ok) {
          out(result.endpoint);
          return 0;
        }
        io.stderr(`not routable (${result.reason}): ${result.detail}\n`);
        return 1;
      }),
    );

  for (const verb of ["enable", "disable"] as const) {
    registry
      .command(verb)
      .description(
        verb === "disable"
          ? "Stop routing to a model now; it stays disabled (even across deploys) until `registry enable`"
          : "Route to a model an operator disabled again, once its next health check passes",
      )
      .argument("<model>", "model name")
      .requiredOption("--env <environment>", `environment (${ENV_LIST})`)
      .option("--db-url <url>", DB_URL_HELP)
      .action(
        run(async (model: string, options: DbOptions & { env: string }) => {
          parseModelName(model);
          const environment = parseEnvironment(options.env);
          const change = verb === "disable" ? disableModel : enableModel;
          const { entry, changed } = await connected(options, (client) => change(client, model, environment));
          const name = `model ${entry.modelName} in ${entry.environment}`;
          out(changed ? `${verb}d ${name} (now ${entry.status})` : `${name} is already ${entry.status}; nothing changed`);
        }),
      );
  }

  registry
    .command("register")
    .description("Add or update a model deployed outside the stack (managed by hand; reconcile never touches it)")
    .argument("<model>", "model name (a DNS label)")
    .requiredOption("--env <environment>", `environment (${ENV_LIST})`)
    .requiredOption("--engine <engine>", "vllm | llamacpp")
    .requiredOption("--endpoint <host:port>", "where the router sends requests, e.g. llama.inference.svc.cluster.local:8000")
    .requiredOption("--namespace <namespace>", "Kubernetes namespace the model runs in")
    .option("--digest <sha256:hex>", "image digest the model runs")
    .option("--served-name <name>", "name the engine serves the model under (default: the model name)")
    .option("--db-url <url>", DB_URL_HELP)
    .addHelpText("after", "\nA new entry is routable after its first successful `registry health` run.")
    .action(
      run(
        async (
          model: string,
          options: DbOptions & {
            env: string;
            engine: string;
            endpoint: string;
            namespace: string;
            digest?: string;
            servedName?: string;
          },
        ) => {
          // Every value checked before connecting, so bad input never waits for (or reaches) the database.
          parseModelName(model);
          parseEnvironment(options.env);
          parseEngine(options.engine);
          parseEndpoint(options.endpoint);
          parseNamespace(options.namespace);
          parseDigest(options.digest);
          if (options.servedName !== undefined) parseServedModelName(options.servedName);
          const { entry, changed } = await connected(options, (client) =>
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
          out(changed ? `registered ${name} at ${entry.endpoint} (${entry.status}, manual)` : `${name} is already registered with these values; nothing changed`);
        },
      ),
    );

  registry
    .command("health")
    .description("Probe http://<endpoint>/health of every ready or degraded entry and record ready/degraded")
    .option("--env <environment>", `only this environment (${ENV_LIST})`)
    .option("--timeout <ms>", "per-probe timeout in milliseconds, 1000 to 300000", "5000")
    .option("--concurrency <n>", "probes in flight at once, 1 to 64", "8")
    .option("--db-url <url>", DB_URL_HELP)
    .addHelpText("after", "\nThe in-cluster CronJob runs this every minute. Exits 0 when degraded models were recorded.")
    .action(
      run(async (options: DbOptions & { env?: string; timeout: string; concurrency: string }) => {
        const timeoutMs = parseBoundedInteger("--timeout", options.timeout, REGISTRY_LIMITS.cliHealthTimeoutMs, "milliseconds");
        const concurrency = parseBoundedInteger("--concurrency", options.concurrency, REGISTRY_LIMITS.healthConcurrency, "probes");
        const environment = options.env === undefined ? undefined : parseEnvironment(options.env);
        const results = await connected(options, (client) =>
          checkHealth(client, { ...(environment ? { environment } : {}), timeoutMs, concurrency }),
        );
        for (const r of results) {
          const how = r.error ?? `HTTP ${r.httpStatus}`;
          out(`${r.environment.padEnd(12)} ${r.modelName.padEnd(24)} ${r.status.padEnd(9)} ${how}${r.recorded ? "" : " (changed meanwhile; not recorded)"}`);
        }
        const degraded = results.filter((r) => r.status === "degraded").length;
        out(`checked ${results.length}: ${results.length - degraded} ready, ${degraded} degraded`);
      }),
    );

  return registry;
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
