/**
 * Issues #11 and #16.2 against a real PostgreSQL 15 and the real CLI: a dump never runs code, a replace never loses
 * a row (concurrent writers, SIGKILL), and a database password never shows in argv, output, files or backups.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { databaseSize, dumpDatabase, restoreDatabase, writePlainDump } from "../../bundle/db.js";
import { BundleError } from "../../bundle/errors.js";
import { reconcile } from "../../registry/reconcile.js";
import { desired, snapshotEntries, useRegistryDatabase } from "../registry/support.js";

const ctx = useRegistryDatabase();
const work = mkdtempSync(join(tmpdir(), "mf-dbsec-"));
const backupDir = join(work, "backups");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BIN = join(import.meta.dirname, "../../bin/modelfleet.js");
const cli = (args: string[], options: { detached?: boolean; dbUrl?: string } = {}) =>
  execa("node", [BIN, ...args], { reject: false, env: { MODELFLEET_DB_URL: options.dbUrl ?? "" }, cwd: work, detached: options.detached ?? false });
/** Each CLI run starts tsx; on a loaded 2-core machine a handful of them take minutes. */
const SLOW = 240_000;

let counter = 0;
const fresh = (name: string) => join(work, `${++counter}-${name}`);

async function source() {
  const { db, client } = await ctx.migratedDb();
  await reconcile(client, [desired("alpha", "production"), desired("beta", "production")], "production");
  const file = fresh("source.dump");
  await dumpDatabase(db.url, file);
  return { db, client, file, rows: await snapshotEntries(client) };
}

/** A target with one staging row and an unrelated table whose lock can stall pg_dump. */
async function target() {
  const { db, client } = await ctx.migratedDb();
  await reconcile(client, [desired("gamma", "staging")], "staging");
  await client.query("CREATE TABLE site_notes (note text)");
  return { db, client, before: await snapshotEntries(client) };
}

/** Another connection holding ACCESS EXCLUSIVE on site_notes: any pg_dump of that database waits until release. */
async function stallDumps(db: { url: string }) {
  const blocker = new pg.Client({ connectionString: db.url });
  await blocker.connect();
  await blocker.query("BEGIN");
  await blocker.query("LOCK TABLE site_notes IN ACCESS EXCLUSIVE MODE");
  return { blocker, release: async () => { await blocker.query("COMMIT"); await blocker.end(); } };
}

async function waitFor(client: pg.Client, sql: string, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE ${sql}`);
    if (Number(rows[0]?.n) > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const pgDumpWaiting = "application_name = 'pg_dump' AND wait_event_type = 'Lock'";

/** Every file under `dir`, as text. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => readFileSync(path).toString("latin1"));
}

/** The same-length edit of a custom archive: the first `length` bytes after `anchor` become `payload` (padded). */
function patchArchive(file: string, anchor: string, payload: string, out: string): void {
  const bytes = readFileSync(file);
  const at = bytes.indexOf(Buffer.from(anchor));
  expect(at, `${anchor} not in the dump`).toBeGreaterThan(0);
  bytes.write(payload, at + anchor.length, "latin1");
  writeFileSync(out, bytes);
}

describe("restore never executes anything from a dump (#11)", () => {
  it("a custom dump whose COPY header hides a \\! command is refused in merge and replace; nothing runs", async () => {
    const src = await source();
    const marker = fresh("copy-marker");
    const crafted = fresh("copy-header.dump");
    patchArchive(src.file, "COPY public.model_registry_entries (id, ", `\n\\! touch ${marker} #\n`, crafted);
    const { db, client, before } = await target();
    for (const mode of ["merge", "replace"] as const) {
      const error = await restoreDatabase({ source: crafted, url: db.url, mode, backupDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BundleError);
      expect((error as BundleError).kind).toBe("input");
      expect((error as Error).message).toMatch(/copy-header\.dump: unexpected text where only the registry's COPY data may be \(.*\); nothing restored$/);
    }
    const viaCli = await cli(["db", "restore", crafted, "--mode", "merge", "--db-url", db.url, "--backup-dir", backupDir]);
    expect(viaCli.exitCode).toBe(2);
    expect(viaCli.stderr.trim().split("\n")).toHaveLength(1);
    expect(viaCli.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(marker)).toBe(false);
    expect(await snapshotEntries(client)).toEqual(before);
  }, SLOW);

  it.each([
    ["its SEARCHPATH entry (pg_restore -d would run it on connecting)", "SELECT pg_catalog.set_config('search_path', '', false);", "CREATE TABLE public.pwned();"],
    ["a COPY statement with another statement in front", "COPY public.pgmigrations (id, name, run_on) FROM stdin;", "CREATE TABLE public.pwned();COPY public.pgmigrations "],
  ])("SQL hidden in %s is refused and never runs", async (_name, from, to) => {
    const src = await source();
    const crafted = fresh("hidden-sql.dump");
    const bytes = readFileSync(src.file);
    const at = bytes.indexOf(Buffer.from(from));
    expect(at).toBeGreaterThan(0);
    bytes.write(to.padEnd(from.length, " ").slice(0, from.length), at, "latin1");
    writeFileSync(crafted, bytes);
    const { db, client, before } = await target();
    for (const mode of ["merge", "replace"] as const) {
      await expect(restoreDatabase({ source: crafted, url: db.url, mode, backupDir })).rejects.toThrow(/hidden-sql\.dump: unexpected text where only the registry's COPY data may be .*CREATE TABLE public\.pwned/);
    }
    const { rows } = await client.query("SELECT to_regclass('public.pwned') AS t");
    expect(rows[0]).toEqual({ t: null });
    expect(await snapshotEntries(client)).toEqual(before);
  });

  it.each([
    ["a \\! line in the body", (sql: string, marker: string) => sql.replace(/^(SET statement_timeout = 0;\n)/m, `$1\\! touch ${marker}\n`)],
    ["a \\! in a COPY column list", (sql: string, marker: string) => sql.replace("COPY public.model_registry_entries (id, ", `COPY public.model_registry_entries (\n\\! touch ${marker}\nid, `)],
  ])("a plain SQL dump with %s is refused in both modes; nothing runs", async (_name, inject) => {
    const src = await source();
    const plain = fresh("smuggled.sql");
    const marker = fresh("plain-marker");
    await writePlainDump(src.db.url, plain);
    const original = readFileSync(plain, "utf8");
    writeFileSync(plain, inject(original, marker));
    expect(readFileSync(plain, "utf8")).not.toBe(original);
    const { db, client, before } = await target();
    for (const mode of ["replace", "merge"] as const) {
      await expect(restoreDatabase({ source: plain, url: db.url, mode, backupDir })).rejects.toThrow(/is not a custom-format dump .*make one with `pg_dump -Fc`/);
    }
    expect(existsSync(marker)).toBe(false);
    expect(await snapshotEntries(client)).toEqual(before);
  });

  it.each([
    ["a function", "CREATE FUNCTION evil() RETURNS int LANGUAGE sql AS 'SELECT 1'", "FUNCTION public evil()"],
    ["an unknown table", "CREATE TABLE other (x int)", "TABLE public other"],
    ["a trigger not the registry's", "CREATE FUNCTION t() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'; CREATE TRIGGER sneaky BEFORE INSERT ON model_registry_entries FOR EACH ROW EXECUTE FUNCTION t()", "TRIGGER public model_registry_entries sneaky"],
  ])("a dump holding %s is refused, naming the entry", async (_name, ddl, named) => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("alpha", "production")], "production");
    await client.query(ddl);
    const file = fresh("foreign.dump");
    await dumpDatabase(db.url, file);
    const { db: into, client: intoClient, before } = await target();
    const error = await restoreDatabase({ source: file, url: into.url, mode: "merge", backupDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as Error).message).toContain("not the model registry's own table, sequence, constraint or index (nothing was restored)");
    expect((error as Error).message).toContain(`"${named}`);
    expect(await snapshotEntries(intoClient)).toEqual(before);
  });

  it("a dump whose registry function has another body restores rows only: the dump's definition is never used", async () => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("alpha", "production")], "production");
    await client.query("CREATE OR REPLACE FUNCTION model_registry_entries_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN CREATE TABLE pwned (x int); RETURN NEW; END$$");
    const file = fresh("hostile-function.dump");
    await dumpDatabase(db.url, file);
    const { db: into, client: intoClient } = await ctx.emptyDb();
    await restoreDatabase({ source: file, url: into.url, mode: "replace", backupDir });
    await intoClient.query("UPDATE model_registry_entries SET deployment_status = 'ready'");
    const { rows } = await intoClient.query("SELECT to_regclass('public.pwned') AS t");
    expect(rows[0]).toEqual({ t: null });
    expect((await snapshotEntries(intoClient)).map((r) => r["model_name"])).toEqual(["alpha"]);
  });
});

describe("a replace never loses rows (#11.5)", () => {
  it("SIGKILL during the backup leaves no backup under a final name and the target unchanged", async () => {
    const src = await source();
    const { db, client, before } = await target();
    const dir = fresh("kill-backups");
    const stall = await stallDumps(db);
    const restore = cli(["db", "restore", src.file, "--mode", "replace", "--db-url", db.url, "--backup-dir", dir], { detached: true });
    try {
      await waitFor(client, pgDumpWaiting, "the backup's pg_dump");
      process.kill(-(restore.pid as number), "SIGKILL");
      await restore;
    } finally {
      await stall.release();
    }
    await waitFor(client, "true AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name IN ('modelfleet-db', 'pg_dump'))", "the killed restore's sessions to end");
    const kept = existsSync(dir) ? readdirSync(dir).filter((name) => !name.startsWith(".")) : [];
    expect(kept).toEqual([]);
    expect(await snapshotEntries(client)).toEqual(before);
  }, SLOW);

  it("SIGKILL after the rows were replaced but before COMMIT leaves the target exactly as before", async () => {
    const src = await source();
    const { db, client, before } = await target();
    // Holding the id sequence stalls the restore at its last statement (setval), after DELETE and INSERT.
    const holder = await ctx.connectTo(db);
    await holder.query("BEGIN");
    await holder.query("ALTER SEQUENCE model_registry_entries_id_seq CACHE 1");
    const restore = cli(["db", "restore", src.file, "--mode", "replace", "--db-url", db.url, "--backup-dir", fresh("mid-backups")], { detached: true });
    try {
      await waitFor(client, "application_name = 'modelfleet-db' AND query LIKE 'SELECT setval%' AND wait_event_type = 'Lock'", "the restore to reach setval");
      process.kill(-(restore.pid as number), "SIGKILL");
      await restore;
    } finally {
      await holder.query("COMMIT");
    }
    await waitFor(client, "true AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'modelfleet-db')", "the killed restore's session to end");
    expect(await snapshotEntries(client)).toEqual(before);
  }, SLOW);

  it("a writer during replace waits and lands after; the backup holds the rows from before", async () => {
    const src = await source();
    const { db, client, before } = await target();
    const stall = await stallDumps(db);
    const dir = fresh("writer-backups");
    const restoring = restoreDatabase({ source: src.file, url: db.url, mode: "replace", backupDir: dir });
    let writerDone = false;
    let writing: Promise<unknown> | undefined;
    try {
      await waitFor(client, pgDumpWaiting, "the backup's pg_dump");
      const writer = await ctx.connectTo(db);
      writing = reconcile(writer, [desired("delta", "development")], "development").then((r) => {
        writerDone = true;
        return r;
      });
      await waitFor(client, "wait_event_type IN ('Lock') AND query LIKE 'SELECT pg_advisory_xact_lock%' AND application_name <> 'modelfleet-db'", "the writer to wait");
      expect(writerDone).toBe(false);
    } finally {
      await stall.release();
    }
    const result = await restoring;
    await writing;
    expect(writerDone).toBe(true);
    const names = (await snapshotEntries(client)).map((r) => `${r["model_name"]}/${r["deployment_environment"]}`);
    expect(names).toEqual(["delta/development", "alpha/production", "beta/production"]);
    // The backup is the target as it was when the restore took its lock: gamma, not delta.
    const backupRows = await execa("pg_restore", ["--data-only", "-t", "model_registry_entries", "-f", "-", result.backup]);
    expect(backupRows.stdout).toContain("\tgamma\t");
    expect(backupRows.stdout).not.toContain("\tdelta\t");
    expect(before.map((r) => r["model_name"])).toEqual(["gamma"]);
  });
});

describe("the database password never leaks (#16.2)", () => {
  const PASSWORD = "p@ss:w/rd%Leak9 x";
  const forms = [PASSWORD, encodeURIComponent(PASSWORD), "Leak9"];

  async function role(db: { name: string }) {
    const server = ctx.server();
    const admin = await ctx.connectTo({ name: db.name, url: server.url(db.name) });
    const user = `leaky_${++counter}`;
    await admin.query(`CREATE ROLE ${user} LOGIN SUPERUSER PASSWORD ${pg.escapeLiteral(PASSWORD)}`);
    return (database: string, password = encodeURIComponent(PASSWORD)) => `postgres://${user}:${password}@127.0.0.1:${server.port}/${database}`;
  }

  const expectClean = (texts: string[]) => {
    for (const text of texts) for (const form of forms) expect(text).not.toContain(form);
  };

  it("pg_dump's argument list never holds the password (read from /proc while it runs)", async () => {
    const { db, client } = await target();
    const url = await role(db);
    const stall = await stallDumps(db);
    const out = fresh("argv.dump");
    // The URL comes from the environment, so no process of this run has it in its argument list.
    const dump = cli(["db", "dump", "--out", out], { dbUrl: url(db.name) });
    let seen: string[] = [];
    try {
      await waitFor(client, pgDumpWaiting, "pg_dump");
      seen = readdirSync("/proc").filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
        try {
          return [readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ")];
        } catch {
          return [];
        }
      });
    } finally {
      await stall.release();
    }
    const result = await dump;
    expect(result.exitCode, result.stderr).toBe(0);
    const pgDumps = seen.filter((line) => /\bpg_dump\b/.test(line) && line.includes("argv.dump"));
    expect(pgDumps).toHaveLength(1);
    expectClean([...seen, result.stdout, result.stderr]);
    expect(pgDumps[0]).not.toContain("postgres://");
  }, SLOW);

  it("db dump, restore (both modes): every output, dump and backup is free of the password in every form", async () => {
    const src = await source();
    const { db } = await target();
    const url = await role(db);
    const dir = fresh("leak-out");
    mkdirSync(dir);
    const srcUrl = (await role(src.db))(src.db.name);
    const results = [
      await cli(["db", "dump", "--out", join(dir, "ok.dump"), "--db-url", srcUrl]),
      await cli(["db", "restore", join(dir, "ok.dump"), "--mode", "merge", "--db-url", url(db.name), "--backup-dir", join(dir, "b")]),
      await cli(["db", "restore", join(dir, "ok.dump"), "--mode", "replace", "--db-url", url(db.name), "--backup-dir", join(dir, "b")]),
    ];
    for (const r of results) expect(r.exitCode, r.stderr).toBe(0);
    expect(readdirSync(join(dir, "b")).filter((n) => n.endsWith(".dump"))).toHaveLength(2);
    expectClean([...results.flatMap((r) => [r.stdout, r.stderr]), ...filesUnder(dir)]);
  }, SLOW);

  it.each([
    ["raw, not valid percent-encoding", "Pct%zzLeak9", 2, /the password in the database URL is not valid percent-encoding/],
    ["wrong, with @ : / percent-encoded", encodeURIComponent("wr@ng:pa/ss Leak9"), 1, /password authentication failed for user "leaky_\d+"/],
    ["wrong, percent-encoded twice", encodeURIComponent(encodeURIComponent("p@ss Leak9")), 1, /password authentication failed/],
  ])("a %s password fails on one line, never echoed, in db dump, db restore (both modes)", async (_name, password, code, message) => {
    const src = await source();
    const { db } = await target();
    const url = (await role(db))(db.name, password);
    const dir = fresh("leak-fail");
    mkdirSync(dir);
    const results = [
      await cli(["db", "dump", "--out", join(dir, "x.dump"), "--db-url", url]),
      await cli(["db", "restore", src.file, "--mode", "merge", "--db-url", url, "--backup-dir", join(dir, "b")]),
      await cli(["db", "restore", src.file, "--mode", "replace", "--db-url", url, "--backup-dir", join(dir, "b")]),
    ];
    for (const r of results) {
      expect(r.exitCode).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      for (const form of [password, decodeURIComponent(password.replace(/%zz/g, "")), "Leak9"]) {
        expect(r.stderr + r.stdout).not.toContain(form);
      }
    }
    expectClean(filesUnder(dir));
  }, SLOW);

  it.each([
    ["raw, not valid percent-encoding", "Pct%zzLeak9", "input"],
    ["wrong, with @ : / percent-encoded", encodeURIComponent("wr@ng:pa/ss Leak9"), "database"],
  ])("bundle create --db-url's calls (databaseSize, dumpDatabase) with a %s password fail without echoing it", async (_name, password, kind) => {
    const { db } = await target();
    const url = (await role(db))(db.name, password);
    const file = fresh("create.dump");
    for (const call of [() => databaseSize(url), () => dumpDatabase(url, file)]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BundleError);
      expect((error as BundleError).kind).toBe(kind);
      expect((error as Error).message).not.toContain("Leak9");
      expect((error as Error).message).not.toContain(password);
    }
    expect(existsSync(file)).toBe(false);
  });
});
