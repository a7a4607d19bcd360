import { readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { sourceDirOf } from "../files/source-dir.js";
import { RegistryError } from "./errors.js";

/** Where the registry's versioned SQL migrations live (node-pg-migrate SQL format, one file per version). */
export const MIGRATIONS_DIR = join(sourceDirOf(import.meta.url), "migrations");

/** node-pg-migrate's bookkeeping table (schema `public`); the CLI and the in-cluster Job both read and write it. */
export const MIGRATIONS_TABLE = "pgmigrations";

/** One migration file split the way node-pg-migrate splits it. */
export interface MigrationFile {
  /** File name without `.sql`: the value node-pg-migrate records in `pgmigrations.name`. */
  readonly name: string;
  /** The text node-pg-migrate runs for `up`: from the `-- Up Migration` marker to the `-- Down Migration` marker. */
  readonly upSql: string;
  /** The text it runs for `down`: from the `-- Down Migration` marker to the end. */
  readonly downSql: string;
}

// The same markers node-pg-migrate's SQL loader looks for (src/sqlMigration.ts).
const marker = (direction: "up" | "down"): RegExp => new RegExp(`^\\s*--[\\s-]*${direction}\\s+migration`, "im");

/** Splits one file's text into its up and down sections; both are required here, so every migration reverses. */
export function parseMigrationFile(name: string, content: string): MigrationFile {
  const up = content.search(marker("up"));
  const down = content.search(marker("down"));
  if (up < 0 || down < 0 || down < up) {
    throw new RegistryError(
      "migration",
      `migration ${name}: needs a "-- Up Migration" section followed by a "-- Down Migration" section`,
    );
  }
  return { name, upSql: content.slice(up, down), downSql: content.slice(down) };
}

function numericPrefix(fileName: string): number {
  const match = /^(\d+)/.exec(fileName);
  if (!match?.[1]) throw new RegistryError("migration", `migration file ${fileName} does not start with a number`);
  return Number(match[1]);
}

/** Orders file names as node-pg-migrate does: numeric prefix, then a numeric-aware locale compare. */
export function compareMigrationNames(a: string, b: string): number {
  return (
    numericPrefix(a) - numericPrefix(b) ||
    a.localeCompare(b, undefined, { usage: "sort", numeric: true, sensitivity: "variant", ignorePunctuation: true })
  );
}

/** Reads every `*.sql` migration in `dir` (dot-files ignored, like node-pg-migrate), in the order it applies them. */
export function readMigrationFiles(dir: string = MIGRATIONS_DIR): readonly MigrationFile[] {
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
    .map((entry) => entry.name);
  const foreign = names.filter((name) => !name.endsWith(".sql"));
  if (foreign.length > 0) {
    throw new RegistryError("migration", `${dir} holds non-SQL files (${foreign.join(", ")}); keep only *.sql there`);
  }
  return names
    .sort(compareMigrationNames)
    .map((fileName) => parseMigrationFile(basename(fileName, ".sql"), readFileSync(join(dir, fileName), "utf8")));
}
