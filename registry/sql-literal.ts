import { RegistryError } from "./errors.js";

/**
 * Quotes a value as a PostgreSQL literal for generated SQL (the psql scripts the in-cluster Jobs run, and the same
 * statements sent through `pg`). Follows libpq's PQescapeLiteral: single quotes doubled; when the text holds a
 * backslash it becomes an `E'…'` literal with backslashes doubled, so the result means the same whatever
 * `standard_conforming_strings` is. psql neither interpolates `:variables` nor runs `\commands` inside a quoted
 * literal, so the output is safe in a psql script too. `null` becomes `NULL`. NUL cannot be stored in text and is
 * refused.
 */
export function quoteLiteral(value: string | null): string {
  if (value === null) return "NULL";
  if (value.includes("\u0000")) {
    throw new RegistryError("input", "a value contains a NUL character, which PostgreSQL text cannot hold");
  }
  const quoted = value.replaceAll("'", "''");
  return value.includes("\\") ? `E'${quoted.replaceAll("\\", "\\\\")}'` : `'${quoted}'`;
}

/** A `text[]` literal for `= ANY(...)` / `<> ALL(...)`, quoting each element. */
export function quoteTextArray(values: readonly string[]): string {
  return `ARRAY[${values.map(quoteLiteral).join(", ")}]::text[]`;
}
