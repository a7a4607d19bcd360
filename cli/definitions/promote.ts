import { Command } from "commander";
import { DEFAULT_STALE_AFTER_SECONDS } from "../../config/limits.js";
import { envIo, type EnvCliIo } from "../io.js";
import { DB_URL_ENV } from "./constants.js";

export interface PromoteCliOptions {
  readonly from: string;
  readonly to: string;
  readonly dir?: string;
  readonly write?: boolean;
  readonly only?: string;
  readonly json?: boolean;
  readonly requireReady?: boolean;
  readonly dbUrl?: string;
  readonly staleAfter?: string;
  readonly requireVerified?: string;
}

/**
 * `modelfleet promote --from staging --to production [--write]`: the promotable keys of one stack file (image
 * pins, model sources, engine settings, models added or removed) as a reviewed diff of another.
 */
export function promoteCommand(io: EnvCliIo = envIo()): Command {
  return new Command("promote")
    .description("Promote image pins, model sources and engine settings from one stack file to another, as a reviewed diff")
    .requiredOption("--from <stack>", "source stack (Pulumi.<stack>.yaml), e.g. staging")
    .requiredOption("--to <stack>", "target stack, e.g. production")
    .option("--dir <path>", "folder of the stack files (default: current folder)")
    .option("--write", "apply the diff to the target file (comments and order kept); without it, only print")
    .option("--only <models>", "comma-separated model names; image pins are then left alone")
    .option("--json", "print the diff as JSON")
    .option("--require-ready", "refuse unless every affected model (changed, added, or on a re-pinned engine image) is ready in the source environment's registry, on the same digest, freshly health-checked")
    .option("--require-verified <minutes>", "refuse unless every affected model passed `modelfleet verify --record` in the source environment within <minutes>, on the digest being promoted")
    .option("--db-url <url>", `registry database for --require-ready / --require-verified (default: $${DB_URL_ENV}); never printed`)
    .option("--stale-after <seconds>", `health-check freshness for --require-ready (default: the source stack's registry.staleAfterSeconds, ${DEFAULT_STALE_AFTER_SECONDS} unless set)`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", "\nEnvironment-specific keys (namespace, replicas, resources, CORS origins, secrets, offline registry) are never touched.\nExit codes: 0 done (or nothing to do), 1 refused (validation, policies, readiness, registry unreachable), 2 bad input (unknown stack, unreadable or malformed file, bad flag, no database URL).")
    .action(async (options: PromoteCliOptions) => (await import("../commands/promote.js")).runPromote(options, io));
}
