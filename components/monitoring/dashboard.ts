import type { ResolvedModel, StackConfig } from "../../config/types.js";
import { canonical, renderChart } from "../shared/chart.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { stackLabels } from "../shared/labels.js";
import { cdk8s } from "../shared/cdk8s.js";

/** Grafana's dashboard sidecar loads ConfigMaps carrying this label. */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

interface Target {
  readonly expr: string;
  readonly legendFormat: string;
}

/** The queries per engine: vLLM labels its metrics with the served model name; llama.cpp's are scoped by Service. */
function modelTargets(model: ResolvedModel, namespace: string): Record<"requests" | "latency" | "tokens", Target> {
  if (model.engine === "vllm") {
    const sel = `namespace="${namespace}",model_name="${model.servedModelName}"`;
    return {
      requests: { expr: `sum(rate(vllm:request_success_total{${sel}}[5m]))`, legendFormat: "requests/s" },
      latency: { expr: `histogram_quantile(0.95, sum by (le) (rate(vllm:e2e_request_latency_seconds_bucket{${sel}}[5m])))`, legendFormat: "p95 latency (s)" },
      tokens: { expr: `sum(rate(vllm:generation_tokens_total{${sel}}[5m]))`, legendFormat: "generated tokens/s" },
    };
  }
  const sel = `namespace="${namespace}",service="${model.serviceName}"`;
  return {
    requests: { expr: `sum(llamacpp:requests_processing{${sel}})`, legendFormat: "requests in flight" },
    latency: { expr: `avg(llamacpp:predicted_tokens_seconds{${sel}})`, legendFormat: "tokens/s per request" },
    tokens: { expr: `sum(rate(llamacpp:tokens_predicted_total{${sel}}[5m]))`, legendFormat: "generated tokens/s" },
  };
}

/**
 * GPU use of a model's pods from DCGM's exporter. Scraped with `honorLabels: true` its series carry the workload's
 * `namespace`/`pod`; scraped without (the GPU operator's default), Prometheus renames them `exported_namespace`/
 * `exported_pod`. Both are read, so the panel works either way.
 */
export function gpuUtilization(namespace: string, deployment: string): string {
  const pods = `${deployment}-.*`;
  const honored = `DCGM_FI_DEV_GPU_UTIL{namespace="${namespace}",pod=~"${pods}"}`;
  const exported = `label_replace(DCGM_FI_DEV_GPU_UTIL{exported_namespace="${namespace}",exported_pod=~"${pods}"}, "pod", "$1", "exported_pod", "(.*)")`;
  return `avg by (pod) (${honored} or ${exported})`;
}

/** A Grafana dashboard (JSON model) with one row per model: traffic, latency, tokens, GPU use. Stable ids. */
export function buildDashboard(config: StackConfig): Record<string, unknown> {
  let id = 0;
  const panels: Record<string, unknown>[] = [];
  config.models.forEach((model, row) => {
    const y = row * 9;
    const targets = modelTargets(model, config.namespace);
    panels.push({ id: ++id, type: "row", title: `${model.name} (${model.engine}, ${model.replicas}× ${model.gpus} GPU)`, gridPos: { h: 1, w: 24, x: 0, y }, collapsed: false, panels: [] });
    const panel = (title: string, target: Target, x: number, unit: string) =>
      panels.push({
        id: ++id,
        type: "timeseries",
        title,
        datasource: { type: "prometheus", uid: "${datasource}" },
        gridPos: { h: 8, w: 6, x, y: y + 1 },
        fieldConfig: { defaults: { unit }, overrides: [] },
        targets: [{ refId: "A", expr: target.expr, legendFormat: target.legendFormat }],
      });
    panel("Requests", targets.requests, 0, "short");
    panel(model.engine === "vllm" ? "Latency p95" : "Generation speed", targets.latency, 6, model.engine === "vllm" ? "s" : "short");
    panel("Generated tokens/s", targets.tokens, 12, "short");
    panel("GPU utilization", { expr: gpuUtilization(config.namespace, model.serviceName), legendFormat: "{{pod}}" }, 18, "percent");
  });
  return {
    uid: `modelfleet-${config.stack}`,
    title: `modelfleet — ${config.stack}`,
    tags: ["modelfleet", config.environment],
    timezone: "utc",
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: { list: [{ name: "datasource", type: "datasource", query: "prometheus", label: "Prometheus" }] },
    panels,
  };
}

/** The dashboard in a ConfigMap for Grafana's sidecar, in the monitoring namespace. */
export function buildDashboardConfigMap(config: StackConfig): K8sObject[] {
  if (!config.monitoring.serviceMonitor) return [];
  // One line: Grafana reads it the same, and the policies parse it in a fraction of the time.
  const json = `${JSON.stringify(canonical(buildDashboard(config)))}\n`;
  return renderChart(config.monitoring.namespace, (chart) => {
    new cdk8s.ApiObject(chart, "dashboard", {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `modelfleet-${config.stack}-dashboard`, labels: { ...stackLabels(config), ...DASHBOARD_LABEL } },
      data: { [`modelfleet-${config.stack}.json`]: json },
    });
  }).map(canonical);
}
