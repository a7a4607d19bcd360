/**
 * stacks/index.ts, the module `pulumi up` loads, for each stack under Pulumi's mocks: what it exports, and how a bad
 * stack config stops it (a RunError listing every problem with file and key, never a secret's value). Each import
 * re-runs the module: vi.resetModules() drops it (and the project's other modules) from the cache, while
 * @pulumi/pulumi, loaded by Node itself, keeps the mocks installed for that stack.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { installMocks, type RegisteredResource } from "../helpers/pulumi-program.js";
import { operatorSecrets } from "../helpers/stack-values.js";

type Entry = typeof import("../../stacks/index.js");

async function loadEntry(): Promise<Entry> {
  vi.resetModules();
  return import("../../stacks/index.js");
}

/** The rejection of loading the entry point, which must happen. */
async function entryError(): Promise<Error> {
  const outcome = await loadEntry().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

afterEach(async () => {
  await pulumi.runtime.disconnect();
});

describe.each([
  ["development", "modelfleet-dev", { "qwen3-small": "qwen3-small-development", "qwen25-gguf": "qwen25-gguf-development" }],
  ["staging", "modelfleet-staging", { "qwen3-8b": "qwen3-8b-staging", "llama31-8b": "llama31-8b-staging", "qwen3-small-gguf": "qwen3-small-gguf-staging" }],
  ["production", "modelfleet-prod", { "qwen3-8b": "qwen3-8b-production", "qwen25-7b": "qwen25-7b-production" }],
] as const)("stacks/index.ts for %s", (stack, namespace, services) => {
  it("exports environment, namespace and one endpoint per model; registers the model components", async () => {
    const registered: RegisteredResource[] = await installMocks(stack, operatorSecrets(stack));
    const entry = await loadEntry();
    expect(entry.environment).toBe(stack);
    expect(entry.namespace).toBe(namespace);
    expect(entry.endpoints).toEqual(Object.fromEntries(Object.entries(services).map(([model, svc]) => [model, `${svc}.${namespace}.svc.cluster.local:8000`])));
    expect(entry.offlineImages).toBeUndefined();
    await pulumi.runtime.disconnect();
    const components = registered.filter((r) => r.type.startsWith("modelfleet:inference:")).map((r) => r.name);
    expect(components.sort()).toEqual(Object.keys(services).sort());
  });
});

describe("stacks/index.ts with a bad stack config", () => {
  it("a plaintext apiKey: RunError naming file and key, without the value", async () => {
    await installMocks("staging", { extra: { apiKey: "plaintext-leak-987" } });
    const error = await entryError();
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(error.message).toContain("Pulumi.staging.yaml: apiKey: must be a Pulumi secret, not plaintext");
    expect(error.message).not.toContain("plaintext-leak-987");
  });

  it("every problem at once: plaintext hfToken and a wildcard origin, the token never shown", async () => {
    const token = "hf_plaintextLeak0123456789abcdefghij";
    await installMocks("production", { extra: { hfToken: token, cors: { allowedOrigins: ["https://chat.example.com", "*"] } } });
    const error = await entryError();
    expect(pulumi.RunError.isInstance(error)).toBe(true);
    expect(error.message).toContain("Pulumi.production.yaml: hfToken: must be a Pulumi secret");
    expect(error.message).toMatch(/Pulumi\.production\.yaml: cors\.allowedOrigins\[1\]: wildcard origin.*\(received "\*"\)/);
    expect(error.message).not.toContain(token);
    expect(error.message).not.toContain("hf_plaintext");
  });

  it("registers nothing when the config is bad", async () => {
    const registered = await installMocks("production", { extra: { cors: { allowedOrigins: ["*"] } } });
    await entryError();
    await pulumi.runtime.disconnect();
    expect(registered).toEqual([]);
  });
});
