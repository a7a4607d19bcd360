import { Command } from "commander";
import { DB_URL_ENV, resolveDatabaseUrl, withConnection } from "../../registry/connection.js";
import { isRegistryError } from "../../registry/errors.js";
import { DEFAULT_STALE_AFTER_SECONDS } from "../../registry/route.js";
import { readinessGate } from "../../stacks/promote/gate.js";
import { formatChanges, promote, PromoteError } from "../../stacks/promote/promote.js";
import { changePath } from "../../stacks/promote/diff.js";
import { processIo as baseIo, type CliIo } from "../io.js";

export interface PromoteCliIo extends CliIo {
  readonly env: NodeJS.ProcessEnv;
}

interface PromoteCliOptions {
  from: string;
  to: string;
  dir?: string;
  write?: boolean;
  only?: string;
  json?: boolean;
  requireReady?: boolean;
  dbUrl?: string;
  staleAfter?: string;
}

/**
 * `modelfleet promote --from staging --to production [--write]`: the promotable keys of one stack file (image
 * pins, model sources, engine settings, models added or removed) as a reviewed diff of another.
 */
export function promoteCommand(io: PromoteCliIo = { ...baseIo(), env: process.env }): Command {
  return new Command("promote")
    .description("Promote image pins, model sources and engine settings from one stack file to another, as a reviewed diff")
    .requiredOption("--from <stack>", "source stack (Pulumi.<stack>.yaml), e.g. staging")
    .requiredOption("--to <stack>", "target stack, e.g. production")
    .option("--dir <path>", "folder of the stack files (default: current folder)")
    .option("--write", "apply the diff to the target file (comments and order kept); without it, only print")
    .option("--only <models>", "comma-separated model names; image pins are then left alone")
    .option("--json", "print the diff as JSON")
    .option("--require-ready", "refuse unless every promoted model is ready in the source environment's registry with the same digest")
    .option("--db-url <url>", `registry database for --require-ready (default: $${DB_URL_ENV}); never printed`)
    .option("--stale-after <seconds>", "health-check freshness for --require-ready", String(DEFAULT_STALE_AFTER_SECONDS))
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", "\nEnvironment-specific keys (namespace, replicas, resources, CORS origins, secrets, offline registry) are never touched.\nExit codes: 0 done (or nothing to do), 1 refused (validation, policies, readiness), 2 bad input (unknown stack, unreadable file).")
    .action(async (options: PromoteCliOptions) => {
      const only = options.only?.split(",").map((s) => s.trim()).filter(Boolean);
      try {
        const staleAfter = Number(options.staleAfter);
        if (!Number.isInteger(staleAfter) || staleAfter < 1) throw new PromoteError("input", `--stale-after must be a whole number of seconds, got "${options.staleAfter}"`);
        const gate = options.requireReady
          ? async (source: Parameters<typeof readinessGate>[1], models: readonly string[]) => {
              const url = resolveDatabaseUrl(options.dbUrl, io.env);
              const failures = await withConnection(url, (client) => readinessGate(client, source, models, staleAfter));
              return failures.map((f) => `${f.model}: ${f.reason}`);
            }
          : undefined;
        const result = await promote({
          from: options.from,
          to: options.to,
          ...(options.dir ? { dir: options.dir } : {}),
          write: options.write === true,
          ...(only ? { only } : {}),
          ...(gate ? { gate } : {}),
        });
        if (options.json) {
          const changes = result.changes.map((c) => ({ kind: c.kind, path: changePath(c), ...(c.kind === "set" ? { from: c.from ?? null, to: c.to ?? null } : c.kind === "add-model" ? { to: c.value } : {}) }));
          io.stdout(`${JSON.stringify({ from: result.from, to: result.to, changes, models: result.models, written: result.written }, null, 2)}\n`);
        } else {
          io.stdout(formatChanges(result));
          if (result.changes.length > 0) io.stdout(result.written ? `Wrote Pulumi.${result.to}.yaml; review it with git diff, then pulumi preview --stack ${result.to}.\n` : "Nothing written (dry run); add --write to apply.\n");
        }
      } catch (error) {
        if (error instanceof PromoteError) {
          io.stderr(`error: ${error.message}\n`);
          io.setExitCode(error.kind === "input" ? 2 : 1);
          return;
        }
        if (isRegistryError(error)) {
          io.stderr(`error: ${error.message}\n`);
          io.setExitCode(1);
          return;
        }
        throw error;
      }
    });
}
