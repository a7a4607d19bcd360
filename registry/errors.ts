/**
 * Errors the registry raises on purpose. Each carries a one-line, secret-free message meant for an operator, so the
 * CLI prints `error: <message>` and exits non-zero without a stack trace. Anything else reaching the CLI is a bug.
 */
export type RegistryErrorKind =
  /** The caller passed something invalid (bad environment, status, engine, digest, endpoint…). No row changed. */
  | "input"
  /** The named model has no entry in that environment. No row changed. */
  | "not-found"
  /** The entry exists but the requested change is refused in its current state. No row changed. */
  | "conflict"
  /** The database cannot be reached or refused the credentials. */
  | "connection"
  /** The database answered with an error (schema missing, constraint violated…). The transaction was rolled back. */
  | "database"
  /** A migration could not be loaded or applied. The schema is as it was before. */
  | "migration";

export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isRegistryError(value: unknown): value is RegistryError {
  return value instanceof RegistryError;
}
