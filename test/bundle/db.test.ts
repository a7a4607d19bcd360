import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dumpDatabase, psqlSupportsRestrict, restoreDatabase, writePlainDump } from "../../bundle/db.js";
import { BundleError } from "../../bundle/errors.js";
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
    const plain = join(work, "newer.sql");
    await writePlainDump(src.db.url, plain);
    // The same dump as a newer server would have written it.
    writeFileSync(plain, readFileSync(plain, "utf8").replace(/^-- Dumped from database version \S+/m, "-- Dumped from database version 17.2"));
    const { db, client } = await ctx.migratedDb();
    const before = await snapshotEntries(client);
    await expect(restoreDatabase({ source: plain, url: db.url, mode: "replace", backupDir })).rejects.toThrow(/the dump comes from PostgreSQL 17\.2, the target runs 15\.[^:]+: restoring into an older major version is not supported/);
    expect(await snapshotEntries(client)).toEqual(before);
  });

  it("restores a plain dump containing \\restrict lines", async () => {
    const src = await source();
    const plain = join(work, "plain.sql");
    await writePlainDump(src.db.url, plain);
    const text = readFileSync(plain, "utf8");
    expect(text).toMatch(/^\\restrict \S+/m);
    const { db, client } = await ctx.emptyDb();
    await restoreDatabase({ source: plain, url: db.url, mode: "replace", backupDir });
    expect(await snapshotEntries(client)).toEqual(src.rows);
    // And merge reads its rows too.
    const { db: target, client: targetClient } = await ctx.migratedDb();
    const merged = await restoreDatabase({ source: plain, url: target.url, mode: "merge", backupDir });
    expect(merged.inserted).toEqual(["alpha in production", "beta in production"]);
    expect(await snapshotEntries(targetClient)).toEqual(src.rows);
  });

  it("a plain dump smuggling a backslash command past \\restrict runs nothing and leaves the target unchanged", async () => {
    const src = await source();
    const plain = join(work, "smuggled.sql");
    await writePlainDump(src.db.url, plain);
    const marker = join(work, "smuggled-marker");
    // What a hostile source server could make pg_dump write: a meta-command inside the dump's body.
    writeFileSync(plain, readFileSync(plain, "utf8").replace(/^(\\restrict \S+\n)/m, `$1\\! touch ${marker}\n`));
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("gamma", "staging")], "staging");
    const before = await snapshotEntries(client);
    const error = await restoreDatabase({ source: plain, url: db.url, mode: "replace", backupDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as Error).message).toMatch(/^restoring smuggled\.sql failed \(postgres:\/\/[^@]+:\*\*\*@[^)]+\): .*backslash commands are restricted/);
    expect(existsSync(marker)).toBe(false);
    expect(await snapshotEntries(client)).toEqual(before);
  });
});

describe("psqlSupportsRestrict", () => {
  it.each([
    ["psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", true],
    ["psql (PostgreSQL) 15.13", false],
    ["psql (PostgreSQL) 17.6", true],
    ["psql (PostgreSQL) 16.9", false],
    ["psql (PostgreSQL) 13.22", true],
    ["psql (PostgreSQL) 12.22", false],
    ["psql (PostgreSQL) 18beta3", true],
    ["psql (PostgreSQL) 18.1", true],
  ])("%s → %s", (version, expected) => {
    expect(psqlSupportsRestrict(version)).toBe(expected);
  });
});
