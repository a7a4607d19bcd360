import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { checkCommand } from "../../cli/commands/check.js";
import { CHECK_LIMITS } from "../../policies/check.js";
import { useTempDirs } from "../helpers/temp-dir.js";

const tempDir = useTempDirs();

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `modelfleet check <args>` in-process, the way cli/main.ts wires it, and times it. */
async function cli(args: string[]): Promise<CliResult> {
  const result: CliResult = { code: 0, stdout: "", stderr: "", ms: 0 };
  const check = checkCommand({
    stdout: (text) => void (result.stdout += text),
    stderr: (text) => void (result.stderr += text),
    setExitCode: (code) => void (result.code = code),
  }).exitOverride();
  const program = new Command("modelfleet").exitOverride().addCommand(check);
  const start = performance.now();
  try {
    await program.parseAsync(["check", ...args], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    result.code = error.exitCode;
  }
  result.ms = performance.now() - start;
  return result;
}

const folder = (): string => tempDir("mf-check-limits-");

const SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  namespace: inference\nspec:\n  ports: [{port: 80}]\n";

/** The `--json` error object of a refused run, after asserting exit 2 and one line on stderr. */
async function refused(args: string[]): Promise<{ code: string; file: string; message: string; ms: number; stderr: string }> {
  const human = await cli(args);
  expect(human.code).toBe(2);
  expect(human.stdout).toBe("");
  expect(human.stderr).toMatch(/^error: [^\n]+\n$/);
  const json = await cli([...args, "--json"]);
  expect(json.code).toBe(2);
  const { error } = JSON.parse(json.stdout) as { error: { code: string; file: string; message: string } };
  return { ...error, ms: human.ms, stderr: human.stderr };
}

describe("modelfleet check reads only regular files", () => {
  it("refuses a FIFO named *.yaml in a folder at once, instead of blocking forever (as a process)", async () => {
    const dir = folder();
    writeFileSync(join(dir, "a.yaml"), SERVICE);
    execFileSync("mkfifo", [join(dir, "pipe.yaml")]);
    const bin = join(import.meta.dirname, "../../bin/modelfleet.js");
    const result = await execa("node", [bin, "check", dir], { reject: false, timeout: 20_000 });
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(`error: ${join(dir, "pipe.yaml")}: a FIFO (named pipe), not a regular file; only regular files are read (a symlink must point to one)`);
  });

  it("refuses a symlink to a FIFO and one to a device, and names what they point to", async () => {
    const dir = folder();
    execFileSync("mkfifo", [join(dir, "pipe")]);
    symlinkSync(join(dir, "pipe"), join(dir, "to-pipe.yaml"));
    expect((await refused([join(dir, "to-pipe.yaml")])).message).toBe(`${join(dir, "to-pipe.yaml")}: a FIFO (named pipe), not a regular file; only regular files are read (a symlink must point to one)`);
    const other = folder();
    symlinkSync("/dev/zero", join(other, "zero.yaml"));
    const device = await refused([other]);
    expect(device).toMatchObject({ code: "unreadable-path", message: `${join(other, "zero.yaml")}: a character device, not a regular file; only regular files are read (a symlink must point to one)` });
  });

  it("follows a symlink to a regular file", async () => {
    const dir = folder();
    writeFileSync(join(dir, "real.txt"), SERVICE);
    symlinkSync(join(dir, "real.txt"), join(dir, "linked.yaml"));
    const result = await cli([dir, "--json"]);
    expect(JSON.parse(result.stdout)).toMatchObject({ objects: 1, files: [join(dir, "linked.yaml")] });
  });
});

describe("modelfleet check refuses oversized and hostile YAML quickly (exit 2)", () => {
  it(`refuses a 136 MB file from its size, before reading it (limit ${CHECK_LIMITS.fileMaxBytes} bytes)`, async () => {
    const dir = folder();
    const file = join(dir, "huge.yaml");
    writeFileSync(file, "");
    truncateSync(file, 136 * 1024 * 1024);
    const error = await refused([file]);
    expect(error).toMatchObject({ code: "input-limit", file, message: `${file}: 142606336 bytes (136 MiB), more than the 16 MiB allowed; split it or check its parts separately` });
    expect(error.ms).toBeLessThan(500);
  });

  it(`refuses files that add up to more than ${CHECK_LIMITS.totalMaxBytes} bytes before reading any`, async () => {
    const dir = folder();
    for (const name of ["a", "b", "c", "d", "e"]) {
      writeFileSync(join(dir, `${name}.yaml`), "");
      truncateSync(join(dir, `${name}.yaml`), 15 * 1024 * 1024);
    }
    const error = await refused([dir]);
    expect(error).toMatchObject({ code: "input-limit", message: `the files to check add up to more than 64 MiB (the limit of one run, reached at ${join(dir, "e.yaml")}); check fewer folders at a time` });
    expect(error.ms).toBeLessThan(500);
  });

  it("refuses a billion-laughs alias bomb in well under a second", async () => {
    const dir = folder();
    const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(",")}]`);
    writeFileSync(join(dir, "lol.yaml"), `${lines.join("\n")}\n`);
    const error = await refused([dir]);
    expect(error).toMatchObject({ code: "input-limit", message: `${join(dir, "lol.yaml")}:1: YAML aliases expand to more than 1000 nodes (an alias bomb?); write the values out` });
    expect(error.ms).toBeLessThan(500);
  });

  it(`refuses more than ${CHECK_LIMITS.maxAliases} alias nodes in one document`, async () => {
    const dir = folder();
    writeFileSync(join(dir, "many.yaml"), `x: &a 1\nl:\n${"  - *a\n".repeat(CHECK_LIMITS.maxAliases + 1)}`);
    expect((await refused([dir])).message).toBe(`${join(dir, "many.yaml")}:1: more than 1000 YAML aliases (*name); write the values out; split it or check its parts separately`);
  });

  it(`refuses nesting deeper than ${CHECK_LIMITS.maxDepth} levels, block and flow`, async () => {
    const dir = folder();
    let block = "";
    for (let i = 0; i < 150; i++) block += `${"  ".repeat(i)}k${i}:\n`;
    writeFileSync(join(dir, "block.yaml"), `${block}${"  ".repeat(150)}v: 1\n`);
    expect((await refused([join(dir, "block.yaml")])).message).toBe(`${join(dir, "block.yaml")}:1: nested deeper than 100 levels; split it or check its parts separately`);
    writeFileSync(join(dir, "flow.yaml"), `x: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`);
    const flow = await refused([join(dir, "flow.yaml")]);
    expect(flow.message).toBe(`${join(dir, "flow.yaml")}:1: nested deeper than 100 levels; split it or check its parts separately`);
    expect(flow.ms).toBeLessThan(3_000);
  });

  it(`refuses more than ${CHECK_LIMITS.maxDocumentsPerFile} documents in one file before parsing them`, async () => {
    const dir = folder();
    writeFileSync(join(dir, "docs.yaml"), "---\n{}\n".repeat(CHECK_LIMITS.maxDocumentsPerFile + 1));
    const error = await refused([dir]);
    expect(error).toMatchObject({ code: "input-limit", message: `${join(dir, "docs.yaml")}: about 10002 YAML documents, more than the 10000 allowed in one file; split it or check its parts separately` });
    expect(error.ms).toBeLessThan(500);
  });

  it("accepts a file right at the document limit", async () => {
    const dir = folder();
    writeFileSync(join(dir, "docs.yaml"), `${SERVICE}${"---\n".repeat(CHECK_LIMITS.maxDocumentsPerFile - 2)}`);
    const result = await cli([dir, "--json"]);
    expect(JSON.parse(result.stdout)).toMatchObject({ objects: 1 });
  });

  it("refuses binary files: NUL bytes and invalid UTF-8", async () => {
    const dir = folder();
    writeFileSync(join(dir, "nul.yaml"), Buffer.from("a: b\u0000c\n"));
    expect(await refused([join(dir, "nul.yaml")])).toMatchObject({ code: "malformed-yaml", message: `${join(dir, "nul.yaml")}: binary content (a NUL byte at offset 4); YAML is UTF-8 text` });
    writeFileSync(join(dir, "latin1.yaml"), Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    expect(await refused([join(dir, "latin1.yaml")])).toMatchObject({ code: "malformed-yaml", message: `${join(dir, "latin1.yaml")}: not valid UTF-8 text; YAML is UTF-8 text (convert the file or remove it)` });
  });

  it("refuses a stack file that is an alias bomb", async () => {
    const dir = folder();
    const lines = ['  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`  a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(",")}]`);
    writeFileSync(join(dir, "Pulumi.staging.yaml"), `config:\n${lines.join("\n")}\n`);
    expect((await refused([dir])).code).toBe("input-limit");
  });

  it("shows a long --env value shortened", async () => {
    const result = await cli([folder(), "--env", "p".repeat(10_000)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: --env "${"p".repeat(40)}"…(10000 chars) is not an environment; allowed: development, staging, production.\n`);
  });
});

describe("the limits", () => {
  it("are the documented values", () => {
    expect(CHECK_LIMITS).toEqual({ fileMaxBytes: 16 * 1024 * 1024, totalMaxBytes: 64 * 1024 * 1024, maxFiles: 10_000, maxDocumentsPerFile: 10_000, maxDepth: 100, maxAliases: 1_000 });
  });

  it(`refuses more than ${CHECK_LIMITS.maxFiles} files in one run`, async () => {
    const dir = folder();
    mkdirSync(join(dir, "many"));
    for (let i = 0; i <= CHECK_LIMITS.maxFiles; i++) writeFileSync(join(dir, "many", `f${i}.yaml`), "");
    expect((await refused([dir])).message).toBe(`10001 files to check, more than the 10000 allowed in one run; check fewer folders at a time`);
  });
});
