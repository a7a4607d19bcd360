import type { ClientBase } from "pg";
import { toRegistryError } from "./transaction.js";
import type { DeploymentStatus, DisabledBy, Environment } from "./types.js";
import { parseEnvironment, parseModelName, parseStaleAfterSeconds } from "./validate.js";

import { DEFAULT_STALE_AFTER_SECONDS } from "../config/limits.js";

export { DEFAULT_STALE_AFTER_SECONDS };

/**
 * The router's statement: the endpoint of a ready, freshly checked model, and the InferencePool serving it (NULL
 * when none), or no row. Parameters: $1 model name, $2 environment, $3 freshness threshold in seconds. Served by the
 * partial index `model_registry_entries_routable_idx` through the `routable_models` view.
 */
export const ROUTER_QUERY = `SELECT deployment_endpoint, inference_pool FROM routable_models
WHERE model_name = $1 AND deployment_environment = $2
  AND last_health_check_at >= now() - make_interval(secs => $3)`;

/** Why a model is not routable. */
export type RouteFailureReason = "unknown" | "stale" | Exclude<DeploymentStatus, "ready">;

export type RouteResult =
  | {
      readonly ok: true;
      readonly endpoint: string;
      /** The InferencePool serving the model, in its namespace; absent when the stack publishes none. */
      readonly inferencePool?: string;
    }
  | { readonly ok: false; readonly reason: RouteFailureReason; readonly detail: string };

export interface RouteOptions {
  /** @default 30 (DEFAULT_STALE_AFTER_SECONDS) */
  readonly staleAfterSeconds?: number;
}

interface RouteRow {
  deployment_status: DeploymentStatus;
  deployment_endpoint: string;
  inference_pool: string | null;
  disabled_by: DisabledBy | null;
  checked: boolean;
  fresh: boolean;
  age_seconds: number | null;
}

const LOOKUP = `SELECT deployment_status, deployment_endpoint, inference_pool, disabled_by,
  last_health_check_at IS NOT NULL AS checked,
  COALESCE(last_health_check_at >= now() - make_interval(secs => $3), false) AS fresh,
  floor(extract(epoch FROM now() - last_health_check_at))::int AS age_seconds
FROM model_registry_entries
WHERE model_name = $1 AND deployment_environment = $2`;

/**
 * What the router would do for `model` in `environment`: the endpoint when the entry is `ready` and its last health
 * check is at most `staleAfterSeconds` old (exactly when ROUTER_QUERY returns a row), otherwise the reason.
 * Bad model name, environment or threshold: a `RegistryError("input")`, before any query.
 */
export async function route(
  client: ClientBase,
  model: string,
  environment: Environment,
  options: RouteOptions = {},
): Promise<RouteResult> {
  // Checked before the query: a 100 kB name never reaches the database or a message.
  parseModelName(model);
  const env = parseEnvironment(environment);
  const staleAfter = parseStaleAfterSeconds(options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS, "staleAfterSeconds");
  const { rows } = await client.query<RouteRow>(LOOKUP, [model, env, staleAfter]).catch((error: unknown) => {
    throw toRegistryError(error);
  });
  const row = rows[0];
  const name = `model ${JSON.stringify(model)} in ${env}`;
  if (!row) return { ok: false, reason: "unknown", detail: `${name} is not registered` };
  const status = row.deployment_status;
  switch (status) {
    case "ready":
      if (row.fresh) {
        return { ok: true, endpoint: row.deployment_endpoint, ...(row.inference_pool === null ? {} : { inferencePool: row.inference_pool }) };
      }
      return {
        ok: false,
        reason: "stale",
        detail: row.checked
          ? `${name} was last health-checked ${row.age_seconds} s ago (threshold ${staleAfter} s); is the health CronJob running?`
          : `${name} has never been health-checked; run \`modelfleet registry health\` or wait for the CronJob`,
      };
    case "disabled":
      return {
        ok: false,
        reason: "disabled",
        detail:
          row.disabled_by === "operator"
            ? `${name} was disabled by an operator; \`modelfleet registry enable\` routes it again`
            : `${name} is disabled: it is no longer in the stack`,
      };
    case "degraded":
      return { ok: false, reason: "degraded", detail: `${name} failed its last health check` };
    case "failed":
      return { ok: false, reason: "failed", detail: `${name} failed to deploy` };
    case "pending":
    case "deploying":
      return { ok: false, reason: status, detail: `${name} is ${status}, not ready yet` };
    default: {
      const unreachable: never = status;
      return { ok: false, reason: "unknown", detail: `${name} has unexpected status ${JSON.stringify(unreachable)}` };
    }
  }
}
