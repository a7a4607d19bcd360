import { runner } from "node-pg-migrate";
import type { ClientBase } from "pg";
import { RegistryError, isRegistryError } from "./errors.js";
import { MIGRATIONS_DIR, MIGRATIONS_TABLE, readMigrationFiles } from "./migration-files.js";

export interface MigrateOptions {
  /** Directory of SQL migrations. @default MIGRATIONS_DIR (registry/migrations) */
  readonly dir?: string;
  /** Receives node-pg-migrate's progress lines. @default - discarded; the caller reports the returned names */
  readonly log?: (line: string) => void;
}

export interface MigrateDownOptions extends MigrateOptions {
  /** How many applied migrations to revert, newest first. @default 1 */
  readonly count?: number;
}

/** One migration and whether the database has it. */
export interface MigrationState {
  readonly name: string;
  /** When it was applied (`pgmigrations.run_on`), or null when pending. */
  readonly appliedAt: Date | null;
  /** False when the database records a migration this build has no file for (applied by a newer modelfleet). */
  readonly known: boolean;
}

async function run(client: ClientBase, direction: "up" | "down", options: MigrateDownOptions): Promise<string[]> {
  let current = "";
  const info = (line: string): void => {
    const match = /^### MIGRATION (.+) \((?:UP|DOWN)\) ###$/.exec(line);
    if (match?.[1]) current = match[1];
    options.log?.(line);
  };
  try {
    const done = await runner({
      dbClient: client,
      dir: options.dir ?? MIGRATIONS_DIR,
      migrationsTable: MIGRATIONS_TABLE,
      direction,
      ...(direction === "down" ? { count: options.count ?? 1 } : {}),
      // All pending migrations in one transaction: a failure anywhere leaves the schema as it was.
      singleTransaction: true,
      checkOrder: true,
      // Wait for a concurrent run (another CLI, the in-cluster Job) instead of failing.
      advisoryLockMode: "wait",
      // node-pg-migrate logs the failing SQL at error level; the thrown error is reported instead, on one line.
      logger: { info, warn: (line) => options.log?.(line), error: () => undefined },
    });
    return done.map((migration) => migration.name);
  } catch (error) {
    if (isRegistryError(error)) throw error;
    const message = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
    const where = current ? `migration ${current} (${direction}) failed` : `migrate ${direction} failed`;
    throw new RegistryError("migration", `${where}, nothing applied: ${message}`, { cause: error });
  }
}

/** Applies every pending migration in one transaction; returns the names applied, in order. */
export async function migrateUp(client: ClientBase, options: MigrateOptions = {}): Promise<string[]> {
  return run(client, "up", options);
}

/** Reverts the newest `count` applied migrations in one transaction; returns the names reverted, in order. */
export async function migrateDown(client: ClientBase, options: MigrateDownOptions = {}): Promise<string[]> {
  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new RegistryError("input", `count ${JSON.stringify(count)} must be a whole number of at least 1`);
  }
  return run(client, "down", { ...options, count });
}

/** Every migration this build knows plus any the database records without a file, in applied-then-file order. */
export async function migrationStatus(client: ClientBase, options: MigrateOptions = {}): Promise<MigrationState[]> {
  const files = readMigrationFiles(options.dir ?? MIGRATIONS_DIR);
  const { rows: exists } = await client.query<{ present: boolean }>(
    "SELECT to_regclass($1) IS NOT NULL AS present",
    [`public.${MIGRATIONS_TABLE}`],
  );
  const applied = new Map<string, Date>();
  if (exists[0]?.present) {
    const { rows } = await client.query<{ name: string; run_on: Date }>(
      `SELECT name, run_on FROM "public"."${MIGRATIONS_TABLE}" ORDER BY run_on, id`,
    );
    for (const row of rows) applied.set(row.name, row.run_on);
  }
  const fileNames = new Set(files.map((file) => file.name));
  const unknown: MigrationState[] = [...applied]
    .filter(([name]) => !fileNames.has(name))
    .map(([name, appliedAt]) => ({ name, appliedAt, known: false }));
  const known: MigrationState[] = files.map((file) => ({
    name: file.name,
    appliedAt: applied.get(file.name) ?? null,
    known: true,
  }));
  return [...known, ...unknown];
}
