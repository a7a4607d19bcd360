import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { ConfigMap } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { buildDashboard, buildDashboardConfigMap, DASHBOARD_LABEL, gpuUtilization } from "../../components/monitoring/dashboard.js";
import { buildPrometheusRules } from "../../components/monitoring/prometheus-rules.js";
import { parseStackConfig } from "../../config/load.js";
import type { StackConfig } from "../../config/types.js";
import { llamaModel, stackValues, vllmModel } from "../helpers/stack-values.js";

type Json = Record<string, any>;

function stack(env: "development" | "staging" | "production", overrides: Record<string, unknown> = {}): StackConfig {
  return parseStackConfig(stackValues(env, overrides), `Pulumi.${env}.yaml`, env);
}

const production = () =>
  stack("production", {
    models: [vllmModel({ name: "big", sizeBillions: 70, gpus: 4, vllm: { tensorParallelSize: 4 } }), vllmModel({ startupBudgetSeconds: 1200 }), llamaModel()],
    registry: { staleAfterSeconds: 120 },
  });

const rulesOf = (config: StackConfig): Json[] => (buildPrometheusRules(config)[0] as Json)["spec"].groups[0].rules;

describe("buildPrometheusRules", () => {
  it("validates against the PrometheusRule schema", () => {
    const [rule] = buildPrometheusRules(production());
    expect(() => new PrometheusRule(rule as never).validate()).not.toThrow();
  });

  it("lives in the stack's namespace, labelled as modelfleet's", () => {
    const [rule] = buildPrometheusRules(production()) as Json[];
    expect(rule!["metadata"]).toMatchObject({ name: "modelfleet-production", namespace: "llm-production" });
    expect(rule!["metadata"].labels).toMatchObject({ "app.kubernetes.io/part-of": "modelfleet", "app.kubernetes.io/managed-by": "modelfleet" });
  });

  it("alerts on crash loops of the engine container, in this namespace only", () => {
    const crash = rulesOf(production()).find((r) => r.alert === "ModelfleetEngineCrashLooping")!;
    expect(crash.expr).toContain('kube_pod_container_status_waiting_reason{namespace="llm-production",container="engine",reason="CrashLoopBackOff"}');
  });

  it("alerts when the registry health checker has no available replica, or no availability series at all", () => {
    const health = rulesOf(production()).find((r) => r.alert === "ModelfleetRegistryHealthCheckFailing")!;
    expect(health.expr).toBe(
      '(kube_deployment_status_replicas_available{namespace="llm-production",deployment="modelfleet-registry-health"} < 1) or (kube_deployment_spec_replicas{namespace="llm-production",deployment="modelfleet-registry-health"} unless on (namespace, deployment) kube_deployment_status_replicas_available{namespace="llm-production",deployment="modelfleet-registry-health"})',
    );
    expect(health.for).toBe("2m");
    expect(health.annotations.description).toContain("older than 120s (registry.staleAfterSeconds)");
  });

  it("holds each model's not-ready alert for that model's own startup budget (derived or configured)", () => {
    const notReady = rulesOf(production()).filter((r) => r.alert === "ModelfleetModelNotReady");
    expect(notReady.map((r) => [r.labels.model, r.for])).toEqual([
      ["big", "1500s"],
      ["qwen3", "1200s"],
      ["gguf", "300s"],
    ]);
    expect(notReady[0]!.expr).toBe('kube_deployment_status_replicas_available{namespace="llm-production",deployment="big-production"} < kube_deployment_spec_replicas{namespace="llm-production",deployment="big-production"}');
  });

  it("alerts on pods that request GPUs and cannot be scheduled", () => {
    const gpu = rulesOf(production()).find((r) => r.alert === "ModelfleetGpuPodUnschedulable")!;
    expect(gpu.expr).toContain('resource="nvidia_com_gpu"');
    expect(gpu.expr).toContain("kube_pod_status_unschedulable");
  });

  it.each([
    ["production", "critical"],
    ["staging", "warning"],
  ] as const)("%s alerts are %s", (env, severity) => {
    expect(new Set(rulesOf(stack(env)).map((r) => r.labels.severity))).toEqual(new Set([severity]));
  });

  it("default: none in development (no Prometheus operator assumed); can be switched on", () => {
    expect(buildPrometheusRules(stack("development"))).toEqual([]);
    expect(buildPrometheusRules(stack("development", { monitoring: { serviceMonitor: true } }))).toHaveLength(1);
  });

  it("is deterministic", () => {
    expect(JSON.stringify(buildPrometheusRules(production()))).toBe(JSON.stringify(buildPrometheusRules(production())));
  });
});

describe("buildDashboard", () => {
  const dashboard = () => buildDashboard(production()) as Json;
  const panels = () => dashboard()["panels"] as Json[];
  const exprs = (title: string) => panels().filter((p) => p.title === title).map((p) => p.targets[0].expr);

  it("one row per model, in stack order, each with request, latency, token and GPU panels", () => {
    expect(panels().map((p) => p.title)).toEqual([
      "big (vllm, 2× 4 GPU)", "Requests", "Latency p95", "Generated tokens/s", "GPU utilization",
      "qwen3 (vllm, 2× 1 GPU)", "Requests", "Latency p95", "Generated tokens/s", "GPU utilization",
      "gguf (llamacpp, 2× 1 GPU)", "Requests", "Generation speed", "Generated tokens/s", "GPU utilization",
    ]);
  });

  it("stable ids and uid, panels laid out without overlap", () => {
    expect(panels().map((p) => p.id)).toEqual(panels().map((_, i) => i + 1));
    expect(dashboard()["uid"]).toBe("modelfleet-production");
    const cells = new Set<string>();
    for (const p of panels()) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        const cell = `${x},${y}`;
        expect(cells.has(cell), `${p.title} overlaps at ${cell}`).toBe(false);
        cells.add(cell);
      }
    }
  });

  it("vLLM panels query vllm: metrics by served model name; llama.cpp panels query llamacpp: metrics by Service", () => {
    expect(exprs("Requests")).toEqual([
      'sum(rate(vllm:request_success_total{namespace="llm-production",model_name="big"}[5m]))',
      'sum(rate(vllm:request_success_total{namespace="llm-production",model_name="qwen3"}[5m]))',
      'sum(llamacpp:requests_processing{namespace="llm-production",service="gguf-production"})',
    ]);
    expect(exprs("Latency p95")[0]).toBe('histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{namespace="llm-production",model_name="big"}[5m])))');
    expect(exprs("Generated tokens/s")[2]).toBe('sum(rate(llamacpp:tokens_predicted_total{namespace="llm-production",service="gguf-production"}[5m]))');
  });

  it("GPU panels read DCGM_FI_DEV_GPU_UTIL of the model's pods, whether or not the exporter's labels are honoured", () => {
    expect(exprs("GPU utilization")[2]).toBe(gpuUtilization("llm-production", "gguf-production"));
    expect(gpuUtilization("ns", "m-production")).toBe(
      'avg by (pod) (DCGM_FI_DEV_GPU_UTIL{namespace="ns",pod=~"m-production-.*"} or label_replace(DCGM_FI_DEV_GPU_UTIL{exported_namespace="ns",exported_pod=~"m-production-.*"}, "pod", "$1", "exported_pod", "(.*)"))',
    );
  });

  it("every panel uses the dashboard's datasource variable", () => {
    expect(dashboard()["templating"].list).toEqual([{ name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" }]);
    for (const p of panels().filter((p) => p.type !== "row")) expect(p.datasource).toEqual({ type: "prometheus", uid: "${datasource}" });
  });
});

describe("buildDashboardConfigMap", () => {
  it("validates against the ConfigMap schema and carries Grafana's sidecar label", () => {
    const [map] = buildDashboardConfigMap(production()) as Json[];
    expect(() => new ConfigMap(map as never).validate()).not.toThrow();
    expect(map!["metadata"].labels).toMatchObject({ ...DASHBOARD_LABEL, "app.kubernetes.io/part-of": "modelfleet", "app.kubernetes.io/managed-by": "modelfleet" });
    expect(map!["metadata"].namespace).toBe("monitoring");
  });

  it("holds the dashboard as JSON with sorted keys, byte-identical on every build", () => {
    const [map] = buildDashboardConfigMap(production()) as Json[];
    const text = map!["data"]["modelfleet-production.json"] as string;
    const parsed = JSON.parse(text);
    expect(parsed["uid"]).toBe("modelfleet-production");
    expect(Object.keys(parsed)).toEqual([...Object.keys(parsed)].sort());
    expect(JSON.stringify(buildDashboardConfigMap(production()))).toBe(JSON.stringify([map]));
  });

  it("can go to another monitoring namespace", () => {
    const [map] = buildDashboardConfigMap(stack("staging", { monitoring: { namespace: "observability" } })) as Json[];
    expect(map!["metadata"].namespace).toBe("observability");
  });
});
