/**
 * Config for the model store (#14) and autoscaling / gateway (#15): defaults as resolved, and each rule rejected with
 * its path and accepted once the stack does what the message asks.
 */
import { describe, expect, it } from "vitest";
import { parseStackConfig } from "../../config/load.js";
import { DEFAULT_NODE_IMAGE } from "../../config/image-ref.js";
import { DIGEST, llamaModel, problemsOf, SHA, stackValues, vllmModel } from "../helpers/stack-values.js";

const FILE = "Pulumi.test.yaml";
const OCI = `registry.example/models/qwen3@sha256:${"b".repeat(64)}`;
const paths = (values: Record<string, unknown>) => problemsOf(values).map((p) => p.path);

describe("model store delivery", () => {
  it("defaults to a per-model claim filled from the Hub: RWO for one replica, RWX for more", () => {
    const config = parseStackConfig(stackValues("development", { models: [vllmModel({ replicas: 1 }), llamaModel({ replicas: 2 })] }), FILE, "dev");
    expect(config.models[0]?.delivery).toEqual({ kind: "store", claimName: "qwen3-development-models", from: "huggingFace", sizeGiB: 4, accessMode: "ReadWriteOnce", shared: false });
    expect(config.models[1]?.delivery).toMatchObject({ kind: "store", claimName: "gguf-development-models", accessMode: "ReadWriteMany", sizeGiB: 3 });
    expect(config.images.node.reference).toBe(DEFAULT_NODE_IMAGE);
    // The cache no longer holds downloads.
    expect(config.models[0]?.cache).toEqual({ kind: "emptyDir", sizeGiB: 10 });
  });

  it("default fetch globs per engine; source.files overrides", () => {
    const config = parseStackConfig(stackValues("development", { models: [vllmModel(), llamaModel({ source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: SHA, file: "a.gguf", files: ["a.gguf", "README.md"] } })] }), FILE, "dev");
    const [vllm, llama] = config.models;
    expect(vllm?.source.kind === "huggingFace" && [vllm.source.files, vllm.source.optionalFiles]).toEqual([["/*.json", "/*.safetensors"], ["/*.txt", "/*.model", "/*.tiktoken", "/*.jinja", "/*.py"]]);
    expect(llama?.source.kind === "huggingFace" && [llama.source.files, llama.source.optionalFiles]).toEqual([["a.gguf", "README.md"], []]);
  });

  it("shared mode: one claim named for the environment, sized to the sum of the models", () => {
    const config = parseStackConfig(stackValues("staging", { modelStore: { mode: "shared", storageClassName: "cephfs" } }), FILE, "staging");
    for (const m of config.models) expect(m.delivery).toMatchObject({ kind: "store", claimName: "modelfleet-models-staging", shared: true, accessMode: "ReadWriteMany", sizeGiB: 7, storageClassName: "cephfs" });
  });

  it("oci pins: pulled by the Job before Kubernetes 1.35, an image volume from 1.35, mirrored in an offline stack", () => {
    const model = vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, oci: OCI } });
    const old = parseStackConfig(stackValues("production", { models: [model] }), FILE, "prod");
    expect(old.models[0]?.delivery).toMatchObject({ kind: "store", from: "oci", oci: { reference: OCI } });
    const current = parseStackConfig(stackValues("production", { kubernetesVersion: "1.35", models: [model] }), FILE, "prod");
    expect(current.models[0]?.delivery).toEqual({ kind: "imageVolume", reference: OCI });
    const optedOut = parseStackConfig(stackValues("production", { kubernetesVersion: "1.35", modelStore: { imageVolumes: false }, models: [model] }), FILE, "prod");
    expect(optedOut.models[0]?.delivery.kind).toBe("store");
    const offline = parseStackConfig(stackValues("production", { kubernetesVersion: "1.35", offline: { registry: "registry.local:5000" }, models: [model] }), FILE, "prod");
    expect(offline.models[0]?.delivery).toEqual({ kind: "imageVolume", reference: `registry.local:5000/models/qwen3@sha256:${"b".repeat(64)}` });
  });

  it("an offline stack's Hugging Face model comes from the bundle; mode off downloads at start", () => {
    const offline = parseStackConfig(stackValues("staging", { offline: { registry: "registry.local:5000" } }), FILE, "site");
    expect(offline.models.map((m) => m.delivery.kind === "store" && m.delivery.from)).toEqual(["bundle", "bundle"]);
    expect(offline.images.node.reference).toBe(`registry.local:5000/library/node@${DEFAULT_NODE_IMAGE.split("@")[1]}`);
    const off = parseStackConfig(stackValues("development", { modelStore: { mode: "off" } }), FILE, "dev");
    expect(off.models.map((m) => m.delivery.kind)).toEqual(["download", "download"]);
  });

  it.each([
    ["a tag-only oci pin in staging", stackValues("staging", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, oci: "registry.example/models/qwen3:v1" } })] }), "models[0].source.oci"],
    ["an oci pin that is not a reference", stackValues("development", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, oci: "not a ref" } })] }), "models[0].source.oci"],
    ["oci with a branch revision", stackValues("development", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: "main", oci: OCI } })] }), "models[0].source.revision"],
    ["a branch revision with the store", stackValues("development", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: "main" } })] }), "models[0].source.revision"],
    ["oci on a pvc source", stackValues("development", { models: [vllmModel({ source: { pvc: "weights", path: "qwen3", oci: OCI } })] }), "models[0].source"],
    ["a pvc source in production", stackValues("production", { models: [vllmModel({ source: { pvc: "weights", path: "qwen3" } })] }), "models[0].source.pvc"],
    ["RWO for a model with 2 replicas", stackValues("development", { modelStore: { accessMode: "ReadWriteOnce" } }), "modelStore.accessMode"],
    ["RWO for the shared claim", stackValues("development", { modelStore: { mode: "shared", accessMode: "ReadWriteOnce" } }), "modelStore.accessMode"],
    [
      "a draft model next to an image volume",
      stackValues("production", { kubernetesVersion: "1.35", models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, oci: OCI }, vllm: { speculative: { method: "eagle3", huggingFace: "org/draft", revision: SHA } } })] }),
      "models[0].vllm.speculative",
    ],
    ["sizeGiB without shared", stackValues("development", { modelStore: { sizeGiB: 100 } }), "modelStore.sizeGiB"],
    ["a Kubernetes older than cdk8s-plus-28", stackValues("development", { kubernetesVersion: "1.27" }), "kubernetesVersion"],
    ["an unquoted-looking Kubernetes version", stackValues("development", { kubernetesVersion: "1.3.0" }), "kubernetesVersion"],
  ])("%s is rejected", (_name, values, path) => {
    expect(paths(values)).toContain(path);
  });

  it("the fixes those messages ask for are accepted", () => {
    expect(problemsOf(stackValues("staging", { models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: SHA, oci: OCI } })] }))).toEqual([]);
    expect(problemsOf(stackValues("development", { modelStore: { mode: "off" }, models: [vllmModel({ source: { huggingFace: "Qwen/Qwen3-0.6B", revision: "main" } })] }))).toEqual([]);
    expect(problemsOf(stackValues("development", { modelStore: { accessMode: "ReadWriteOnce" }, models: [vllmModel({ replicas: 1 })] }))).toEqual([]);
    expect(problemsOf(stackValues("development", { kubernetesVersion: "1.28", modelStore: { mode: "shared", sizeGiB: 100 } }))).toEqual([]);
  });
});

describe("autoscaling and gateway", () => {
  const scaled = (autoscaling: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const { replicas: _replicas, ...model } = vllmModel({ autoscaling, ...extra });
    return model;
  };

  it("resolves bounds with the default scale-down delay; replicas is the minimum", () => {
    const config = parseStackConfig(stackValues("production", { models: [scaled({ minReplicas: 2, maxReplicas: 4, targetQueueDepth: 4 })] }), FILE, "prod");
    expect(config.models[0]?.replicas).toBe(2);
    expect(config.models[0]?.autoscaling).toEqual({ minReplicas: 2, maxReplicas: 4, targetQueueDepth: 4, scaleDownDelaySeconds: 600 });
    expect(config.scaling).toEqual({ autoscaler: "keda", prometheusUrl: "http://prometheus-operated.monitoring.svc:9090" });
    expect(config.kubernetesVersion).toEqual({ major: 1, minor: 28 });
  });

  it.each([
    ["replicas next to autoscaling", stackValues("development", { models: [vllmModel({ autoscaling: { minReplicas: 1, maxReplicas: 2, targetQueueDepth: 4 } })] }), "models[0].replicas"],
    ["max below min", stackValues("development", { models: [scaled({ minReplicas: 3, maxReplicas: 2, targetQueueDepth: 4 })] }), "models[0].autoscaling.maxReplicas"],
    ["production minReplicas 1", stackValues("production", { models: [scaled({ minReplicas: 1, maxReplicas: 2, targetQueueDepth: 4 })] }), "models[0].autoscaling.minReplicas"],
    ["gateway settings with inferencePool false", stackValues("development", { gateway: { inferencePool: false, gatewayName: "gw" } }), "gateway.inferencePool"],
    ["a Prometheus URL with credentials", stackValues("development", { scaling: { prometheusUrl: "http://admin:pw@prom:9090" } }), "scaling.prometheusUrl"],
  ])("%s is rejected", (_name, values, path) => {
    expect(paths(values)).toContain(path);
  });

  it("capacity counts maxReplicas: a pool that holds the minimum but not the maximum is refused", () => {
    const pool = { gpu: { pool: { nodes: 1, gpusPerNode: 2 } } };
    expect(paths(stackValues("development", { ...pool, models: [scaled({ minReplicas: 1, maxReplicas: 3, targetQueueDepth: 4 })] }))).toContain("gpu.pool");
    expect(problemsOf(stackValues("development", { ...pool, models: [scaled({ minReplicas: 1, maxReplicas: 2, targetQueueDepth: 4 })] }))).toEqual([]);
  });

  it("gateway defaults: the stack namespace, a picker deployed per pool unless one is named", () => {
    const config = parseStackConfig(stackValues("staging", { gateway: { inferencePool: true, gatewayName: "inference", endpointPicker: { name: "epp" } } }), FILE, "staging");
    expect(config.gateway).toEqual({ gatewayName: "inference", gatewayNamespace: "llm-staging", endpointPicker: { deploy: false, name: "epp", port: 9002 } });
    const deployed = parseStackConfig(stackValues("staging", { gateway: { inferencePool: true } }), FILE, "staging");
    expect(deployed.gateway).toEqual({ gatewayNamespace: "llm-staging", endpointPicker: { deploy: true, cpu: 4, memoryGiB: 8 } });
    expect(parseStackConfig(stackValues("staging"), FILE, "staging").gateway).toBeUndefined();
  });

  it("images.node is pinned like the others", () => {
    expect(paths(stackValues("staging", { images: { vllm: `vllm/vllm-openai:v0.11.0@${DIGEST}`, llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@${DIGEST}`, postgres: `postgres:16-alpine@${DIGEST}`, node: "node:22-alpine" } }))).toContain("images.node");
  });
});
