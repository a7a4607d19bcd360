import { mkdir, open, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { redactUrl } from "../registry/connection.js";
import { openBundle, PARTS_SUFFIX } from "./archive.js";
import { BundleError } from "./errors.js";
import { hashFile } from "./hash.js";
import { lastLine } from "./images.js";
import { BUNDLE_JSON, bundleManifestSchema } from "./manifest.js";
import { unsafePathReason } from "./paths.js";
import { run, toolVersion } from "./tools.js";

/** Runs psql/pg_dump/pg_restore; a failure becomes one line that never contains the URL. */
async function pg(tool: "psql" | "pg_dump" | "pg_restore", args: string[], url: string, what: string, input?: string): Promise<string> {
  const result = await run(tool, args, { reject: false, ...(input === undefined ? {} : { input }) });
  if (result.exitCode !== 0) {
    const message = lastLine(result.stderr).replaceAll(url, redactUrl(url));
    throw new BundleError("database", `${what} failed (${redactUrl(url)}): ${message}`);
  }
  return result.stdout;
}

export async function serverVersion(url: string): Promise<{ text: string; major: number }> {
  const out = await pg("psql", ["-X", "-At", "-d", url, "-c", "SELECT current_setting('server_version') || '|' || current_setting('server_version_num')"], url, "reading the server version");
  const [text = "", num = "0"] = out.trim().split("|");
  return { text, major: Math.floor(Number(num) / 10000) };
}

export async function databaseSize(url: string): Promise<number> {
  return Number((await pg("psql", ["-X", "-At", "-d", url, "-c", "SELECT pg_database_size(current_database())"], url, "reading the database size")).trim());
}

/** `pg_dump -Fc` of the registry database, with the versions a restore checks. */
export async function dumpDatabase(url: string, file: string): Promise<{ file: string; serverVersion: string; pgDumpVersion: string }> {
  await mkdir(dirname(file), { recursive: true });
  const version = await serverVersion(url);
  await pg("pg_dump", ["-Fc", "--no-owner", "--no-privileges", "-f", file, "-d", url], url, "pg_dump");
  return { file, serverVersion: version.text, pgDumpVersion: await toolVersion("pg_dump") };
}

export type RestoreMode = "replace" | "merge";

export interface RestoreOptions {
  /** A bundle (folder, `.tar` or `.tar.parts`: its db/registry.dump, checked against bundle.json), a custom-format dump, or a plain SQL dump. */
  readonly source: string;
  readonly url: string;
  readonly mode: RestoreMode;
  /** Where the pre-restore backup of the target goes. @default ./modelfleet-backups */
  readonly backupDir?: string;
}

export interface RestoreResult {
  readonly backup: string;
  readonly dumpVersion: string;
  readonly targetVersion: string;
  /** merge: rows inserted, and rows whose key exists in the target with other values (kept as they are). */
  readonly inserted: readonly string[];
  readonly conflicts: readonly string[];
  /** Anything the operator should know about how the dump was applied (e.g. `\restrict` lines removed). */
  readonly notes: readonly string[];
}

interface DumpFile {
  readonly path: string;
  readonly format: "custom" | "plain";
  readonly version: string;
}

/** Whether `source` is a bundle (folder with bundle.json, `.tar` or `.tar.parts`) rather than a dump file. */
async function isBundle(source: string): Promise<boolean> {
  if (source.endsWith(".tar") || source.endsWith(PARTS_SUFFIX)) return true;
  const info = await stat(source).catch(() => undefined);
  return info?.isDirectory() === true;
}

/**
 * The dump inside an opened bundle, after checking its sha256 and size against bundle.json: `db restore <bundle>`
 * never restores a dump that was altered after create, even when the rest of the bundle was not verified.
 */
async function bundledDump(dir: string): Promise<DumpFile> {
  const manifestText = await readFile(join(dir, BUNDLE_JSON), "utf8").catch(() => undefined);
  if (manifestText === undefined) throw new BundleError("input", `${dir} is not a bundle: no ${BUNDLE_JSON}`);
  const manifest = bundleManifestSchema.parse(JSON.parse(manifestText));
  if (!manifest.database) throw new BundleError("input", `the bundle has no database dump (it was created without --db-url)`);
  const listed = manifest.files.find((f) => f.path === manifest.database?.path);
  if (!listed || unsafePathReason(listed.path)) throw new BundleError("integrity", `the bundle's database dump ${manifest.database.path} is not listed in ${BUNDLE_JSON} with a safe path`);
  const actual = await hashFile(join(dir, listed.path)).catch(() => undefined);
  if (!actual) throw new BundleError("integrity", `the bundle's database dump ${listed.path} is missing`);
  if (actual.sha256 !== listed.sha256 || actual.size !== listed.size) {
    throw new BundleError("integrity", `the bundle's database dump ${listed.path} is altered (sha256 ${actual.sha256}, ${actual.size} bytes; ${BUNDLE_JSON} says ${listed.sha256}, ${listed.size} bytes); nothing restored`);
  }
  return { path: join(dir, listed.path), format: "custom", version: manifest.database.serverVersion };
}

async function dumpFile(source: string): Promise<DumpFile> {
  const handle = await open(source).catch(() => undefined);
  if (!handle) throw new BundleError("input", `no dump at ${source}`);
  const head = Buffer.alloc(5);
  await handle.read(head, 0, 5, 0);
  await handle.close();
  if (head.toString("latin1") === "PGDMP") {
    const toc = await run("pg_restore", ["-l", source], { reject: false });
    if (toc.exitCode !== 0) throw new BundleError("input", `${source} is not a readable dump: ${lastLine(toc.stderr)}`);
    return { path: source, format: "custom", version: /Dumped from database version: (\S+)/.exec(toc.stdout)?.[1] ?? "" };
  }
  const text = await readFile(source, "utf8");
  const version = /^-- Dumped from database version (\S+)/m.exec(text)?.[1];
  if (!version) throw new BundleError("input", `${source} is neither a custom-format dump nor a plain pg_dump SQL file`);
  return { path: source, format: "plain", version };
}

const major = (version: string) => Number(/^(\d+)/.exec(version)?.[1] ?? "0");

/** Current pg_dump writes `\restrict <key>` / `\unrestrict <key>` around plain output; older psql cannot run them. */
export function stripRestrictLines(sql: string): string {
  return sql.replace(/^\\(?:un)?restrict\b.*\n?/gm, "");
}

/**
 * Whether a psql version understands `\restrict` (added in 17.6, 16.10, 15.14, 14.19 and 13.22, August 2025):
 * between `\restrict` and `\unrestrict` it refuses every other backslash command, so a dump cannot smuggle in
 * `\!` shell commands or `\o` file writes.
 */
export function psqlSupportsRestrict(version: string): boolean {
  const match = /(\d+)(?:\.(\d+))?/.exec(version);
  if (!match) return false;
  const [maj, min] = [Number(match[1]), Number(match[2] ?? 0)];
  const firstMinor: Record<number, number> = { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 };
  if (maj >= 18) return true;
  const needed = firstMinor[maj];
  return needed !== undefined && min >= needed;
}

/**
 * A plain dump as psql will run it. `\restrict` lines are kept when this psql understands them (the protection they
 * give matters most for a dump that crossed to another site); with an older psql they are removed, and a note says so.
 */
async function plainScript(dump: DumpFile, notes: string[]): Promise<string> {
  const sql = await readFile(dump.path, "utf8");
  if (!/^\\restrict\b/m.test(sql)) return sql;
  const psql = await toolVersion("psql");
  if (psqlSupportsRestrict(psql)) return sql;
  notes.push(`${basename(dump.path)}: \\restrict lines removed because ${psql} does not understand them; the dump's backslash commands were not restricted (upgrade psql to 15.14, 16.10, 17.6 or later)`);
  return stripRestrictLines(sql);
}

/**
 * Restores the registry database from a dump. Refuses a target older (major) than the dump's server; takes a
 * backup of the target first (kept, path returned); replace drops and restores, merge adds only the rows missing
 * from the target and reports conflicts. Either way one transaction: a failure leaves the target as it was.
 * A bundle source (folder, `.tar`, `.tar.parts`) has its dump checked against bundle.json first.
 */
export async function restoreDatabase(options: RestoreOptions): Promise<RestoreResult> {
  const source = resolve(options.source);
  if (!(await isBundle(source))) return restoreDump(await dumpFile(source), options);
  // From an archive, only bundle.json and the dump are unpacked.
  const opened = await openBundle(source, (name) => name === BUNDLE_JSON || name.startsWith("db/"));
  try {
    return await restoreDump(await bundledDump(opened.dir), options);
  } finally {
    await opened.cleanup();
  }
}

async function restoreDump(dump: DumpFile, options: RestoreOptions): Promise<RestoreResult> {
  const target = await serverVersion(options.url);
  if (target.major < major(dump.version)) {
    throw new BundleError("database", `the dump comes from PostgreSQL ${dump.version}, the target runs ${target.text}: restoring into an older major version is not supported; upgrade the target first`);
  }
  const backupDir = resolve(options.backupDir ?? "modelfleet-backups");
  const dbName = new URL(options.url).pathname.replace(/^\//, "") || "postgres";
  const backup = join(backupDir, `modelfleet-backup-${dbName}-${new Date().toISOString().replace(/[:.]/g, "-")}.dump`);
  await mkdir(backupDir, { recursive: true });
  await pg("pg_dump", ["-Fc", "-f", backup, "-d", options.url], options.url, "backing up the target before the restore");

  const notes: string[] = [];
  const versions = { backup, dumpVersion: dump.version, targetVersion: target.text };
  if (options.mode === "replace") {
    if (dump.format === "custom") {
      await pg("pg_restore", ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", "-d", options.url, dump.path], options.url, `restoring ${basename(dump.path)}`);
    } else {
      await pg("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", options.url, "-f", "-"], options.url, `restoring ${basename(dump.path)}`, await plainScript(dump, notes));
    }
    return { ...versions, inserted: [], conflicts: [], notes };
  }
  return { ...versions, ...(await merge(dump, options.url)), notes };
}

const TABLE = "public.model_registry_entries";

/** The dump's rows of the registry table, as the COPY block pg_dump wrote. */
async function copyBlock(dump: DumpFile): Promise<{ columns: string[]; data: string }> {
  const sql =
    dump.format === "custom"
      ? await run("pg_restore", ["--data-only", `--table=model_registry_entries`, "-f", "-", dump.path]).then((r) => r.stdout)
      : await readFile(dump.path, "utf8");
  const match = new RegExp(`^COPY ${TABLE.replace(".", "\\.")} \\(([^)]*)\\) FROM stdin;\\n([\\s\\S]*?)^\\\\\\.$`, "m").exec(stripRestrictLines(sql));
  if (!match) throw new BundleError("input", `the dump has no rows of ${TABLE}`);
  return { columns: (match[1] as string).split(",").map((c) => c.trim()), data: match[2] as string };
}

async function merge(dump: DumpFile, url: string): Promise<{ inserted: string[]; conflicts: string[] }> {
  const exists = await pg("psql", ["-X", "-At", "-d", url, "-c", `SELECT to_regclass('${TABLE}') IS NOT NULL`], url, "inspecting the target");
  if (exists.trim() !== "t") throw new BundleError("database", `the target has no ${TABLE}: run \`modelfleet registry migrate up\` first, or use --mode replace`);
  const { columns, data } = await copyBlock(dump);
  const cols = columns.filter((c) => c !== "id");
  const compared = cols.filter((c) => !["created_at", "updated_at", "last_health_check_at"].includes(c));
  const script = [
    "\\set ON_ERROR_STOP on",
    "BEGIN;",
    `CREATE TEMP TABLE mf_incoming (LIKE ${TABLE} INCLUDING DEFAULTS) ON COMMIT DROP;`,
    `COPY mf_incoming (${columns.join(", ")}) FROM stdin;`,
    `${data}\\.`,
    `SELECT 'conflict|' || i.model_name || '|' || i.deployment_environment FROM mf_incoming i JOIN ${TABLE} e USING (model_name, deployment_environment)`,
    `  WHERE (${compared.map((c) => `i.${c}`).join(", ")}) IS DISTINCT FROM (${compared.map((c) => `e.${c}`).join(", ")}) ORDER BY 1;`,
    `WITH added AS (INSERT INTO ${TABLE} (${cols.join(", ")}) SELECT ${cols.join(", ")} FROM mf_incoming ON CONFLICT (model_name, deployment_environment) DO NOTHING RETURNING model_name, deployment_environment)`,
    "  SELECT 'inserted|' || model_name || '|' || deployment_environment FROM added ORDER BY 1;",
    "COMMIT;",
    "",
  ].join("\n");
  const out = await pg("psql", ["-X", "-q", "-At", "-d", url, "-f", "-"], url, "merging the registry rows", script);
  const lines = out.split("\n");
  const pick = (kind: string) => lines.filter((l) => l.startsWith(`${kind}|`)).map((l) => l.slice(kind.length + 1).replace("|", " in "));
  return { inserted: pick("inserted"), conflicts: pick("conflict") };
}

export async function writePlainDump(url: string, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, await pg("pg_dump", ["-Fp", "--no-owner", "--no-privileges", "-d", url], url, "pg_dump"));
}
