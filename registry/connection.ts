import pg from "pg";
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

/** Host, port, database and user of a `postgres://` URL, with libpq's defaults; never the password. */
export function describeDatabaseUrl(url: string): DatabaseTarget {
  const parsed = parseUrl(url);
  const user = decodeURIComponent(parsed.username) || parsed.searchParams.get("user") || "postgres";
  const host = parsed.hostname || parsed.searchParams.get("host") || "localhost";
  const port = Number(parsed.port || parsed.searchParams.get("port") || 5432);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || parsed.searchParams.get("dbname") || user;
  return { host, port, database, user };
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

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Replaces the password (raw and URL-encoded) wherever it appears, and folds the text to one line. */
function scrub(text: string, url: string): string {
  let out = text.replace(/\s*\n\s*/g, " ");
  let password = "";
  try {
    password = new URL(url).password;
  } catch {
    password = "";
  }
  for (const secret of [url, password, decoded(password)]) {
    if (secret) out = out.split(secret).join("***");
  }
  return out;
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
    connectionString: url,
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
