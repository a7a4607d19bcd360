import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeCopyField, dumpDatabase, restoreDatabase, writePlainDump } from "../../bundle/db.js";
import { BundleError } from "../../bundle/errors.js";
import { readMigrationFiles } from "../../registry/migration-files.js";
import { reconcile } from "../../registry/reconcile.js";
import { desired, snapshotEntries, useRegistryDatabase } from "../registry/support.js";

const ctx = useRegistryDatabase();
const work = mkdtempSync(join(tmpdir(), "modelfleet-db-"));
const backupDir = join(work, "backups");
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function source() {
  const { db, client } = await ctx.migratedDb();
  await reconcile(client, [desired("alpha", "production"), desired("beta", "production")], "production");
  const file = join(work, `${db.name}.dump`);
  await dumpDatabase(db.url, file);
  return { db, client, file, rows: await snapshotEntries(client) };
}

describe("db dump and restore", () => {
  it("replace into an empty database restores every row", async () => {
    const src = await source();
    const { db, client } = await ctx.emptyDb();
    const result = await restoreDatabase({ source: src.file, url: db.url, mode: "replace", backupDir });
    expect(await snapshotEntries(client)).toEqual(src.rows);
    expect(existsSync(result.backup)).toBe(true);
    expect(result.dumpVersion).toMatch(/^15\./);
  });

  it("replace into a non-empty database takes a usable backup first", async () => {
    const src = await source();
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("gamma", "staging")], "staging");
    const before = await snapshotEntries(client);
    const result = await restoreDatabase({ source: src.file, url: db.url, mode: "replace", backupDir });
    expect(await snapshotEntries(client)).toEqual(src.rows);
    // The backup restores the previous state.
    const { db: other, client: otherClient } = await ctx.emptyDb();
    await restoreDatabase({ source: result.backup, url: other.url, mode: "replace", backupDir });
    expect(await snapshotEntries(otherClient)).toEqual(before);
  });

  it("merge adds only missing rows and reports conflicts, keeping the target's values", async () => {
    const src = await source();
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("alpha", "production", { servedModelName: "local/alpha" }), desired("gamma", "staging")], "production");
    const result = await restoreDatabase({ source: src.file, url: db.url, mode: "merge", backupDir });
    expect(result.inserted).toEqual(["beta in production"]);
    expect(result.conflicts).toEqual(["alpha in production"]);
    const rows = await snapshotEntries(client);
    expect(rows.map((r) => [r["model_name"], r["served_model_name"]])).toEqual([
      ["alpha", "local/alpha"],
      ["beta", "org/beta"],
      ["gamma", "org/gamma"],
    ]);
  });

  it("a corrupted dump leaves the target unchanged", async () => {
    const src = await source();
    const corrupted = join(work, "corrupted.dump");
    copyFileSync(src.file, corrupted);
    truncateSync(corrupted, Math.floor(readFileSync(corrupted).length * 0.6));
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("gamma", "staging")], "staging");
    const before = await snapshotEntries(client);
    const error = await restoreDatabase({ source: corrupted, url: db.url, mode: "replace", backupDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as Error).message).not.toContain(db.url);
    expect(await snapshotEntries(client)).toEqual(before);
  });

  it("refuses a target of an older major version than the dump", async () => {
    const src = await source();
    const { rows } = await src.client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    const version = rows[0]!.v;
    // The same dump as a newer server would have written it: the archive header's version string, same length.
    const bytes = readFileSync(src.file);
    const at = bytes.indexOf(Buffer.from(version));
    expect(at).toBeGreaterThan(0);
    bytes.write(`17${version.slice(2)}`, at, "latin1");
    const newer = join(work, "newer.dump");
    writeFileSync(newer, bytes);
    const { db, client } = await ctx.migratedDb();
    const before = await snapshotEntries(client);
    await expect(restoreDatabase({ source: newer, url: db.url, mode: "replace", backupDir })).rejects.toThrow(/the dump comes from PostgreSQL 17\.\d+, the target runs 15\.[^:]+: restoring into an older major version is not supported/);
    expect(await snapshotEntries(client)).toEqual(before);
  });

  it("replace keeps row ids and moves the id sequence past them", async () => {
    const src = await source();
    const { db, client } = await ctx.emptyDb();
    const result = await restoreDatabase({ source: src.file, url: db.url, mode: "replace", backupDir });
    expect(result.notes.join(" ")).toContain("created from this modelfleet's migrations");
    const ids = async (c: typeof client) => (await c.query("SELECT id, model_name FROM model_registry_entries ORDER BY id")).rows;
    expect(await ids(client)).toEqual(await ids(src.client));
    await reconcile(client, [desired("gamma", "staging")], "staging");
    const { rows } = await client.query<{ n: string }>("SELECT count(DISTINCT id) AS n FROM model_registry_entries");
    expect(Number(rows[0]!.n)).toBe(3);
    const migrations = await client.query("SELECT name FROM pgmigrations ORDER BY id");
    expect(migrations.rows).toEqual(readMigrationFiles().map((m) => ({ name: m.name })));
    expect(migrations.rows.length).toBeGreaterThanOrEqual(2);
  });

  it("refuses a plain SQL dump and says how to make a custom-format one", async () => {
    const src = await source();
    const plain = join(work, "plain.sql");
    await writePlainDump(src.db.url, plain);
    const { db, client } = await ctx.migratedDb();
    const before = await snapshotEntries(client);
    for (const mode of ["replace", "merge"] as const) {
      const error = await restoreDatabase({ source: plain, url: db.url, mode, backupDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BundleError);
      expect((error as BundleError).kind).toBe("input");
      expect((error as Error).message).toMatch(/plain\.sql is not a custom-format dump .*never plain SQL: make one with `pg_dump -Fc` or `modelfleet db dump`$/);
    }
    expect(await snapshotEntries(client)).toEqual(before);
  });
});

describe("decodeCopyField", () => {
  it.each([
    ["\\N", null],
    ["plain", "plain"],
    ["a\\tb\\nc", "a\tb\nc"],
    ["back\\\\slash", "back\\slash"],
    ["\\101\\x42", "AB"],
    ["caf\u00e9 \\r", "caf\u00e9 \r"],
  ])("%s", (field, expected) => expect(decodeCopyField(field)).toBe(expected));
});
