/**
 * Stack config values for tests: a valid `modelfleet:` map per environment, to be changed one key at a time so each
 * test shows exactly which input breaks which rule.
 */
import type { Environment } from "../../config/environments.js";
import { parseStackConfig } from "../../config/load.js";
import { ConfigError, type ConfigProblem } from "../../config/problems.js";
import type { ResolvedModel, StackConfig } from "../../config/types.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";

export const DIGEST = `sha256:${"a".repeat(64)}`;
export const SHA = "c1899de289a04d12100db370d81485cdf75e47ca";

export function vllmModel(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "qwen3",
    engine: "vllm",
    source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA },
    sizeBillions: 0.6,
    gpus: 1,
    replicas: 2,
    ...overrides,
  };
}

export function llamaModel(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "gguf",
    engine: "llamacpp",
    source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: SHA, file: "Qwen3-0.6B-Q8_0.gguf" },
    sizeBillions: 0.6,
    gpus: 1,
    replicas: 2,
    ...overrides,
  };
}

export function stackValues(environment: Environment, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    environment,
    namespace: `llm-${environment}`,
    images: {
      vllm: `vllm/vllm-openai:v0.11.0@${DIGEST}`,
      llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@${DIGEST}`,
      postgres: `postgres:16-alpine@${DIGEST}`,
    },
    cors: { allowedOrigins: ["https://chat.example.com"] },
    models: [vllmModel(), llamaModel()],
    ...overrides,
  };
}

/**
 * The secrets an operator sets with `pulumi config set --secret` before `pulumi up` of a shipped stack, as the mocks
 * take them: staging's gated model (Pulumi.staging.yaml, `gated: true`) needs `hfToken`, which no stack file holds.
 */
export function operatorSecrets(stack: string): { extra: Record<string, unknown>; secretKeys: string[] } {
  return stack === "staging" ? { extra: { hfToken: "hf-operator-token-for-mocks" }, secretKeys: ["hfToken"] } : { extra: {}, secretKeys: [] };
}

/** Every problem `parseStackConfig` reports for `values` (none when they parse), as the tests of each rule read them. */
export function problemsOf(values: Record<string, unknown>, file = "Pulumi.test.yaml"): ConfigProblem[] {
  try {
    parseStackConfig(values, file, "test");
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

/** `stackValues(env, overrides)` parsed as `Pulumi.<env>.yaml` (throws ConfigError when a rule refuses them). */
export function parsedStack(env: Environment, overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig(stackValues(env, overrides), `Pulumi.${env}.yaml`, env);
}

/** The stack's model named `name`; throws when there is none. */
export function modelNamed(config: StackConfig, name: string): ResolvedModel {
  const found = config.models.find((m) => m.name === name);
  if (!found) throw new Error(`no model ${name}`);
  return found;
}

/** The first object of `kind`, as loose JSON for assertions; throws when there is none. */
export function objectOfKind(objects: readonly K8sObject[], kind: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const obj = objects.find((o) => o.kind === kind);
  if (!obj) throw new Error(`no ${kind}`);
  return obj as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}
