/**
 * What each CLI path loads, recorded by a module-load trace (module-trace.mjs: every ES module URL the loader resolves
 * and every CommonJS module in require's cache at exit) of the compiled bin (`--help` paths: help.test.ts):
 *   - a command that runs loads its own implementation module and no other command's;
 *   - no CLI path loads `@pulumi/*` (the Pulumi SDK belongs to the Pulumi program in stacks/ alone).
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadedModules, mapLimited, ROOT } from "./support.js";

const work = mkdtempSync(join(tmpdir(), "modelfleet-cli-modules-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const loaded = (args: string[]) => loadedModules(args, work);

describe("a command loads its own implementation, no other command's, and never @pulumi/*", () => {
  const fixtureStack = (name: string) => {
    const dir = join(work, name);
    cpSync(join(ROOT, "Pulumi.staging.yaml"), join(dir, "Pulumi.staging.yaml"));
    cpSync(join(ROOT, "Pulumi.production.yaml"), join(dir, "Pulumi.production.yaml"));
    return dir;
  };
  const closedDb = "postgres://registry@127.0.0.1:1/registry";
  const cases: { args: () => string[]; implementation: string }[] = [
    { args: () => ["synth", "--stack", "development", "--out", join(work, "synth-out")], implementation: "synth" },
    { args: () => ["check", join(ROOT, "Pulumi.production.yaml")], implementation: "check" },
    { args: () => ["registry", "route", "qwen3", "--env", "staging", "--db-url", closedDb], implementation: "registry" },
    { args: () => ["promote", "--from", "staging", "--to", "production", "--dir", fixtureStack("promote")], implementation: "promote" },
    { args: () => ["bundle", "verify", join(work, "no-bundle"), "--allow-unsigned"], implementation: "bundle" },
    { args: () => ["db", "dump", "--out", join(work, "db.dump"), "--db-url", closedDb], implementation: "db" },
    { args: () => ["keys", "generate", "--out", join(work, "keys", "k")], implementation: "keys" },
    { args: () => ["pins", "resolve", "--stack", "x", "--stack-file", join(work, "no-such-stack.yaml"), "--dry-run"], implementation: "pins" },
  ];

  it("for every command (each run to its end, success or a reported failure)", async () => {
    const results = await mapLimited(cases, 2, async (c) => ({ c, ...(await loaded(c.args())) }));
    for (const { c, run, modules } of results) {
      const label = `${c.args().slice(0, 2).join(" ")}`;
      expect(run.stderr, label).not.toMatch(/^\s+at /m);
      expect([0, 1, 2], `${label}: ${run.stderr}`).toContain(run.exitCode);
      expect(modules, label).toContain(`build/cli/commands/${c.implementation}.js`);
      const commands = modules.filter((m) => m.startsWith("build/cli/commands/")).map((m) => m.slice("build/cli/commands/".length, -3));
      // keys, pins and db share bundle's error reporting, and credential-args is a helper; nothing else crosses.
      const allowed = [c.implementation, "credential-args", ...(["keys", "pins", "db"].includes(c.implementation) ? ["bundle"] : [])];
      expect(commands.filter((m) => !allowed.includes(m)), label).toEqual([]);
      expect(modules.filter((m) => m.includes("@pulumi/")), label).toEqual([]);
      expect(modules.filter((m) => m.startsWith("build/stacks/")), label).toEqual([]);
    }
  });
});
