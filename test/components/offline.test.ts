import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { bundleContents } from "../../components/offline/contents.js";
import { parseStackConfig } from "../../config/load.js";
import { DIGEST, SHA, stackValues, vllmModel, llamaModel } from "../helpers/stack-values.js";
import { resolve, runProgram } from "../helpers/pulumi-program.js";

const OFFLINE = {
  offline: { registry: "registry.site.local:5000" },
  models: [vllmModel({ source: { pvc: "models", path: "qwen3" } }), llamaModel({ source: { pvc: "models", path: "gguf/q.gguf" } })],
};

describe("bundleContents: one list of what a site needs", () => {
  it("every pin with its digest and the site reference the workloads use", () => {
    const config = parseStackConfig(stackValues("staging", OFFLINE), "Pulumi.site.yaml", "site");
    const contents = bundleContents(config);
    expect(contents.images).toEqual([
      { name: "vllm", reference: `vllm/vllm-openai:v0.11.0@${DIGEST}`, repository: "vllm/vllm-openai", tag: "v0.11.0", digest: DIGEST, siteReference: `registry.site.local:5000/vllm/vllm-openai@${DIGEST}` },
      { name: "llamacpp", reference: `ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@${DIGEST}`, repository: "ggml-org/llama.cpp", tag: "server-cuda-b11206", digest: DIGEST, siteReference: `registry.site.local:5000/ggml-org/llama.cpp@${DIGEST}` },
      { name: "postgres", reference: `postgres:16-alpine@${DIGEST}`, repository: "library/postgres", tag: "16-alpine", digest: DIGEST, siteReference: `registry.site.local:5000/library/postgres@${DIGEST}` },
    ]);
    expect(contents.models).toEqual([
      { name: "qwen3", path: "qwen3" },
      { name: "gguf", path: "gguf/q.gguf" },
    ]);
  });

  it("the node runtime when a model goes through a store, the endpoint picker when pools get one", () => {
    const stored = parseStackConfig(stackValues("staging", { ...OFFLINE, models: [vllmModel()] }), "Pulumi.site.yaml", "site");
    expect(stored.models[0]!.delivery.kind).toBe("store");
    expect(bundleContents(stored).images.map((i) => i.name)).toEqual(["vllm", "llamacpp", "postgres", "node"]);
    const pools = parseStackConfig(stackValues("staging", { ...OFFLINE, gateway: { inferencePool: true } }), "Pulumi.site.yaml", "site");
    expect(bundleContents(pools).images.map((i) => [i.name, i.siteReference.split("@")[0]])).toContainEqual(["endpointPicker", "registry.site.local:5000/gateway-api-inference-extension/epp"]);
    const ownPicker = parseStackConfig(stackValues("staging", { ...OFFLINE, gateway: { inferencePool: true, endpointPicker: { name: "shared-epp" } } }), "Pulumi.site.yaml", "site");
    expect(bundleContents(ownPicker).images.map((i) => i.name)).toEqual(["vllm", "llamacpp", "postgres"]);
  });

  it("names every tag-only pin", () => {
    const config = parseStackConfig(stackValues("development", { images: { vllm: "vllm/vllm-openai:v0.11.0", llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@${DIGEST}`, postgres: "postgres:16" } }), "Pulumi.dev.yaml", "dev");
    expect(() => bundleContents(config)).toThrow("Pulumi.dev.yaml: images.vllm = vllm/vllm-openai:v0.11.0 has no digest; a bundle carries pinned images only (modelfleet pins resolve); images.postgres = postgres:16 has no digest");
    expect(SHA).toHaveLength(40);
  });
});

describe("OfflineBundle under mocks", () => {
  it("an offline stack exposes its images and model files; the workloads run the site references", async () => {
    const run = await runProgram("staging", { extra: { ...OFFLINE, models: OFFLINE.models.map((m) => ({ ...m, name: `site-${String(m["name"])}` })) } });
    expect(run.resources.filter((r) => r.type === "modelfleet:offline:OfflineBundle").map((r) => r.name)).toEqual(["offline-bundle"]);
    const images = await resolve(run.outputs.offline!.images);
    expect(images.map((i) => i.siteReference.split("@")[0])).toEqual([
      "registry.site.local:5000/vllm/vllm-openai",
      "registry.site.local:5000/ggml-org/llama.cpp",
      "registry.site.local:5000/library/postgres",
      // The staging stack publishes pools, so each has an endpoint picker the site must run too.
      "registry.site.local:5000/gateway-api-inference-extension/epp",
    ]);
    const deployed = run.resources.flatMap((r) => JSON.stringify(r.inputs).match(/"image":"[^"]+"/g) ?? []);
    expect(deployed.length).toBeGreaterThan(0);
    for (const image of deployed) expect(images.map((i) => `"image":"${i.siteReference}"`)).toContain(image);
    await pulumi.runtime.disconnect();
  });

  it("a connected stack has no OfflineBundle", async () => {
    const run = await runProgram("production");
    expect(run.outputs.offline).toBeUndefined();
  });
});
