import type { ClientBase } from "pg";
import { RegistryError } from "./errors.js";
import { inTransaction, LOCK_STATEMENT, toRegistryError } from "./transaction.js";
import type { DeploymentStatus, DisabledBy, Engine, Environment, ManagedBy, RegistryEntry } from "./types.js";
import {
  parseDigest,
  parseEndpoint,
  parseEngine,
  parseEnvironment,
  parseInferencePool,
  parseModelName,
  parseNamespace,
  parseServedModelName,
  parseStatus,
} from "./validate.js";

interface EntryRow {
  id: string;
  model_name: string;
  engine: Engine;
  served_model_name: string;
  image_digest: string | null;
  deployment_endpoint: string;
  deployment_status: DeploymentStatus;
  deployment_environment: Environment;
  deployment_namespace: string;
  managed_by: ManagedBy;
  disabled_by: DisabledBy | null;
  last_health_check_at: Date | null;
  inference_pool: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id::text AS id, model_name, engine, served_model_name, image_digest, deployment_endpoint,
  deployment_status, deployment_environment, deployment_namespace, managed_by, disabled_by, last_health_check_at,
  inference_pool, created_at, updated_at`;

function toEntry(row: EntryRow): RegistryEntry {
  return {
    id: row.id,
    modelName: row.model_name,
    engine: row.engine,
    servedModelName: row.served_model_name,
    imageDigest: row.image_digest,
    endpoint: row.deployment_endpoint,
    status: row.deployment_status,
    environment: row.deployment_environment,
    namespace: row.deployment_namespace,
    managedBy: row.managed_by,
    disabledBy: row.disabled_by,
    lastHealthCheckAt: row.last_health_check_at,
    inferencePool: row.inference_pool,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface ListOptions {
  /** @default - every environment */
  readonly environment?: string;
  /** @default - every status */
  readonly status?: string;
}

/** Entries ordered by environment then model name. Bad environment or status: `RegistryError("input")`. */
export async function listEntries(client: ClientBase, options: ListOptions = {}): Promise<RegistryEntry[]> {
  const environment = options.environment === undefined ? null : parseEnvironment(options.environment);
  const status = options.status === undefined ? null : parseStatus(options.status);
  try {
    const { rows } = await client.query<EntryRow>(
      `SELECT ${COLUMNS} FROM model_registry_entries
       WHERE ($1::text IS NULL OR deployment_environment = $1) AND ($2::text IS NULL OR deployment_status = $2)
       ORDER BY deployment_environment COLLATE "C", model_name COLLATE "C"`,
      [environment, status],
    );
    return rows.map(toEntry);
  } catch (error) {
    throw toRegistryError(error);
  }
}

/** The result of a state change: the entry after it, and whether anything was written. */
export interface ChangeResult {
  readonly entry: RegistryEntry;
  readonly changed: boolean;
}

async function lockedRow(client: ClientBase, model: string, environment: Environment): Promise<EntryRow | undefined> {
  await client.query(LOCK_STATEMENT);
  const { rows } = await client.query<EntryRow>(
    `SELECT ${COLUMNS} FROM model_registry_entries WHERE model_name = $1 AND deployment_environment = $2 FOR UPDATE`,
    [model, environment],
  );
  return rows[0];
}

function notFound(model: string, environment: Environment): RegistryError {
  return new RegistryError(
    "not-found",
    `no model ${JSON.stringify(model)} in ${environment}; \`modelfleet registry list --env ${environment}\` shows what exists`,
  );
}

async function setStatus(
  client: ClientBase,
  id: string,
  status: DeploymentStatus,
  disabledBy: DisabledBy | null,
): Promise<RegistryEntry> {
  const { rows } = await client.query<EntryRow>(
    `UPDATE model_registry_entries SET deployment_status = $2, disabled_by = $3 WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, status, disabledBy],
  );
  return toEntry(rows[0] as EntryRow);
}

/**
 * Marks an entry `disabled` by an operator: the router stops routing to it at once, and reconcile keeps it
 * disabled until `enableModel`. Already disabled by an operator: no change. Unknown model: `not-found`.
 */
export async function disableModel(client: ClientBase, model: string, environment: string): Promise<ChangeResult> {
  const env = parseEnvironment(environment);
  return inTransaction(client, async () => {
    const row = await lockedRow(client, model, env);
    if (!row) throw notFound(model, env);
    if (row.deployment_status === "disabled" && row.disabled_by === "operator") return { entry: toEntry(row), changed: false };
    return { entry: await setStatus(client, row.id, "disabled", "operator"), changed: true };
  });
}

/**
 * Undoes an operator's disable: the entry becomes `ready` again; the router routes to it once a health check is
 * fresh (the last one predates the disable, so `route` reports `stale` until the next health run). Not disabled: no
 * change. Disabled because it left the stack: `conflict` (add it back to the stack, or `registerModel` it).
 */
export async function enableModel(client: ClientBase, model: string, environment: string): Promise<ChangeResult> {
  const env = parseEnvironment(environment);
  return inTransaction(client, async () => {
    const row = await lockedRow(client, model, env);
    if (!row) throw notFound(model, env);
    if (row.deployment_status !== "disabled") return { entry: toEntry(row), changed: false };
    if (row.disabled_by === "reconcile") {
      throw new RegistryError(
        "conflict",
        `model ${JSON.stringify(model)} in ${env} was disabled because it is no longer in the stack; add it back to ` +
          `Pulumi.${env}.yaml, or \`modelfleet registry register\` it to manage it by hand`,
      );
    }
    return { entry: await setStatus(client, row.id, "ready", null), changed: true };
  });
}

export interface RegisterArgs {
  readonly modelName: string;
  readonly environment: string;
  readonly engine: string;
  /** `host:port` the router sends requests to. */
  readonly endpoint: string;
  readonly namespace: string;
  /** @default null - no digest recorded */
  readonly imageDigest?: string | null;
  /** @default - the model name */
  readonly servedModelName?: string;
  /** The InferencePool serving the model, in `namespace`. @default null - no pool recorded */
  readonly inferencePool?: string | null;
}

/**
 * Adds or updates a manually managed entry (a model deployed outside the stack); reconcile never touches it. A new
 * entry is `ready` but never health-checked, so the router waits for the first health run. Re-registering updates
 * it (a changed endpoint clears the health timestamp; an operator's disable stays). Refuses (`conflict`) an entry
 * the stack manages, unless reconcile disabled it because it left the stack: then it becomes manual.
 */
export async function registerModel(client: ClientBase, args: RegisterArgs): Promise<ChangeResult> {
  const modelName = parseModelName(args.modelName);
  const environment = parseEnvironment(args.environment);
  const values = {
    engine: parseEngine(args.engine),
    endpoint: parseEndpoint(args.endpoint),
    namespace: parseNamespace(args.namespace),
    digest: parseDigest(args.imageDigest ?? null),
    served: parseServedModelName(args.servedModelName ?? modelName),
    pool: parseInferencePool(args.inferencePool ?? null),
  };
  return inTransaction(client, async () => {
    const row = await lockedRow(client, modelName, environment);
    if (!row) {
      const { rows } = await client.query<EntryRow>(
        `INSERT INTO model_registry_entries
           (model_name, deployment_environment, engine, served_model_name, image_digest, deployment_endpoint,
            deployment_namespace, inference_pool, deployment_status, managed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'ready', 'manual') RETURNING ${COLUMNS}`,
        [modelName, environment, values.engine, values.served, values.digest, values.endpoint, values.namespace, values.pool],
      );
      return { entry: toEntry(rows[0] as EntryRow), changed: true };
    }
    if (row.managed_by === "stack" && row.disabled_by !== "reconcile") {
      throw new RegistryError(
        "conflict",
        `model ${JSON.stringify(modelName)} in ${environment} is managed by the stack; change Pulumi.${environment}.yaml instead`,
      );
    }
    const keepDisabled = row.disabled_by === "operator";
    const { rows } = await client.query<EntryRow>(
      `UPDATE model_registry_entries SET
         engine = $2, served_model_name = $3, image_digest = $4, deployment_endpoint = $5, deployment_namespace = $6,
         managed_by = 'manual', inference_pool = $9,
         deployment_status = $7, disabled_by = $8,
         last_health_check_at = CASE WHEN deployment_endpoint = $5 THEN last_health_check_at END
       WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        row.id,
        values.engine,
        values.served,
        values.digest,
        values.endpoint,
        values.namespace,
        keepDisabled ? "disabled" : "ready",
        keepDisabled ? "operator" : null,
        values.pool,
      ],
    );
    const entry = toEntry(rows[0] as EntryRow);
    // The trigger moves updated_at only when something besides the health timestamp changed.
    return { entry, changed: entry.updatedAt.getTime() !== row.updated_at.getTime() };
  });
}
