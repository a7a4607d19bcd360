import { contractForBuild, type EngineContract } from "../../config/engines/index.js";
import type { ModelAutoscaling, ResolvedModel, StackContext } from "../../config/types.js";
import { canonical } from "../shared/chart.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { modelLabels } from "../shared/labels.js";
import { engineDrain } from "./drain.js";

/**
 * Seconds between two reads of the queue metric by KEDA. The ServiceMonitor scrapes every 30 s, so every sample is
 * read about twice; a faster poll only shortens the delay between a sample and the decision.
 */
export const POLLING_INTERVAL_SECONDS = 15;

/** Failed reads of the trigger in a row before KEDA's fallback holds the replica count. */
export const FALLBACK_FAILURE_THRESHOLD = 3;

/** Seconds over which at most `SCALE_UP_PODS` pods (or a doubling) are added. */
const SCALE_UP_PERIOD_SECONDS = 60;
const SCALE_UP_PODS = 2;

/** The longest `periodSeconds` an HPA scaling policy may have (autoscaling/v2 validation). */
const HPA_MAX_POLICY_PERIOD_SECONDS = 1800;

/**
 * The objects that scale one model on its engine's queue depth: a KEDA ScaledObject (default) or an autoscaling/v2
 * HorizontalPodAutoscaler on an external metric (`scaling.autoscaler: hpa`, for clusters with prometheus-adapter);
 * none when the model has fixed replicas. The Deployment is the target; its `spec.replicas` then belongs to the HPA
 * (KEDA's, or ours), so the Deployment is rendered without it (docs/scaling.md).
 */
export function autoscalerObjects(model: ResolvedModel, ctx: StackContext): K8sObject[] {
  const scaling = model.autoscaling;
  if (scaling === undefined) return [];
  const contract = contractForBuild(model.engine, ctx.images[model.engine]);
  switch (ctx.scaling.autoscaler) {
    case "keda":
      return [canonical(scaledObject(model, ctx, scaling, contract))];
    case "hpa":
      return [canonical(horizontalPodAutoscaler(model, ctx, scaling, contract))];
    default: {
      const never: never = ctx.scaling.autoscaler;
      return never;
    }
  }
}

/**
 * The PromQL the KEDA trigger reads: the engine's queue gauge summed over exactly this model's pods. The series are
 * selected by `namespace` and `service`, the target labels the Prometheus operator puts on everything our
 * ServiceMonitor scrapes (`service` = the Service name = `serviceName`, unique in its namespace); vLLM's `model_name`
 * label is the served name, which two stacks in one namespace may share, and llama.cpp's gauges have no labels.
 * `sum` makes one element, as KEDA's Prometheus scaler requires.
 */
export function queueDepthQuery(model: Pick<ResolvedModel, "serviceName">, ctx: Pick<StackContext, "namespace">, contract: EngineContract): string {
  return `sum(${contract.queueMetric}{namespace=${promString(ctx.namespace)},service=${promString(model.serviceName)}})`;
}

/**
 * The external metric name the HPA asks prometheus-adapter for: the engine's queue gauge with `:` written as `_`
 * (`vllm_num_requests_waiting`), the `as:` name of the adapter rule in docs/scaling.md.
 */
export function externalMetricName(contract: EngineContract): string {
  return contract.queueMetric.replaceAll(":", "_");
}

/** A PromQL string literal (label values here are DNS labels, but quote whatever comes). */
function promString(value: string): string {
  return JSON.stringify(value);
}

function metadata(model: ResolvedModel, ctx: StackContext): K8sObject["metadata"] {
  return { name: model.serviceName, ...(ctx.namespace ? { namespace: ctx.namespace } : {}), labels: modelLabels(model, ctx) };
}

function scaleTargetRef(model: ResolvedModel): { apiVersion: string; kind: string; name: string } {
  return { apiVersion: "apps/v1", kind: "Deployment", name: model.serviceName };
}

/**
 * `autoscaling/v2` HorizontalPodAutoscalerBehavior, used verbatim by both autoscalers.
 * - scale up: without delay, by up to 2 pods or a doubling per minute, whichever is more. The queue cannot shrink
 *   until the new pods have loaded their model (minutes), so the period bounds how far it overshoots meanwhile.
 * - scale down: only after the queue stayed low for `scaleDownDelaySeconds` (the stabilization window), and one pod
 *   per drain: the period is the pod's termination grace period, so at most one pod is draining at a time.
 */
function behavior(model: ResolvedModel, ctx: StackContext, scaling: ModelAutoscaling): Record<string, unknown> {
  const drain = engineDrain(model, ctx);
  const scaleDownPeriod = Math.min(HPA_MAX_POLICY_PERIOD_SECONDS, Math.max(60, drain.terminationGracePeriodSeconds));
  return {
    scaleDown: {
      stabilizationWindowSeconds: scaling.scaleDownDelaySeconds,
      policies: [{ type: "Pods", value: 1, periodSeconds: scaleDownPeriod }],
    },
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: "Max",
      policies: [
        { type: "Pods", value: SCALE_UP_PODS, periodSeconds: SCALE_UP_PERIOD_SECONDS },
        { type: "Percent", value: 100, periodSeconds: SCALE_UP_PERIOD_SECONDS },
      ],
    },
  };
}

/**
 * KEDA ScaledObject (`keda.sh/v1alpha1`, KEDA ≥ 2.17 for `fallback.behavior`). Never scales to zero: `minReplicaCount`
 * is the model's `minReplicas` (≥ 1), so `cooldownPeriod` (which only acts on scaling to zero) is left out.
 * `ignoreNullValues: "false"` makes an empty result (Prometheus down, series gone) a failed read rather than a queue
 * of 0; after `FALLBACK_FAILURE_THRESHOLD` of them the fallback keeps the current replicas, or `minReplicas` if higher.
 */
function scaledObject(model: ResolvedModel, ctx: StackContext, scaling: ModelAutoscaling, contract: EngineContract): K8sObject {
  return {
    apiVersion: "keda.sh/v1alpha1",
    kind: "ScaledObject",
    metadata: metadata(model, ctx),
    spec: {
      scaleTargetRef: scaleTargetRef(model),
      minReplicaCount: scaling.minReplicas,
      maxReplicaCount: scaling.maxReplicas,
      pollingInterval: POLLING_INTERVAL_SECONDS,
      fallback: { failureThreshold: FALLBACK_FAILURE_THRESHOLD, replicas: scaling.minReplicas, behavior: "currentReplicasIfHigher" },
      advanced: { horizontalPodAutoscalerConfig: { behavior: behavior(model, ctx, scaling) } },
      triggers: [
        {
          type: "prometheus",
          name: "queue-depth",
          metricType: "AverageValue",
          metadata: {
            serverAddress: ctx.scaling.prometheusUrl,
            query: queueDepthQuery(model, ctx, contract),
            threshold: String(scaling.targetQueueDepth),
            ignoreNullValues: "false",
          },
        },
      ],
    },
  };
}

/**
 * autoscaling/v2 HPA on an External metric served by prometheus-adapter (docs/scaling.md gives the adapter rule): the
 * metric is the engine's queue gauge, selected by the `service` label (the adapter adds the HPA's namespace), with an
 * AverageValue target of `targetQueueDepth` waiting requests per replica. A plain HPA has no fallback: while the
 * metric cannot be read it keeps the current replicas.
 */
function horizontalPodAutoscaler(model: ResolvedModel, ctx: StackContext, scaling: ModelAutoscaling, contract: EngineContract): K8sObject {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: metadata(model, ctx),
    spec: {
      scaleTargetRef: scaleTargetRef(model),
      minReplicas: scaling.minReplicas,
      maxReplicas: scaling.maxReplicas,
      metrics: [
        {
          type: "External",
          external: {
            metric: { name: externalMetricName(contract), selector: { matchLabels: { service: model.serviceName } } },
            target: { type: "AverageValue", averageValue: String(scaling.targetQueueDepth) },
          },
        },
      ],
      behavior: behavior(model, ctx, scaling),
    },
  };
}
