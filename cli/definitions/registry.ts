import { Command } from "commander";
import { ENVIRONMENTS } from "../../config/environments.js";
import { DEFAULT_STALE_AFTER_SECONDS } from "../../config/limits.js";
import { envIo, type EnvCliIo } from "../io.js";
import { DB_URL_ENV } from "./constants.js";

export interface DbOptions {
  readonly dbUrl?: string;
}

export interface RegisterCliOptions extends DbOptions {
  readonly env: string;
  readonly engine: string;
  readonly endpoint: string;
  readonly namespace: string;
  readonly digest?: string;
  readonly servedName?: string;
}

const ENV_LIST = ENVIRONMENTS.join(" | ");
const DB_URL_HELP = `PostgreSQL URL, postgres://user:password@host:port/database (default: $${DB_URL_ENV}); never printed`;

/** The database driver and the registry code load only when a registry command runs. */
const implementation = () => import("../commands/registry.js");

/**
 * `modelfleet registry`: migrate, inspect, route, enable/disable, register and health-check the model registry.
 * Every failure is one line on stderr and a non-zero exit code; a database URL or password is never printed.
 */
export function registryCommand(io: EnvCliIo = envIo()): Command {
  const registry = new Command("registry")
    .description("Manage the PostgreSQL model registry the router reads: schema, entries, routing, health")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", `\nThe database URL comes from --db-url or $${DB_URL_ENV}. See docs/registry.md for the operator guide.`);

  const migrate = registry.command("migrate").description("Apply, revert or list the registry's schema migrations (node-pg-migrate, one transaction)");
  migrate
    .command("up")
    .description("Apply every pending migration in one transaction; a failure leaves the schema as it was")
    .option("--db-url <url>", DB_URL_HELP)
    .action(async (options: DbOptions) => (await implementation()).migrateUpAction(options, io));
  migrate
    .command("down")
    .description("Revert the newest applied migration(s) in one transaction (drops the registry's data!)")
    .option("--count <n>", "how many migrations to revert, newest first (1 to 100)", "1")
    .option("--db-url <url>", DB_URL_HELP)
    .action(async (options: DbOptions & { count: string }) => (await implementation()).migrateDownAction(options, io));
  migrate
    .command("status")
    .description("List each migration as applied (with its time) or pending")
    .option("--db-url <url>", DB_URL_HELP)
    .action(async (options: DbOptions) => (await implementation()).migrateStatusAction(options, io));

  registry
    .command("list")
    .description("List registry entries, ordered by environment then model")
    .option("--env <environment>", `only this environment (${ENV_LIST})`)
    .option("--status <status>", "only this status (pending | deploying | ready | degraded | disabled | failed)")
    .option("--json", "print a JSON array instead of a table")
    .option("--db-url <url>", DB_URL_HELP)
    .action(async (options: DbOptions & { env?: string; status?: string; json?: boolean }) => (await implementation()).listAction(options, io));

  registry
    .command("route")
    .description("Print the endpoint the router would use for a model, or exit 1 saying why there is none")
    .argument("<model>", "model name")
    .requiredOption("--env <environment>", `environment (${ENV_LIST})`)
    .option("--stale-after <seconds>", "a ready model whose last health check is older is not routable (1 to 86400)", String(DEFAULT_STALE_AFTER_SECONDS))
    .option("--db-url <url>", DB_URL_HELP)
    .addHelpText("after", "\nReasons: unknown, disabled, degraded, stale, failed, pending, deploying.")
    .action(async (model: string, options: DbOptions & { env: string; staleAfter: string }) => (await implementation()).routeAction(model, options, io));

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
      .action(async (model: string, options: DbOptions & { env: string }) => (await implementation()).enableDisableAction(verb, model, options, io));
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
    .action(async (model: string, options: RegisterCliOptions) => (await implementation()).registerAction(model, options, io));

  registry
    .command("health")
    .description("Probe http://<endpoint>/health of every ready or degraded entry and record ready/degraded")
    .option("--env <environment>", `only this environment (${ENV_LIST})`)
    .option("--timeout <ms>", "per-probe timeout in milliseconds, 1000 to 300000", "5000")
    .option("--concurrency <n>", "probes in flight at once, 1 to 64", "8")
    .option("--db-url <url>", DB_URL_HELP)
    .addHelpText("after", "\nThe in-cluster CronJob runs this every minute. Exits 0 when degraded models were recorded.")
    .action(async (options: DbOptions & { env?: string; timeout: string; concurrency: string }) => (await implementation()).healthAction(options, io));

  return registry;
}
