import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkEngineContainer, checkMetricNames, checkModelObjects, metricNamesIn } from "../../policies/engine-contracts.js";
import {
  CONTRACTS,
  contractForImage,
  LLAMACPP_B11206,
  pathNeedsKey,
  SUPPORTED_SPECULATIVE_METHODS,
  VLLM_V0_10_2,
  VLLM_V0_11_0,
  type EngineContract,
} from "../../config/engines/index.js";
import { llamaCppContainer } from "../../components/engines/llamacpp-container.js";
import { buildModelObjects } from "../../components/engines/model-objects.js";
import { vllmContainer } from "../../components/engines/vllm-container.js";
import { buildDashboard } from "../../components/monitoring/dashboard.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { parseStackConfig, readStackValues } from "../../config/load.js";
import type { ResolvedLlamaCppModel, ResolvedVllmModel, StackConfig } from "../../config/types.js";
import { DIGEST, llamaModel, SHA, stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;

const ROOT = join(import.meta.dirname, "../..");
const SHIPPED = readdirSync(ROOT).filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f)).sort();

function shipped(file: string): StackConfig {
  const stack = file.replace(/^Pulumi\.|\.yaml$/g, "");
  return parseStackConfig(readStackValues(readFileSync(join(ROOT, file), "utf8"), file), file, stack);
}

/** The images the shipped stacks pin, so variants render for the same engine versions. */
const PINNED = {
  vllm: `vllm/vllm-openai:v0.11.0@${DIGEST}`,
  llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@${DIGEST}`,
  postgres: `postgres:16-alpine@${DIGEST}`,
};

function stack(env: "development" | "staging" | "production", overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig(stackValues(env, { images: PINNED, ...overrides }), `Pulumi.${env}.yaml`, env);
}

function renderAll(config: StackConfig): K8sObject[] {
  return config.models.flatMap((model) => buildModelObjects(model, config));
}

function engineContainerOf(objects: readonly K8sObject[]): Json {
  const deployment = objects.find((o) => o.kind === "Deployment") as Json | undefined;
  if (!deployment) throw new Error("no Deployment");
  return deployment.spec.template.spec.containers[0];
}

function settingsOf(objects: readonly K8sObject[]): Record<string, string> {
  // The engine's settings ConfigMap (`<serviceName>-settings`), not the model store's download script.
  const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-settings")) as Json | undefined;
  if (!map) throw new Error("no ConfigMap");
  return map.data;
}

const argValue = (args: readonly string[], flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
};

/** A container as rendered for llama.cpp, with its argv replaced (for hand-made cases). */
function llamaWith(args: string[], extra: Json = {}): Json {
  return { command: ["/app/llama-server"], args, env: [], ...extra };
}

function vllmWith(args: string[], extra: Json = {}): Json {
  return { command: ["vllm", "serve"], args, env: [{ name: "USER", value: "modelfleet" }], ...extra };
}

const subjects = (problems: readonly { subject: string }[]): string[] => problems.map((p) => p.subject);

describe("every shipped stack renders engine commands its pinned engines accept", () => {
  it("finds the shipped stacks", () => {
    expect(SHIPPED).toEqual(["Pulumi.development.yaml", "Pulumi.production.yaml", "Pulumi.staging.yaml"]);
  });

  it.each(SHIPPED)("%s: every image tag has a contract", (file) => {
    const config = shipped(file);
    for (const engine of ["vllm", "llamacpp"] as const) {
      expect(contractForImage(engine, config.pins[engine]), `${file} images.${engine}`).toHaveProperty("contract");
    }
  });

  it.each(SHIPPED)("%s: every model's container parses back against its contract with no problem", (file) => {
    const config = shipped(file);
    const objects = renderAll(config);
    // One engine per model (a pool's endpoint picker is a Deployment too, not an engine)
    expect(objects.filter((o) => o.kind === "Deployment" && (o as Json).metadata.labels?.["app.kubernetes.io/component"] !== "endpoint-picker")).toHaveLength(config.models.length);
    expect(checkModelObjects(objects, config.pins)).toEqual([]);
  });

  it.each(SHIPPED)("%s: dashboards query only metrics the pinned engines export", (file) => {
    const config = shipped(file);
    const text = JSON.stringify(buildDashboard(config));
    const names = metricNamesIn(text);
    expect(names.length).toBeGreaterThan(0);
    const vllm = contractForImage("vllm", config.pins.vllm);
    const llama = contractForImage("llamacpp", config.pins.llamacpp);
    if (!("contract" in vllm) || !("contract" in llama)) throw new Error("no contract");
    expect(checkMetricNames(vllm.contract, names.filter((n) => n.startsWith("vllm:")))).toEqual([]);
    expect(checkMetricNames(llama.contract, names.filter((n) => n.startsWith("llamacpp:")))).toEqual([]);
  });
});

describe("a table of variants parses back clean", () => {
  const variants: [string, StackConfig][] = [
    ["production: API key, TP 2, awq", stack("production", { models: [vllmModel({ gpus: 2, vllm: { tensorParallelSize: 2, quantization: "awq" } }), llamaModel()] })],
    ["development: no API key (readiness on /v1/models)", stack("development", { models: [vllmModel({ replicas: 1 }), llamaModel({ replicas: 1 })] })],
    ["staging: enforce eager, dtype, max len", stack("staging", { models: [vllmModel({ vllm: { enforceEager: true, dtype: "bfloat16", maxModelLen: 4096 } })] })],
    ["staging: llama.cpp on CPU with threads", stack("staging", { models: [llamaModel({ gpus: 0, llamacpp: { gpuLayers: 0, threads: 8, parallel: 3, ctxSize: 2048 } })] })],
    ["staging: models from a claim", stack("staging", { models: [vllmModel({ source: { pvc: "models", path: "qwen3" } }), llamaModel({ source: { pvc: "models", path: "gguf/q.gguf" } })] })],
    ["staging: offline site", stack("staging", { offline: { registry: "registry.site.local:5000" }, models: [vllmModel({ source: { pvc: "models", path: "qwen3" } }), llamaModel({ source: { pvc: "models", path: "gguf/q.gguf" } })] })],
    ["staging: no CORS origins", stack("staging", { cors: { allowedOrigins: [] } })],
    ["production on vLLM v0.10.2", stack("production", { images: { ...PINNED, vllm: `vllm/vllm-openai:v0.10.2@${DIGEST}` } })],
  ];

  it.each(variants)("%s", (_name, config) => {
    expect(checkModelObjects(renderAll(config), config.pins)).toEqual([]);
  });

  it("offline: llama.cpp gets --offline, a local -m and no download URL", () => {
    const config = variants[5]![1];
    const args: string[] = engineContainerOf(buildModelObjects(config.models[1]!, config)).args;
    expect(args).toContain("--offline");
    expect(argValue(args, "--model")).toBe("/models/gguf/q.gguf");
    expect(args).not.toContain("--model-url");
  });
});

describe("the parser catches what an engine would reject", () => {
  it("rejects a flag the pinned version does not have, naming it", () => {
    const problems = checkEngineContainer(LLAMACPP_B11206, llamaWith(["-m", "/cache/m.gguf", "--cors-origins", "https://a.example", "--no-cors-credentials", "--flash-attn-turbo"]));
    expect(problems).toEqual([{ subject: "--flash-attn-turbo", message: expect.stringContaining("flag --flash-attn-turbo does not exist in llamacpp b11206") }]);
  });

  it.each([
    [VLLM_V0_11_0, vllmWith(["Qwen/Qwen3-0.6B", "--allowed-origins", "[]", "--dtype", "fp7"]), "--dtype", 'value "fp7", which must be one of auto, half'],
    [VLLM_V0_11_0, vllmWith(["Qwen/Qwen3-0.6B", "--allowed-origins", "https://a.example"]), "--allowed-origins", "must be JSON"],
    [VLLM_V0_10_2, vllmWith(["Qwen/Qwen3-0.6B", "--allowed-origins", "[]", "--gpu-memory-utilization", "1.5"]), "--gpu-memory-utilization", "must be ≤ 1"],
    [LLAMACPP_B11206, llamaWith(["-m", "/cache/m.gguf", "--cors-origins", "https://a.example", "--no-cors-credentials", "--ctx-size", "8k"]), "--ctx-size", "must be an integer"],
    [LLAMACPP_B11206, llamaWith(["-m", "cache/m.gguf", "--cors-origins", "https://a.example", "--no-cors-credentials"]), "--model", "must be an absolute path"],
    [VLLM_V0_11_0, vllmWith(["Qwen/Qwen3-0.6B", "--allowed-origins", "[]", "--enforce-eager=true"]), "--enforce-eager", "is a switch and takes no value"],
    [LLAMACPP_B11206, llamaWith(["-m", "/cache/m.gguf", "--cors-origins", "https://a.example", "--no-cors-credentials", "--ctx-size=8192"]), "--ctx-size", 'written as "--ctx-size=<value>": llamacpp b11206 reads the whole token as a flag name'],
  ] as const)("rejects a wrong value format (%#: %s)", (contract: EngineContract, container: Json, subject: string, message: string) => {
    const problems = checkEngineContainer(contract, container);
    expect(subjects(problems)).toEqual([subject]);
    expect(problems[0]!.message).toContain(message);
  });

  it("an inline --api-key=<key> on llama.cpp is flagged without printing the key", () => {
    const problems = checkEngineContainer(LLAMACPP_B11206, llamaWith(["-m", "/cache/m.gguf", "--cors-origins", "https://a.example", "--no-cors-credentials", "--api-key=sk-do-not-print-9f3a"]));
    expect(subjects(problems)).toEqual(["--api-key"]);
    expect(JSON.stringify(problems)).not.toContain("sk-do-not-print-9f3a");
  });

  it("rejects a command that is not the engine's", () => {
    expect(subjects(checkEngineContainer(VLLM_V0_11_0, { ...vllmWith(["m", "--allowed-origins", "[]"]), command: ["python3", "-m", "vllm.entrypoints.openai.api_server"] }))).toContain("command");
  });

  it("an image tag with no contract is an error naming images.<engine> and the tags that have one", () => {
    expect(contractForImage("llamacpp", `ghcr.io/ggml-org/llama.cpp:server-cuda@${DIGEST}`)).toEqual({
      error:
        `images.llamacpp: "ghcr.io/ggml-org/llama.cpp:server-cuda@${DIGEST}" has tag "server-cuda", and no engine contract covers it; ` +
        "tags with a contract: server-cuda-b11206 (any server-<backend>-bNNNN variant of those builds). Pin one of them (keep the @sha256 digest), or add a contract for the new release (docs/engines.md).",
    });
    expect(contractForImage("vllm", "vllm/vllm-openai:v0.9.1")).toHaveProperty("error", expect.stringMatching(/^images\.vllm: .*tags with a contract: v0\.10\.2, v0\.11\.0, v0\.30\.0\./));
  });

  it.each([
    ["vllm", "vllm/vllm-openai:v0.10.2", "v0.10.2"],
    ["vllm", `registry.site.local:5000/vllm/vllm-openai:v0.11.0@${DIGEST}`, "v0.11.0"],
    ["llamacpp", "ghcr.io/ggml-org/llama.cpp:server-b11206", "b11206"],
    ["llamacpp", "ghcr.io/ggml-org/llama.cpp:server-vulkan-b11206", "b11206"],
  ] as const)("%s image %s → contract %s", (engine, image, version) => {
    const found = contractForImage(engine, image);
    expect("contract" in found && found.contract.version).toBe(version);
  });

  it("a metric the engine does not export is named", () => {
    expect(checkMetricNames(LLAMACPP_B11206, ["llamacpp:requests_processing", "llamacpp:kv_cache_usage_ratio"])).toEqual([
      { subject: "llamacpp:kv_cache_usage_ratio", message: expect.stringContaining("not exported by llamacpp b11206") },
    ]);
    expect(checkMetricNames(VLLM_V0_11_0, ["vllm:e2e_request_latency_seconds_bucket", "vllm:gpu_prefix_cache_hit_rate"])).toHaveLength(1);
  });

  it("checkModelObjects names the object of each problem", () => {
    const config = stack("staging", { models: [llamaModel()] });
    const objects = renderAll(config).map((o) => {
      if (o.kind !== "Deployment") return o;
      const copy = structuredClone(o) as Json;
      copy.spec.template.spec.containers[0].args = ["--model-url", "https://huggingface.co/a/b/resolve/x/m.gguf"];
      return copy as K8sObject;
    });
    const problems = checkModelObjects(objects, config.pins);
    expect(problems.map((p) => `${p.object} ${p.subject}`)).toEqual([
      "Deployment/gguf-staging --model",
      "Deployment/gguf-staging --cors-origins",
      "Deployment/gguf-staging --no-cors-credentials",
    ]);
  });
});

describe("facts from the issue's Why, one test each", () => {
  const staging = shipped("Pulumi.staging.yaml");
  const gguf = staging.models.find((m): m is ResolvedLlamaCppModel => m.engine === "llamacpp")!;
  const ggufObjects = buildModelObjects(gguf, staging);
  const ggufArgs: string[] = engineContainerOf(ggufObjects).args;

  it("llama.cpp with --model-url and no -m runs as a router: the parser flags it", () => {
    const problems = checkEngineContainer(LLAMACPP_B11206, llamaWith(["--model-url", "https://huggingface.co/a/b/resolve/x/m.gguf", "--cors-origins", "https://a.example", "--no-cors-credentials"]));
    expect(problems).toEqual([{ subject: "--model", message: expect.stringContaining("--model-url alone leaves the model path empty, llama-server b11206 starts in router mode") }]);
  });

  it("llama.cpp always gets a local -m: the file in the model store's folder of the pinned revision, and no download", () => {
    // docs: /tmp design "Paths" — /models/<owner>--<name>/<revision>/<file>, --offline, no --model-url.
    expect(argValue(ggufArgs, "--model")).toBe("/models/Qwen--Qwen3-0.6B-GGUF/23749fefcc72300e3a2ad315e1317431b06b590a/Qwen3-0.6B-Q8_0.gguf");
    expect(ggufArgs).not.toContain("--model-url");
    expect(ggufArgs).toContain("--offline");
  });

  it("llama.cpp CORS is closed: one origin from cors.allowedOrigins, credentials off", () => {
    expect(argValue(ggufArgs, "--cors-origins")).toBe("https://chat.staging.example.com");
    expect(ggufArgs).toContain("--no-cors-credentials");
    expect(settingsOf(ggufObjects)["corsOrigin"]).toBe("https://chat.staging.example.com");
  });

  it.each([
    [["-m", "/cache/m.gguf"], ["--cors-origins", "--no-cors-credentials"]],
    [["-m", "/cache/m.gguf", "--cors-origins", "*", "--no-cors-credentials"], ["--cors-origins"]],
    [["-m", "/cache/m.gguf", "--cors-origins", "https://a.example,https://b.example", "--no-cors-credentials"], ["--cors-origins"]],
    [["-m", "/cache/m.gguf", "--cors-origins", "https://a.example"], ["--no-cors-credentials"]],
  ])("llama.cpp CORS left open is flagged: %j", (args, expected) => {
    expect(subjects(checkEngineContainer(LLAMACPP_B11206, llamaWith(args)))).toEqual(expected);
  });

  it("with no allowed origin llama.cpp gets one that no page can have", () => {
    const config = stack("staging", { cors: { allowedOrigins: [] }, models: [llamaModel()] });
    expect(argValue(llamaCppContainer(config.models[0] as ResolvedLlamaCppModel, config).args, "--cors-origins")).toBe("https://no-cross-origin.invalid");
  });

  it("llama.cpp --parallel splits --ctx-size: ctxSize is per request, the flag gets ctxSize × parallel, the ConfigMap shows both", () => {
    expect(argValue(ggufArgs, "--parallel")).toBe("4");
    expect(argValue(ggufArgs, "--ctx-size")).toBe(String(8192 * 4));
    expect(settingsOf(ggufObjects)).toMatchObject({ ctxSize: "8192", ctxSizeTotal: "32768", parallel: "4" });
  });

  it("vLLM pods set USER and LOGNAME (uid 1000 has no passwd entry; getpass.getuser() needs one)", () => {
    const vllm = staging.models.find((m): m is ResolvedVllmModel => m.engine === "vllm")!;
    const env: Json[] = engineContainerOf(buildModelObjects(vllm, staging)).env;
    expect(env.filter((e) => e["name"] === "USER" || e["name"] === "LOGNAME")).toEqual([
      { name: "LOGNAME", value: "modelfleet" },
      { name: "USER", value: "modelfleet" },
    ]);
    const without = checkEngineContainer(VLLM_V0_11_0, { ...vllmWith(["Qwen/Qwen3-0.6B", "--allowed-origins", "[]"]), env: [] });
    expect(without).toEqual([{ subject: "USER/LOGNAME", message: expect.stringContaining("getpass.getuser()") }]);
  });

  it("vLLM speculative decoding with a draft and no method is flagged (it would infer draft_model: NotImplementedError)", () => {
    // The config rule (test/config/engine-rules.test.ts) rejects a missing method first; the contract check is the second guard.
    const valid = stack("staging", { models: [vllmModel({ vllm: { speculative: { method: "eagle", huggingFace: "Qwen/Qwen3-0.6B", revision: SHA } } })] });
    const model = valid.models[0] as ResolvedVllmModel;
    const { method: _method, ...noMethod } = model.vllm.speculative!;
    const config: StackConfig = { ...valid, models: [{ ...model, vllm: { ...model.vllm, speculative: noMethod } }] };
    const problems = checkModelObjects(renderAll(config), config.pins);
    expect(problems).toEqual([{ object: "Deployment/qwen3-staging", subject: "--speculative-config", message: expect.stringContaining("has no method") }]);
  });

  it.each([
    ["eagle3", []],
    ["ngram", []],
    ["draft_model", ["--speculative-config"]],
  ])("vLLM speculative method %s", (method, expected) => {
    const config = JSON.stringify({ method, model: "yuhuili/EAGLE3-LLaMA3.1-Instruct-8B", num_speculative_tokens: 3 });
    expect(subjects(checkEngineContainer(VLLM_V0_10_2, vllmWith(["m", "--allowed-origins", "[]", "--speculative-config", config])))).toEqual(expected);
  });

  it("SUPPORTED_SPECULATIVE_METHODS lists what both pinned vLLM versions run, not draft_model", () => {
    expect([...SUPPORTED_SPECULATIVE_METHODS]).toEqual(["ngram", "eagle", "eagle3", "medusa", "mlp_speculator", "deepseek_mtp"]);
    expect(VLLM_V0_10_2.speculativeMethods).toEqual(VLLM_V0_11_0.speculativeMethods);
  });

  it("vLLM quantization gguf without a .gguf file is flagged; with source.file vLLM gets <repo>/<file>", () => {
    // The config rule (test/config/engine-rules.test.ts) rejects gguf without source.file first; the contract check is the second guard.
    const valid = stack("staging", { models: [vllmModel()] });
    const plain = valid.models[0] as ResolvedVllmModel;
    const config: StackConfig = { ...valid, models: [{ ...plain, vllm: { ...plain.vllm, quantization: "gguf" } }] };
    expect(subjects(checkModelObjects(renderAll(config), config.pins))).toEqual(["--quantization"]);
    const model = config.models[0] as ResolvedVllmModel;
    // Legacy delivery (the engine downloads at start): vLLM is handed the Hub reference `<repo>/<file>`.
    const withFile: ResolvedVllmModel = {
      ...model,
      source: { kind: "huggingFace", repo: "Qwen/Qwen3-0.6B-GGUF", revision: SHA, file: "Qwen3-0.6B-Q8_0.gguf", files: ["Qwen3-0.6B-Q8_0.gguf"], optionalFiles: [] },
      delivery: { kind: "download" },
    };
    const container = vllmContainer(withFile, config);
    expect(container.args[0]).toBe("Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf");
    expect(subjects(checkEngineContainer(VLLM_V0_11_0, vllmWith([...container.args])))).toEqual([]);
  });

  it.each([
    [VLLM_V0_11_0, "/health", false],
    [VLLM_V0_11_0, "/metrics", false],
    [VLLM_V0_11_0, "/ping", false],
    [VLLM_V0_11_0, "/v1/models", true],
    [VLLM_V0_11_0, "/v1/chat/completions", true],
    [VLLM_V0_10_2, "/v1", true],
    [LLAMACPP_B11206, "/health", false],
    [LLAMACPP_B11206, "/v1/health", false],
    [LLAMACPP_B11206, "/metrics", true],
    [LLAMACPP_B11206, "/v1/models", false],
    [LLAMACPP_B11206, "/models", false],
    [LLAMACPP_B11206, "/slots", true],
    [LLAMACPP_B11206, "/v1/chat/completions", true],
    [LLAMACPP_B11206, "/completion", true],
  ] as const)("endpoint auth: %s %s needs the key: %s", (contract: EngineContract, path: string, guarded: boolean) => {
    expect(pathNeedsKey(contract, path)).toBe(guarded);
  });

  it("a probe on a path that needs the key is flagged once a key is configured, not before", () => {
    const probe = { readinessProbe: { httpGet: { path: "/v1/models" } } };
    const keyed = vllmWith(["m", "--allowed-origins", "[]"], { ...probe, env: [{ name: "USER", value: "u" }, { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "s", key: "api-key" } } }] });
    expect(checkEngineContainer(VLLM_V0_11_0, keyed)).toEqual([{ subject: "readinessProbe", message: expect.stringContaining("needs the API key in vllm v0.11.0") }]);
    expect(checkEngineContainer(VLLM_V0_11_0, vllmWith(["m", "--allowed-origins", "[]"], probe))).toEqual([]);
    const llama = llamaWith(["-m", "/m.gguf", "--cors-origins", "https://a.example", "--no-cors-credentials", "--api-key-file", "/run/k"], { livenessProbe: { httpGet: { path: "/metrics" } } });
    expect(subjects(checkEngineContainer(LLAMACPP_B11206, llama))).toEqual(["livenessProbe"]);
  });

  it("rendered probes use the contract's readiness path", () => {
    const container = engineContainerOf(ggufObjects);
    expect([container.startupProbe.httpGet.path, container.readinessProbe.httpGet.path, container.livenessProbe.httpGet.path]).toEqual(["/health", "/health", "/health"]);
    expect(LLAMACPP_B11206.readiness.ready).toBe("/health");
  });
});

describe("scaling and shutdown facts (components/scaling reads them)", () => {
  it.each(CONTRACTS.map((c) => [`${c.engine} ${c.version}`, c] as const))("%s: the queue and running gauges are metrics the engine exports", (_name, contract) => {
    expect(contract.metrics.names).toContain(contract.queueMetric);
    expect(contract.metrics.names).toContain(contract.runningMetric);
    expect(contract.queueMetric).not.toBe(contract.runningMetric);
  });

  it("vLLM scales on vllm:num_requests_waiting and exports vllm:kv_cache_usage_perc (not the deprecated gpu_cache name)", () => {
    for (const contract of CONTRACTS.filter((c) => c.engine === "vllm")) {
      expect([contract.queueMetric, contract.runningMetric]).toEqual(["vllm:num_requests_waiting", "vllm:num_requests_running"]);
      expect(contract.metrics.names).toContain("vllm:kv_cache_usage_perc");
      expect(contract.metrics.names).not.toContain("vllm:gpu_cache_usage_perc");
    }
  });

  it("llama.cpp scales on llamacpp:requests_deferred (tasks waiting for a slot)", () => {
    expect([LLAMACPP_B11206.queueMetric, LLAMACPP_B11206.runningMetric]).toEqual(["llamacpp:requests_deferred", "llamacpp:requests_processing"]);
  });

  it.each(CONTRACTS.map((c) => [`${c.engine} ${c.version}`, c] as const))("%s: SIGTERM does not drain in-flight requests (read in the source it names)", (_name, contract) => {
    expect(contract.shutdown.drainsInFlight).toBe(false);
    expect(contract.shutdown.drainSeconds).toBe(0);
    expect(contract.shutdown.exitSeconds).toBeGreaterThan(0);
    expect(contract.shutdown.source).toMatch(/@[0-9a-f]{40}/);
  });
});
