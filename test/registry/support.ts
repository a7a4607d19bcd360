/**
 * Shared set-up for the registry integration tests: one real PostgreSQL per test file, a migrated template database
 * made once, and a fresh copy of it per test; plus a psql runner that connects the way the in-cluster Jobs do.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { execa } from "execa";
import pg from "pg";
import { migrateUp } from "../../registry/migrate.js";
import type { DesiredEntry } from "../../registry/types.js";
import { PSQL, startPostgres, type PostgresServer, type TestDatabase } from "../helpers/postgres.js";

export interface RegistryTestContext {
  server(): PostgresServer;
  /** A new database with the registry schema applied, and a connected client closed after the test. */
  migratedDb(): Promise<{ db: TestDatabase; client: pg.Client }>;
  /** A new empty database, and a connected client closed after the test. */
  emptyDb(): Promise<{ db: TestDatabase; client: pg.Client }>;
  /** Another connection to `db`, closed after the test. */
  connectTo(db: TestDatabase): Promise<pg.Client>;
}

export function useRegistryDatabase(): RegistryTestContext {
  let server: PostgresServer | undefined;
  let template = "";
  const open: pg.Client[] = [];

  beforeAll(async () => {
    server = await startPostgres();
    const db = await server.createDatabase({ name: "registry_template" });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await migrateUp(client);
    await client.end();
    template = db.name;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((client) => client.end().catch(() => undefined)));
  });
  afterAll(async () => {
    await server?.stop();
  });

  const connectTo = async (db: TestDatabase): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", () => undefined);
    await client.connect();
    open.push(client);
    return client;
  };
  const ctx: RegistryTestContext = {
    server: () => {
      if (!server) throw new Error("server not started");
      return server;
    },
    connectTo,
    async migratedDb() {
      const db = await ctx.server().createDatabase({ template });
      return { db, client: await connectTo(db) };
    },
    async emptyDb() {
      const db = await ctx.server().createDatabase();
      return { db, client: await connectTo(db) };
    },
  };
  return ctx;
}

/** Runs a script through the real psql the way the Jobs do: `psql -X -f -`, connection from PG* variables. */
export async function runPsql(server: PostgresServer, db: TestDatabase, script: string) {
  return execa(PSQL, ["-X", "-f", "-"], {
    input: script,
    reject: false,
    env: {
      PGHOST: server.host,
      PGPORT: String(server.port),
      PGDATABASE: db.name,
      PGUSER: server.user,
      PGPASSWORD: server.password,
      PGAPPNAME: "modelfleet-test-psql",
    },
    extendEnv: false,
  });
}

export const DIGEST_A = `sha256:${"a".repeat(64)}`;
export const DIGEST_B = `sha256:${"b".repeat(64)}`;

/** A desired entry for `model` in `environment` with the stack's naming. */
export function desired(model: string, environment: string, overrides: Partial<DesiredEntry> = {}): DesiredEntry {
  return {
    modelName: model,
    engine: "vllm",
    servedModelName: `org/${model}`,
    imageDigest: DIGEST_A,
    endpoint: `${model}-${environment}.inference.svc.cluster.local:8000`,
    namespace: "inference",
    ...overrides,
  };
}

/** The comparable state of every row (no ids or timestamps), ordered. */
export async function snapshotEntries(client: pg.ClientBase): Promise<Record<string, unknown>[]> {
  const { rows } = await client.query(
    `SELECT deployment_environment, model_name, engine, served_model_name, image_digest, deployment_endpoint,
            deployment_namespace, deployment_status, managed_by, disabled_by
     FROM model_registry_entries ORDER BY deployment_environment COLLATE "C", model_name COLLATE "C"`,
  );
  return rows;
}
