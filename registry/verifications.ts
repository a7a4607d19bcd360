import type { ClientBase } from "pg";
import { toRegistryError } from "./transaction.js";
import type { Environment } from "./types.js";
import { parseEnvironment, parseModelName } from "./validate.js";

/** What `modelfleet verify --record` writes for one model. */
export interface VerificationRecord {
  readonly model: string;
  readonly environment: Environment;
  readonly outcome: "passed" | "failed";
  /** Completion latency in ms; absent when no completion answered. */
  readonly latencyMs?: number;
}

/**
 * Records a verification on the model's entry, with the digest the entry runs now (so a gate can tell a
 * verification of the pins being promoted from one of an older rollout). Returns false when the model has no entry
 * in the environment (nothing is written then). Moves neither updated_at nor a router (migration 0003).
 */
export async function recordVerification(client: ClientBase, record: VerificationRecord): Promise<boolean> {
  parseModelName(record.model);
  parseEnvironment(record.environment);
  try {
    const { rowCount } = await client.query(
      `UPDATE model_registry_entries
       SET last_verified_at = now(), last_verify_outcome = $3, last_verify_latency_ms = $4, last_verified_digest = image_digest
       WHERE model_name = $1 AND deployment_environment = $2`,
      [record.model, record.environment, record.outcome, record.latencyMs === undefined ? null : Math.round(record.latencyMs)],
    );
    return rowCount === 1;
  } catch (error) {
    throw toRegistryError(error);
  }
}

/** The last recorded verification of a model, as a promotion gate reads it. */
export interface LastVerification {
  readonly outcome: "passed" | "failed" | null;
  readonly digest: string | null;
  readonly latencyMs: number | null;
  /** Seconds since it ran, by the database's clock; null if never. */
  readonly ageSeconds: number | null;
}

/** Undefined when the model has no entry in the environment. */
export async function lastVerification(client: ClientBase, model: string, environment: Environment): Promise<LastVerification | undefined> {
  try {
    const { rows } = await client.query<{ outcome: "passed" | "failed" | null; digest: string | null; latency: number | null; age: number | null }>(
      `SELECT last_verify_outcome AS outcome, last_verified_digest AS digest, last_verify_latency_ms AS latency,
              extract(epoch FROM now() - last_verified_at)::float8 AS age
       FROM model_registry_entries WHERE model_name = $1 AND deployment_environment = $2`,
      [model, environment],
    );
    const row = rows[0];
    return row ? { outcome: row.outcome, digest: row.digest, latencyMs: row.latency, ageSeconds: row.age } : undefined;
  } catch (error) {
    throw toRegistryError(error);
  }
}
