import type { ClientBase } from "pg";
import { quoteLiteral, quoteTextArray } from "./sql-literal.js";
import { LOCK_STATEMENT, inTransaction } from "./transaction.js";
import type { DesiredEntry, Environment } from "./types.js";
import { parseDesiredEntries, parseEnvironment } from "./validate.js";

/** What a reconcile changed. Unchanged entries are in neither list. Sorted by model name. */
export interface ReconcileResult {
  readonly environment: Environment;
  /** Entries inserted (new in this environment). */
  readonly inserted: readonly string[];
  /** Existing entries whose engine, served name, digest, endpoint, namespace, inference pool, owner or status changed. */
  readonly updated: readonly string[];
  /** Stack-managed entries of this environment that left the stack and are now `disabled`. */
  readonly disabled: readonly string[];
}

/** The SQL statements of one reconcile, in order, without the transaction and lock around them. */
export interface ReconcileStatements {
  /** Upserts every desired model; null when none is desired. Returns `model_name, inserted`. */
  readonly upsert: string | null;
  /** Disables this environment's stack-managed entries absent from the desired list. Returns `model_name`. */
  readonly disable: string;
}

// Keeps an operator's `registry disable` (sticky); anything else desired becomes ready.
const NEW_STATUS = "CASE WHEN e.disabled_by = 'operator' THEN 'disabled' ELSE 'ready' END";

/**
 * Builds the reconcile statements for `environment` with every value quoted by `quoteLiteral`. Desired entries are
 * sorted by model name, so the same set gives the same bytes whatever order it came in. Semantics:
 * - each desired model is upserted as `ready` with its engine, served name, digest, endpoint, namespace and
 *   InferencePool (null when the stack publishes none), owned
 *   by the stack, its health timestamp set to now (the Job runs once the Deployment is ready, whose readiness probe
 *   is the same /health the health checker calls). An entry an operator disabled stays disabled, with its facts
 *   updated. A manual entry of the same name is taken over by the stack. Rows already equal are not written.
 * - this environment's stack-managed entries not desired are set `disabled` (by reconcile), never deleted;
 *   manual entries and other environments are not touched.
 */
export function reconcileStatements(desired: readonly DesiredEntry[], environment: Environment): ReconcileStatements {
  const env = parseEnvironment(environment);
  const entries = [...parseDesiredEntries(desired)].sort((a, b) => (a.modelName < b.modelName ? -1 : a.modelName > b.modelName ? 1 : 0));
  const envLiteral = quoteLiteral(env);
  const upsert =
    entries.length === 0
      ? null
      : [
          "INSERT INTO model_registry_entries AS e",
          "  (model_name, deployment_environment, engine, served_model_name, image_digest, deployment_endpoint,",
          "   deployment_namespace, inference_pool, deployment_status, managed_by, last_health_check_at)",
          "VALUES",
          entries
            .map(
              (entry) =>
                `  (${[entry.modelName, env, entry.engine, entry.servedModelName, entry.imageDigest, entry.endpoint, entry.namespace, entry.inferencePool ?? null]
                  .map(quoteLiteral)
                  .join(", ")}, 'ready', 'stack', now())`,
            )
            .join(",\n"),
          "ON CONFLICT (model_name, deployment_environment) DO UPDATE SET",
          "  engine = EXCLUDED.engine,",
          "  served_model_name = EXCLUDED.served_model_name,",
          "  image_digest = EXCLUDED.image_digest,",
          "  deployment_endpoint = EXCLUDED.deployment_endpoint,",
          "  deployment_namespace = EXCLUDED.deployment_namespace,",
          "  inference_pool = EXCLUDED.inference_pool,",
          "  managed_by = 'stack',",
          `  deployment_status = ${NEW_STATUS},`,
          "  disabled_by = CASE WHEN e.disabled_by = 'operator' THEN 'operator' END,",
          "  last_health_check_at = CASE WHEN e.disabled_by = 'operator' THEN e.last_health_check_at ELSE now() END",
          "WHERE (e.engine, e.served_model_name, e.image_digest, e.deployment_endpoint, e.deployment_namespace,",
          "       e.inference_pool, e.managed_by, e.deployment_status)",
          "  IS DISTINCT FROM (EXCLUDED.engine, EXCLUDED.served_model_name, EXCLUDED.image_digest,",
          `       EXCLUDED.deployment_endpoint, EXCLUDED.deployment_namespace, EXCLUDED.inference_pool, 'stack', ${NEW_STATUS})`,
          "RETURNING model_name, (xmax = 0) AS inserted;",
        ].join("\n");
  const disable = [
    "UPDATE model_registry_entries",
    "SET deployment_status = 'disabled', disabled_by = 'reconcile'",
    `WHERE deployment_environment = ${envLiteral}`,
    "  AND managed_by = 'stack'",
    "  AND deployment_status <> 'disabled'",
    `  AND model_name <> ALL (${quoteTextArray(entries.map((entry) => entry.modelName))})`,
    "RETURNING model_name;",
  ].join("\n");
  return { upsert, disable };
}

/**
 * The psql script the in-cluster reconcile Job runs (`psql -X -f reconcile.sql`): the statements of
 * `reconcileStatements` in one transaction behind the registry advisory lock, stopping at the first error (which
 * rolls everything back). The same statements `reconcile()` sends through `pg`. Contains no secret.
 */
export function reconcileSql(desired: readonly DesiredEntry[], environment: Environment): string {
  const { upsert, disable } = reconcileStatements(desired, environment);
  return [
    `-- modelfleet registry reconcile: environment ${environment}, ${desired.length} model(s).`,
    "-- Generated by registry/reconcile.ts. Run with: psql -X -f <this file> (connection from PG* variables).",
    "\\set ON_ERROR_STOP on",
    "BEGIN;",
    `${LOCK_STATEMENT};`,
    ...(upsert === null ? [] : [upsert]),
    disable,
    "COMMIT;",
    "",
  ].join("\n");
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Runs the reconcile statements through `pg` in one transaction behind the registry lock; idempotent. */
export async function reconcile(
  client: ClientBase,
  desired: readonly DesiredEntry[],
  environment: Environment,
): Promise<ReconcileResult> {
  const { upsert, disable } = reconcileStatements(desired, environment);
  return inTransaction(client, async () => {
    await client.query(LOCK_STATEMENT);
    const upserted = upsert === null ? [] : (await client.query<{ model_name: string; inserted: boolean }>(upsert)).rows;
    const disabled = (await client.query<{ model_name: string }>(disable)).rows;
    return {
      environment,
      inserted: upserted.filter((row) => row.inserted).map((row) => row.model_name).sort(byName),
      updated: upserted.filter((row) => !row.inserted).map((row) => row.model_name).sort(byName),
      disabled: disabled.map((row) => row.model_name).sort(byName),
    };
  });
}
