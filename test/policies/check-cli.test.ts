import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { checkCommand, type CheckJsonOutput } from "../../cli/commands/check.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/policies/cli");
/** The CLI as installed: compiled JavaScript in build/ (kept current by test/setup/build.ts). */
const BIN = join(import.meta.dirname, "../../bin/modelfleet.js");

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `modelfleet check <args>` in-process, the way cli/main.ts wires it. */
async function cli(args: string[]): Promise<CliResult> {
  const result: CliResult = { code: 0, stdout: "", stderr: "" };
  const check = checkCommand({
    stdout: (text) => void (result.stdout += text),
    stderr: (text) => void (result.stderr += text),
    setExitCode: (code) => void (result.code = code),
  }).exitOverride();
  const program = new Command("modelfleet").exitOverride().addCommand(check);
  try {
    await program.parseAsync(["check", ...args], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    result.code = error.exitCode;
  }
  return result;
}

describe("modelfleet check", () => {
  it("exits 0 on a compliant folder (manifests, a List in a subfolder, a stack file)", async () => {
    const result = await cli([join(FIXTURES, "clean")]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^passed: 0 mandatory, 0 advisory, 0 waived violation\(s\) in 6 object\(s\) from 3 file\(s\); Kubernetes YAML judged as production\n$/);
  });

  it("exits 1 on a mandatory violation and prints rule, enforcement, file:line, object, field and fix", async () => {
    const file = join(FIXTURES, "violations", "qwen.yaml");
    const result = await cli([file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `mandatory no-hardcoded-secrets  ${file}:22  Deployment/inference/qwen-production  spec.template.spec.containers[0].env[0].value\n` +
        `          container "vllm" env "POSTGRES_PASSWORD" holds a literal value (<redacted, 13 chars>); a secret-looking variable must come from a Secret. Fix:`,
    );
    expect(result.stdout).not.toContain("lstm_password");
    expect(result.stdout).toMatch(/FAILED: 1 mandatory, 0 advisory, 0 waived violation\(s\) in 3 object\(s\) from 1 file\(s\)/);
  });

  it("exits 0 when only advisory violations remain (--env staging)", async () => {
    const result = await cli([join(FIXTURES, "advisory"), "--env", "staging"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("advisory  probes  ");
    expect(result.stdout).toMatch(/passed: 0 mandatory, 3 advisory, 0 waived/);
  });

  it("judges the same file as mandatory in production (the default)", async () => {
    const result = await cli([join(FIXTURES, "advisory")]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED: 3 mandatory, 0 advisory/);
  });

  it("--json prints the report shape", async () => {
    const result = await cli([join(FIXTURES, "violations"), "--json"]);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as CheckJsonOutput;
    expect(Object.keys(json)).toEqual(["passed", "environment", "files", "stacks", "objects", "summary", "violations"]);
    expect(json).toMatchObject({ passed: false, environment: "production", objects: 5, stacks: [] });
    expect(json.summary).toEqual({ mandatory: 4, advisory: 0, waived: 0, total: 4 });
    expect(json.violations.map((v) => [v.ruleId, v.enforcement, v.waived, v.line, v.objectRef, v.fieldPath])).toEqual([
      ["probes", "mandatory", false, 17, "Deployment/inference/embed-staging", "spec.template.spec.containers[0].livenessProbe"],
      ["probes", "mandatory", false, 17, "Deployment/inference/embed-staging", "spec.template.spec.containers[0].readinessProbe"],
      ["probes", "mandatory", false, 17, "Deployment/inference/embed-staging", "spec.template.spec.containers[0].startupProbe"],
      ["no-hardcoded-secrets", "mandatory", false, 22, "Deployment/inference/qwen-production", "spec.template.spec.containers[0].env[0].value"],
    ]);
    expect(Object.keys(json.violations[0]!)).toEqual(["ruleId", "enforcement", "waived", "file", "line", "objectRef", "fieldPath", "message"]);
  });

  it("exits 2 on malformed YAML, naming the file and line", async () => {
    const file = join(FIXTURES, "malformed", "broken.yaml");
    const result = await cli([join(FIXTURES, "malformed")]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:7: malformed YAML: `));
  });

  it("--json reports malformed input as an error object", async () => {
    const result = await cli([join(FIXTURES, "malformed"), "--json"]);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: "malformed-yaml", file: join(FIXTURES, "malformed", "broken.yaml"), line: 7 } });
  });

  it("exits 2 on a path that does not exist", async () => {
    const result = await cli([join(FIXTURES, "no-such-folder")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`error: ${join(FIXTURES, "no-such-folder")}: cannot read: no such file or directory\n`);
  });

  it("exits 2 on an unknown --env", async () => {
    const result = await cli([join(FIXTURES, "clean"), "--env", "prod"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --env "prod" is not an environment; allowed: development, staging, production.\n');
  });

  it("runs as a process (the compiled bin/modelfleet.js): exit code and output, no stack trace", async () => {
    const bad = await execa("node", [BIN, "check", join(FIXTURES, "malformed")], { reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/^error: .*broken\.yaml:7: malformed YAML[^\n]*\n?$/);
    const failing = await execa("node", [BIN, "check", join(FIXTURES, "violations")], { reject: false });
    expect(failing.exitCode).toBe(1);
    expect(failing.stdout).toContain(`${join(FIXTURES, "violations", "qwen.yaml")}:22  Deployment/inference/qwen-production`);
    expect(failing.stderr).toBe("");
  });
});
