import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStackFile, parseStackConfig, valuesFromPulumiConfig } from "../../config/load.js";
import { ConfigError, type ConfigProblem } from "../../config/problems.js";
import { DIGEST, llamaModel, problemsOf, SHA, stackValues, vllmModel } from "../helpers/stack-values.js";
import { useTempDirs } from "../helpers/temp-dir.js";

const tempDir = useTempDirs();

const FILE = "Pulumi.test.yaml";


describe("parseStackConfig: the shipped shape parses in every environment", () => {
  it.each(["development", "staging", "production"] as const)("%s", (env) => {
    const config = parseStackConfig(stackValues(env), FILE, "test");
    expect(config.models.map((m) => m.serviceName)).toEqual([`qwen3-${env}`, `gguf-${env}`]);
    expect(config.models[0]?.endpoint).toBe(`qwen3-${env}.llm-${env}.svc.cluster.local:8000`);
  });
});

describe("cross-field rules: each rejected with its path and exact message", () => {
  const cases: Array<[string, Record<string, unknown>, ConfigProblem]> = [
    [
      "wildcard origin",
      stackValues("development", { cors: { allowedOrigins: ["*"] } }),
      { path: "cors.allowedOrigins[0]", message: "wildcard origin lets any web page call the models with a user's browser; list explicit origins such as https://chat.example.com", received: '"*"' },
    ],
    [
      "origin with a path",
      stackValues("development", { cors: { allowedOrigins: ["https://a.example.com/app"] } }),
      { path: "cors.allowedOrigins[0]", message: "not an origin; write scheme://host[:port] with no path, e.g. https://chat.example.com", received: '"https://a.example.com/app"' },
    ],
    [
      "tag-only image in staging",
      stackValues("staging", { images: { vllm: "vllm/vllm-openai:v0.11.0", llamacpp: `x/y:1@${DIGEST}`, postgres: `postgres:16@${DIGEST}` } }),
      { path: "images.vllm", message: "tag-only reference; staging requires a digest (repo:tag@sha256:<64 hex>). Run `modelfleet pins resolve` or paste the digest", received: '"vllm/vllm-openai:v0.11.0"' },
    ],
    [
      "image without tag or digest",
      stackValues("development", { images: { vllm: "vllm/vllm-openai", llamacpp: `x/y:1@${DIGEST}`, postgres: `postgres:16@${DIGEST}` } }),
      { path: "images.vllm", message: "neither tag nor digest, so it means :latest and changes under you; pin a tag (development) or a digest", received: '"vllm/vllm-openai"' },
    ],
    [
      "model name not DNS-1035",
      stackValues("development", { models: [vllmModel({ name: "Qwen_3" })] }),
      { path: "models[0].name", message: "must be a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, ending with a letter or digit", received: '"Qwen_3"' },
    ],
    [
      "duplicate model names",
      stackValues("development", { models: [vllmModel(), vllmModel()] }),
      { path: "models[1].name", message: "duplicate of models[0].name; model names must be unique in a stack", received: '"qwen3"' },
    ],
    [
      "tensor parallel times pipeline differs from gpus",
      stackValues("development", { models: [vllmModel({ gpus: 4, vllm: { tensorParallelSize: 2 } })] }),
      { path: "models[0].vllm.tensorParallelSize", message: "tensorParallelSize × pipelineParallelSize = 2 × 1 = 2, but gpus is 4; they must be equal", received: "2" },
    ],
    [
      "gpuMemoryUtilization above 1",
      stackValues("development", { models: [vllmModel({ vllm: { gpuMemoryUtilization: 1.2 } })] }),
      { path: "models[0].vllm.gpuMemoryUtilization", message: "must be in (0, 1], the fraction of each GPU's memory vLLM may use", received: "1.2" },
    ],
    [
      "gpuMemoryUtilization of 0",
      stackValues("development", { models: [vllmModel({ vllm: { gpuMemoryUtilization: 0 } })] }),
      { path: "models[0].vllm.gpuMemoryUtilization", message: "must be in (0, 1], the fraction of each GPU's memory vLLM may use", received: "0" },
    ],
    [
      "production with one replica",
      stackValues("production", { models: [vllmModel({ replicas: 1 })] }),
      { path: "models[0].replicas", message: "production needs at least 2 replicas to survive a node drain; raise replicas or set singleReplicaAllowed: true", received: "1" },
    ],
    [
      "branch revision in production",
      stackValues("production", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: "main" } })] }),
      { path: "models[0].source.revision", message: "production requires a 40-character commit SHA; branches and tags move", received: '"main"' },
    ],
    [
      "llama.cpp without a GGUF file",
      stackValues("development", { models: [llamaModel({ source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: SHA } })] }),
      { path: "models[0].source.file", message: "llama.cpp loads one GGUF file; name it, e.g. qwen3-0.6b-q8_0.gguf" },
    ],
    [
      "vLLM without GPUs",
      stackValues("development", { models: [vllmModel({ gpus: 0 })] }),
      { path: "models[0].gpus", message: "vLLM needs at least 1 GPU; use engine llamacpp for CPU-only models", received: "0" },
    ],
    [
      "settings for the other engine",
      stackValues("development", { models: [vllmModel({ llamacpp: { ctxSize: 4096 } })] }),
      { path: "models[0].llamacpp", message: 'settings for another engine; this model has engine "vllm": move them under vllm or change engine' },
    ],
    [
      "pvc path escaping its claim",
      stackValues("development", { models: [vllmModel({ source: { pvc: "models", path: "../etc" } })] }),
      { path: "models[0].source.path", message: "must be a plain relative path inside the model's folder, e.g. models/qwen3-0.6b-q8_0.gguf; this one has a '..' segment, which leaves the model's folder", received: '"../etc"' },
    ],
    [
      "production without API key",
      stackValues("production", { requireApiKey: false }),
      { path: "requireApiKey", message: "production engines always require an API key; remove requireApiKey (a key is generated when apiKey is not set)", received: "false" },
    ],
    [
      "negative replicas",
      stackValues("development", { models: [vllmModel({ replicas: -1 })] }),
      { path: "models[0].replicas", message: "Too small: expected number to be >=0", received: "-1" },
    ],
    [
      "offline stack whose engines would download at start",
      stackValues("development", { offline: { registry: "registry.local:5000" }, modelStore: { mode: "off" } }),
      { path: "modelStore.mode", message: "off makes engines download at start, and an offline site cannot; use perModel or shared and load the files with `modelfleet bundle load --models-target`", received: '"off"' },
    ],
  ];
  it.each(cases)("%s", (_name, values, expected) => {
    expect(problemsOf(values)).toContainEqual(expected);
  });

  it("singleReplicaAllowed lifts the production replica floor", () => {
    expect(problemsOf(stackValues("production", { models: [vllmModel({ replicas: 1, singleReplicaAllowed: true })] }))).toEqual([]);
  });

  it("reports every problem at once, schema and rules together", () => {
    const problems = problemsOf(
      stackValues("staging", { cors: { allowedOrigins: ["*"] }, models: [vllmModel({ engine: "tgi" })], extra: true }),
    );
    expect(problems.map((p) => p.path).sort()).toEqual(["cors.allowedOrigins[0]", "extra", "models[0].engine"]);
    const message = new ConfigError(FILE, problems).message;
    expect(message).toContain("Pulumi.test.yaml: 3 problems in the stack config:");
    expect(message).toContain("Pulumi.test.yaml: models[0].engine: must be one of vllm, llamacpp (received \"tgi\")");
  });
});

describe("secrets", () => {
  it("rejects a plaintext secret without echoing it", () => {
    const problems = problemsOf(stackValues("development", { apiKey: "hunter2-plaintext", hfToken: "hf_abcdefghijklmnopqrstuvwxyz0123" }));
    expect(problems.map((p) => p.path)).toEqual(["hfToken", "apiKey"]);
    expect(JSON.stringify(problems)).not.toContain("hunter2");
    expect(JSON.stringify(problems)).not.toContain("hf_abc");
    expect(problems[1]?.message).toContain("pulumi config set --secret modelfleet:apiKey <value>");
  });

  it("accepts secure values and derives where the API key comes from", () => {
    const withKey = parseStackConfig(stackValues("staging", { apiKey: { secure: "v1:abc" } }), FILE, "test");
    expect(withKey.apiKey).toBe("config");
    expect(parseStackConfig(stackValues("staging"), FILE, "test").apiKey).toBe("generated");
    expect(parseStackConfig(stackValues("development"), FILE, "test").apiKey).toBe("none");
  });

  it("never echoes a nested secret given plaintext", () => {
    const problems = problemsOf(stackValues("staging", { registry: { mode: "external", url: "postgres://u:pw-leak@db:5432/r" } }));
    expect(problems).toContainEqual(expect.objectContaining({ path: "registry.url" }));
    expect(JSON.stringify(problems)).not.toContain("pw-leak");
  });

  it("reads Pulumi's config map: JSON values, secret keys become markers", () => {
    const values = valuesFromPulumiConfig(
      { "modelfleet:namespace": "123", "modelfleet:models": "[1]", "modelfleet:apiKey": "decrypted", "kubernetes:context": "x" },
      (key) => key === "modelfleet:apiKey",
    );
    expect(values).toEqual({ namespace: "123", models: [1], apiKey: { secure: "<pulumi secret>" } });
  });
});

describe("loadStackFile", () => {
  let dir = "";
  beforeAll(() => {
    dir = tempDir("modelfleet-load-");
  });

  it("names a missing file", () => {
    expect(() => loadStackFile(join(dir, "Pulumi.nope.yaml"))).toThrow(/Pulumi.nope.yaml: .*no such file/);
  });

  it("names the line of a YAML syntax error", () => {
    const file = join(dir, "Pulumi.broken.yaml");
    writeFileSync(file, "config:\n  modelfleet:environment: development\n  bad: [unclosed\n");
    expect(() => loadStackFile(file)).toThrow(/Pulumi.broken.yaml: \(top level\): not valid YAML at line \d/);
  });

  it.each(["development", "staging", "production"])("loads the shipped Pulumi.%s.yaml", (stack) => {
    const config = loadStackFile(join(import.meta.dirname, "..", "..", `Pulumi.${stack}.yaml`));
    expect(config.environment).toBe(stack);
    expect(config.models.length).toBeGreaterThan(0);
  });
});
