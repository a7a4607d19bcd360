/**
 * The `modelfleet verify` command's work: which models of a stack to verify, where they answer, with which key,
 * and what to print. The CLI definition (cli/) only parses flags and calls `runVerify`.
 */
import { resolve } from "node:path";
import { loadStackFile, stackFileName } from "../config/load.js";
import { ConfigError } from "../config/problems.js";
import { stackNameProblem } from "../config/stack-name.js";
import type { StackConfig } from "../config/types.js";
import { resolveDatabaseUrl, withConnection } from "../registry/connection.js";
import { isRegistryError } from "../registry/errors.js";
import { recordVerification } from "../registry/verifications.js";
import { verifyModel, type VerifyResult } from "./verify.js";

import { API_KEY_ENV } from "./http.js";

export { API_KEY_ENV };

export interface VerifyRunOptions {
  /** Stack name: reads `Pulumi.<stack>.yaml`. */
  readonly stack: string;
  /** Stack file to read instead. @default Pulumi.<stack>.yaml */
  readonly stackFile?: string;
  /** Verify only this model. @default every model of the stack */
  readonly model?: string;
  /** Base URL to use instead of the in-cluster Service (a port-forward); needs `model`. @default the Service */
  readonly endpointOverride?: string;
  /** Print JSON instead of a table. @default false */
  readonly json?: boolean;
  /** Timeout of /health and /v1/models in ms. @default 10000 */
  readonly probeTimeoutMs?: number;
  /** Record each result on the model's registry entry (what `promote --require-verified` reads). @default false */
  readonly record?: boolean;
  /** Registry database URL for `record`. @default MODELFLEET_DB_URL */
  readonly dbUrl?: string;
}

/** Where a day-2 command writes and the environment it reads (the key and database URL): the process, or a test's capture. */
export interface VerifyRunIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** Exit codes: 0 every model passed; 1 a model failed a check; 2 bad flags or stack config. */
export const VERIFY_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function usage(io: VerifyRunIo, message: string): number {
  io.stderr(`error: ${message}\n`);
  return VERIFY_EXIT.usage;
}

export function formatResults(results: readonly VerifyResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? "PASS" : "FAIL"}  ${r.model}  ${r.baseUrl}`);
    for (const c of r.checks) lines.push(`  ${c.ok ? "ok  " : "FAIL"}  ${c.check.padEnd(10)} ${(c.ms / 1000).toFixed(2).padStart(6)} s  ${c.detail}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push(failed === 0 ? `${results.length} model(s) verified` : `${failed} of ${results.length} model(s) failed`);
  return `${lines.join("\n")}\n`;
}

export async function runVerify(options: VerifyRunOptions, io: VerifyRunIo): Promise<number> {
  const stackProblem = stackNameProblem(options.stack);
  if (stackProblem !== undefined) return usage(io, `--stack: ${stackProblem}`);
  if (options.endpointOverride !== undefined) {
    if (options.model === undefined) return usage(io, "--endpoint-override needs --model: it is where that one model answers (e.g. a kubectl port-forward)");
    let url: URL | undefined;
    try {
      url = new URL(options.endpointOverride);
    } catch {
      url = undefined;
    }
    if (url && (url.username || url.password)) {
      return usage(io, `--endpoint-override must be a URL without credentials (received one with user info, not shown); the API key comes from ${API_KEY_ENV}`);
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return usage(io, `--endpoint-override must be an http(s) URL, e.g. http://127.0.0.1:8000 (received ${JSON.stringify(options.endpointOverride.slice(0, 80))})`);
    }
  }
  let config: StackConfig;
  try {
    config = loadStackFile(resolve(io.cwd ?? process.cwd(), options.stackFile ?? stackFileName(options.stack)), options.stack);
  } catch (error) {
    if (error instanceof ConfigError) return usage(io, error.message);
    throw error;
  }
  const models = options.model === undefined ? config.models : config.models.filter((m) => m.name === options.model);
  if (models.length === 0) {
    return usage(io, `--model: no model "${options.model}" in ${config.file}; its models are ${config.models.map((m) => m.name).join(", ")}`);
  }
  const apiKey = io.env[API_KEY_ENV] || undefined;
  if (config.apiKey !== "none" && apiKey === undefined) {
    return usage(io, `the ${config.stack} stack's engines require an API key; set ${API_KEY_ENV} (e.g. from \`pulumi stack output\` or your secret store) and run again`);
  }
  let dbUrl: string | undefined;
  if (options.record) {
    try {
      dbUrl = resolveDatabaseUrl(options.dbUrl, io.env);
    } catch (error) {
      if (isRegistryError(error)) return usage(io, `--record: ${error.message}`);
      throw error;
    }
  }
  const results: VerifyResult[] = [];
  for (const model of models) {
    const baseUrl = options.endpointOverride ?? `http://${model.endpoint}`;
    results.push(
      await verifyModel(
        { model: model.name, servedModelName: model.servedModelName, baseUrl, latencyBudgetSeconds: model.latencyBudgetSeconds },
        { ...(apiKey ? { apiKey } : {}), ...(options.probeTimeoutMs ? { probeTimeoutMs: options.probeTimeoutMs } : {}) },
      ),
    );
  }
  io.stdout(options.json ? `${JSON.stringify({ stack: config.stack, results }, null, 2)}\n` : formatResults(results));
  if (dbUrl !== undefined) {
    const unregistered = await withConnection(dbUrl, async (client) => {
      const missing: string[] = [];
      for (const r of results) {
        const outcome = r.ok ? "passed" : "failed";
        const recorded = await recordVerification(client, { model: r.model, environment: config.environment, outcome, ...(r.completionMs === undefined ? {} : { latencyMs: r.completionMs }) });
        if (!recorded) missing.push(r.model);
      }
      return missing;
    });
    if (unregistered.length > 0) {
      io.stderr(`error: not recorded: ${unregistered.join(", ")} ha${unregistered.length === 1 ? "s" : "ve"} no registry entry in ${config.environment} (deploy it, or \`modelfleet registry register\`)\n`);
      return VERIFY_EXIT.failed;
    }
    io.stderr(`recorded ${results.length} result(s) in the registry (${config.environment})\n`);
  }
  return results.every((r) => r.ok) ? VERIFY_EXIT.ok : VERIFY_EXIT.failed;
}
