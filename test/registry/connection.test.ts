import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { connect, describeDatabaseUrl, redactUrl, resolveDatabaseUrl } from "../../registry/connection.js";
import { RegistryError } from "../../registry/errors.js";
import { quoteLiteral, quoteTextArray } from "../../registry/sql-literal.js";
import { PSQL } from "../helpers/postgres.js";
import { useRegistryDatabase } from "./support.js";

const ctx = useRegistryDatabase();

describe("describeDatabaseUrl / redactUrl", () => {
  it.each([
    ["postgres://app:s3cr3t@db.internal:6543/registry", { host: "db.internal", port: 6543, database: "registry", user: "app" }],
    ["postgresql://app@db", { host: "db", port: 5432, database: "app", user: "app" }],
    ["postgres://a%40b:pw@[::1]:5433/my%20db?sslmode=require", { host: "[::1]", port: 5433, database: "my db", user: "a@b" }],
  ])("describes %s without its password", (url, expected) => {
    expect(describeDatabaseUrl(url)).toEqual(expected);
  });

  it("redacts the password and password-like query parameters", () => {
    expect(redactUrl("postgres://app:s3cr3t@db:5432/registry?sslmode=require&sslpassword=k3y")).toBe(
      "postgres://app:***@db:5432/registry?sslmode=require&sslpassword=***",
    );
    expect(redactUrl("postgres://app@db/registry")).toBe("postgres://app@db/registry");
  });

  it.each([
    ["not a url at all s3cr3t", "database URL is not a valid URL (expected postgres://user:password@host:port/database)"],
    ["mysql://u:s3cr3t@h/db", 'database URL scheme "mysql:" is not postgres: or postgresql:'],
  ])("rejects %s without echoing it", (url, message) => {
    expect(() => describeDatabaseUrl(url)).toThrow(message);
    expect(() => redactUrl(url)).toThrow(message);
  });

  it("takes --db-url first, then MODELFLEET_DB_URL, else says how to give one", () => {
    expect(resolveDatabaseUrl("postgres://a/b", { MODELFLEET_DB_URL: "postgres://c/d" })).toBe("postgres://a/b");
    expect(resolveDatabaseUrl(undefined, { MODELFLEET_DB_URL: "postgres://c/d" })).toBe("postgres://c/d");
    expect(() => resolveDatabaseUrl(undefined, {})).toThrow("no database URL: pass --db-url <url> or set MODELFLEET_DB_URL");
  });
});

describe("connect", () => {
  async function failure(url: string): Promise<RegistryError> {
    const error = await connect(url, { connectTimeoutMs: 3000 }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    return error as RegistryError;
  }

  it("names host:port and database on one line when nothing listens, without the password", async () => {
    const error = await failure("postgres://app:hunter2hunter2@127.0.0.1:1/registry");
    expect(error.kind).toBe("connection");
    expect(error.message).toBe(
      'cannot connect to PostgreSQL at 127.0.0.1:1, database "registry": connection refused (is PostgreSQL running and listening there?)',
    );
  });

  it("says the password was refused, without the password", async () => {
    const server = ctx.server();
    const wrong = "wr0ng-Pa55word";
    const error = await failure(server.url("postgres", wrong));
    expect(error.message).toBe(
      `cannot connect to PostgreSQL at 127.0.0.1:${server.port}, database "postgres": password authentication failed for user "${server.user}"`,
    );
    expect(error.message).not.toContain(wrong);
    expect(error.message).not.toContain("\n");
  });

  it("says the server wants a password when the URL has none", async () => {
    const server = ctx.server();
    const error = await failure(`postgres://${server.user}@127.0.0.1:${server.port}/postgres`);
    expect(error.message).toMatch(/: the server requires a password and the URL has none$/);
  });

  it("says when the database does not exist", async () => {
    const server = ctx.server();
    const error = await failure(server.url("no_such_db"));
    expect(error.message).toBe(`cannot connect to PostgreSQL at 127.0.0.1:${server.port}, database "no_such_db": database "no_such_db" does not exist`);
  });

  it("connects with the right password", async () => {
    const client = await connect(ctx.server().url());
    expect((await client.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    await client.end();
  });
});

describe("quoteLiteral", () => {
  const hostile = [
    "",
    "plain",
    "it's",
    "'; DROP TABLE t; --",
    "back\\slash",
    "\\'; SELECT 1; --",
    "E'\\x41'",
    "line\nbreak\r\n\\! echo pwned\n\\q",
    ":var :'var' :\"var\" :{?var}",
    "$$ $x$ dollar",
    "tab\there ✓ 名前 \u{1F600}",
    "trailing backslash \\",
  ];

  it("quotes NULL and refuses NUL", () => {
    expect(quoteLiteral(null)).toBe("NULL");
    expect(() => quoteLiteral("a\u0000b")).toThrow("a value contains a NUL character");
  });

  it("round-trips hostile text through pg under both settings of standard_conforming_strings", async () => {
    const { client } = await ctx.emptyDb();
    for (const setting of ["on", "off"]) {
      await client.query(`SET standard_conforming_strings = ${setting}`);
      await client.query("SET escape_string_warning = off");
      for (const value of hostile) {
        const { rows } = await client.query(`SELECT ${quoteLiteral(value)} AS v`);
        expect(rows[0].v, `${setting}: ${JSON.stringify(value)}`).toBe(value);
      }
      const { rows } = await client.query(`SELECT ${quoteTextArray(hostile)} AS v`);
      expect(rows[0].v).toEqual(hostile);
    }
  });

  it("round-trips hostile text through psql (no meta-command, no variable interpolation)", async () => {
    const server = ctx.server();
    const script = [
      "\\set ON_ERROR_STOP on",
      "\\set var INTERPOLATED",
      `SELECT json_agg(v ORDER BY i)::text FROM (VALUES ${hostile.map((v, i) => `(${i}, ${quoteLiteral(v)})`).join(", ")}) AS t(i, v);`,
    ].join("\n");
    const result = await execa(PSQL, ["-X", "-A", "-t", "-f", "-"], {
      input: script,
      env: { PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGPASSWORD: server.password, PGDATABASE: "postgres" },
      extendEnv: false,
    });
    expect(JSON.parse(result.stdout)).toEqual(hostile);
  });
});
