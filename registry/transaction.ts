import type { ClientBase } from "pg";
import { RegistryError, isRegistryError } from "./errors.js";

/**
 * Advisory lock key serializing every writer of `model_registry_entries` that must see a consistent set of rows:
 * reconcile (CLI, library and the in-cluster Job's psql script), register, enable, disable. A bigint written as
 * text so it survives JavaScript numbers; taken with `pg_advisory_xact_lock`, so COMMIT or ROLLBACK releases it.
 */
export const REGISTRY_LOCK_KEY = "7308339010522604544";

/** The statement that takes the registry lock; the first statement of every registry write transaction. */
export const LOCK_STATEMENT = `SELECT pg_advisory_xact_lock(${REGISTRY_LOCK_KEY})`;

const SCHEMA_MISSING = "the registry schema is missing: run `modelfleet registry migrate up` first";

/** Turns a database error into a one-line `RegistryError("database")`; registry errors pass through. */
export function toRegistryError(error: unknown): RegistryError {
  if (isRegistryError(error)) return error;
  const { code, message = String(error) } = (error ?? {}) as { code?: string; message?: string };
  if (code === "42P01") return new RegistryError("database", SCHEMA_MISSING, { cause: error });
  const line = message.split("\n")[0] ?? message;
  return new RegistryError("database", `database error${code ? ` ${code}` : ""}: ${line}`, { cause: error });
}

/** Runs `fn` inside BEGIN … COMMIT, rolling back on any error (then rethrown as a `RegistryError`). */
export async function inTransaction<T>(client: ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query("BEGIN").catch((error: unknown) => {
    throw toRegistryError(error);
  });
  try {
    const result = await fn();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw toRegistryError(error);
  }
}

/** Runs `fn` in a transaction holding the registry lock. */
export async function inLockedTransaction<T>(client: ClientBase, fn: () => Promise<T>): Promise<T> {
  return inTransaction(client, async () => {
    await client.query(LOCK_STATEMENT);
    return fn();
  });
}
