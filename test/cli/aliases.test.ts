/**
 * One name for one thing: the stack-file override is `--stack-file` on every command that takes one, and the restore
 * mode is `--db-mode` on `db restore` as on `bundle load`. The old spellings (`synth --config-file`,
 * `db restore --mode`) still work, hidden from the option list but named in the new option's help line.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { addAlias } from "../../cli/definitions/alias.js";
import { buildProgram } from "../../cli/main.js";
import { modelfleet, ROOT } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "modelfleet-cli-alias-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Every leaf command with its options' long names. */
function leaves(command: Command, prefix = ""): { name: string; longs: string[] }[] {
  return command.commands.flatMap((sub) => {
    const name = `${prefix}${sub.name()}`;
    return sub.commands.length === 0 ? [{ name, longs: sub.options.map((o) => o.long ?? "") }] : leaves(sub, `${name} `);
  });
}

describe("option names across commands", () => {
  const all = leaves(buildProgram());

  it("the stack-file override is --stack-file wherever a command takes one", () => {
    const takers = all.filter((c) => c.longs.includes("--stack-file") || c.longs.includes("--config-file"));
    expect(takers.map((c) => c.name).sort()).toEqual(["bundle create", "models fetch", "pins resolve", "status", "synth", "verify"]);
    for (const c of takers) expect(c.longs, c.name).toContain("--stack-file");
  });

  it("the registry restore mode is --db-mode wherever a command takes one", () => {
    const takers = all.filter((c) => c.longs.includes("--db-mode") || c.longs.includes("--mode"));
    expect(takers.map((c) => c.name).sort()).toEqual(["bundle load", "db restore"]);
    for (const c of takers) expect(c.longs, c.name).toContain("--db-mode");
  });

  it.each([
    ["synth", "--stack-file <path>", "(alias:\\s+--config-file)"],
    ["db restore", "--db-mode <mode>", "(alias:\\s+--mode)"],
  ])("%s --help names the old spelling on %s's line and does not list it as an option", async (command, flag, alias) => {
    const run = await modelfleet([...command.split(" "), "--help"]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${flag}[^]*${alias}`));
    expect(run.stdout).not.toMatch(/^\s+--(config-file|mode) </m);
  });
});

describe("synth --config-file (old spelling of --stack-file)", () => {
  it("reads the same file and writes the same YAML as --stack-file", async () => {
    const file = join(ROOT, "Pulumi.production.yaml");
    const [viaAlias, viaName] = await Promise.all([
      modelfleet(["synth", "--stack", "production", "--config-file", file, "--out", join(work, "alias")]),
      modelfleet(["synth", "--stack", "production", "--stack-file", file, "--out", join(work, "name")]),
    ]);
    expect(viaAlias.exitCode, viaAlias.stderr).toBe(0);
    expect(viaName.exitCode, viaName.stderr).toBe(0);
    expect(viaAlias.stdout).toMatch(/^Synthesized stack production \(production, .*\) from \S*Pulumi\.production\.yaml$/m);
    const files = readdirSync(join(work, "name", "production")).sort();
    expect(files.length).toBeGreaterThan(1);
    expect(readdirSync(join(work, "alias", "production")).sort()).toEqual(files);
    for (const name of files) expect(readFileSync(join(work, "alias", "production", name), "utf8"), name).toBe(readFileSync(join(work, "name", "production", name), "utf8"));
  });

  it("rejects both spellings with different values (exit 2, nothing written)", async () => {
    const out = join(work, "both");
    const run = await modelfleet(["synth", "--stack", "production", "--config-file", "Pulumi.production.yaml", "--stack-file", "Pulumi.staging.yaml", "--out", out]);
    expect(run).toMatchObject({
      exitCode: 2,
      stdout: "",
      stderr: expect.stringContaining("error: --stack-file and --config-file name the same setting (--config-file is the old spelling) but were given different values; give only --stack-file"),
    });
    expect(() => readdirSync(out)).toThrow();
  });
});

describe("db restore --mode (old spelling of --db-mode)", () => {
  const dump = join(work, "missing.dump");
  const restore = (...flags: string[]) => modelfleet(["db", "restore", dump, "--db-url", "postgres://registry@127.0.0.1:1/registry", "--backup-dir", join(work, "backups"), ...flags]);

  it("without either spelling is a usage error naming --db-mode", async () => {
    expect(await restore()).toMatchObject({ exitCode: 2, stderr: "error: required option '--db-mode <mode>' not specified\n" });
  });

  it.each([["--mode"], ["--db-mode"]])("%s merge passes the mode check and reaches the restore (which finds no dump)", async (flag) => {
    const run = await restore(flag, "merge");
    expect(run.stderr).not.toContain("required option");
    expect(run.stderr).toContain(dump);
    expect(run.exitCode).toBe(2);
  });

  it("checks the old spelling's value against the same choices", async () => {
    const run = await restore("--mode", "overwrite");
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("error: option '--mode <mode>' argument 'overwrite' is invalid. Allowed choices are replace, merge.");
  });
});

describe("addAlias", () => {
  /** A command with --stack-file and its alias, parsed in-process; returns the options its action saw, or the usage error. */
  async function parse(argv: string[], required = false): Promise<Record<string, unknown> | CommanderError> {
    let seen: Record<string, unknown> = {};
    const command = new Command("demo").option("--stack-file <path>", "file (alias: --config-file)").exitOverride().configureOutput({ writeErr: () => undefined });
    addAlias(command, "--stack-file", new Option("--config-file <path>", "old spelling"), { required });
    command.action((options: Record<string, unknown>) => void (seen = options));
    try {
      await command.parseAsync(argv, { from: "user" });
    } catch (error) {
      if (error instanceof CommanderError) return error;
      throw error;
    }
    return seen;
  }

  it("moves the alias's value to the option", async () => {
    expect(await parse(["--config-file", "a.yaml"])).toMatchObject({ stackFile: "a.yaml" });
  });

  it("accepts both spellings with the same value", async () => {
    expect(await parse(["--config-file", "a.yaml", "--stack-file", "a.yaml"])).toMatchObject({ stackFile: "a.yaml" });
  });

  it("leaves the option unset when neither is given, unless it is required", async () => {
    expect(((await parse([])) as Record<string, unknown>)["stackFile"]).toBeUndefined();
    expect(await parse([], true)).toMatchObject({ exitCode: 2, code: "commander.missingMandatoryOptionValue" });
  });

  it("refuses an option the command does not have (a typo in a definition fails at once)", () => {
    expect(() => addAlias(new Command("demo"), "--stack-file", new Option("--config-file <path>"))).toThrow("addAlias: demo has no option --stack-file");
  });
});
