/**
 * A real PostgreSQL 15 for integration tests and benchmarks: initdb in a temp dir, a server on 127.0.0.1 with a free
 * port and scram-sha-256 password auth, stopped and removed by `stop()`. One server per test file; each test takes a
 * fresh database from `createDatabase()`. As root (CI containers), the server binaries run as the unprivileged
 * `postgres` user (initdb refuses root), created if it is missing.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import pg from "pg";

export const PG_BIN = "/usr/lib/postgresql/15/bin";
export const PSQL = join(PG_BIN, "psql");
const INSTALL_HINT = "apt-get install -y postgresql-15";
const RUN_AS = "postgres";

export interface TestDatabase {
  readonly name: string;
  /** `postgres://user:password@127.0.0.1:port/name` */
  readonly url: string;
}

export interface PostgresServer {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** A URL for `database` (default `postgres`), optionally with another password (for auth-failure tests). */
  url(database?: string, password?: string): string;
  /** Creates an empty database (or a copy of `template`) with a unique name. */
  createDatabase(options?: { readonly template?: string; readonly name?: string }): Promise<TestDatabase>;
  /** Stops the server and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

function requireBinaries(): void {
  const missing = ["initdb", "pg_ctl", "postgres", "psql"].filter((bin) => !existsSync(join(PG_BIN, bin)));
  if (missing.length > 0) {
    throw new Error(
      `PostgreSQL 15 is required for the registry tests: ${missing.map((m) => join(PG_BIN, m)).join(", ")} not found. ` +
        `Install it: ${INSTALL_HINT}`,
    );
  }
}

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** uid/gid of the unprivileged user the server runs as when we are root; created when missing. */
function serverUser(): { uid: number; gid: number } {
  const id = (flag: string): number => Number(execFileSync("id", [flag, RUN_AS], { encoding: "utf8" }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    execFileSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS]);
    return { uid: id("-u"), gid: id("-g") };
  }
}

/** Runs a PostgreSQL binary, as the `postgres` user when we are root. */
function command(bin: string, args: readonly string[]): [string, string[]] {
  const path = join(PG_BIN, bin);
  return isRoot() ? ["runuser", ["-u", RUN_AS, "--", path, ...args]] : [path, [...args]];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** tmpfs when the machine has one (CREATE DATABASE copies hundreds of files; on disk that costs ~200 ms). */
function tempRoot(): string {
  return process.env.MODELFLEET_PG_TMPDIR ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
}

let databaseCounter = 0;

export async function startPostgres(): Promise<PostgresServer> {
  requireBinaries();
  const owner = isRoot() ? serverUser() : null;
  const dir = await mkdtemp(join(tempRoot(), "modelfleet-pg-"));
  const dataDir = join(dir, "data");
  const user = "modelfleet";
  const password = randomBytes(18).toString("base64url");
  const pwFile = join(dir, "pw");
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (owner) {
    await chown(dir, owner.uid, owner.gid);
    await chown(pwFile, owner.uid, owner.gid);
  }
  const initdb = command("initdb", [
    "-D", dataDir, "-U", user, `--pwfile=${pwFile}`, "--auth-host=scram-sha-256", "--auth-local=trust",
    "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
  ]);
  await execa(initdb[0], initdb[1], { cwd: dir });
  await rm(pwFile);

  let port = 0;
  let started = false;
  for (let attempt = 1; attempt <= 3 && !started; attempt++) {
    port = await freePort();
    const options = [
      "-c listen_addresses=127.0.0.1", `-p ${port}`, `-c unix_socket_directories=${dir}`,
      "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=60",
      "-c shared_buffers=32MB",
    ].join(" ");
    const start = command("pg_ctl", ["-D", dataDir, "-l", join(dir, "server.log"), "-w", "-t", "60", "-o", options, "start"]);
    const result = await execa(start[0], start[1], { cwd: dir, reject: false });
    started = result.exitCode === 0;
    if (!started && attempt === 3) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}: ${result.stderr || result.stdout}`);
    }
  }

  const stopCommand = command("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
  let stopped = false;
  // If the test process dies without afterAll, do not leave a server behind.
  const onExit = (): void => {
    if (stopped) return;
    try {
      execFileSync(stopCommand[0], stopCommand[1], { stdio: "ignore" });
    } catch {
      // best effort
    }
  };
  process.once("exit", onExit);

  const url = (database = "postgres", pw = password): string =>
    `postgres://${user}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  return {
    host: "127.0.0.1",
    port,
    user,
    password,
    url,
    async createDatabase(options = {}) {
      const name = options.name ?? `t${process.pid}_${++databaseCounter}`;
      const admin = new pg.Client({ connectionString: url() });
      await admin.connect();
      try {
        const template = options.template ? ` TEMPLATE ${pg.escapeIdentifier(options.template)}` : "";
        await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}${template} STRATEGY FILE_COPY`);
      } finally {
        await admin.end();
      }
      return { name, url: url(name) };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener("exit", onExit);
      await execa(stopCommand[0], stopCommand[1], { cwd: dir, reject: false });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
