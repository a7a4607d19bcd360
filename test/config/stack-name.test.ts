import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { stackFileName, StackNameError } from "../../config/load.js";
import { ConfigError } from "../../config/problems.js";
import { stackNameProblem } from "../../config/stack-name.js";
import { useTempDirs } from "../helpers/temp-dir.js";

const tempDir = useTempDirs();

const BIN = join(import.meta.dirname, "../../bin/modelfleet.js");

describe("stackNameProblem", () => {
  it.each(["development", "staging", "production", "a", "eu-west-1", "x".repeat(63)])("accepts the DNS label %j", (name) => {
    expect(stackNameProblem(name)).toBeUndefined();
  });

  it.each([
    ["..", "looks like a path"],
    [".", "looks like a path"],
    ["../../x", "looks like a path"],
    ["a/b", "looks like a path"],
    ["a\\b", "looks like a path"],
    ["", "is not a DNS label"],
    ["Production", "is not a DNS label"],
    ["dev_1", "is not a DNS label"],
    ["-dev", "is not a DNS label"],
    ["dev-", "is not a DNS label"],
    ["dev.1", "is not a DNS label"],
    ["dev\u0000", "is not a DNS label"],
    ["x".repeat(64), "is longer than 63 characters"],
  ])("refuses %j: %s", (name, why) => {
    const message = stackNameProblem(name);
    expect(message).toContain(why);
    expect(message).toContain("a stack name is a DNS label");
    expect(message).toContain("never a path, e.g. development, staging, production");
    expect(message).not.toContain("\n");
  });

  it("names the value truncated to 40 characters with its length", () => {
    const message = stackNameProblem(`../${"a".repeat(100_000)}`) ?? "";
    expect(message).toBe(
      `stack name "../${"a".repeat(37)}"…(100003 chars) is longer than 63 characters; a stack name is a DNS label (lowercase letters, digits and "-", at most 63 characters), never a path, e.g. development, staging, production`,
    );
  });
});

describe("stackNameProblem with a key pasted into --stack", () => {
  it("says what is wrong without showing the value", () => {
    const key = "sk-proj-Q2x9LmT4vB7nR1pZ8kW3yH6cJ0fD5gA";
    const message = stackNameProblem(key) ?? "";
    expect(message).toContain("(a credential-shaped value, not shown) is not a DNS label");
    expect(message).not.toContain(key.slice(0, 8));
  });
});

describe("stackFileName", () => {
  it("is Pulumi.<stack>.yaml for a stack name", () => {
    expect(stackFileName("staging")).toBe("Pulumi.staging.yaml");
  });

  it("throws a one-line StackNameError (a ConfigError) for a path", () => {
    let caught: unknown;
    try {
      stackFileName("../../etc/passwd");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StackNameError);
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toBe(`--stack: ${stackNameProblem("../../etc/passwd")}`);
  });
});

/**
 * Every command that takes --stack refuses a path before touching the disk: one line on stderr, exit 2. The
 * commands run as the real CLI in an empty folder, which must stay empty.
 */
describe("every --stack command refuses a path as a stack name", () => {
  const cases: Array<[string, (stack: string) => string[]]> = [
    ["synth", (stack) => ["synth", "--stack", stack]],
    ["bundle create", (stack) => ["bundle", "create", "--stack", stack, "--out", "out"]],
    ["pins resolve", (stack) => ["pins", "resolve", "--stack", stack, "--dry-run"]],
    ["promote --from", (stack) => ["promote", "--from", stack, "--to", "production"]],
    ["promote --to", (stack) => ["promote", "--from", "staging", "--to", stack]],
  ];

  it.each(cases)("%s", async (_name, args) => {
    const dir = tempDir("mf-stack-name-");
    const work = join(dir, "work");
    mkdirSync(work);
    // The other side of a promotion, so promote reaches the bad name.
    writeFileSync(join(work, "Pulumi.staging.yaml"), "config: {}\n");
    const result = await execa("node", [BIN, ...args("..")], { cwd: work, reject: false });
    expect(result.stderr).toMatch(/^error: .*stack name "\.\." looks like a path; a stack name is a DNS label .*, never a path, e\.g\. development, staging, production\.?\n?$/);
    expect(result.exitCode).toBe(2);
    expect(readdirSync(work)).toEqual(["Pulumi.staging.yaml"]);
  });
});
