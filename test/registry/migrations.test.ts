import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistryError } from "../../registry/errors.js";
import { MIGRATIONS_DIR, parseMigrationFile, readMigrationFiles } from "../../registry/migration-files.js";
import { migrationPsqlScript } from "../../registry/migration-script.js";
import { migrateDown, migrateUp, migrationStatus } from "../../registry/migrate.js";
import { runPsql, useRegistryDatabase } from "./support.js";

const FIRST = "0001_create-model-registry-entries";
const NOTIFY = "0002_notify-model-registry-changes";
const VERIFY = "0003_record-verifications";
const POOL = "0004_record-inference-pool";
const ALL = [FIRST, NOTIFY, VERIFY, POOL];
const ctx = useRegistryDatabase();

/** Everything in schema `public` except node-pg-migrate's bookkeeping table, as comparable text. */
async function schemaOf(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ item: string }>(`
    SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable
           || ' identity=' || is_identity || ' default=' || coalesce(column_default, '-') AS item
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'pgmigrations'
    UNION ALL
    SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'pgmigrations'
    UNION ALL
    SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'pgmigrations'
    UNION ALL
    SELECT 'view ' || viewname || ' ' || definition FROM pg_views WHERE schemaname = 'public'
    UNION ALL
    SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT 'function ' || p.oid::regprocedure FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
    ORDER BY 1`);
  return rows.map((row) => row.item);
}

async function appliedNames(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ present: boolean }>("SELECT to_regclass('public.pgmigrations') IS NOT NULL AS present");
  if (!rows[0]?.present) return [];
  return (await client.query<{ name: string }>("SELECT name FROM pgmigrations ORDER BY id")).rows.map((r) => r.name);
}

let brokenDir = "";
let migratedSchema: string[] = [];

beforeAll(async () => {
  // The real migrations plus a second one that changes the table and then fails.
  brokenDir = await mkdtemp(join(tmpdir(), "modelfleet-migrations-"));
  await cp(MIGRATIONS_DIR, brokenDir, { recursive: true });
  await writeFile(
    join(brokenDir, "0099_broken.sql"),
    "-- Up Migration\nALTER TABLE model_registry_entries ADD COLUMN broken int;\nSELECT no_such_function();\n" +
      "-- Down Migration\nALTER TABLE model_registry_entries DROP COLUMN broken;\n",
  );
  const { client } = await ctx.migratedDb();
  migratedSchema = await schemaOf(client);
  await client.end();
});
afterAll(async () => {
  await rm(brokenDir, { recursive: true, force: true });
});

describe("migrations through node-pg-migrate", () => {
  it("applies, reverts and re-applies the schema exactly", async () => {
    // Given an empty database
    const { client } = await ctx.emptyDb();
    expect(await schemaOf(client)).toEqual([]);

    // When migrating up, down and up again
    expect(await migrateUp(client)).toEqual(ALL);
    const firstUp = await schemaOf(client);
    expect(await migrateUp(client)).toEqual([]);
    expect(await migrateDown(client, { count: 4 })).toEqual([POOL, VERIFY, NOTIFY, FIRST]);
    const afterDown = await schemaOf(client);
    expect(await migrateUp(client)).toEqual(ALL);

    // Then down removed everything up created, and the second up recreated the same schema
    expect(firstUp.length).toBeGreaterThan(20);
    expect(afterDown).toEqual([]);
    expect(await schemaOf(client)).toEqual(firstUp);
    expect(await appliedNames(client)).toEqual(ALL);
  });

  it("creates the table, constraints, partial index, trigger and view the router relies on", async () => {
    const { client } = await ctx.migratedDb();
    const schema = await schemaOf(client);
    const has = (pattern: RegExp): void => expect(schema.some((item) => pattern.test(item)), String(pattern)).toBe(true);
    has(/^column model_registry_entries\.id bigint null=NO identity=YES/);
    for (const column of ["model_name", "engine", "served_model_name", "deployment_endpoint", "deployment_status",
      "deployment_environment", "deployment_namespace", "managed_by", "created_at", "updated_at"]) {
      has(new RegExp(`^column model_registry_entries\\.${column} \\S+( \\S+)* null=NO`));
    }
    has(/^column model_registry_entries\.last_health_check_at timestamp with time zone null=YES/);
    has(/^constraint model_registry_entries model_registry_entries_model_environment_key UNIQUE \(model_name, deployment_environment\)/);
    has(/^index CREATE INDEX model_registry_entries_routable_idx .* WHERE \(deployment_status = 'ready'::text\)$/);
    has(/^trigger model_registry_entries_touch_updated_at CREATE TRIGGER \S+ BEFORE UPDATE ON public.model_registry_entries FOR EACH ROW/);
    has(/^view routable_models /);
  });

  it("0002 adds the change-notification function and triggers, and its down removes exactly them", async () => {
    // Given a migrated database
    const { client } = await ctx.migratedDb();
    const notifyItems = migratedSchema.filter((item) => item.includes("notify"));
    expect(notifyItems).toEqual([
      "function model_registry_entries_notify_change()",
      expect.stringMatching(/^trigger model_registry_entries_notify_change CREATE TRIGGER \S+ AFTER INSERT OR DELETE OR UPDATE ON public.model_registry_entries FOR EACH ROW /),
      expect.stringMatching(/^trigger model_registry_entries_notify_truncate CREATE TRIGGER \S+ AFTER TRUNCATE ON public.model_registry_entries FOR EACH STATEMENT /),
    ]);

    // When reverting 0004, 0003 and 0002, then applying them again
    await migrateDown(client, { count: 2 });
    const before0002Down = await schemaOf(client);
    expect(await migrateDown(client)).toEqual([NOTIFY]);
    const afterDown = await schemaOf(client);
    expect(await migrateUp(client)).toEqual([NOTIFY, VERIFY, POOL]);

    // Then down left 0001's schema untouched, and up restored the same schema
    expect(afterDown).toEqual(before0002Down.filter((item) => !item.includes("notify")));
    expect(await schemaOf(client)).toEqual(migratedSchema);
  });

  it("0003 adds the verification columns, which move neither updated_at nor a router; its down restores 0002's schema", async () => {
    // Given a migrated database with one entry, and a listener on the routers' channel
    const { db, client } = await ctx.migratedDb();
    const verifyItems = migratedSchema.filter((item) => /verif/.test(item));
    expect(verifyItems.filter((item) => item.startsWith("column "))).toEqual([
      expect.stringMatching(/^column model_registry_entries\.last_verified_at timestamp with time zone null=YES/),
      expect.stringMatching(/^column model_registry_entries\.last_verified_digest text null=YES/),
      expect.stringMatching(/^column model_registry_entries\.last_verify_latency_ms integer null=YES/),
      expect.stringMatching(/^column model_registry_entries\.last_verify_outcome text null=YES/),
    ]);
    await client.query(`INSERT INTO model_registry_entries (model_name, engine, served_model_name, deployment_endpoint,
      deployment_status, deployment_environment, deployment_namespace, updated_at)
      VALUES ('m', 'vllm', 'm', 'm:8000', 'ready', 'staging', 'ns', now() - interval '1 hour')`);
    const listener = await ctx.connectTo(db);
    const received: string[] = [];
    listener.on("notification", (message) => received.push(message.payload ?? ""));
    await listener.query("LISTEN model_registry_changed");

    // When a verification is recorded, and when a bad outcome is tried
    await client.query(`UPDATE model_registry_entries SET last_verified_at = now(), last_verify_outcome = 'passed', last_verify_latency_ms = 812,
      last_verified_digest = 'sha256:${"d".repeat(64)}'`);
    await expect(client.query("UPDATE model_registry_entries SET last_verify_outcome = 'maybe'")).rejects.toThrow(/last_verify_outcome_check/);
    await client.query("SELECT pg_sleep(0.2)");

    // Then updated_at did not move and no router was told
    const { rows } = await client.query("SELECT updated_at < now() - interval '59 minutes' AS old FROM model_registry_entries");
    expect(rows).toEqual([{ old: true }]);
    expect(received).toEqual([]);

    // And reverting 0003 (after 0004) leaves exactly the schema without its columns and constraints, with the old
    // trigger function
    expect(await migrateDown(client)).toEqual([POOL]);
    expect(await migrateDown(client)).toEqual([VERIFY]);
    const afterDown = await schemaOf(client);
    expect(afterDown.some((item) => /verif/.test(item))).toBe(false);
    await client.query("UPDATE model_registry_entries SET deployment_namespace = 'ns2'");
    expect((await client.query("SELECT updated_at > now() - interval '1 minute' AS moved FROM model_registry_entries")).rows).toEqual([{ moved: true }]);
    expect(await migrateUp(client)).toEqual([VERIFY, POOL]);
    expect(await schemaOf(client)).toEqual(migratedSchema);
  });

  it("0004 adds the nullable inference_pool column, carried by the router's view and index, notifying routers; its down restores 0003's schema", async () => {
    // Given a migrated database with one entry, and a listener on the routers' channel
    const { db, client } = await ctx.migratedDb();
    const poolItems = migratedSchema.filter((item) => item.includes("inference_pool"));
    expect(poolItems).toEqual([
      expect.stringMatching(/^column model_registry_entries\.inference_pool text null=YES identity=NO default=-$/),
      expect.stringMatching(/^column routable_models\.inference_pool text /),
      expect.stringMatching(/^constraint model_registry_entries model_registry_entries_inference_pool_check CHECK /),
      expect.stringMatching(/^index CREATE INDEX model_registry_entries_routable_idx .* INCLUDE \(deployment_endpoint, last_health_check_at, inference_pool\) WHERE/),
      expect.stringMatching(/^view routable_models .*inference_pool/s),
    ]);
    await client.query(`INSERT INTO model_registry_entries (model_name, engine, served_model_name, deployment_endpoint,
      deployment_status, deployment_environment, deployment_namespace) VALUES ('m', 'vllm', 'm', 'm:8000', 'ready', 'staging', 'ns')`);
    const listener = await ctx.connectTo(db);
    const received: unknown[] = [];
    listener.on("notification", (message) => received.push(JSON.parse(message.payload ?? "null")));
    await listener.query("LISTEN model_registry_changed");

    // When the pool is set, set to the same value, and a bad name is tried
    await client.query("UPDATE model_registry_entries SET inference_pool = 'm-staging'");
    await client.query("UPDATE model_registry_entries SET inference_pool = 'm-staging'");
    for (const bad of ["M_Staging", "-m", `${"a".repeat(254)}`, ""]) {
      await expect(client.query("UPDATE model_registry_entries SET inference_pool = $1", [bad]), bad).rejects.toThrow(/inference_pool_check/);
    }
    await listener.query("SELECT 1");

    // Then routers were told once, and the view carries the pool
    expect(received).toEqual([{ model: "m", environment: "staging", op: "update" }]);
    expect((await client.query("SELECT inference_pool FROM routable_models")).rows).toEqual([{ inference_pool: "m-staging" }]);

    // And reverting 0004 leaves exactly 0003's schema, whose trigger ignores the (gone) column
    expect(await migrateDown(client)).toEqual([POOL]);
    const afterDown = await schemaOf(client);
    expect(afterDown.some((item) => item.includes("inference_pool"))).toBe(false);
    expect(afterDown).toContainEqual(expect.stringMatching(/^index CREATE INDEX model_registry_entries_routable_idx .* INCLUDE \(deployment_endpoint, last_health_check_at\) WHERE/));
    expect(await migrateUp(client)).toEqual([POOL]);
    expect(await schemaOf(client)).toEqual(migratedSchema);
  });

  it("notifies model_registry_changed on exactly the changes a router depends on, after commit", async () => {
    // Given a migrated database and a second session listening on the channel
    const { db, client } = await ctx.migratedDb();
    const listener = await ctx.connectTo(db);
    const received: unknown[] = [];
    listener.on("notification", (message) => {
      if (message.channel === "model_registry_changed") received.push(JSON.parse(message.payload ?? "null"));
    });
    await listener.query("LISTEN model_registry_changed");
    const insert = `INSERT INTO model_registry_entries (model_name, engine, served_model_name, deployment_endpoint,
      deployment_status, deployment_environment, deployment_namespace) VALUES ('m', 'vllm', 'm', 'm:8000', 'ready', 'staging', 'ns')`;

    // When rows change in ways that matter and in ways that do not
    await client.query(insert);
    await client.query("UPDATE model_registry_entries SET served_model_name = 'other', deployment_namespace = 'ns2'");
    await client.query("UPDATE model_registry_entries SET deployment_status = 'ready'");
    await client.query("UPDATE model_registry_entries SET last_health_check_at = now()");
    await client.query("UPDATE model_registry_entries SET deployment_endpoint = 'm2:8000'");
    await client.query(`UPDATE model_registry_entries SET image_digest = 'sha256:${"c".repeat(64)}'`);
    await client.query("UPDATE model_registry_entries SET deployment_status = 'disabled', disabled_by = 'operator'");
    await client.query("UPDATE model_registry_entries SET disabled_by = 'reconcile'");
    await client.query("UPDATE model_registry_entries SET deployment_environment = 'production'");
    await client.query("BEGIN");
    await client.query("DELETE FROM model_registry_entries");
    await listener.query("SELECT 1");
    const beforeCommit = received.length;
    await client.query("COMMIT");
    await client.query(insert);
    await client.query("TRUNCATE model_registry_entries");
    await listener.query("SELECT 1"); // every notification sent before this round trip has arrived

    // Then each relevant change sent one small payload (model, environment, op), irrelevant ones none, and a
    // delete inside a transaction was sent only at its commit
    const update = { model: "m", environment: "staging", op: "update" };
    expect(received).toEqual([
      { model: "m", environment: "staging", op: "insert" },
      update, // last health check
      update, // endpoint
      update, // image digest
      update, // disabled
      update, // disabled_by
      { model: "m", environment: "staging", op: "delete" },
      { model: "m", environment: "production", op: "insert" },
      { model: "m", environment: "production", op: "delete" },
      { model: "m", environment: "staging", op: "insert" },
      { model: null, environment: null, op: "truncate" },
    ]);
    expect(beforeCommit).toBe(8);
  });

  it.each([
    ["engine", "engine = 'tgi'"],
    ["deployment_status", "deployment_status = 'running'"],
    ["deployment_environment", "deployment_environment = 'prod'"],
    ["image_digest", "image_digest = 'sha256:abc'"],
    ["managed_by", "managed_by = 'someone'"],
    ["model_name", "model_name = 'Bad_Name'"],
    ["disabled_by without disabled", "disabled_by = 'operator'"],
  ])("rejects a bad %s with a CHECK constraint", async (_label, assignment) => {
    const { client } = await ctx.migratedDb();
    await client.query(`INSERT INTO model_registry_entries (model_name, engine, served_model_name, deployment_endpoint,
      deployment_status, deployment_environment, deployment_namespace) VALUES ('m', 'vllm', 'm', 'm:8000', 'ready', 'staging', 'ns')`);
    await expect(client.query(`UPDATE model_registry_entries SET ${assignment}`)).rejects.toMatchObject({ code: "23514" });
  });

  it("moves updated_at on a change but not on a health-check heartbeat", async () => {
    const { client } = await ctx.migratedDb();
    await client.query(`INSERT INTO model_registry_entries (model_name, engine, served_model_name, deployment_endpoint,
      deployment_status, deployment_environment, deployment_namespace, updated_at)
      VALUES ('m', 'vllm', 'm', 'm:8000', 'ready', 'staging', 'ns', '2000-01-01Z')`);
    const updatedAt = async (): Promise<string> =>
      (await client.query("SELECT updated_at::text AS u FROM model_registry_entries")).rows[0].u;
    await client.query("UPDATE model_registry_entries SET last_health_check_at = now()");
    expect(await updatedAt()).toBe("2000-01-01 00:00:00+00");
    await client.query("UPDATE model_registry_entries SET deployment_status = 'degraded'");
    expect(await updatedAt()).not.toBe("2000-01-01 00:00:00+00");
  });

  it("leaves a fresh database untouched when a pending migration fails", async () => {
    const { client } = await ctx.emptyDb();
    const error = await migrateUp(client, { dir: brokenDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).kind).toBe("migration");
    expect((error as RegistryError).message).toMatch(/^migration 0099_broken \(up\) failed, nothing applied: function no_such_function\(\) does not exist$/);
    expect(await schemaOf(client)).toEqual([]);
    expect(await appliedNames(client)).toEqual([]);
  });

  it("leaves a migrated schema as it was when the next migration fails", async () => {
    const { client } = await ctx.migratedDb();
    const before = await schemaOf(client);
    await expect(migrateUp(client, { dir: brokenDir })).rejects.toThrow(/0099_broken/);
    expect(await schemaOf(client)).toEqual(before);
    expect((await migrationStatus(client, { dir: brokenDir })).map((s) => [s.name, s.appliedAt !== null])).toEqual([
      [FIRST, true],
      [NOTIFY, true],
      [VERIFY, true],
      [POOL, true],
      ["0099_broken", false],
    ]);
  });

  it("reports pending and applied migrations", async () => {
    const { client } = await ctx.emptyDb();
    expect(await migrationStatus(client)).toEqual(ALL.map((name) => ({ name, appliedAt: null, known: true })));
    await migrateUp(client);
    const states = await migrationStatus(client);
    expect(states.map((state) => state.appliedAt instanceof Date)).toEqual([true, true, true, true]);
  });

  it("rejects a down count below 1 without touching the database", async () => {
    const { client } = await ctx.migratedDb();
    await expect(migrateDown(client, { count: 0 })).rejects.toThrow(/count 0 must be a whole number of at least 1/);
    expect(await appliedNames(client)).toEqual(ALL);
  });
});

describe("in-cluster migration script (psql)", () => {
  it("applies the same schema, records it where node-pg-migrate looks, and is a no-op when re-run", async () => {
    // Given an empty database and the generated script
    const { db, client } = await ctx.emptyDb();
    const script = migrationPsqlScript(readMigrationFiles());

    // When the real psql runs it twice
    const first = await runPsql(ctx.server(), db, script);
    const second = await runPsql(ctx.server(), db, script);

    // Then the schema equals node-pg-migrate's, recorded once, and the library agrees nothing is pending
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain(`migration ${FIRST}: applying`);
    expect(first.stdout).toContain(`migration ${NOTIFY}: applying`);
    expect(first.stdout).toContain(`migration ${VERIFY}: applying`);
    expect(first.stdout).toContain(`migration ${POOL}: applying`);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toContain(`migration ${FIRST}: already applied`);
    expect(second.stdout).toContain(`migration ${NOTIFY}: already applied`);
    expect(await schemaOf(client)).toEqual(migratedSchema);
    expect(await appliedNames(client)).toEqual(ALL);
    expect((await migrationStatus(client)).map((s) => s.appliedAt !== null)).toEqual([true, true, true, true]);
    expect(await migrateUp(client)).toEqual([]);

    // And node-pg-migrate can revert what the script applied, after which the script applies it again
    expect(await migrateDown(client, { count: 4 })).toEqual([POOL, VERIFY, NOTIFY, FIRST]);
    expect((await runPsql(ctx.server(), db, script)).exitCode).toBe(0);
    expect(await schemaOf(client)).toEqual(migratedSchema);
  });

  it("skips what node-pg-migrate already applied", async () => {
    const { db, client } = await ctx.migratedDb();
    const result = await runPsql(ctx.server(), db, migrationPsqlScript(readMigrationFiles()));
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await appliedNames(client)).toEqual(ALL);
  });

  it("rolls everything back and exits non-zero when a migration fails", async () => {
    const { db, client } = await ctx.emptyDb();
    const result = await runPsql(ctx.server(), db, migrationPsqlScript(readMigrationFiles(brokenDir)));
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("no_such_function");
    expect(await schemaOf(client)).toEqual([]);
    expect(await appliedNames(client)).toEqual([]);
  });

  it("serializes with node-pg-migrate: run at the same time, the migration is applied once", async () => {
    const { db, client } = await ctx.emptyDb();
    const other = await ctx.connectTo(db);
    const script = migrationPsqlScript(readMigrationFiles());
    const [psql1, applied, psql2] = await Promise.all([
      runPsql(ctx.server(), db, script),
      migrateUp(other),
      runPsql(ctx.server(), db, script),
    ]);
    expect([psql1.exitCode, psql2.exitCode]).toEqual([0, 0]);
    expect(applied.length === 0 || applied.length === ALL.length).toBe(true);
    expect(await appliedNames(client)).toEqual(ALL);
    expect(await schemaOf(client)).toEqual(migratedSchema);
  });

  it("is deterministic and refuses SQL psql would read as a meta-command", () => {
    const files = readMigrationFiles();
    expect(migrationPsqlScript(files)).toBe(migrationPsqlScript(files));
    const sneaky = parseMigrationFile("0003_sneaky", "-- Up Migration\n\\! touch /tmp/x\n-- Down Migration\nSELECT 1;\n");
    expect(() => migrationPsqlScript([sneaky])).toThrow(/0003_sneaky: a line starts with "\\"/);
    expect(() => migrationPsqlScript([{ ...sneaky, name: "x'; DROP" }])).toThrow(/is not <number>_<words>/);
  });

  it("requires both an up and a down section", () => {
    expect(() => parseMigrationFile("0009_x", "-- Up Migration\nSELECT 1;\n")).toThrow(
      'migration 0009_x: needs a "-- Up Migration" section followed by a "-- Down Migration" section',
    );
  });
});
