import pg from "pg";
import { defaultRedactor, Redactor } from "../secrets/redact.js";
import { RegistryError } from "./errors.js";

/** The non-secret parts of a connection URL: what an error message may name. */
export interface DatabaseTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** Environment variable read when no `--db-url` is given. */
export const DB_URL_ENV = "MODELFLEET_DB_URL";

const SECRET_PARAMS = /pass|secret|key|token/i;

function parseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo the text: it may be a URL with a password and one typo.
    throw new RegistryError("input", "database URL is not a valid URL (expected postgres://user:password@host:port/database)");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new RegistryError("input", `database URL scheme "${parsed.protocol}" is not postgres: or postgresql:`);
  }
  return parsed;
}

/** Percent-decodes a part of the URL; invalid encoding is an input error that names the part, never its value. */
function decodePart(text: string, part: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RegistryError(
      "input",
      `the ${part} in the database URL is not valid percent-encoding (every "%" must start %XX): write a literal "%" as %25, e.g. encodeURIComponent(${part})`,
    );
  }
}

/** Host, port, database and user of a `postgres://` URL, with libpq's defaults; never the password. */
export function describeDatabaseUrl(url: string): DatabaseTarget {
  const parsed = parseUrl(url);
  const user = decodePart(parsed.username, "user name") || parsed.searchParams.get("user") || "postgres";
  const host = parsed.hostname || parsed.searchParams.get("host") || "localhost";
  const port = Number(parsed.port || parsed.searchParams.get("port") || 5432);
  const database = decodePart(parsed.pathname.replace(/^\//, ""), "database name") || parsed.searchParams.get("dbname") || user;
  return { host, port, database, user };
}

/**
 * URL query parameters a child process (pg_dump, pg_restore) receives, and the libpq environment variable that
 * carries each. `password`/`sslpassword` are not here: the password goes in PGPASSWORD, and libpq has no variable
 * for an SSL key passphrase.
 */
const LIBPQ_PARAMS: Readonly<Record<string, string>> = {
  host: "PGHOST",
  port: "PGPORT",
  user: "PGUSER",
  dbname: "PGDATABASE",
  sslmode: "PGSSLMODE",
  sslrootcert: "PGSSLROOTCERT",
  sslcert: "PGSSLCERT",
  sslkey: "PGSSLKEY",
  sslcrl: "PGSSLCRL",
  application_name: "PGAPPNAME",
  connect_timeout: "PGCONNECT_TIMEOUT",
  options: "PGOPTIONS",
  target_session_attrs: "PGTARGETSESSIONATTRS",
  channel_binding: "PGCHANNELBINDING",
  gssencmode: "PGGSSENCMODE",
};

/** The password of a URL, percent-decoded, or undefined when it has none. Invalid encoding: an input error. */
export function urlPassword(url: string): string | undefined {
  const parsed = parseUrl(url);
  const fromQuery = parsed.searchParams.get("password");
  if (parsed.password) return decodePart(parsed.password, "password");
  return fromQuery ?? undefined;
}

/**
 * The libpq environment for a child process connecting to `url`: PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD and
 * the supported query parameters as PG* variables. The connection never appears in the child's argument list
 * (readable by every local user through `ps` and /proc/<pid>/cmdline); the environment is readable only by the same
 * user and root. Parts the URL does not give are left to libpq's defaults (and any PG* variables already set).
 * Registers the URL's secrets with the default redactor.
 */
export function libpqEnvironment(url: string): Record<string, string> {
  defaultRedactor.addUrl(url);
  const parsed = parseUrl(url);
  const env: Record<string, string> = {};
  for (const [key, value] of parsed.searchParams) {
    if (key === "password") continue;
    const name = LIBPQ_PARAMS[key];
    if (!name) {
      throw new RegistryError(
        "input",
        `database URL parameter "${key.slice(0, 40)}" is not supported here; supported: ${Object.keys(LIBPQ_PARAMS).join(", ")}, password`,
      );
    }
    env[name] = value;
  }
  if (parsed.hostname) env["PGHOST"] = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (parsed.port) env["PGPORT"] = parsed.port;
  const user = decodePart(parsed.username, "user name");
  if (user) env["PGUSER"] = user;
  const database = decodePart(parsed.pathname.replace(/^\//, ""), "database name");
  if (database) env["PGDATABASE"] = database;
  const password = urlPassword(url);
  if (password !== undefined) env["PGPASSWORD"] = password;
  return env;
}

/**
 * node-postgres settings for `url`. The password is percent-decoded here, so that an invalid encoding is our one-line
 * input error rather than a library's, and written back re-encoded (node-postgres lets the connection string's
 * parts win over separate settings). In-process only: no other process can read it.
 */
export function pgClientConfig(url: string): { connectionString: string } {
  defaultRedactor.addUrl(url);
  const parsed = parseUrl(url);
  const password = urlPassword(url);
  decodePart(parsed.username, "user name");
  decodePart(parsed.pathname, "database name");
  if (parsed.password) parsed.password = encodeURIComponent(password ?? "");
  return { connectionString: parsed.toString() };
}

/** `host:port, database "name"`, the way messages name a database. */
export function formatTarget(target: DatabaseTarget): string {
  return `${target.host}:${target.port}, database "${target.database}"`;
}

/** The URL with its password (and any password-like query parameter) replaced by `***`, safe to log. */
export function redactUrl(url: string): string {
  const parsed = parseUrl(url);
  if (parsed.password) parsed.password = "***";
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) parsed.searchParams.set(key, "***");
  }
  return parsed.toString();
}

/** The URL from `--db-url`, else `MODELFLEET_DB_URL`; an input error naming both when neither is set. */
export function resolveDatabaseUrl(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = option ?? env[DB_URL_ENV];
  if (url === undefined || url.trim() === "") {
    throw new RegistryError("input", `no database URL: pass --db-url <url> or set ${DB_URL_ENV}`);
  }
  return url;
}

interface PgLikeError {
  readonly code?: string;
  readonly message?: string;
}

function reasonFor(error: unknown, target: DatabaseTarget, timeoutMs: number): string {
  const { code, message = "" } = (error ?? {}) as PgLikeError;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is PostgreSQL running and listening there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "host not found";
    case "ETIMEDOUT":
      return `timed out after ${timeoutMs} ms`;
    case "ECONNRESET":
      return "connection reset by the server";
    case "28P01":
      return `password authentication failed for user "${target.user}"`;
    case "28000":
      return `the server rejected user "${target.user}" (pg_hba.conf or role settings)`;
    case "3D000":
      return `database "${target.database}" does not exist`;
    default:
      break;
  }
  if (/timeout/i.test(message)) return `timed out after ${timeoutMs} ms`;
  if (/SASL|password must be a string/i.test(message)) return "the server requires a password and the URL has none";
  return message.split("\n")[0] || "unknown error";
}

/** Removes every form of the URL's secrets (and any registered before) from the text, and folds it to one line. */
function scrub(text: string, url: string): string {
  const redactor = new Redactor();
  redactor.addUrl(url);
  return defaultRedactor.redact(redactor.redact(text.replace(/\s*\n\s*/g, " ")));
}

export interface ConnectOptions {
  /** @default 10000 */
  readonly connectTimeoutMs?: number;
  /** Shown in pg_stat_activity. @default "modelfleet-registry" */
  readonly applicationName?: string;
}

/**
 * Opens one connection. Failures become a one-line `RegistryError("connection")` naming host:port and database:
 * never the password or the URL, never a stack trace.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<pg.Client> {
  const target = describeDatabaseUrl(url);
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const client = new pg.Client({
    ...pgClientConfig(url),
    connectionTimeoutMillis: timeoutMs,
    application_name: options.applicationName ?? "modelfleet-registry",
  });
  // An idle connection the server drops would otherwise crash the process with an unhandled 'error' event; the next
  // query on it fails with a normal error instead.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    const reason = scrub(reasonFor(error, target, timeoutMs), url);
    throw new RegistryError("connection", `cannot connect to PostgreSQL at ${formatTarget(target)}: ${reason}`);
  }
  return client;
}

/** Connects, runs `fn`, and always closes the connection. */
export async function withConnection<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  const client = await connect(url, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
