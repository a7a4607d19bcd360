import type { StackConfig } from "../../config/types.js";
import { REGISTRY_HEALTH_NAME } from "../registry/names.js";
import { canonical, renderChart } from "../shared/chart.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { stackLabels } from "../shared/labels.js";
import { ENGINE_CONTAINER_NAME } from "../engines/model-objects.js";
import { cdk8s } from "../shared/cdk8s.js";

/**
 * Alerts for a stack's models, on kube-state-metrics series (what the Prometheus operator stacks ship):
 * crash-looping engines, a failing registry health check, models not ready past their startup budget, and GPU pods
 * that cannot be scheduled.
 */
export function buildPrometheusRules(config: StackConfig): K8sObject[] {
  if (!config.monitoring.serviceMonitor) return [];
  const ns = config.namespace;
  const severity = config.environment === "production" ? "critical" : "warning";
  const checker = `namespace="${ns}",deployment="${REGISTRY_HEALTH_NAME}"`;
  const staleAfter = config.registry.staleAfterSeconds;
  const perModel = config.models.map((m) => ({
    alert: "ModelfleetModelNotReady",
    // Held for the model's startup budget: a model still loading inside its budget is not an incident.
    expr: `kube_deployment_status_replicas_available{namespace="${ns}",deployment="${m.serviceName}"} < kube_deployment_spec_replicas{namespace="${ns}",deployment="${m.serviceName}"}`,
    for: `${m.startupBudgetSeconds}s`,
    labels: { severity, model: m.name },
    annotations: {
      summary: `${m.name} (${config.environment}) has had fewer ready replicas than desired for longer than its startup budget`,
      description: `Deployment ${ns}/${m.serviceName} has not been fully available for ${m.startupBudgetSeconds}s (its startup budget). See docs/troubleshooting.md: pending GPU pods, OOM, probe kills.`,
    },
  }));
  return renderChart(ns, (chart) => {
    new cdk8s.ApiObject(chart, "rules", {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata: { name: `modelfleet-${config.stack}`, labels: stackLabels(config) },
      spec: {
        groups: [
          {
            name: `modelfleet-${config.stack}`,
            rules: [
              {
                alert: "ModelfleetEngineCrashLooping",
                expr: `max_over_time(kube_pod_container_status_waiting_reason{namespace="${ns}",container="${ENGINE_CONTAINER_NAME}",reason="CrashLoopBackOff"}[5m]) >= 1`,
                for: "5m",
                labels: { severity },
                annotations: { summary: "An inference engine is crash-looping", description: `Pod {{ $labels.pod }} in ${ns} restarts repeatedly; check its logs and docs/troubleshooting.md (OOM, probe kills).` },
              },
              {
                alert: "ModelfleetRegistryHealthCheckFailing",
                // The checker is not running (no available replica, or no availability series at all): within
                // registry.staleAfterSeconds of its last round every model drops out of routing. It reports itself
                // unavailable when it cannot reach the database (its liveness probe needs fully recorded rounds).
                expr: `(kube_deployment_status_replicas_available{${checker}} < 1) or (kube_deployment_spec_replicas{${checker}} unless on (namespace, deployment) kube_deployment_status_replicas_available{${checker}})`,
                for: "2m",
                labels: { severity },
                annotations: {
                  summary: "The registry health check is failing or stale",
                  description: `Deployment ${ns}/${REGISTRY_HEALTH_NAME} has had no available replica for 2 minutes: the router ignores models whose last check is older than ${staleAfter}s (registry.staleAfterSeconds), so they drop out of routing. See docs/troubleshooting.md.`,
                },
              },
              ...perModel,
              {
                alert: "ModelfleetGpuPodUnschedulable",
                expr: `(max by (namespace, pod) (kube_pod_status_unschedulable{namespace="${ns}"}) == 1) and on (namespace, pod) (max by (namespace, pod) (kube_pod_container_resource_requests{namespace="${ns}",resource="nvidia_com_gpu"}) > 0)`,
                for: "10m",
                labels: { severity },
                annotations: { summary: "A GPU pod cannot be scheduled", description: `Pod {{ $labels.pod }} requests nvidia.com/gpu and has been unschedulable for 10 minutes: no node has free GPUs matching its selector and tolerations.` },
              },
            ],
          },
        ],
      },
    });
  }).map(canonical);
}
