import { mkdir, mkdtemp, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type pg from "pg";
import { connect, describeDatabaseUrl, libpqEnvironment } from "../registry/connection.js";
import { isRegistryError } from "../registry/errors.js";
import { MIGRATIONS_TABLE, readMigrationFiles } from "../registry/migration-files.js";
import { MIGRATION_LOCK_KEY } from "../registry/migration-script.js";
import { LOCK_STATEMENT } from "../registry/transaction.js";
import { defaultRedactor, Redactor } from "../secrets/redact.js";
import { openBundle, PARTS_SUFFIX } from "./archive.js";
import { BundleError } from "./errors.js";
import { hashFile } from "../files/hash.js";
import { lastLine } from "./images.js";
import { BUNDLE_JSON, bundleManifestSchema } from "./manifest.js";
import { confinedPathReason } from "./confine.js";
import { run, toolVersion, type RunOptions } from "./tools.js";

/*
 * Why restore works the way it does (issue #11). Checked by hand against PostgreSQL 15.20's pg_restore, with
 * same-length edits of a custom archive made by `pg_dump -Fc` (the archive stays valid; pg_restore notices nothing):
 *
 * - The archive's SEARCHPATH entry is run as SQL on connecting, even with `--data-only -L <empty list> -d`:
 *   `SELECT pg_catalog.set_config('search_path', '', false);` replaced by `CREATE TABLE public.sp();` created the
 *   table in the target. `-L` cannot filter it out.
 * - A TABLE DATA entry's stored COPY statement is sent to the server as it is: `COPY public.pgmigrations (...) FROM
 *   stdin;` replaced by `CREATE TABLE pw();COPY public.pgmigrations FROM stdin;` made `pg_restore -d` run the
 *   CREATE TABLE (it failed only because pg_restore's empty search_path selects no schema; a qualified name, or
 *   `COPY ... TO PROGRAM` under a superuser, would not fail). Any entry's `defn` is sent the same way.
 * - A dump's text must never reach psql either: a plain dump, or `pg_restore -f -` output, can carry `\!` (shell)
 *   and `\o` (file write) meta-commands, in the body or hidden in a COPY statement's column list; `\restrict` only
 *   helps with a new enough psql and only when it is not stripped. So plain SQL dumps are refused outright.
 *
 * Hence: pg_restore is used only to list the TOC (`-l`) and to print the selected TABLE DATA entries (`--data-only
 * -L <list> -f -`), never to connect. Every TOC entry must be one of the registry's own objects, by kind and exact
 * name; the printed text is parsed as data (exact `COPY public.<table> (<known columns>) FROM stdin;` headers, COPY
 * text rows, nothing else but comments and the SET preamble); the rows go to the server only as a JSON query
 * parameter into a temporary staging table (session-private `pg_temp` schema) that we create, and from there into
 * the registry table with SQL written here. The schema comes from this build's migrations, never from the dump:
 * the dump's FUNCTION/TRIGGER/VIEW/COMMENT entries are accepted by name only so that real registry dumps pass, and
 * their definitions are ignored.
 */

const TABLE = "model_registry_entries";
const QUALIFIED = `public.${TABLE}`;
const MIGRATIONS = `public.${MIGRATIONS_TABLE}`;

/** Columns of model_registry_entries (registry/migrations/0001, 0003, 0004) and of node-pg-migrate's table. */
const ENTRY_COLUMNS = [
  "id", "model_name", "engine", "served_model_name", "image_digest", "deployment_endpoint", "deployment_status",
  "deployment_environment", "deployment_namespace", "managed_by", "disabled_by", "last_health_check_at", "created_at",
  "updated_at",
  // 0003: a dump from before it has none of these; they restore as NULL (never verified).
  "last_verified_at", "last_verify_outcome", "last_verify_latency_ms", "last_verified_digest",
  // 0004: the InferencePool serving the entry; a dump from before it restores it as NULL (no pool).
  "inference_pool",
] as const;
const MIGRATION_COLUMNS = ["id", "name", "run_on"] as const;
const DATA_TABLES: Readonly<Record<string, readonly string[]>> = { [TABLE]: ENTRY_COLUMNS, [MIGRATIONS_TABLE]: MIGRATION_COLUMNS };
/** Columns compared to report a merge conflict: everything but the row id and timestamps. */
const NOT_COMPARED = new Set(["id", "created_at", "updated_at", "last_health_check_at", "last_verified_at", "last_verify_outcome", "last_verify_latency_ms", "last_verified_digest"]);

/**
 * The registry's own TOC entries, as `pg_restore -l` prints them without the owner: `<desc> <schema> <name>`.
 * `SCHEMA - public` and its COMMENT/ACL appear in dumps of older servers; ACLs of the registry's relations appear
 * in backups of a target with grants. None of these definitions is ever applied.
 */
const REGISTRY_TOC = new Set<string>([
  `TABLE public ${TABLE}`,
  `TABLE public ${MIGRATIONS_TABLE}`,
  `SEQUENCE public ${TABLE}_id_seq`,
  `SEQUENCE public ${MIGRATIONS_TABLE}_id_seq`,
  `SEQUENCE OWNED BY public ${MIGRATIONS_TABLE}_id_seq`,
  `SEQUENCE SET public ${TABLE}_id_seq`,
  `SEQUENCE SET public ${MIGRATIONS_TABLE}_id_seq`,
  `DEFAULT public ${MIGRATIONS_TABLE} id`,
  `CONSTRAINT public ${TABLE} ${TABLE}_model_environment_key`,
  `CONSTRAINT public ${TABLE} ${TABLE}_pkey`,
  `CONSTRAINT public ${MIGRATIONS_TABLE} ${MIGRATIONS_TABLE}_pkey`,
  `INDEX public ${TABLE}_routable_idx`,
  `FUNCTION public ${TABLE}_touch_updated_at()`,
  `TRIGGER public ${TABLE} ${TABLE}_touch_updated_at`,
  `FUNCTION public ${TABLE}_notify_change()`,
  `TRIGGER public ${TABLE} ${TABLE}_notify_change`,
  `TRIGGER public ${TABLE} ${TABLE}_notify_truncate`,
  `VIEW public routable_models`,
  `COMMENT public TABLE ${TABLE}`,
  ...ENTRY_COLUMNS.map((column) => `COMMENT public COLUMN ${TABLE}.${column}`),
  `TABLE DATA public ${TABLE}`,
  `TABLE DATA public ${MIGRATIONS_TABLE}`,
  `ACL public TABLE ${TABLE}`,
  `ACL public TABLE routable_models`,
  `ACL public TABLE ${MIGRATIONS_TABLE}`,
  `SCHEMA - public`,
  `COMMENT - SCHEMA public`,
  `ACL - SCHEMA public`,
]);

const truncate = (text: string, max = 120): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** A redactor that knows `url`'s secrets and everything registered process-wide. */
function redactorFor(url: string): (text: string) => string {
  const own = new Redactor();
  own.addUrl(url);
  defaultRedactor.addUrl(url);
  return (text) => defaultRedactor.redact(own.redact(text));
}

/** The non-secret name of the target for messages: `host:port/database`. */
function targetName(url: string): string {
  const target = describeDatabaseUrl(url);
  return `${target.host}:${target.port}/${target.database}`;
}

/** Turns a registry/pg error into a one-line BundleError with every secret of `url` removed. */
function databaseError(error: unknown, url: string, what: string): BundleError {
  if (error instanceof BundleError) return error;
  const clean = redactorFor(url);
  const message = clean(((error as { message?: string })?.message ?? String(error)).split("\n")[0] ?? "");
  const kind = isRegistryError(error) && error.kind === "input" ? "input" : "database";
  return new BundleError(kind, `${what} failed: ${message}`);
}

/**
 * Runs pg_dump/pg_restore against `url`: the connection goes in libpq's environment (PGHOST, PGPASSWORD, …), never in
 * the argument list; a failure is one line naming host:port/database, with every form of the password removed.
 */
async function pgTool(tool: "pg_dump" | "pg_restore", args: string[], url: string, what: string, options: Pick<RunOptions, "onSpawn"> = {}): Promise<string> {
  let env: Record<string, string>;
  try {
    env = libpqEnvironment(url);
  } catch (error) {
    throw databaseError(error, url, what);
  }
  const result = await run(tool, args, { reject: false, env, ...options });
  if (result.exitCode !== 0) {
    const clean = redactorFor(url);
    throw new BundleError("database", `${what} failed (${targetName(url)}): ${clean(lastLine(String(result.stderr)))}`);
  }
  return String(result.stdout);
}

/** Runs `fn` on one connection to `url`; failures become one-line BundleErrors without secrets. */
async function withClient<T>(url: string, what: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  redactorFor(url);
  let client: pg.Client;
  try {
    client = await connect(url, { applicationName: "modelfleet-db" });
  } catch (error) {
    throw databaseError(error, url, what);
  }
  try {
    return await fn(client);
  } catch (error) {
    throw databaseError(error, url, what);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function queryVersion(client: pg.Client): Promise<{ text: string; major: number }> {
  const { rows } = await client.query<{ text: string; num: string }>("SELECT current_setting('server_version') AS text, current_setting('server_version_num') AS num");
  const row = rows[0] ?? { text: "", num: "0" };
  return { text: row.text, major: Math.floor(Number(row.num) / 10000) };
}

export async function serverVersion(url: string): Promise<{ text: string; major: number }> {
  return withClient(url, "reading the server version", queryVersion);
}

export async function databaseSize(url: string): Promise<number> {
  return withClient(url, "reading the database size", async (client) => {
    const { rows } = await client.query<{ size: string }>("SELECT pg_database_size(current_database()) AS size");
    return Number(rows[0]?.size ?? 0);
  });
}

/** Flushes a file or folder to disk. */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a custom-format dump of `url` to `file` without ever leaving a partial file under that name: pg_dump writes
 * a temporary name in the same folder, `pg_restore -l` must read it back, it is flushed to disk, then renamed (and
 * the folder flushed). A process killed at any point leaves at most a dot-file ending in `.partial-<pid>`.
 */
async function writeDumpAtomically(url: string, file: string, extraArgs: string[], what: string, onSpawn?: (pid: number) => void): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const partial = join(dirname(file), `.${basename(file)}.partial-${process.pid}`);
  try {
    await pgTool("pg_dump", ["-Fc", ...extraArgs, "-f", partial], url, what, onSpawn ? { onSpawn } : {});
    const check = await run("pg_restore", ["-l", partial], { reject: false });
    if (check.exitCode !== 0) throw new BundleError("database", `${what}: the written dump is not readable (${truncate(lastLine(String(check.stderr)))}); nothing kept`);
    await fsyncPath(partial);
    await rename(partial, file);
    await fsyncPath(dirname(file));
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** `pg_dump -Fc` of the registry database, with the versions a restore checks. */
export async function dumpDatabase(url: string, file: string): Promise<{ file: string; serverVersion: string; pgDumpVersion: string }> {
  const version = await serverVersion(url);
  await writeDumpAtomically(url, file, ["--no-owner", "--no-privileges"], "pg_dump");
  return { file, serverVersion: version.text, pgDumpVersion: await toolVersion("pg_dump") };
}

export type RestoreMode = "replace" | "merge";

export interface RestoreOptions {
  /** A bundle (folder, `.tar` or `.tar.parts`: its db/registry.dump, checked against bundle.json) or a custom-format dump (`pg_dump -Fc`). */
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
  /** Anything the operator should know about how the dump was applied. */
  readonly notes: readonly string[];
}

interface DumpFile {
  readonly path: string;
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
  if (!listed || confinedPathReason(listed.path)) throw new BundleError("integrity", `the bundle's database dump ${manifest.database.path} is not listed in ${BUNDLE_JSON} with a safe path`);
  const actual = await hashFile(join(dir, listed.path)).catch(() => undefined);
  if (!actual) throw new BundleError("integrity", `the bundle's database dump ${listed.path} is missing`);
  if (actual.sha256 !== listed.sha256 || actual.size !== listed.size) {
    throw new BundleError("integrity", `the bundle's database dump ${listed.path} is altered (sha256 ${actual.sha256}, ${actual.size} bytes; ${BUNDLE_JSON} says ${listed.sha256}, ${listed.size} bytes); nothing restored`);
  }
  return { path: join(dir, listed.path), version: manifest.database.serverVersion };
}

/** A custom-format dump file; anything else (plain SQL above all) is refused before it is read further. */
async function dumpFile(source: string): Promise<DumpFile> {
  const handle = await open(source).catch(() => undefined);
  if (!handle) throw new BundleError("input", `no dump at ${source}`);
  const head = Buffer.alloc(5);
  await handle.read(head, 0, 5, 0);
  await handle.close();
  if (head.toString("latin1") !== "PGDMP") {
    throw new BundleError(
      "input",
      `${source} is not a custom-format dump (it does not start with "PGDMP"); restore accepts only custom-format archives, whose contents are checked before anything is restored, never plain SQL: make one with \`pg_dump -Fc\` or \`modelfleet db dump\``,
    );
  }
  return { path: source, version: "" };
}

const major = (version: string) => Number(/^(\d+)/.exec(version)?.[1] ?? "0");

interface TocEntry {
  readonly id: string;
  /** `<desc> <schema> <name>` without the owner. */
  readonly key: string;
  readonly line: string;
}

/**
 * Reads the dump's TOC with `pg_restore -l` and checks every entry against the registry's objects. Refuses, naming
 * them, entries of any other kind or name, entries without exactly one owner word after the name (a name with a
 * newline can fake a second line), and repeated ids or names.
 */
async function readToc(dump: DumpFile): Promise<{ version: string; entries: TocEntry[] }> {
  const listed = await run("pg_restore", ["-l", dump.path], { reject: false });
  const name = basename(dump.path);
  if (listed.exitCode !== 0) throw new BundleError("input", `${name} is not a readable custom-format dump: ${truncate(lastLine(String(listed.stderr)))}`);
  const text = String(listed.stdout);
  const version = /^;\s+Dumped from database version: (\S+)/m.exec(text)?.[1] ?? "";
  const entries: TocEntry[] = [];
  const refused: string[] = [];
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith(";")) continue;
    const match = /^(\d+); \d+ \d+ (.+)$/.exec(line);
    const rest = match?.[2] ?? "";
    const key = [...REGISTRY_TOC].find((k) => rest.startsWith(`${k} `) && /^\S+$/.test(rest.slice(k.length + 1)));
    if (!match || !key || ids.has(match[1] as string) || keys.has(key)) {
      refused.push(JSON.stringify(truncate(match ? rest : line, 80)));
      continue;
    }
    ids.add(match[1] as string);
    keys.add(key);
    entries.push({ id: match[1] as string, key, line });
  }
  if (refused.length > 0) {
    throw new BundleError(
      "input",
      `${name} holds ${refused.length} entr${refused.length === 1 ? "y" : "ies"} that ${refused.length === 1 ? "is" : "are"} not the model registry's own table, sequence, constraint or index (nothing was restored): ${refused.slice(0, 5).join(", ")}${refused.length > 5 ? ", …" : ""}; restore only dumps of the registry database made with \`modelfleet db dump\` or \`pg_dump -Fc\``,
    );
  }
  return { version, entries };
}

/** One COPY text-format field: `\N` is NULL; backslash escapes as PostgreSQL writes them (octal/hex are bytes). */
export function decodeCopyField(field: string): string | null {
  if (field === "\\N") return null;
  if (!field.includes("\\")) return field;
  const bytes: number[] = [];
  const simple: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
  for (let i = 0; i < field.length; i++) {
    const char = field[i] as string;
    if (char !== "\\" || i === field.length - 1) {
      bytes.push(...Buffer.from(char === "\\" ? char : String.fromCodePoint(field.codePointAt(i) as number), "utf8"));
      if ((field.codePointAt(i) as number) > 0xffff) i++;
      continue;
    }
    const next = field[++i] as string;
    const octal = /^[0-7]{1,3}/.exec(field.slice(i));
    const hex = next === "x" ? /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 1)) : null;
    if (simple[next] !== undefined) bytes.push(simple[next] as number);
    else if (octal) {
      bytes.push(parseInt(octal[0], 8) & 0xff);
      i += octal[0].length - 1;
    } else if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += hex[0].length;
    } else bytes.push(...Buffer.from(next, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

export interface TableRows {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
}

/** Lines pg_restore prints around the data that carry no data: comments, the SET preamble, `\restrict` markers. */
const PREAMBLE = [
  /^$/,
  /^--/,
  /^SET [a-z_]+ = [^;\n]*;$/,
  /^SELECT pg_catalog\.set_config\('search_path', '[^'\n]*', false\);$/,
  /^\\(?:un)?restrict [A-Za-z0-9]+$/,
];

/**
 * Parses `pg_restore --data-only -f -` output as data, never as SQL: only the COPY blocks of the registry's tables
 * with known column names are read; any other statement, a second block for a table, a row with the wrong number of
 * fields or a non-UTF8 dump is refused. Exported for tests.
 */
export function parseDataScript(text: string, name: string): Map<string, TableRows> {
  const tables = new Map<string, TableRows>();
  const lines = text.split("\n");
  const refuse = (what: string, line: string) => new BundleError("input", `${name}: ${what} (${JSON.stringify(truncate(line, 80))}); nothing restored`);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const encoding = /^SET client_encoding = '([^']*)';$/.exec(line);
    if (encoding && encoding[1] !== "UTF8") throw refuse(`the dump's encoding is not UTF8; dump a UTF8 database, or with PGCLIENTENCODING=UTF8`, line);
    if (PREAMBLE.some((pattern) => pattern.test(line))) continue;
    const header = /^COPY public\.([a-z_]+) \(([a-z_, ]+)\) FROM stdin;$/.exec(line);
    const known = header ? DATA_TABLES[header[1] as string] : undefined;
    if (!header || !known) throw refuse("unexpected text where only the registry's COPY data may be", line);
    const table = header[1] as string;
    const columns = (header[2] as string).split(", ");
    if (tables.has(table)) throw refuse(`a second block of rows for ${table}`, line);
    const unknown = columns.filter((c) => !known.includes(c));
    if (unknown.length > 0 || new Set(columns).size !== columns.length) {
      throw refuse(`columns of ${table} this modelfleet does not know or repeated (${unknown.join(", ") || "repeated"}): a dump from a newer modelfleet needs this modelfleet upgraded`, line);
    }
    const rows: (string | null)[][] = [];
    for (i++; ; i++) {
      if (i >= lines.length) throw refuse(`the rows of ${table} do not end with "\\."`, line);
      const row = lines[i] as string;
      if (row === "\\.") break;
      const fields = row.split("\t");
      if (fields.length !== columns.length) throw refuse(`a row of ${table} has ${fields.length} fields, not ${columns.length}`, row);
      rows.push(fields.map(decodeCopyField));
    }
    tables.set(table, { columns, rows });
  }
  return tables;
}

interface RegistryData {
  readonly version: string;
  readonly entries: TableRows;
  readonly migrations: readonly string[];
}

/** Checks the TOC, prints only the registry's TABLE DATA entries and parses them; nothing touches a database. */
async function readRegistryData(dump: DumpFile): Promise<RegistryData> {
  const name = basename(dump.path);
  const toc = await readToc(dump);
  const data = toc.entries.filter((e) => e.key.startsWith("TABLE DATA "));
  if (!data.some((e) => e.key === `TABLE DATA public ${TABLE}`)) throw new BundleError("input", `${name} has no rows of ${QUALIFIED}: it is not a dump of the registry database`);
  const work = await mkdtemp(join(tmpdir(), "modelfleet-restore-"));
  try {
    const list = join(work, "data.list");
    await writeFile(list, `${data.map((e) => e.line).join("\n")}\n`, { mode: 0o600 });
    const printed = await run("pg_restore", ["--data-only", "-L", list, "-f", "-", dump.path], { reject: false });
    if (printed.exitCode !== 0) throw new BundleError("input", `${name} is not a readable dump: ${truncate(lastLine(String(printed.stderr)))}`);
    const tables = parseDataScript(String(printed.stdout), name);
    const entries = tables.get(TABLE);
    if (!entries) throw new BundleError("input", `${name} has no rows of ${QUALIFIED}: it is not a dump of the registry database`);
    for (const key of ["model_name", "deployment_environment"]) {
      if (!entries.columns.includes(key)) throw new BundleError("input", `${name}: the rows of ${QUALIFIED} have no ${key} column; nothing restored`);
    }
    const migrationRows = tables.get(MIGRATIONS_TABLE);
    const nameIndex = migrationRows?.columns.indexOf("name") ?? -1;
    const migrations = migrationRows && nameIndex >= 0 ? migrationRows.rows.map((row) => row[nameIndex] ?? "") : [];
    const knownMigrations = new Set(readMigrationFiles().map((m) => m.name));
    const newer = migrations.filter((m) => !knownMigrations.has(m));
    if (newer.length > 0) {
      throw new BundleError("input", `${name} comes from a registry with migration(s) this modelfleet does not have (${newer.map((m) => JSON.stringify(truncate(m, 60))).join(", ")}); upgrade modelfleet to restore it`);
    }
    return { version: toc.version, entries, migrations };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Restores the registry database from a custom-format dump (or a bundle's, checked against bundle.json first).
 * Nothing from the dump is executed (see the comment at the top of this file). Refuses a target older (major) than
 * the dump's server. In one transaction on the target: takes the migration and registry advisory locks and an
 * EXCLUSIVE lock on the registry tables (registry writers wait; readers go on), backs the target up from that very
 * snapshot (kept, path returned), then replace makes the rows exactly the dump's (creating the schema from this
 * build's migrations when the target has none), and merge adds only the rows missing from the target and reports
 * conflicts. A failure or a killed process leaves the target as it was.
 */
export async function restoreDatabase(options: RestoreOptions): Promise<RestoreResult> {
  redactorFor(options.url);
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

function backupPath(backupDir: string, url: string): string {
  const database = describeDatabaseUrl(url).database.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 60);
  return join(backupDir, `modelfleet-backup-${database}-${new Date().toISOString().replace(/[:.]/g, "-")}.dump`);
}

async function restoreDump(dumpSource: DumpFile, options: RestoreOptions): Promise<RestoreResult> {
  const data = await readRegistryData(dumpSource);
  const dumpVersion = dumpSource.version || data.version;
  const backupDir = resolve(options.backupDir ?? "modelfleet-backups");
  const notes: string[] = [];
  return withClient(options.url, `restoring ${basename(dumpSource.path)}`, async (client) => {
    const target = await queryVersion(client);
    if (target.major < major(dumpVersion)) {
      throw new BundleError("database", `the dump comes from PostgreSQL ${dumpVersion}, the target runs ${target.text}: restoring into an older major version is not supported; upgrade the target first`);
    }
    await client.query("BEGIN");
    try {
      // Lock order as everywhere else: migration lock, registry lock, then the tables.
      await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await client.query(LOCK_STATEMENT);
      const schema = await registrySchema(client);
      if (options.mode === "merge" && schema === "missing") {
        throw new BundleError("database", `the target has no ${QUALIFIED}: run \`modelfleet registry migrate up\` first, or use --db-mode replace`);
      }
      // EXCLUSIVE: writers (INSERT/UPDATE/DELETE, health checks included) wait until COMMIT; readers and pg_dump's
      // ACCESS SHARE do not.
      if (schema === "present") await client.query(`LOCK TABLE ${QUALIFIED}, ${MIGRATIONS} IN EXCLUSIVE MODE`);
      // Taken after the locks (READ COMMITTED: this statement's snapshot), so the backup holds every committed row
      // and no writer can commit another before the restore commits.
      const { rows } = await client.query<{ id: string }>("SELECT pg_export_snapshot() AS id");
      const backup = backupPath(backupDir, options.url);
      await writeDumpAtomically(options.url, backup, [`--snapshot=${rows[0]?.id ?? ""}`], "backing up the target before the restore");
      const versions = { backup, dumpVersion, targetVersion: target.text };
      if (options.mode === "replace") {
        if (schema === "missing") {
          await createSchema(client);
          notes.push(`the target had no registry schema: it was created from this modelfleet's migrations (${readMigrationFiles().map((m) => m.name).join(", ")})`);
        }
        await stage(client, data.entries);
        await replaceRows(client, data.entries);
        await client.query("COMMIT");
        return { ...versions, inserted: [], conflicts: [], notes };
      }
      await stage(client, data.entries);
      const merged = await mergeRows(client, data.entries);
      await client.query("COMMIT");
      return { ...versions, ...merged, notes };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
  });
}

/** Whether the target has the registry schema at this build's migration level. */
async function registrySchema(client: pg.Client): Promise<"missing" | "present"> {
  const { rows } = await client.query<{ entries: boolean; migrations: boolean }>(
    `SELECT to_regclass('${QUALIFIED}') IS NOT NULL AS entries, to_regclass('${MIGRATIONS}') IS NOT NULL AS migrations`,
  );
  const { entries = false, migrations = false } = rows[0] ?? {};
  if (!entries && !migrations) return "missing";
  if (!entries || !migrations) throw new BundleError("database", `the target has ${entries ? QUALIFIED : MIGRATIONS} but not ${entries ? MIGRATIONS : QUALIFIED}: repair it with \`modelfleet registry migrate up\` first`);
  const applied = (await client.query<{ name: string }>(`SELECT name FROM ${MIGRATIONS} ORDER BY id`)).rows.map((r) => r.name);
  const known = readMigrationFiles().map((m) => m.name);
  const missing = known.filter((m) => !applied.includes(m));
  const unknown = applied.filter((m) => !known.includes(m));
  if (unknown.length > 0) throw new BundleError("database", `the target's registry has migration(s) this modelfleet does not know (${unknown.map((m) => truncate(m, 60)).join(", ")}); upgrade modelfleet`);
  if (missing.length > 0) throw new BundleError("database", `the target's registry lacks migration(s) ${missing.join(", ")}: run \`modelfleet registry migrate up\` first`);
  return "present";
}

/** The registry schema from this build's migration files, recorded as node-pg-migrate records them. */
async function createSchema(client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE ${MIGRATIONS} (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)`);
  for (const migration of readMigrationFiles()) {
    await client.query(migration.upSql);
    await client.query(`INSERT INTO ${MIGRATIONS} (name, run_on) VALUES ($1, now())`, [migration.name]);
  }
}

const STAGING = "pg_temp.mf_restore_entries";

/**
 * The dump's rows in a temporary table (the session's own `pg_temp` schema; no constraints, the target's column
 * types), dropped at COMMIT/ROLLBACK.
 * The rows travel as one JSON parameter and are typed by the columns' input functions: never SQL text.
 */
async function stage(client: pg.Client, entries: TableRows): Promise<void> {
  await client.query(`CREATE TEMP TABLE mf_restore_entries ON COMMIT DROP AS SELECT * FROM ${QUALIFIED} WITH NO DATA`);
  const json = JSON.stringify(entries.rows.map((row) => Object.fromEntries(entries.columns.map((c, i) => [c, row[i] ?? null]))));
  const columns = entries.columns.join(", ");
  await client.query(`INSERT INTO ${STAGING} (${columns}) SELECT ${columns} FROM json_populate_recordset(NULL::${STAGING}, $1::json)`, [json]);
}

/** Makes the registry rows exactly the staged ones (ids kept), and moves the id sequence past them. */
async function replaceRows(client: pg.Client, entries: TableRows): Promise<void> {
  const columns = entries.columns.join(", ");
  await client.query(`DELETE FROM ${QUALIFIED}`);
  const overriding = entries.columns.includes("id") ? " OVERRIDING SYSTEM VALUE" : "";
  await client.query(`INSERT INTO ${QUALIFIED} (${columns})${overriding} SELECT ${columns} FROM ${STAGING}`);
  await client.query(`SELECT setval(pg_get_serial_sequence('${QUALIFIED}', 'id'), coalesce(max(id), 0) + 1, false) FROM ${QUALIFIED}`);
}

const byBytes = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Adds the staged rows whose (model, environment) the target lacks; reports staged rows that differ from the target's. */
async function mergeRows(client: pg.Client, entries: TableRows): Promise<{ inserted: string[]; conflicts: string[] }> {
  const columns = entries.columns.filter((c) => c !== "id");
  const compared = columns.filter((c) => !NOT_COMPARED.has(c));
  const label = (row: { model_name: string; deployment_environment: string }) => `${row.model_name} in ${row.deployment_environment}`;
  const conflicts = await client.query<{ model_name: string; deployment_environment: string }>(
    `SELECT i.model_name, i.deployment_environment FROM ${STAGING} i JOIN ${QUALIFIED} e USING (model_name, deployment_environment)
     WHERE (${compared.map((c) => `i.${c}`).join(", ")}) IS DISTINCT FROM (${compared.map((c) => `e.${c}`).join(", ")})`,
  );
  const added = await client.query<{ model_name: string; deployment_environment: string }>(
    `INSERT INTO ${QUALIFIED} (${columns.join(", ")}) SELECT ${columns.join(", ")} FROM ${STAGING}
     ON CONFLICT (model_name, deployment_environment) DO NOTHING RETURNING model_name, deployment_environment`,
  );
  return { inserted: added.rows.map(label).sort(byBytes), conflicts: conflicts.rows.map(label).sort(byBytes) };
}

/** A plain-SQL `pg_dump` of `url` (for tooling and tests; `db restore` refuses plain dumps). */
export async function writePlainDump(url: string, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, await pgTool("pg_dump", ["-Fp", "--no-owner", "--no-privileges"], url, "pg_dump"));
}
