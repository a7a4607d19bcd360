/**
 * Every command's `--help`, run through the compiled bin as a user runs it: exit 0, its usage line, every option of
 * the command in the text, nothing on stderr, and — by a module-load trace (module-trace.mjs) — nothing loaded but
 * commander and the command definitions (no implementation module, no @pulumi/*). The command list comes from
 * buildProgram(), so a new command is covered without editing this file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/main.js";
import { HELP_MODULES, loadedModules, mapLimited, modelfleet } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "modelfleet-cli-help-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const unexpected = (modules: readonly string[]) => modules.filter((m) => !HELP_MODULES.some((allowed) => allowed.test(m)));

/** Every command and group below the program, as its argv path (`["registry", "migrate", "up"]`). */
function commandPaths(command: Command, prefix: readonly string[] = []): { path: string[]; command: Command }[] {
  return command.commands.flatMap((sub) => {
    const path = [...prefix, sub.name()];
    return [{ path, command: sub }, ...commandPaths(sub, path)];
  });
}

const commands = commandPaths(buildProgram()).filter(({ path }) => path[0] !== "help");

describe("modelfleet --help", () => {
  it("lists every command and exits 0, loading only commander and the command definitions", async () => {
    const { run, modules } = await loadedModules(["--help"], work);
    expect(run).toMatchObject({ exitCode: 0, stderr: "" });
    expect(modules).toContain("build/cli/main.js");
    expect(unexpected(modules)).toEqual([]);
    expect(run.stdout).toMatch(/^Usage: modelfleet \[options\] \[command\]\n/);
    for (const name of ["start", "synth", "check", "registry", "promote", "bundle", "db", "keys", "pins"]) expect(run.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
  });

  it("with no arguments prints the help on stderr and exits 2 (usage error)", async () => {
    const run = await modelfleet([]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("Usage: modelfleet [options] [command]");
  });

  it("an unknown command exits 2, naming it, without a stack trace", async () => {
    const run = await modelfleet(["synthesize"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("error: unknown command 'synthesize'");
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

describe("modelfleet <command> --help", () => {
  it("covers the commands the CLI ships", () => {
    expect(commands.map(({ path }) => path.join(" "))).toEqual(
      expect.arrayContaining(["start", "synth", "check", "registry route", "registry migrate up", "promote", "bundle create", "bundle load", "db restore", "keys generate", "pins resolve"]),
    );
  });

  it("exits 0 and documents every visible option, for every command, loading only commander and the definitions", async () => {
    const runs = await mapLimited(commands, 2, async ({ path }) => ({ path, ...(await loadedModules([...path, "--help"], work)) }));
    for (const { path, run, modules } of runs) {
      const name = path.join(" ");
      expect(run.exitCode, `${name} --help: ${run.stderr}`).toBe(0);
      expect(unexpected(modules), name).toEqual([]);
      expect(run.stderr, name).toBe("");
      expect(run.stdout, name).toMatch(new RegExp(`^Usage: modelfleet ${name} `));
      const command = commands.find((c) => c.path.join(" ") === name)?.command;
      for (const option of command?.options ?? []) {
        if (option.hidden) expect(run.stdout, `${name}: hidden ${option.long}`).not.toContain(`${option.flags} `);
        else expect(run.stdout, `${name}: ${option.flags}`).toContain(option.flags);
      }
    }
  });
});
