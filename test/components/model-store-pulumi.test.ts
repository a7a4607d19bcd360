/**
 * The model components' wiring under Pulumi's mocks: the store's resources, what the Deployment waits for, and the
 * options Pulumi needs to not fight the autoscaler or give up on a long download. Reads what mocks do not pass on
 * (ignoreChanges, custom timeouts, dependencies) from the RegisterResource requests themselves.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaCppModel } from "../../components/engines/llamacpp-model.js";
import { VllmModel } from "../../components/engines/vllm-model.js";
import { parseStackConfig } from "../../config/load.js";
import type { ResolvedLlamaCppModel, ResolvedVllmModel } from "../../config/types.js";
import { installMocks, resolve } from "../helpers/pulumi-program.js";
import { llamaModel, SHA, stackValues, vllmModel } from "../helpers/stack-values.js";

interface Registration {
  readonly type: string;
  readonly name: string;
  readonly parent: string;
  readonly dependencies: string[];
  readonly ignoreChanges: string[];
  readonly timeouts?: { create: string; update: string };
  urn?: string;
}

const DRAFT = { method: "eagle", huggingFace: "Org/Draft-0.1B", revision: "0d51c1e7e7f2a3b1f3a5b6c7d8e9f0a1b2c3d4e5", numSpeculativeTokens: 3 };

describe("model components with a model store", () => {
  const registrations: Registration[] = [];
  const urns = new Map<string, string>();
  let captured: Awaited<ReturnType<typeof installMocks>> = [];

  beforeAll(async () => {
    captured = await installMocks("development");
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, callback: unknown): Promise<void> };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: unknown) => {
      const timeouts = req.getCustomtimeouts();
      registrations.push({
        type: req.getType(),
        name: req.getName(),
        parent: req.getParent(),
        dependencies: req.getDependenciesList(),
        ignoreChanges: req.getIgnorechangesList(),
        ...(timeouts ? { timeouts: { create: timeouts.getCreate(), update: timeouts.getUpdate() } } : {}),
      });
      return register(req, callback);
    };
    const config = parseStackConfig(
      stackValues("production", {
        gpu: { pool: { nodes: 1, gpusPerNode: 8 } },
        models: [
          vllmModel({ replicas: undefined, autoscaling: { minReplicas: 2, maxReplicas: 4, targetQueueDepth: 4 }, vllm: { speculative: DRAFT } }),
          llamaModel({ source: { huggingFace: "Qwen/Qwen3-0.6B-GGUF", revision: SHA, file: "Qwen3-0.6B-Q8_0.gguf" } }),
        ],
      }),
      "Pulumi.production.yaml",
      "production",
    );
    const [vllm, llama] = config.models;
    const a = new VllmModel("qwen3", { model: vllm as ResolvedVllmModel, stack: config, apiKey: "key-for-mocks" });
    const b = new LlamaCppModel("gguf", { model: llama as ResolvedLlamaCppModel, stack: config, apiKey: "key-for-mocks" });
    for (const component of [a, b]) {
      for (const resource of component.resources.values()) {
        const urn = await resolve(resource.urn);
        urns.set(urn.slice(urn.lastIndexOf("::") + 2), urn);
      }
    }
    await pulumi.runtime.disconnect();
  });

  const named = (name: string): Registration => {
    const found = registrations.find((r) => r.name === name);
    if (!found) throw new Error(`no resource ${name}; registered: ${registrations.map((r) => r.name).join(", ")}`);
    return found;
  };

  it("the store's resources have their own names, so the engine's resource names (URNs) stay as they were", () => {
    const names = registrations.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("qwen3")).map((r) => `${r.type.split(":").pop()}:${r.name}`).sort();
    expect(names).toEqual(
      [
        "ConfigMap:qwen3-config-map",
        "Deployment:qwen3-deployment",
        "Job:qwen3-fetch-draft-job",
        "Job:qwen3-fetch-job",
        "NetworkPolicy:qwen3-network-policy",
        "PersistentVolumeClaim:qwen3-store-persistent-volume-claim",
        "PodDisruptionBudget:qwen3-pod-disruption-budget",
        "ScaledObject:qwen3-scaled-object",
        "Secret:qwen3-credentials",
        "Service:qwen3-service",
        "ServiceAccount:qwen3-service-account",
        "ServiceAccount:qwen3-store-service-account",
        "ServiceMonitor:qwen3-service-monitor",
      ].sort(),
    );
    for (const r of registrations.filter((x) => x.type.startsWith("kubernetes:") && x.name.startsWith("qwen3"))) {
      expect(r.parent, r.name).toBe("urn:pulumi:development::modelfleet::modelfleet:inference:VllmModel::qwen3");
    }
  });

  it("the Deployment waits for every download Job of its model (the draft's too)", () => {
    const deps = named("qwen3-deployment").dependencies;
    expect(deps).toContain(urns.get("qwen3-fetch-job"));
    expect(deps).toContain(urns.get("qwen3-fetch-draft-job"));
    expect(named("gguf-deployment").dependencies).toContain(urns.get("gguf-fetch-job"));
    expect(named("gguf-deployment").dependencies).not.toContain(urns.get("qwen3-fetch-job"));
  });

  it("a Job waits for its ServiceAccount and Secret, but not for the claim its own pod binds (the script is the stack's, waited for with the namespace)", () => {
    const deps = named("qwen3-fetch-job").dependencies;
    expect(deps).toEqual(expect.arrayContaining([urns.get("qwen3-store-service-account"), urns.get("qwen3-credentials")]));
    expect(deps).not.toContain(urns.get("qwen3-store-persistent-volume-claim"));
  });

  it("Pulumi waits for a Job as long as its deadline allows, not the provider's 10 minutes", () => {
    const job = named("qwen3-fetch-job");
    expect(job.timeouts).toEqual({ create: "44m", update: "44m" });
  });

  it("an autoscaled Deployment starts at minReplicas and Pulumi ignores later replica changes; a fixed one does not", () => {
    expect(named("qwen3-deployment").ignoreChanges).toEqual(["spec.replicas"]);
    expect(named("gguf-deployment").ignoreChanges).toEqual([]);
    expect(named("qwen3-fetch-job").ignoreChanges).toEqual([]);
    const inputs = captured.find((r) => r.name === "qwen3-deployment")?.inputs;
    expect(inputs?.["spec"].replicas).toBe(2);
  });
});
