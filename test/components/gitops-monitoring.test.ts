import { describe, expect, it } from "vitest";
import { APPLICATION_FILE, buildArgoApplication, buildKustomization } from "../../components/gitops/argo-application.js";
import { buildDashboard, buildDashboardConfigMap } from "../../components/monitoring/dashboard.js";
import { buildPrometheusRules } from "../../components/monitoring/prometheus-rules.js";
import { parseStackConfig } from "../../config/load.js";
import type { StackConfig } from "../../config/types.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { validateObjects } from "../../synth/validate.js";
import { llamaModel, stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;
const GITOPS = { repoURL: "https://git.example.com/platform/modelfleet.git", targetRevision: "main" };

function stack(env: "development" | "staging" | "production", overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig(stackValues(env, { gitops: GITOPS, ...overrides }), `Pulumi.${env}.yaml`, env);
}

describe("Argo CD Application", () => {
  it.each([
    ["development", { automated: { prune: true, selfHeal: true }, syncOptions: ["ServerSideApply=true"] }],
    ["staging", { automated: { prune: true, selfHeal: true }, syncOptions: ["ServerSideApply=true"] }],
    ["production", { syncOptions: ["ServerSideApply=true"] }],
  ] as const)("%s: sync policy", (env, syncPolicy) => {
    const [app] = buildArgoApplication(stack(env)) as Json[];
    expect(app!.spec.syncPolicy).toEqual(syncPolicy);
    expect(app!.spec.source).toEqual({ repoURL: GITOPS.repoURL, targetRevision: "main", path: `dist/${env}` });
    expect(app!.spec.destination).toEqual({ server: "https://kubernetes.default.svc", namespace: `llm-${env}` });
    expect(validateObjects([app as K8sObject])).toEqual([]);
  });

  it("is not written without gitops.repoURL", () => {
    expect(buildArgoApplication(parseStackConfig(stackValues("staging"), "Pulumi.staging.yaml", "staging"))).toEqual([]);
  });

  it("a bad repoURL is a config error naming the key", () => {
    expect(() => stack("staging", { gitops: { repoURL: "not a url" } })).toThrow(/gitops\.repoURL: must be a Git URL/);
  });

  it("kustomization lists the stack's files, sorted, without the Application", () => {
    expect(buildKustomization(["registry.yaml", APPLICATION_FILE, "namespace.yaml"])).toEqual({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["namespace.yaml", "registry.yaml"],
    });
  });
});

describe("PrometheusRule", () => {
  const config = stack("production", { models: [vllmModel({ sizeBillions: 70, gpus: 4, vllm: { tensorParallelSize: 4 } }), llamaModel()] });
  const [rule] = buildPrometheusRules(config) as Json[];

  it("is schema-valid and alerts on crash loops, failing health checks, slow starts and unschedulable GPU pods", () => {
    expect(validateObjects([rule as K8sObject])).toEqual([]);
    const alerts = rule!.spec.groups[0].rules.map((r: Json) => r.alert);
    expect(alerts).toEqual(["ModelfleetEngineCrashLooping", "ModelfleetRegistryHealthCheckFailing", "ModelfleetModelNotReady", "ModelfleetModelNotReady", "ModelfleetGpuPodUnschedulable"]);
  });

  it("holds each model's not-ready alert for its own startup budget", () => {
    const notReady = rule!.spec.groups[0].rules.filter((r: Json) => r.alert === "ModelfleetModelNotReady");
    expect(notReady.map((r: Json) => [r.labels.model, r.for])).toEqual([
      ["qwen3", "1500s"],
      ["gguf", "300s"],
    ]);
    expect(notReady[0].expr).toContain('deployment="qwen3-production"');
  });

  it("is not emitted where the environment has no monitoring (development)", () => {
    expect(buildPrometheusRules(stack("development"))).toEqual([]);
  });
});

describe("Grafana dashboard", () => {
  const config = stack("staging");

  it("has a row per model with engine-specific queries and stable ids", () => {
    const dashboard = buildDashboard(config) as Json;
    expect(dashboard["uid"]).toBe("modelfleet-staging");
    const panels = dashboard["panels"] as Json[];
    expect(panels.map((p) => p.id)).toEqual(panels.map((_, i) => i + 1));
    expect(panels.filter((p) => p.type === "row").map((p) => p.title)).toEqual(["qwen3 (vllm, 2× 1 GPU)", "gguf (llamacpp, 2× 1 GPU)"]);
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t: Json) => t.expr));
    expect(exprs).toContain('sum(rate(vllm:request_success_total{namespace="llm-staging",model_name="qwen3"}[5m]))');
    expect(exprs).toContain('sum(rate(llamacpp:tokens_predicted_total{namespace="llm-staging",service="gguf-staging"}[5m]))');
  });

  it("ships in a schema-valid ConfigMap labelled for Grafana's sidecar, byte-identical on rebuild", () => {
    const [map] = buildDashboardConfigMap(config) as Json[];
    expect(validateObjects([map as K8sObject])).toEqual([]);
    expect(map!.metadata.labels.grafana_dashboard).toBe("1");
    expect(map!.metadata.namespace).toBe("monitoring");
    expect(JSON.parse(map!.data["modelfleet-staging.json"]).uid).toBe("modelfleet-staging");
    expect(JSON.stringify(buildDashboardConfigMap(config))).toBe(JSON.stringify([map]));
  });
});
