/**
 * Per model, under Pulumi's mocks: which Kubernetes resources each model component registers (by environment
 * profile and by the model's own settings), that each is the child of exactly its own component (the parent the
 * engine receives in RegisterResource), and what each waits for.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readStackValues } from "../../config/load.js";
import { ROOT, runProgram, SECRET_SIG, type ProgramRun, type RegisteredResource } from "../helpers/pulumi-program.js";
import { operatorSecrets } from "../helpers/stack-values.js";

const COMPONENT = { vllm: "modelfleet:inference:VllmModel", llamacpp: "modelfleet:inference:LlamaCppModel" } as const;
const ENGINE = ["ConfigMap", "Deployment", "NetworkPolicy", "Service", "ServiceAccount"];
/** The engine's objects plus its model store (modelStore default perModel): claim, the Job's account, the Job (the script is the stack's). */
const BASE = [...ENGINE, "Job", "PersistentVolumeClaim", "ServiceAccount"];
/**
 * With `gateway.inferencePool` and a `gatewayName` (staging and production): the pool, the route to it, and the pool's
 * endpoint picker (registered as `<model>-picker-*`).
 */
const POOL = ["HTTPRoute", "InferencePool", "ConfigMap", "Deployment", "NetworkPolicy", "Role", "RoleBinding", "Service", "ServiceAccount", "ServiceMonitor"];
const kind = (r: RegisteredResource) => r.type.slice(r.type.lastIndexOf(":") + 1);
const componentUrn = (stack: string, engine: keyof typeof COMPONENT, name: string) => `urn:pulumi:${stack}::modelfleet::${COMPONENT[engine]}::${name}`;
const childrenOf = (run: ProgramRun, parentUrn: string) => run.resources.filter((r) => r.parent === parentUrn);
const kindsOf = (run: ProgramRun, parentUrn: string) => childrenOf(run, parentUrn).map(kind).sort();

/** The stack file's models, for tests that change one model's setting. */
function shippedModels(stack: string): Record<string, unknown>[] {
  const values = readStackValues(readFileSync(join(ROOT, `Pulumi.${stack}.yaml`), "utf8"), `Pulumi.${stack}.yaml`);
  return structuredClone(values["models"] as Record<string, unknown>[]);
}

describe.each([
  // stack, model → the kinds its component registers
  ["development", { "qwen3-small": BASE, "qwen25-gguf": BASE }],
  // qwen3-8b is autoscaled (minReplicas 2) in both: its ScaledObject, and a PodDisruptionBudget from the minimum.
  ["staging", { "qwen3-8b": [...BASE, ...POOL, "PodDisruptionBudget", "ScaledObject", "Secret", "ServiceMonitor"], "llama31-8b": [...BASE, ...POOL, "Secret", "ServiceMonitor"], "qwen3-small-gguf": [...BASE, ...POOL, "Secret", "ServiceMonitor"] }],
  ["production", { "qwen3-8b": [...BASE, ...POOL, "PodDisruptionBudget", "ScaledObject", "Secret", "ServiceMonitor"], "qwen25-7b": [...BASE, ...POOL, "PodDisruptionBudget", "Secret", "ServiceMonitor"] }],
] as const)("model components of the %s stack", (stack, expected) => {
  let run: ProgramRun;

  it("each model registers exactly the kinds its environment and replicas call for, all under its own component", async () => {
    run = await runProgram(stack, operatorSecrets(stack));
    expect(run.config.models.map((m) => m.name).sort()).toEqual(Object.keys(expected).sort());
    for (const model of run.config.models) {
      expect(kindsOf(run, componentUrn(stack, model.engine, model.name)), model.name).toEqual([...expected[model.name as keyof typeof expected]].sort());
    }
  });

  it("the quota, limit range and default-deny policy wait for the Namespace; every model waits for the quota", () => {
    const namespace = run.resources.find((r) => r.type === "kubernetes:core/v1:Namespace")!;
    const urnOf = (r: { type: string; name: string }) => `urn:pulumi:${stack}::modelfleet::${r.type}::${r.name}`;
    const inside = run.resources.filter((r) => r.parent === "" && ["kubernetes:core/v1:ResourceQuota", "kubernetes:core/v1:LimitRange", "kubernetes:networking.k8s.io/v1:NetworkPolicy"].includes(r.type));
    expect(inside.length).toBeGreaterThanOrEqual(2);
    for (const r of inside) expect(r.dependencies, r.name).toContain(urnOf(namespace));
    const quota = run.resources.find((r) => r.type === "kubernetes:core/v1:ResourceQuota")!;
    // A component's dependsOn reaches the engine through its children: the Deployment waits for the quota.
    for (const model of run.config.models) {
      const deployment = run.resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && r.name === `${model.name}-deployment`)!;
      expect(deployment.dependencies, model.name).toContain(urnOf(quota));
    }
  });

  it("the component itself sits at the stack's top level, and every Kubernetes resource belongs to a known owner", () => {
    const owners = new Set(["", `urn:pulumi:${stack}::modelfleet::modelfleet:registry:RegistryDatabase::registry`]);
    for (const model of run.config.models) {
      const component = run.resources.find((r) => r.type === COMPONENT[model.engine] && r.name === model.name);
      expect(component?.parent, model.name).toBe("");
      owners.add(componentUrn(stack, model.engine, model.name));
      expect(run.modelUrns.get(`${model.name}-deployment`)).toBe(`urn:pulumi:${stack}::modelfleet::${COMPONENT[model.engine]}$kubernetes:apps/v1:Deployment::${model.name}-deployment`);
    }
    for (const r of run.resources.filter((r) => r.type.startsWith("kubernetes:"))) expect(owners, r.name).toContain(r.parent);
    // At the top level: only the namespace objects (with its quota and limit range) and, where the environment
    // monitors, the alerts and dashboard.
    const topLevel = run.resources.filter((r) => r.parent === "" && r.type.startsWith("kubernetes:")).map(kind).sort();
    // The download script's ConfigMap is the stack's, next to the quota.
    expect(topLevel).toEqual(stack === "development" ? ["ConfigMap", "LimitRange", "Namespace", "ResourceQuota"] : ["ConfigMap", "ConfigMap", "LimitRange", "Namespace", "NetworkPolicy", "PrometheusRule", "ResourceQuota"]);
  });

  it("every model resource waits for the Namespace; the Deployment also for its credentials Secret and its download Job", () => {
    const namespace = run.resources.find((r) => kind(r) === "Namespace")!;
    const namespaceUrn = `urn:pulumi:${stack}::modelfleet::${namespace.type}::${namespace.name}`;
    for (const model of run.config.models) {
      const children = childrenOf(run, componentUrn(stack, model.engine, model.name));
      for (const child of children) expect(child.dependencies, child.name).toContain(namespaceUrn);
      const secret = children.find((r) => kind(r) === "Secret");
      const deployment = children.find((r) => r.name === `${model.name}-deployment`)!;
      // The pool's endpoint picker needs no weights: it does not wait for the download Job.
      const picker = children.find((r) => r.name === `${model.name}-picker-deployment`);
      if (picker) expect(picker.dependencies.filter((urn) => urn.includes(":batch/v1:Job::")), model.name).toEqual([]);
      expect(picker !== undefined, model.name).toBe(stack !== "development");
      // run.modelUrns: each model resource's own URN, as the mocked engine assigned it.
      if (secret) expect(deployment.dependencies).toContain(run.modelUrns.get(secret.name));
      // The engine starts only after its weights are in the store: it waits for the download Job.
      const job = children.find((r) => kind(r) === "Job")!;
      expect(deployment.dependencies, model.name).toContain(run.modelUrns.get(job.name));
    }
  });
});

describe("profile switches, one model setting at a time", () => {
  it("staging: a model with 2 replicas gets a PodDisruptionBudget, the others none", async () => {
    const models = shippedModels("staging");
    // qwen3-8b: a fixed 2 replicas instead of its autoscaling block.
    delete models[0]!["autoscaling"];
    models[0]!["replicas"] = 2;
    const secrets = operatorSecrets("staging");
    // One more pod than the shipped pool (1 node × 4 GPUs) holds: a second node, so only the replica count changes.
    const gpu = { pool: { nodes: 2, gpusPerNode: 4 } };
    const run = await runProgram("staging", { extra: { ...secrets.extra, models, gpu }, secretKeys: secrets.secretKeys });
    const pdbOwners = run.resources.filter((r) => kind(r) === "PodDisruptionBudget").map((r) => r.parent);
    expect(pdbOwners).toEqual([componentUrn("staging", "vllm", "qwen3-8b")]);
  });

  it("development: 2 replicas still get no PodDisruptionBudget (the profile has none)", async () => {
    const models = shippedModels("development");
    for (const model of models) model["replicas"] = 2;
    // Two GPU nodes, so the pool holds the extra pods (gpu.pool rule) and only the replica count changes.
    const run = await runProgram("development", { extra: { models, gpu: { pool: { nodes: 2, gpusPerNode: 1 } } } });
    expect(run.resources.filter((r) => kind(r) === "PodDisruptionBudget")).toEqual([]);
  });

  it("development: an hfToken (a Pulumi secret) gives every model a credentials Secret holding only the token, read by the download Job", async () => {
    const token = "hf_modelfleetDevToken0123456789abcdef";
    const run = await runProgram("development", { extra: { hfToken: token }, secretKeys: ["hfToken"] });
    for (const model of run.config.models) {
      const secret = childrenOf(run, componentUrn("development", model.engine, model.name)).find((r) => kind(r) === "Secret");
      expect(secret?.inputs["stringData"], model.name).toEqual({ [SECRET_SIG]: "1b47061264138c4ac30d75fd1eb44270", value: { "hf-token": token } });
      // The download Job reads it through a secretKeyRef, never as a literal; the engine reads the store and gets no token.
      const children = childrenOf(run, componentUrn("development", model.engine, model.name));
      const job = children.find((r) => kind(r) === "Job")!;
      const deployment = children.find((r) => kind(r) === "Deployment")!;
      expect(JSON.stringify(job.inputs)).not.toContain(token);
      expect(job.inputs["spec"].template.spec.containers[0].env).toContainEqual({
        name: "HF_TOKEN",
        valueFrom: { secretKeyRef: { key: "hf-token", name: secret!.inputs["metadata"].name } },
      });
      expect(job.dependencies).toContain(run.modelUrns.get(secret!.name));
      expect(JSON.stringify(deployment.inputs)).not.toContain(token);
      expect(JSON.stringify(deployment.inputs)).not.toContain("hf-token");
    }
  });
});
