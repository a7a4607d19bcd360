import type { ClientBase } from "pg";
import { toRegistryError } from "./transaction.js";
import type { DeploymentStatus, Environment } from "./types.js";
import { parseBoundedInteger, parseEnvironment, REGISTRY_LIMITS } from "./validate.js";

export interface HealthCheckOptions {
  /** @default - every environment */
  readonly environment?: string;
  /** Per-probe timeout in ms, 1 to 300000 (REGISTRY_LIMITS.healthTimeoutMs). @default 5000 */
  readonly timeoutMs?: number;
  /** Probes in flight at once, 1 to 64 (REGISTRY_LIMITS.healthConcurrency). @default 8 */
  readonly concurrency?: number;
  /** @default globalThis.fetch */
  readonly fetchImpl?: typeof fetch;
}

/** The outcome of probing one entry. */
export interface HealthResult {
  readonly modelName: string;
  readonly environment: Environment;
  readonly endpoint: string;
  readonly previousStatus: "ready" | "degraded";
  /** `ready` when /health answered 2xx within the timeout, else `degraded`. */
  readonly status: "ready" | "degraded";
  /** The HTTP status, or null when there was no answer. */
  readonly httpStatus: number | null;
  /** Why the probe failed (`timed out after 2000 ms`, `ECONNREFUSED`, `HTTP 503`), or null. */
  readonly error: string | null;
  /** False when the entry changed while it was probed (disabled, new endpoint): nothing was written for it. */
  readonly recorded: boolean;
}

interface Target {
  id: string;
  model_name: string;
  deployment_environment: Environment;
  deployment_endpoint: string;
  deployment_status: "ready" | "degraded";
}

/**
 * The entries a health check probes ($1: environment, or null for all). Shared with the in-cluster CronJob's
 * script (components/registry/health-script.ts), so both check the same rows.
 */
export const HEALTH_TARGETS_SQL = `SELECT id::text AS id, model_name, deployment_environment, deployment_endpoint, deployment_status
FROM model_registry_entries
WHERE deployment_status IN ('ready', 'degraded') AND ($1::text IS NULL OR deployment_environment = $1)
ORDER BY deployment_environment COLLATE "C", model_name COLLATE "C"`;

/**
 * Records one probe ($1 id, $2 'ready' | 'degraded', $3 the endpoint probed). An entry disabled or re-pointed while
 * it was probed is left as it is. Shared with the CronJob's script.
 */
export const RECORD_HEALTH_SQL = `UPDATE model_registry_entries SET deployment_status = $2, last_health_check_at = now()
WHERE id = $1::bigint AND deployment_status IN ('ready', 'degraded') AND deployment_endpoint = $3`;

/** `http://<endpoint>/health`, the URL both engines serve their liveness on. */
export function healthUrl(endpoint: string): string {
  return `http://${endpoint}/health`;
}

async function probe(
  fetchImpl: typeof fetch,
  endpoint: string,
  timeoutMs: number,
): Promise<{ ok: boolean; httpStatus: number | null; error: string | null }> {
  try {
    const response = await fetchImpl(healthUrl(endpoint), {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    await response.body?.cancel().catch(() => undefined);
    const ok = response.status >= 200 && response.status < 300;
    return { ok, httpStatus: response.status, error: ok ? null : `HTTP ${response.status}` };
  } catch (error) {
    const { name, message, cause } = error as Error & { cause?: { code?: string; message?: string } };
    if (name === "TimeoutError" || name === "AbortError") {
      return { ok: false, httpStatus: null, error: `timed out after ${timeoutMs} ms` };
    }
    return { ok: false, httpStatus: null, error: cause?.code ?? cause?.message ?? message };
  }
}

/**
 * Probes `http://<endpoint>/health` of every `ready` or `degraded` entry (of one environment, or all), at most
 * `concurrency` at a time, and records the outcome: `last_health_check_at = now()` and status `ready` (2xx) or
 * `degraded` (anything else, no answer, timeout). An entry disabled or re-pointed while it was probed is left as is.
 * Results are ordered by environment then model name. What `modelfleet registry health` (and the CronJob) runs.
 * @throws RegistryError("input") for an environment, timeout or concurrency out of range, before any query.
 */
export async function checkHealth(client: ClientBase, options: HealthCheckOptions = {}): Promise<HealthResult[]> {
  const environment = options.environment === undefined ? null : parseEnvironment(options.environment);
  // Checked before any query: a timer above 2^31-1 ms fires at once (Node clamps it), so every probe would "time out".
  const timeoutMs = parseBoundedInteger("timeoutMs", options.timeoutMs ?? 5000, REGISTRY_LIMITS.healthTimeoutMs, "milliseconds");
  const concurrency = parseBoundedInteger("concurrency", options.concurrency ?? 8, REGISTRY_LIMITS.healthConcurrency, "probes");
  const fetchImpl = options.fetchImpl ?? globalThis.fetch;
  let targets: Target[];
  try {
    ({ rows: targets } = await client.query<Target>(HEALTH_TARGETS_SQL, [environment]));
  } catch (error) {
    throw toRegistryError(error);
  }

  const results: HealthResult[] = new Array(targets.length);
  let next = 0;
  // Probes run concurrently; each result is written by its own single-row statement as soon as it is known, so a
  // slow endpoint delays nobody else's timestamp. One connection serializes the writes, which is all they need.
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const index = next++;
      const target = targets[index] as Target;
      const outcome = await probe(fetchImpl, target.deployment_endpoint, timeoutMs);
      const status: DeploymentStatus = outcome.ok ? "ready" : "degraded";
      const { rowCount } = await client
        .query(RECORD_HEALTH_SQL, [target.id, status, target.deployment_endpoint])
        .catch((error: unknown) => {
          throw toRegistryError(error);
        });
      results[index] = {
        modelName: target.model_name,
        environment: target.deployment_environment,
        endpoint: target.deployment_endpoint,
        previousStatus: target.deployment_status,
        status: outcome.ok ? "ready" : "degraded",
        httpStatus: outcome.httpStatus,
        error: outcome.error,
        recorded: rowCount === 1,
      };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, targets.length) }, worker));
  return results;
}
