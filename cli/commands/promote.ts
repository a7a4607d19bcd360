import { resolveDatabaseUrl, withConnection } from "../../registry/connection.js";
import { isRegistryError } from "../../registry/errors.js";
import { readinessGate, verificationGate } from "../../promote/gate.js";
import { formatChanges, promote, PromoteError } from "../../promote/promote.js";
import { changePath } from "../../promote/diff.js";
import { defaultRedactor } from "../../secrets/redact.js";
import type { PromoteCliOptions } from "../definitions/promote.js";
import type { EnvCliIo } from "../io.js";
import { credentialShapedArgument } from "./credential-args.js";

export { promoteCommand } from "../definitions/promote.js";

/** A health check older than a day says nothing about readiness now. */
const MAX_STALE_AFTER_SECONDS = 86_400;
/** A verification older than a week proves nothing about today's build. */
const MAX_VERIFIED_MINUTES = 10_080;

export type PromoteCliIo = EnvCliIo;

/** `modelfleet promote`: the action behind cli/definitions/promote.ts. */
export async function runPromote(options: PromoteCliOptions, io: PromoteCliIo): Promise<void> {
  const only = options.only?.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    const refused = credentialShapedArgument({ "--from": options.from, "--to": options.to });
    if (refused) throw new PromoteError("input", refused);
    const staleAfter = options.staleAfter === undefined ? undefined : Number(options.staleAfter);
    if (staleAfter !== undefined && (!Number.isInteger(staleAfter) || staleAfter < 1 || staleAfter > MAX_STALE_AFTER_SECONDS)) {
      const text = String(options.staleAfter);
      const shown = text.length > 40 ? `${text.slice(0, 40)}…(${text.length} chars)` : text;
      throw new PromoteError("input", `--stale-after "${shown}": a whole number of seconds from 1 to ${MAX_STALE_AFTER_SECONDS} (one day) is allowed; e.g. --stale-after 90`);
    }
    const verifiedWithin = options.requireVerified === undefined ? undefined : Number(options.requireVerified);
    if (verifiedWithin !== undefined && (!/^\d+$/.test(options.requireVerified ?? "") || verifiedWithin < 1 || verifiedWithin > MAX_VERIFIED_MINUTES)) {
      const text = String(options.requireVerified);
      const shown = text.length > 40 ? `${text.slice(0, 40)}…(${text.length} chars)` : text;
      throw new PromoteError("input", `--require-verified "${shown}": a whole number of minutes from 1 to ${MAX_VERIFIED_MINUTES} (one week) is allowed; e.g. --require-verified 60`);
    }
    // Resolved before any file is read, so a missing URL is reported up front rather than after the diff.
    const url = options.requireReady || verifiedWithin !== undefined ? resolveDatabaseUrl(options.dbUrl, io.env) : undefined;
    if (url) defaultRedactor.addUrl(url);
    const gate = url
      ? async (source: Parameters<typeof readinessGate>[1], models: readonly string[]) => {
          const failures = await withConnection(url, async (client) => [
            ...(options.requireReady ? await readinessGate(client, source, models, staleAfter ?? source.registry.staleAfterSeconds) : []),
            ...(verifiedWithin !== undefined ? await verificationGate(client, source, models, verifiedWithin) : []),
          ]);
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
}
