/**
 * Config rules read from the engine contracts (issue #10): each rejected with its path and exact message, and each
 * accepted when the stack does what the message asks.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackFile, parseStackConfig, readStackValues } from "../../config/load.js";
import { ConfigError, type ConfigProblem } from "../../config/problems.js";
import type { ResolvedVllmModel } from "../../config/types.js";
import { DIGEST, llamaModel, problemsOf, SHA, stackValues, vllmModel } from "../helpers/stack-values.js";

const FILE = "Pulumi.test.yaml";
const ROOT = join(import.meta.dirname, "..", "..");


const images = (overrides: Record<string, string>) => ({
  images: { vllm: `vllm/vllm-openai:v0.11.0@${DIGEST}`, llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@${DIGEST}`, postgres: `postgres:16-alpine@${DIGEST}`, ...overrides },
});

const GATED_MESSAGE =
  "the Hugging Face repository is gated and the stack has no hfToken, so the download would fail (401); run `pulumi config set --secret modelfleet:hfToken <token>` (GitOps: put hf-token in the <model>-<environment>-credentials Secret and set gitops.hfTokenInCredentials: true)";

describe("engine rules: each rejected with its path and exact message", () => {
  const cases: Array<[string, Record<string, unknown>, ConfigProblem]> = [
    [
      "a llama.cpp image tag with no contract",
      stackValues("staging", images({ llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda@${DIGEST}` })),
      {
        path: "images.llamacpp",
        message:
          `"ghcr.io/ggml-org/llama.cpp:server-cuda@${DIGEST}" has tag "server-cuda", and no engine contract covers it; tags with a contract: server-cuda-b11206 ` +
          "(any server-<backend>-bNNNN variant of those builds). Pin one of them (keep the @sha256 digest), or add a contract for the new release (docs/engines.md).",
      },
    ],
    [
      "a vLLM image tag with no contract",
      stackValues("development", images({ vllm: "vllm/vllm-openai:v0.9.0" })),
      {
        path: "images.vllm",
        message:
          '"vllm/vllm-openai:v0.9.0" has tag "v0.9.0", and no engine contract covers it; tags with a contract: v0.10.2, v0.11.0, v0.30.0. ' +
          "Pin one of them (keep the @sha256 digest), or add a contract for the new release (docs/engines.md).",
      },
    ],
    [
      "two CORS origins in a stack with a llama.cpp model",
      stackValues("staging", { cors: { allowedOrigins: ["https://a.example.com", "https://b.example.com"] } }),
      {
        path: "cors.allowedOrigins",
        message:
          "2 origins, but models[1] (gguf) runs llama.cpp, which writes --cors-origins verbatim into Access-Control-Allow-Origin, so only one origin works per server; keep exactly one origin, or serve the other origins through the router",
        received: '["https://a.example.com","https://b.example.com"]',
      },
    ],
    [
      "speculative decoding without a method",
      stackValues("staging", { models: [vllmModel({ vllm: { speculative: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA } } })] }),
      {
        path: "models[0].vllm.speculative.method",
        message:
          "missing; without it vLLM guesses the method from the draft's name or config and otherwise runs it as draft_model, which the pinned vLLM rejects (NotImplementedError). Set method to the kind of the draft repository: one of ngram, eagle, eagle3, medusa, mlp_speculator, deepseek_mtp",
      },
    ],
    [
      "a speculative method the pinned vLLM does not run",
      stackValues("staging", { models: [vllmModel({ vllm: { speculative: { method: "draft_model", huggingFace: "Qwen/Qwen3-0.6B", revision: SHA } } })] }),
      { path: "models[0].vllm.speculative.method", message: "must be one of ngram, eagle, eagle3, medusa, mlp_speculator, deepseek_mtp", received: '"draft_model"' },
    ],
    [
      "vLLM gguf from Hugging Face without source.file",
      stackValues("staging", { models: [vllmModel({ vllm: { quantization: "gguf" } })] }),
      {
        path: "models[0].source.file",
        message: "vLLM's GGUF loader needs one .gguf file (it loads <repo>/<file>.gguf), and none is named; name the file in the repository, e.g. qwen3-0.6b-q8_0.gguf",
      },
    ],
    [
      "vLLM gguf with a file that is not .gguf",
      stackValues("staging", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: SHA, file: "model.safetensors" }, vllm: { quantization: "gguf" } })] }),
      {
        path: "models[0].source.file",
        message: "vLLM's GGUF loader needs one .gguf file (it loads <repo>/<file>.gguf), and this is not one; name the file in the repository, e.g. qwen3-0.6b-q8_0.gguf",
        received: '"model.safetensors"',
      },
    ],
    [
      "source.file on vLLM without gguf",
      stackValues("staging", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, file: "x.gguf" } })] }),
      { path: "models[0].source.file", message: "vLLM loads the whole repository; remove file (only quantization: gguf loads one file)", received: '"x.gguf"' },
    ],
    [
      "a gated repository without hfToken",
      stackValues("staging", { models: [vllmModel({ source: { huggingFace: "meta-llama/Llama-3.1-8B-Instruct", revision: SHA, gated: true } })] }),
      { path: "models[0].source.gated", message: GATED_MESSAGE, received: "true" },
    ],
    [
      "gated on a pvc source",
      stackValues("staging", { models: [vllmModel({ source: { pvc: "models", path: "llama", gated: true } })] }),
      { path: "models[0].source", message: "revision, file and gated belong to a huggingFace source; a pvc source takes path", received: '{"pvc":"models","path":"llama","gated":true}' },
    ],
  ];
  it.each(cases)("rejects %s", (_name, values, expected) => {
    expect(problemsOf(values)).toContainEqual(expected);
  });

  it("the whole message names the file, the key and the tags that have a contract", () => {
    const error = (() => {
      try {
        parseStackConfig(stackValues("staging", images({ llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda@${DIGEST}` })), FILE, "test");
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("no error");
    })();
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain(`Pulumi.test.yaml: images.llamacpp: "ghcr.io/ggml-org/llama.cpp:server-cuda@${DIGEST}" has tag "server-cuda", and no engine contract covers it; tags with a contract: server-cuda-b11206`);
  });

  it("an image without a contract is reported next to model problems, in one pass", () => {
    const problems = problemsOf(stackValues("development", { ...images({ vllm: "vllm/vllm-openai:v0.9.0" }), models: [vllmModel({ gpus: 0 })] }));
    expect(problems.map((p) => p.path).sort()).toEqual(["images.vllm", "models[0].gpus"]);
  });
});

describe("engine rules: each accepted when the stack does what the message asks", () => {
  it.each([
    ["a llama.cpp image of another backend variant", stackValues("staging", images({ llamacpp: `ghcr.io/ggml-org/llama.cpp:server-vulkan-b11206@${DIGEST}` }))],
    ["the older pinned vLLM", stackValues("production", images({ vllm: `vllm/vllm-openai:v0.10.2@${DIGEST}` }))],
    ["two origins when every model runs vLLM", stackValues("staging", { cors: { allowedOrigins: ["https://a.example.com", "https://b.example.com"] }, models: [vllmModel()] })],
    ["one origin with a llama.cpp model", stackValues("staging", { cors: { allowedOrigins: ["https://a.example.com"] }, models: [vllmModel(), llamaModel()] })],
    ["vLLM gguf naming its .gguf file", stackValues("staging", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: SHA, file: "Qwen3-0.6B-Q8_0.gguf" }, vllm: { quantization: "gguf" } })] })],
    ["a gated repository with hfToken", stackValues("staging", { hfToken: { secure: "v1:abc" }, models: [vllmModel({ source: { huggingFace: "meta-llama/Llama-3.1-8B-Instruct", revision: SHA, gated: true } })] })],
    [
      "a gated repository whose GitOps credentials hold hf-token",
      stackValues("staging", { gitops: { repoURL: "https://git.example.com/x.git", hfTokenInCredentials: true }, models: [vllmModel({ source: { huggingFace: "meta-llama/Llama-3.1-8B-Instruct", revision: SHA, gated: true } })] }),
    ],
  ])("%s", (_name, values) => {
    expect(problemsOf(values)).toEqual([]);
  });

  it("speculative method is carried to the builder's input", () => {
    const config = parseStackConfig(stackValues("staging", { models: [vllmModel({ vllm: { speculative: { method: "eagle3", huggingFace: "yuhuili/EAGLE3-LLaMA3.1-Instruct-8B", revision: SHA } } })] }), FILE, "test");
    expect((config.models[0] as ResolvedVllmModel).vllm.speculative).toEqual({ method: "eagle3", repo: "yuhuili/EAGLE3-LLaMA3.1-Instruct-8B", revision: SHA, numSpeculativeTokens: 5 });
  });

  it("a gated source in an offline stack needs no token (its files come from the bundle into the model store)", () => {
    const problems = problemsOf(stackValues("staging", { offline: { registry: "registry.local:5000" }, models: [vllmModel({ source: { huggingFace: "meta-llama/Llama-3.1-8B-Instruct", revision: SHA, gated: true } })] }));
    expect(problems).toEqual([]);
  });

  it("hfToken wiring: by default none; with an hfToken secret or gitops.hfTokenInCredentials; never offline from the GitOps flag", () => {
    expect(parseStackConfig(stackValues("staging"), FILE, "test").hfToken).toBe(false);
    expect(parseStackConfig(stackValues("staging", { hfToken: { secure: "v1:abc" } }), FILE, "test").hfToken).toBe(true);
    const gitops = { repoURL: "https://git.example.com/x.git", hfTokenInCredentials: true };
    expect(parseStackConfig(stackValues("staging", { gitops }), FILE, "test").hfToken).toBe(true);
    const offline = stackValues("staging", { gitops, offline: { registry: "registry.local:5000" }, models: [vllmModel({ source: { pvc: "models", path: "qwen3" } })] });
    expect(parseStackConfig(offline, FILE, "test").hfToken).toBe(false);
  });

  it("the shipped staging stack marks Llama-3.1-8B-Instruct gated and satisfies the rule through its GitOps credentials", () => {
    const file = join(ROOT, "Pulumi.staging.yaml");
    const models = readStackValues(readFileSync(file, "utf8"), "Pulumi.staging.yaml")["models"] as Array<{ name: string; source: Record<string, unknown> }>;
    expect(models.find((m) => m.name === "llama31-8b")?.source["gated"]).toBe(true);
    const config = loadStackFile(file);
    expect(config.hfToken).toBe(true);
    expect(config.models.find((m) => m.name === "llama31-8b")?.source).toMatchObject({ repo: "meta-llama/Llama-3.1-8B-Instruct" });
  });
});
