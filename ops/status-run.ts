/**
 * The `modelfleet status` command's work: read the stack config, then the registry (when a database URL is given),
 * the engines (in-cluster Service, or `--endpoint model=url`) and the rollouts (when a kubeconfig is available), and
 * print the report. The CLI definition only parses flags (see ops/status-options.ts) and calls `runStatus`.
 */
import { resolve } from "node:path";
import { loadStackFile, stackFileName } from "../config/load.js";
import { ConfigError } from "../config/problems.js";
import { stackNameProblem } from "../config/stack-name.js";
import type { StackConfig } from "../config/types.js";
import { modelSelector } from "../components/shared/labels.js";
import { DB_URL_ENV, describeDatabaseUrl, withConnection } from "../registry/connection.js";
import { listEntries } from "../registry/entries.js";
import { isRegistryError } from "../registry/errors.js";
import { toRegistryError } from "../registry/transaction.js";
import { defaultRedactor } from "../secrets/redact.js";
import { chooseKubeconfig, KubeconfigError, openRolloutReader, type RolloutView } from "./kube.js";
import { buildReport, formatReport, reportJson, type ProbeView, type ReportInput } from "./status.js";
import { probeEngine } from "./status-probe.js";
import { API_KEY_ENV } from "./http.js";
import type { VerifyRunIo } from "./verify-run.js";

export interface StatusRunOptions {
  /** Stack name: reads `Pulumi.<stack>.yaml`. */
  readonly stack: string;
  /** Stack file to read instead. @default Pulumi.<stack>.yaml */
  readonly stackFile?: string;
  /** Registry database URL. @default MODELFLEET_DB_URL; neither: the registry is not queried */
  readonly dbUrl?: string;
  /** `model=url` pairs: probe that model at url (a port-forward) instead of its in-cluster Service. @default none */
  readonly endpoints?: readonly string[];
  /** Kubeconfig to read the rollout with. @default KUBECONFIG, else ~/.kube/config when it exists, else no rollout */
  readonly kubeconfig?: string;
  /** Print JSON instead of tables. @default false */
  readonly json?: boolean;
  /** Timeout of each engine request in ms. @default 5000 */
  readonly probeTimeoutMs?: number;
}

/** Where status writes, the environment it reads, as for verify; and the clock. */
export interface StatusRunIo extends VerifyRunIo {
  /** The clock ages are measured against. @default () => new Date() */
  readonly now?: () => Date;
}

/** Exit codes: 0 all ready and no drift; 1 something not ready, drifted or unreadable; 2 bad flags or stack config. */
export const STATUS_EXIT = { ok: 0, problems: 1, usage: 2 } as const;

export const DEFAULT_STATUS_PROBE_TIMEOUT_MS = 5_000;

function usage(io: StatusRunIo, message: string): number {
  io.stderr(`error: ${defaultRedactor.redact(message)}\n`);
  return STATUS_EXIT.usage;
}

/** Parses `--endpoint model=url` values against the stack's models; a message for the first bad one. */
export function parseEndpoints(values: readonly string[], models: readonly string[]): Map<string, string> | string {
  const result = new Map<string, string>();
  for (const value of values) {
    const eq = value.indexOf("=");
    const model = eq > 0 ? value.slice(0, eq) : "";
    const text = eq > 0 ? value.slice(eq + 1) : "";
    if (model === "" || text === "") return `--endpoint must be <model>=<url>, e.g. qwen3-8b=http://127.0.0.1:8000 (received ${JSON.stringify(value.slice(0, 80))})`;
    if (!models.includes(model)) return `--endpoint: no model "${model.slice(0, 64)}" in the stack; its models are ${models.join(", ")}`;
    if (result.has(model)) return `--endpoint: model "${model}" given twice; give one URL per model`;
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    if (url && (url.username || url.password)) {
      return `--endpoint ${model}=…: the URL must not hold credentials (received one with user info, not shown); the API key comes from ${API_KEY_ENV}`;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      return `--endpoint ${model}=…: must be an http(s) URL, e.g. http://127.0.0.1:8000 (received ${JSON.stringify(text.slice(0, 80))})`;
    }
    result.set(model, text);
  }
  return result;
}

async function readRegistry(url: string | undefined, config: StackConfig): Promise<ReportInput["registry"]> {
  if (url === undefined) return { state: "not-queried", reason: `registry: not queried (set ${DB_URL_ENV})` };
  try {
    const rows = await withConnection(url, (client) => listEntries(client, { environment: config.environment }), { applicationName: "modelfleet-status" });
    return { state: "rows", rows };
  } catch (error) {
    if (!isRegistryError(error) && typeof (error as { code?: unknown })?.code !== "string") throw error;
    return { state: "error", detail: defaultRedactor.redact(toRegistryError(error).message) };
  }
}

export async function runStatus(options: StatusRunOptions, io: StatusRunIo): Promise<number> {
  const stackProblem = stackNameProblem(options.stack);
  if (stackProblem !== undefined) return usage(io, `--stack: ${stackProblem}`);
  const dbUrlText = options.dbUrl ?? io.env[DB_URL_ENV];
  const dbUrl = dbUrlText === undefined || dbUrlText.trim() === "" ? undefined : dbUrlText;
  if (dbUrl !== undefined) {
    defaultRedactor.addUrl(dbUrl);
    try {
      describeDatabaseUrl(dbUrl);
    } catch (error) {
      if (isRegistryError(error)) return usage(io, `${options.dbUrl !== undefined ? "--db-url" : DB_URL_ENV}: ${error.message}`);
      throw error;
    }
  }
  const timeoutMs = options.probeTimeoutMs ?? DEFAULT_STATUS_PROBE_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) {
    return usage(io, `--probe-timeout must be a whole number of ms from 100 to 120000 (received ${String(timeoutMs)})`);
  }
  let config: StackConfig;
  try {
    config = loadStackFile(resolve(io.cwd ?? process.cwd(), options.stackFile ?? stackFileName(options.stack)), options.stack);
  } catch (error) {
    if (error instanceof ConfigError) return usage(io, error.message);
    throw error;
  }
  const endpoints = parseEndpoints(options.endpoints ?? [], config.models.map((m) => m.name));
  if (typeof endpoints === "string") return usage(io, endpoints);

  const kubeconfig = chooseKubeconfig(options.kubeconfig, io.env);
  let reader: Awaited<ReturnType<typeof openRolloutReader>> | undefined;
  if (kubeconfig) {
    try {
      reader = await openRolloutReader(kubeconfig);
    } catch (error) {
      if (error instanceof KubeconfigError) return usage(io, error.message);
      throw error;
    }
  }

  const apiKey = io.env[API_KEY_ENV] || undefined;
  if (apiKey) defaultRedactor.add(apiKey);
  const keyMissing = config.apiKey !== "none" && apiKey === undefined;
  const now = (io.now ?? (() => new Date()))();

  const [registry, probeList, rolloutList] = await Promise.all([
    readRegistry(dbUrl, config),
    Promise.all(
      config.models.map(async (m): Promise<[string, ProbeView]> => {
        const override = endpoints.get(m.name);
        const target = { url: override ?? `http://${m.endpoint}`, via: override ? ("--endpoint" as const) : ("service" as const), servedModelName: m.servedModelName };
        return [m.name, (await probeEngine(target, { ...(apiKey ? { apiKey } : {}), keyMissing, timeoutMs })).view];
      }),
    ),
    Promise.all(
      config.models.map(async (m): Promise<[string, RolloutView]> => [
        m.name,
        reader ? await reader.read({ namespace: config.namespace, deployment: m.serviceName, selector: modelSelector(m) }) : { state: "not-queried", reason: "no kubeconfig (pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config)" },
      ]),
    ),
  ]);
  const report = buildReport({
    config,
    now,
    registry,
    probes: new Map(probeList),
    rollouts: new Map(rolloutList),
    rolloutNotQueried: "no kubeconfig",
  });
  const text = options.json ? reportJson(report) : formatReport(report);
  io.stdout(defaultRedactor.redact(apiKey ? text.split(apiKey).join("***") : text));
  return report.ok ? STATUS_EXIT.ok : STATUS_EXIT.problems;
}
