import { Command } from "commander";
import { DB_URL_ENV, resolveDatabaseUrl, withConnection } from "../../registry/connection.js";
import { isRegistryError } from "../../registry/errors.js";
import { DEFAULT_STALE_AFTER_SECONDS } from "../../registry/route.js";
import { readinessGate } from "../../promote/gate.js";
import { formatChanges, promote, PromoteError } from "../../promote/promote.js";
import { changePath } from "../../promote/diff.js";
import { defaultRedactor } from "../../secrets/redact.js";
import { processIo as baseIo, type CliIo } from "../io.js";

/** A health check older than a day says nothing about readiness now. */
const MAX_STALE_AFTER_SECONDS = 86_400;

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
    .option("--require-ready", "refuse unless every affected model (changed, added, or on a re-pinned engine image) is ready in the source environment's registry, on the same digest, freshly health-checked")
    .option("--db-url <url>", `registry database for --require-ready (default: $${DB_URL_ENV}); never printed`)
    .option("--stale-after <seconds>", `health-check freshness for --require-ready (default: the source stack's registry.staleAfterSeconds, ${DEFAULT_STALE_AFTER_SECONDS} unless set)`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", "\nEnvironment-specific keys (namespace, replicas, resources, CORS origins, secrets, offline registry) are never touched.\nExit codes: 0 done (or nothing to do), 1 refused (validation, policies, readiness, registry unreachable), 2 bad input (unknown stack, unreadable or malformed file, bad flag, no database URL).")
    .action(async (options: PromoteCliOptions) => {
      const only = options.only?.split(",").map((s) => s.trim()).filter(Boolean);
      try {
        const staleAfter = options.staleAfter === undefined ? undefined : Number(options.staleAfter);
        if (staleAfter !== undefined && (!Number.isInteger(staleAfter) || staleAfter < 1 || staleAfter > MAX_STALE_AFTER_SECONDS)) {
          const text = String(options.staleAfter);
          const shown = text.length > 40 ? `${text.slice(0, 40)}…(${text.length} chars)` : text;
          throw new PromoteError("input", `--stale-after "${shown}": a whole number of seconds from 1 to ${MAX_STALE_AFTER_SECONDS} (one day) is allowed; e.g. --stale-after 90`);
        }
        // Resolved before any file is read, so a missing URL is reported up front rather than after the diff.
        const url = options.requireReady ? resolveDatabaseUrl(options.dbUrl, io.env) : undefined;
        if (url) defaultRedactor.addUrl(url);
        const gate = url
          ? async (source: Parameters<typeof readinessGate>[1], models: readonly string[]) => {
              const failures = await withConnection(url, (client) => readinessGate(client, source, models, staleAfter ?? source.registry.staleAfterSeconds));
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
          io.stdout(`${JSON.stringify({ from: result.from, to: result.to, changes, models: result.models, affected: result.affected, expanded: result.expanded, written: result.written, formatting: result.formatting }, null, 2)}\n`);
        } else {
          io.stdout(formatChanges(result));
          if (result.changes.length > 0) {
            for (const e of result.expanded) {
              const why = e.reason === "kept" ? "which this promotion changes; it is written out in full so its values stay as they are" : "and this promotion changes it; it is written out in full so the change applies to it alone";
              io.stdout(`Note: ${e.at} used the YAML anchor &${e.anchor}, ${why}.\n`);
            }
            if (result.formatting === "reprinted") io.stdout(`Note: an edit could not be spliced into Pulumi.${result.to}.yaml line by line, so the YAML writer prints the whole file: comments and key order are kept, spacing may change.\n`);
            io.stdout(result.written ? `Wrote Pulumi.${result.to}.yaml; review it with git diff, then pulumi preview --stack ${result.to}.\n` : "Nothing written (dry run); add --write to apply.\n");
          }
        }
      } catch (error) {
        if (error instanceof PromoteError) {
          io.stderr(`error: ${defaultRedactor.redact(error.message)}\n`);
          io.setExitCode(error.kind === "input" ? 2 : 1);
          return;
        }
        if (isRegistryError(error)) {
          io.stderr(`error: ${defaultRedactor.redact(error.message)}\n`);
          io.setExitCode(error.kind === "input" ? 2 : 1);
          return;
        }
        throw error;
      }
    });
}
