import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { Command, CommanderError } from "commander";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registryCommand } from "../../cli/commands/registry.js";
import { disableModel } from "../../registry/entries.js";
import { readMigrationFiles } from "../../registry/migration-files.js";
import { reconcile } from "../../registry/reconcile.js";
import { DIGEST_A, DIGEST_B, desired, snapshotEntries, useRegistryDatabase } from "./support.js";

const ctx = useRegistryDatabase();
/** Every migration this build ships, oldest first: what `migrate up` applies to an empty database. */
const MIGRATIONS = readMigrationFiles().map((file) => file.name);
const APPLIED_ALL = MIGRATIONS.map((name) => `applied ${name}\n`).join("");
const BIN = fileURLToPath(new URL("../../bin/modelfleet.js", import.meta.url));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function exitOverrideAll(command: Command): void {
  command.exitOverride();
  for (const sub of command.commands) exitOverrideAll(sub);
}

/** Runs `modelfleet registry <args>` in-process, the way cli/main.ts will wire it. */
async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const result: CliResult = { code: 0, stdout: "", stderr: "" };
  const registry = registryCommand({
    stdout: (text) => void (result.stdout += text),
    stderr: (text) => void (result.stderr += text),
    env,
    setExitCode: (code) => void (result.code = code),
  });
  exitOverrideAll(registry);
  const program = new Command("modelfleet").exitOverride().addCommand(registry);
  try {
    await program.parseAsync(["registry", ...args], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    result.code = error.exitCode;
  }
  return result;
}

let health: Server;
let healthEndpoint = "";
beforeAll(async () => {
  health = createServer((_req, res) => res.writeHead(200).end("ok"));
  await new Promise<void>((resolve) => health.listen(0, "127.0.0.1", resolve));
  healthEndpoint = `127.0.0.1:${(health.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => health.close(resolve));
});

describe("modelfleet registry migrate", () => {
  it("up, status, down, up with --db-url", async () => {
    const { db } = await ctx.emptyDb();
    const url = ["--db-url", db.url];
    expect(await cli(["migrate", "status", ...url])).toMatchObject({
      code: 0,
      stdout: `${MIGRATIONS.map((name) => `pending  -                        ${name}\n`).join("")}${MIGRATIONS.length} pending: run \`modelfleet registry migrate up\`\n`,
    });
    expect(await cli(["migrate", "up", ...url])).toEqual({ code: 0, stdout: APPLIED_ALL, stderr: "" });
    expect(await cli(["migrate", "up", ...url])).toMatchObject({ code: 0, stdout: "registry schema is up to date\n" });
    const status = await cli(["migrate", "status", ...url]);
    expect(status.stdout).toMatch(new RegExp(`^${MIGRATIONS.map((name) => String.raw`applied {2}\d{4}-\d\d-\d\dT\S+Z +${name}\n`).join("")}up to date\n$`));
    expect(await cli(["migrate", "down", ...url])).toMatchObject({ code: 0, stdout: `reverted ${MIGRATIONS.at(-1)}\n` });
    expect(await cli(["migrate", "down", "--count", "two", ...url])).toMatchObject({
      code: 2, stderr: 'error: --count "two" must be a whole number of migrations from 1 to 100\n',
    });
    expect(await cli(["migrate", "up", ...url])).toMatchObject({ code: 0 });
  });

  it("reads MODELFLEET_DB_URL when --db-url is absent", async () => {
    const { db } = await ctx.emptyDb();
    expect(await cli(["migrate", "up"], { MODELFLEET_DB_URL: db.url })).toMatchObject({ code: 0, stdout: APPLIED_ALL });
  });

  it("fails in one line (exit 2, bad input) when no URL is given", async () => {
    expect(await cli(["migrate", "up"])).toEqual({
      code: 2, stdout: "", stderr: "error: no database URL: pass --db-url <url> or set MODELFLEET_DB_URL\n",
    });
  });
});

describe("modelfleet registry list / route / enable / disable / register / health", () => {
  it("lists as a table and as JSON", async () => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging", { endpoint: "llama:8000" })], "staging");
    await client.query("UPDATE model_registry_entries SET last_health_check_at = '2030-01-02T03:04:05Z'");
    const table = await cli(["list", "--db-url", db.url]);
    expect(table.stdout).toBe(
      "ENVIRONMENT  MODEL  STATUS  ENGINE  ENDPOINT    NAMESPACE  MANAGED  LAST HEALTH CHECK\n" +
        "staging      llama  ready   vllm    llama:8000  inference  stack    2030-01-02T03:04:05.000Z\n",
    );
    const json = JSON.parse((await cli(["list", "--json", "--env", "staging", "--db-url", db.url])).stdout);
    expect(json).toEqual([expect.objectContaining({ modelName: "llama", environment: "staging", status: "ready", imageDigest: DIGEST_A, lastHealthCheckAt: "2030-01-02T03:04:05.000Z" })]);
    expect(await cli(["list", "--env", "production", "--db-url", db.url])).toMatchObject({ code: 0, stdout: "no entries\n" });
    expect(await cli(["list", "--status", "running", "--db-url", db.url])).toMatchObject({
      code: 2, stderr: 'error: status "running" is not one of pending, deploying, ready, degraded, disabled, failed\n',
    });
  });

  it("routes: prints the endpoint, or exits 1 with the reason", async () => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "production"), desired("qwen", "production")], "production");
    await disableModel(client, "qwen", "production");
    const url = ["--db-url", db.url];

    expect(await cli(["route", "llama", "--env", "production", ...url])).toEqual({
      code: 0, stdout: "llama-production.inference.svc.cluster.local:8000\n", stderr: "",
    });
    expect(await cli(["route", "qwen", "--env", "production", ...url])).toEqual({
      code: 1, stdout: "", stderr: 'not routable (disabled): model "qwen" in production was disabled by an operator; `modelfleet registry enable` routes it again\n',
    });
    expect(await cli(["route", "nope", "--env", "production", ...url])).toMatchObject({ code: 1, stderr: 'not routable (unknown): model "nope" in production is not registered\n' });
    await client.query("UPDATE model_registry_entries SET last_health_check_at = now() - interval '100 seconds'");
    expect((await cli(["route", "llama", "--env", "production", ...url])).stderr).toMatch(/^not routable \(stale\): .* 100 s ago \(threshold 30 s\)/);
    expect(await cli(["route", "llama", "--env", "production", "--stale-after", "300", ...url])).toMatchObject({ code: 0 });
    await client.query("UPDATE model_registry_entries SET deployment_status = 'degraded' WHERE model_name = 'llama'");
    expect((await cli(["route", "llama", "--env", "production", ...url])).stderr).toMatch(/^not routable \(degraded\)/);
    expect(await cli(["route", "llama", "--env", "prod", ...url])).toMatchObject({
      code: 2, stderr: 'error: environment "prod" is not one of development, staging, production\n',
    });
  });

  it("disables and enables; bad input changes nothing", async () => {
    const { db, client } = await ctx.migratedDb();
    await reconcile(client, [desired("llama", "staging")], "staging");
    const url = ["--db-url", db.url];
    expect(await cli(["disable", "llama", "--env", "staging", ...url])).toEqual({ code: 0, stdout: "disabled model llama in staging (now disabled)\n", stderr: "" });
    expect((await cli(["disable", "llama", "--env", "staging", ...url])).stdout).toBe("model llama in staging is already disabled; nothing changed\n");
    const before = await snapshotEntries(client);
    expect(await cli(["enable", "nope", "--env", "staging", ...url])).toMatchObject({ code: 1, stderr: 'error: no model "nope" in staging; `modelfleet registry list --env staging` shows what exists\n' });
    expect(await cli(["enable", "llama", "--env", "stage", ...url])).toMatchObject({ code: 2 });
    expect(await cli(["enable", "llama", ...url])).toMatchObject({ code: 1 }); // --env is required
    expect(await snapshotEntries(client)).toEqual(before);
    expect(await cli(["enable", "llama", "--env", "staging", ...url])).toMatchObject({ code: 0, stdout: "enabled model llama in staging (now ready)\n" });
  });

  it("registers a manual model and health-checks it into routability", async () => {
    const { db } = await ctx.migratedDb();
    const url = ["--db-url", db.url];
    const registered = await cli(["register", "legacy", "--env", "development", "--engine", "llamacpp", "--endpoint", healthEndpoint, "--namespace", "legacy", "--served-name", "org/Legacy", ...url]);
    expect(registered).toEqual({ code: 0, stdout: `registered model legacy in development at ${healthEndpoint} (ready, manual)\n`, stderr: "" });
    expect((await cli(["route", "legacy", "--env", "development", ...url])).code).toBe(1);
    const checked = await cli(["health", "--env", "development", "--timeout", "2000", ...url]);
    expect(checked).toEqual({
      code: 0, stderr: "",
      stdout: `development  legacy                   ready     HTTP 200\nchecked 1: 1 ready, 0 degraded\n`,
    });
    expect(await cli(["route", "legacy", "--env", "development", ...url])).toMatchObject({ code: 0, stdout: `${healthEndpoint}\n` });
    expect(await cli(["register", "legacy", "--env", "development", "--engine", "tgi", "--endpoint", healthEndpoint, "--namespace", "legacy", ...url])).toMatchObject({
      code: 2, stderr: 'error: engine "tgi" is not one of vllm, llamacpp\n',
    });
    expect(await cli(["health", "--timeout", "soon", ...url])).toMatchObject({ code: 2, stderr: 'error: --timeout "soon" must be a whole number of milliseconds from 1000 to 300000\n' });
  });

  it("concurrent reconciles with CLI enable/disable end in a correct state", async () => {
    // Given a, b ready and c disabled by an operator
    const { db, client } = await ctx.migratedDb();
    const base = ["a", "b", "c"];
    await reconcile(client, base.map((m) => desired(m, "production")), "production");
    await disableModel(client, "c", "production");
    const sets = [
      [...base, "d"].map((m) => desired(m, "production", { imageDigest: DIGEST_A })),
      [...base, "e"].map((m) => desired(m, "production", { imageDigest: DIGEST_B })),
      base.map((m) => desired(m, "production", { imageDigest: DIGEST_B })),
    ];
    const connections = await Promise.all(sets.map(() => ctx.connectTo(db)));
    const url = ["--db-url", db.url];

    // When three deploys reconcile while operators disable b and enable c, all at once
    const [, [disabled, enabled]] = await Promise.all([
      Promise.all(sets.map((set, i) => reconcile(connections[i]!, set, "production"))),
      Promise.all([cli(["disable", "b", "--env", "production", ...url]), cli(["enable", "c", "--env", "production", ...url])]),
    ]);

    // Then the operators' changes hold whatever the order, and the rest is exactly one deploy's set
    expect([disabled.code, enabled.code]).toEqual([0, 0]);
    const rows = await snapshotEntries(client);
    const state = Object.fromEntries(rows.map((r) => [r.model_name, `${r.deployment_status}/${r.disabled_by ?? "-"}`]));
    expect(state).toMatchObject({ a: "ready/-", b: "disabled/operator", c: "ready/-" });
    const digests = new Set(rows.filter((r) => ["a", "b", "c"].includes(r.model_name as string)).map((r) => r.image_digest));
    expect(digests.size).toBe(1);
    const extra = rows.filter((r) => ["d", "e"].includes(r.model_name as string) && r.deployment_status === "ready").map((r) => r.model_name);
    const winner = sets.findIndex((set) => set.length === 3 + extra.length && extra.every((m) => set.some((d) => d.modelName === m)) && set[0]!.imageDigest === [...digests][0]);
    expect(winner, JSON.stringify(rows)).toBeGreaterThanOrEqual(0);
  });
});

describe("every numeric flag and name is bounded, checked before connecting", () => {
  // Port 1 refuses connections: a check that ran after connecting would print "cannot connect" instead.
  const url = ["--db-url", "postgres://app@127.0.0.1:1/registry"];
  const long = "a".repeat(100_000);
  it.each([
    [["route", long, "--env", "production"], `model name "${"a".repeat(40)}"…(100000 chars) is not a DNS label (lower-case letters, digits and "-", at most 63 characters)`],
    [["route", "Bad_Name", "--env", "production"], 'model name "Bad_Name" is not a DNS label (lower-case letters, digits and "-", at most 63 characters)'],
    [["route", "m", "--env", "production", "--stale-after", "0"], '--stale-after "0" must be a whole number of seconds from 1 to 86400'],
    [["route", "m", "--env", "production", "--stale-after", "86401"], '--stale-after "86401" must be a whole number of seconds from 1 to 86400'],
    [["route", "m", "--env", "production", "--stale-after", "1e3"], '--stale-after "1e3" must be a whole number of seconds from 1 to 86400'],
    [["route", "m", "--env", long], `environment "${"a".repeat(40)}"…(100000 chars) is not one of development, staging, production`],
    [["health", "--timeout", "3000000000"], '--timeout "3000000000" must be a whole number of milliseconds from 1000 to 300000'],
    [["health", "--timeout", "999"], '--timeout "999" must be a whole number of milliseconds from 1000 to 300000'],
    [["health", "--timeout", "-5"], '--timeout "-5" must be a whole number of milliseconds from 1000 to 300000'],
    [["health", "--timeout", " 5000"], '--timeout " 5000" must be a whole number of milliseconds from 1000 to 300000'],
    [["health", "--concurrency", "0"], '--concurrency "0" must be a whole number of probes from 1 to 64'],
    [["health", "--concurrency", "65"], '--concurrency "65" must be a whole number of probes from 1 to 64'],
    [["health", "--concurrency", "9".repeat(400)], `--concurrency "${"9".repeat(40)}"…(400 chars) must be a whole number of probes from 1 to 64`],
    [["migrate", "down", "--count", "101"], '--count "101" must be a whole number of migrations from 1 to 100'],
    [["enable", long, "--env", "staging"], `model name "${"a".repeat(40)}"…(100000 chars) is not a DNS label (lower-case letters, digits and "-", at most 63 characters)`],
    [["register", "m", "--env", "staging", "--engine", "vllm", "--endpoint", `${"h".repeat(300)}:8000`, "--namespace", "ns"], `endpoint "${"h".repeat(40)}"…(305 chars) is not host:port (e.g. llama-production.inference.svc.cluster.local:8000)`],
    [["register", "m", "--env", "staging", "--engine", "vllm", "--endpoint", "m:8000", "--namespace", "n".repeat(64)], `namespace "${"n".repeat(40)}"…(64 chars) is not a DNS label (lower-case letters, digits and "-", at most 63 characters)`],
    [["register", "m", "--env", "staging", "--engine", "vllm", "--endpoint", "m:8000", "--namespace", "ns", "--served-name", "s".repeat(513)], `served model name "${"s".repeat(40)}"…(513 chars) must be 1 to 512 characters without NUL`],
  ])("%j", async (args, message) => {
    const result = await cli([...args, ...url]);
    expect(result).toEqual({ code: 2, stdout: "", stderr: `error: ${message}\n` });
  });
});

describe("help", () => {
  it("documents every command and its options", () => {
    const registry = registryCommand();
    const leaves: Command[] = [];
    const walk = (command: Command): void => {
      if (command.commands.length === 0) leaves.push(command);
      command.commands.forEach(walk);
    };
    walk(registry);
    expect(leaves.map((c) => c.name()).sort()).toEqual(
      ["disable", "down", "enable", "health", "list", "register", "route", "status", "up"],
    );
    for (const leaf of leaves) {
      expect(leaf.description(), leaf.name()).not.toBe("");
      expect(leaf.helpInformation(), leaf.name()).toContain("--db-url <url>");
      expect(leaf.helpInformation(), leaf.name()).toContain("$MODELFLEET_DB_URL");
      expect(leaf.options.every((option) => option.description !== ""), leaf.name()).toBe(true);
    }
  });
});

describe("as a process (the compiled bin/modelfleet.js)", () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    execa("node", [BIN, "registry", ...args], { reject: false, env: { MODELFLEET_DB_URL: "", ...env } });

  it("exits 1 with one line, naming host:port and database, never the password or a stack trace", async () => {
    const server = ctx.server();
    const wrong = server.url("registry", "not-the-Passw0rd");
    const [refused, denied] = await Promise.all([
      run(["list", "--db-url", "postgres://app:TopSecret99@127.0.0.1:1/registry"]),
      run(["list"], { MODELFLEET_DB_URL: wrong }),
    ]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toBe('error: cannot connect to PostgreSQL at 127.0.0.1:1, database "registry": connection refused (is PostgreSQL running and listening there?)');
    expect(denied.exitCode).toBe(1);
    expect(denied.stderr).toBe(`error: cannot connect to PostgreSQL at 127.0.0.1:${server.port}, database "registry": password authentication failed for user "${server.user}"`);
    expect(`${refused.stdout}${denied.stdout}${refused.stderr}${denied.stderr}`).not.toMatch(/TopSecret99|not-the-Passw0rd|at .*\.ts:\d+/);
  });
});
