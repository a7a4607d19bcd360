/**
 * The program as `pulumi preview` and `pulumi up` run it: Pulumi's Node runner (`@pulumi/pulumi/cmd/run`) started with
 * the language host's arguments and environment, loading what Pulumi.yaml names (the compiled build/stacks/index.js,
 * no ts-node), against a stand-in engine over Pulumi's gRPC protocol (test/program/stand-in-engine.ts). For each stack,
 * in preview and in update mode: the resources it registers (the same as under Pulumi's mocks), its stack outputs, and
 * no error. A bad stack config stops it with ONE message, within seconds.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { asRunError } from "../../stacks/pulumi-config.js";
import { configMap, runProgram, SECRET_SIG } from "../helpers/pulumi-program.js";
import { operatorSecrets } from "../helpers/stack-values.js";
import { useTempDirs } from "../helpers/temp-dir.js";
import { GENERATED_RESULT, languageHostEnv, projectEntry, ROOT, runUnderPulumi, type EngineResource, type PulumiRun } from "./stand-in-engine.js";

const tempDir = useTempDirs();

const STACK_TYPE = "pulumi:pulumi:Stack";

/** `type name (parent type)` of every resource, sorted: what the engine would show in a preview's tree. */
function tree(resources: readonly { type: string; name: string; parent: string }[], parentType: (urn: string) => string): string[] {
  return resources.map((r) => `${r.type} ${r.name} (${parentType(r.parent)})`).sort();
}
const urnType = (urn: string): string => (urn ? (urn.split("::")[2] ?? "").split("$").pop()! : "");

/** Raw occurrences of `needle` outside Pulumi's secret envelope. */
function plaintextPaths(value: unknown, needle: string, path = ""): string[] {
  if (typeof value === "string") return value.includes(needle) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plaintextPaths(v, needle, `${path}[${i}]`));
  if (value && typeof value === "object") {
    if (SECRET_SIG in value) return [];
    return Object.entries(value).flatMap(([k, v]) => plaintextPaths(v, needle, `${path}.${k}`));
  }
  return [];
}

describe("Pulumi.yaml names the compiled program", () => {
  it("main is the shim that imports build/stacks/index.js, with typescript off, so the runner registers no ts-node", () => {
    const entry = projectEntry();
    expect(entry).toEqual({ pwd: join(ROOT, "bin"), entryPoint: "pulumi-program.js", typescript: false, nodeargs: [] });
    expect(readFileSync(join(ROOT, "bin", "pulumi-program.js"), "utf8")).toContain('new URL("../build/stacks/index.js", import.meta.url)');
    expect(languageHostEnv(entry, { stack: "development", dryRun: true, config: {} })).not.toHaveProperty("PULUMI_NODEJS_TYPESCRIPT");
  });
});

describe.each([
  ["development", "modelfleet-dev", { "qwen3-small": "qwen3-small-development", "qwen25-gguf": "qwen25-gguf-development" }],
  ["staging", "modelfleet-staging", { "qwen3-8b": "qwen3-8b-staging", "llama31-8b": "llama31-8b-staging", "qwen3-small-gguf": "qwen3-small-gguf-staging" }],
  ["production", "modelfleet-prod", { "qwen3-8b": "qwen3-8b-production", "qwen25-7b": "qwen25-7b-production" }],
] as const)("%s under Pulumi's runner", (stack, namespace, services) => {
  const secrets = operatorSecrets(stack);
  let expected: string[];

  beforeAll(async () => {
    // What the same program registers under Pulumi's mocks, in this process (the reference the runs must match).
    const mocked = await runProgram(stack, secrets);
    expected = tree(mocked.resources, urnType);
  });

  // The preview and the update of a stack run side by side (two child processes; the runs dominate the suite's time).
  it.concurrent.for([
    ["preview", true],
    ["update", false],
  ] as const)("%s: registers every resource, exports the stack outputs, logs no error or warning", async ([, dryRun], { expect }) => {
    const run: PulumiRun = await runUnderPulumi({
      stack,
      dryRun,
      config: configMap(stack, secrets.extra),
      secretKeys: secrets.secretKeys.map((k) => `modelfleet:${k}`),
    });

    expect(run.logs.filter((l) => l.severity === "error" || l.severity === "warning")).toEqual([]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const [root, ...own] = run.resources;
    expect(root).toMatchObject({ type: STACK_TYPE, name: `modelfleet-${stack}`, parent: "" });
    expect(tree(own, (urn) => (urn === root!.urn ? "" : urnType(urn)))).toEqual(expected);
    expect(run.stackOutputs).toEqual({
      environment: stack,
      namespace,
      endpoints: Object.fromEntries(Object.entries(services).map(([model, svc]) => [model, `${svc}.${namespace}.svc.cluster.local:8000`])),
    });
    // The engines, not the registry's workloads or the pools' endpoint pickers (`<model>-picker-deployment`).
    const deployments = own.filter((r: EngineResource) => r.type === "kubernetes:apps/v1:Deployment" && !r.name.startsWith("registry") && !r.name.endsWith("-picker-deployment"));
    expect(deployments.map((d) => (d.inputs["metadata"] as { name: string }).name).sort()).toEqual(Object.values(services).sort());

    if (!dryRun) {
      // An update gets the generated passwords (the registry's; the engines' API key in staging and production) and
      // must keep them inside Pulumi's secret envelope wherever they are used.
      const passwords = own.filter((r) => r.type === "random:index/randomPassword:RandomPassword").map((r) => r.name);
      expect(passwords.sort()).toEqual(stack === "development" ? ["registry-password"] : ["engine-api-key", "registry-password"]);
      const holders = own.filter((r) => r.type === "kubernetes:core/v1:Secret" && JSON.stringify(r.inputs).includes(GENERATED_RESULT));
      expect(holders.length).toBeGreaterThan(0);
      expect(own.flatMap((r) => plaintextPaths(r.inputs, GENERATED_RESULT).map((p) => `${r.name}${p}`))).toEqual([]);
    }
  });
});

describe("a bad stack config under Pulumi's runner", () => {
  /** Generous for a loaded 2-core CI machine; the inspect loop this guards against took 30-600 s. */
  const BOUND_MS = 10_000;

  async function failedRun(stack: string, extra: Record<string, unknown>): Promise<{ run: PulumiRun; message: string }> {
    const run = await runUnderPulumi({ stack, dryRun: true, config: configMap(stack, extra), timeoutMs: 60_000 });
    const errors = run.logs.filter((l) => l.severity === "error");
    expect(errors).toHaveLength(1);
    // 32: the runner's "already reported to the user" exit code; the language host adds nothing.
    expect(run.exitCode).toBe(32);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("");
    // Only the Stack: nothing of the stack is registered when its config is bad.
    expect(run.resources.map((r) => r.type)).toEqual([STACK_TYPE]);
    // From the moment the runner starts the program to its exit (the inspect loop took 30-600 s here).
    expect(run.times.exit - run.times.stack!).toBeLessThan(BOUND_MS);
    return { run, message: errors[0]!.message };
  }

  it("a plaintext apiKey: one message naming file and key, without the value, no stack trace, in seconds", async () => {
    const { message } = await failedRun("staging", { apiKey: "plaintext-leak-987" });
    expect(message).toContain("Pulumi.staging.yaml: apiKey: must be a Pulumi secret, not plaintext");
    expect(message).not.toContain("plaintext-leak-987");
    expect(message).not.toMatch(/\n\s+at /);
  });

  it("every problem at once: plaintext hfToken and a wildcard origin, the token never shown", async () => {
    const token = "hf_plaintextLeak0123456789abcdefghij";
    const { run, message } = await failedRun("production", { hfToken: token, cors: { allowedOrigins: ["https://chat.example.com", "*"] } });
    expect(message).toContain("Pulumi.production.yaml: hfToken: must be a Pulumi secret");
    expect(message).toMatch(/Pulumi\.production\.yaml: cors\.allowedOrigins\[1\]: wildcard origin.*\(received "\*"\)/);
    expect(JSON.stringify(run.logs)).not.toContain("hf_plaintext");
  });
});

describe("asRunError: what the program stops with when defining the stack fails", () => {
  it("an unexpected error becomes a RunError with no stack object, its stack trace kept as text", () => {
    const cause = new TypeError("Cannot read properties of undefined (reading 'gpus')");
    const error = asRunError(cause);
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(error.stack).toBeUndefined();
    expect(error.message).toBe(`The modelfleet program failed while defining the stack's resources:\n${cause.stack}`);
  });

  it("a config error (already a stackless RunError) passes through unchanged", () => {
    const config = new pulumi.RunError("Pulumi.staging.yaml: 1 problem in the stack config: …");
    config.stack = undefined;
    expect(asRunError(config)).toBe(config);
  });
});

describe("a checkout whose build/ is missing, under Pulumi's runner", () => {
  it("stops at once with one message saying how to build, instead of the runner's minute-long inspect loop", async () => {
    const root = tempDir("modelfleet-unbuilt-");
    for (const file of ["Pulumi.yaml", "package.json", "Pulumi.development.yaml"]) copyFileSync(join(ROOT, file), join(root, file));
    mkdirSync(join(root, "bin"));
    copyFileSync(join(ROOT, "bin", "pulumi-program.js"), join(root, "bin", "pulumi-program.js"));
    symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
    const entry = projectEntry(root);
    expect(entry.entryPoint).toBe("pulumi-program.js");
    const run = await runUnderPulumi({ stack: "development", dryRun: true, config: configMap("development"), timeoutMs: 60_000, entry });
    const errors = run.logs.filter((l) => l.severity === "error");
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining("modelfleet is not built: build/stacks/index.js is missing. Fix: run `npm ci`")]);
    expect(errors[0]!.message).not.toMatch(/\n\s+at /);
    expect(run.exitCode).toBe(32);
    expect(run.times.exit - run.times.stack!).toBeLessThan(10_000);
  });
});
