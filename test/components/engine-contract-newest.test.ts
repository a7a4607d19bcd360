/**
 * The newest engine releases the contracts cover (issue #10, "add contracts for … the newest releases"), and where
 * every contract says its facts came from.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildModelObjects } from "../../components/engines/model-objects.js";
import { CONTRACTS, contractForImage, NEWEST_CONTRACT, pathNeedsKey, VLLM_V0_11_0, VLLM_V0_30_0 } from "../../config/engines/index.js";
import { parseStackConfig, readStackValues } from "../../config/load.js";
import type { StackConfig } from "../../config/types.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { checkEngineContainer, checkModelObjects } from "../../policies/engine-contracts.js";
import { DIGEST, llamaModel, stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;

const ROOT = join(import.meta.dirname, "../..");
const SHIPPED = readdirSync(ROOT).filter((f) => /^Pulumi\.[\w-]+\.yaml$/.test(f)).sort();

/** The newest tag per engine, written as a stack pins it. */
const NEWEST_IMAGES = {
  vllm: `vllm/vllm-openai:${NEWEST_CONTRACT.vllm.version}@${DIGEST}`,
  llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda-${NEWEST_CONTRACT.llamacpp.version}@${DIGEST}`,
};

/** A shipped stack file with its engine images re-pinned to the newest tags (everything else as shipped). */
function shippedOnNewest(file: string): StackConfig {
  const stack = file.replace(/^Pulumi\.|\.yaml$/g, "");
  const values = readStackValues(readFileSync(join(ROOT, file), "utf8"), file);
  const images = { ...(values["images"] as Record<string, string>), ...NEWEST_IMAGES };
  return parseStackConfig({ ...values, images }, file, stack);
}

const renderAll = (config: StackConfig): K8sObject[] => config.models.flatMap((model) => buildModelObjects(model, config));

function settingsOf(objects: readonly K8sObject[]): Record<string, string>[] {
  return objects.filter((o) => o.kind === "ConfigMap" && (o as Json)["data"]?.["engineVersion"] !== undefined).map((o) => (o as Json)["data"]);
}

describe("the newest releases have contracts", () => {
  it("the newest contract of each engine is the last one registered, and a stack may pin it", () => {
    for (const engine of ["vllm", "llamacpp"] as const) {
      expect(CONTRACTS.filter((c) => c.engine === engine).at(-1)).toBe(NEWEST_CONTRACT[engine]);
      expect(contractForImage(engine, NEWEST_IMAGES[engine])).toEqual({ contract: NEWEST_CONTRACT[engine] });
    }
    expect(NEWEST_CONTRACT.vllm).toBe(VLLM_V0_30_0);
    expect(parseStackConfig(stackValues("production", { images: { ...NEWEST_IMAGES, postgres: `postgres:16-alpine@${DIGEST}` } }), "Pulumi.production.yaml", "production").pins.vllm.tag).toBe("v0.30.0");
  });

  it.each(SHIPPED)("%s re-pinned to the newest tags: every model renders for the newest contract and parses back clean", (file) => {
    const config = shippedOnNewest(file);
    const objects = renderAll(config);
    // One engine per model (a pool's endpoint picker is a Deployment too, not an engine)
    expect(objects.filter((o) => o.kind === "Deployment" && (o as Json).metadata.labels?.["app.kubernetes.io/component"] !== "endpoint-picker")).toHaveLength(config.models.length);
    expect(checkModelObjects(objects, config.pins)).toEqual([]);
    for (const settings of settingsOf(objects)) {
      expect(settings["engineVersion"]).toBe(NEWEST_CONTRACT[settings["engine"] as "vllm" | "llamacpp"].version);
    }
  });

  it("a variant with an API key, tensor parallel and speculative decoding parses back clean on the newest tags", () => {
    const config = parseStackConfig(
      stackValues("production", {
        images: { ...NEWEST_IMAGES, postgres: `postgres:16-alpine@${DIGEST}` },
        models: [
          vllmModel({ gpus: 2, vllm: { tensorParallelSize: 2, quantization: "awq", speculative: { method: "ngram", huggingFace: "Qwen/Qwen3-0.6B", revision: "c1899de289a04d12100db370d81485cdf75e47ca" } } }),
          llamaModel({ llamacpp: { parallel: 2, ctxSize: 4096 } }),
        ],
      }),
      "Pulumi.production.yaml",
      "production",
    );
    expect(checkModelObjects(renderAll(config), config.pins)).toEqual([]);
  });
});

describe("vLLM v0.30.0 differs from v0.11.0 in what the key guards", () => {
  it.each([
    ["/v1/models", true, true],
    ["/v2/models", true, false],
    ["/inference/v1/generate", true, false],
    ["/invocations", false, false],
    ["/health", false, false],
    ["/metrics", false, false],
  ] as const)("%s needs the key: v0.30.0 %s, v0.11.0 %s", (path, newest, older) => {
    expect(pathNeedsKey(VLLM_V0_30_0, path)).toBe(newest);
    expect(pathNeedsKey(VLLM_V0_11_0, path)).toBe(older);
  });

  it("a probe on /v2 with a key configured is flagged on v0.30.0 only", () => {
    const container = {
      command: ["vllm", "serve"],
      args: ["m", "--allowed-origins", "[]"],
      env: [{ name: "USER", value: "u" }, { name: "VLLM_API_KEY", valueFrom: { secretKeyRef: { name: "s", key: "api-key" } } }],
      readinessProbe: { httpGet: { path: "/v2/health" } },
    };
    expect(checkEngineContainer(VLLM_V0_30_0, container)).toEqual([{ subject: "readinessProbe", message: expect.stringContaining("needs the API key in vllm v0.30.0") }]);
    expect(checkEngineContainer(VLLM_V0_11_0, container)).toEqual([]);
  });
});

describe("every contract says where its facts came from", () => {
  it.each(CONTRACTS.map((c) => [`${c.engine} ${c.version}`, c] as const))("%s: source names a repository and at least one file@commit", (_name, contract) => {
    const repository = contract.engine === "vllm" ? "github.com/vllm-project/vllm" : "github.com/ggml-org/llama.cpp";
    expect(contract.source).toContain(repository);
    expect(contract.source).toMatch(/[\w./-]+\.(?:py|cpp|h)@[0-9a-f]{40}\b/);
  });

  it("each contract module's header comment names file@commit for the facts it re-read", () => {
    for (const file of ["llamacpp-b11206.ts", "vllm-common.ts", "vllm-v0.30.0.ts"]) {
      const text = readFileSync(join(ROOT, "config/engines", file), "utf8");
      expect(text.match(/[\w/-]+\.(?:py|cpp|h)@[0-9a-f]{40}/g)?.length ?? 0, file).toBeGreaterThanOrEqual(2);
    }
  });
});
