import type { K8sObject } from "../../../components/shared/k8s-object.js";
import { shown } from "../../display.js";
import type { PathSegment } from "../../field-path.js";
import { asArray, asRecord, asString, isRecord } from "../../k8s.js";

/** What an autoscaler scales (`spec.scaleTargetRef`), in the autoscaler's namespace. */
export interface ScaleTarget {
  readonly kind: string;
  readonly name: string;
  readonly path: readonly PathSegment[];
}

/** A place in an autoscaler that names a metric: a KEDA Prometheus query, or an HPA metric name. */
export interface MetricSource {
  /** The PromQL query or metric name as written. */
  readonly text: string;
  readonly path: readonly PathSegment[];
  /** How a message names the field: `prometheus trigger query`, `External metric name`. */
  readonly what: string;
}

export interface Autoscaler {
  readonly object: K8sObject;
  /** Undefined when scaleTargetRef has no name (nothing to find). */
  readonly target?: ScaleTarget;
  readonly metrics: readonly MetricSource[];
  /** KEDA `maxReplicaCount` (default 100) or the HPA's `maxReplicas`; undefined when not a number. */
  readonly maxReplicas?: number;
}

/** Every autoscaler among the objects, in order. */
export function autoscalersIn(objects: readonly K8sObject[]): Autoscaler[] {
  const out: Autoscaler[] = [];
  for (const object of objects) {
    const scaler = autoscalerOf(object);
    if (scaler) out.push(scaler);
  }
  return out;
}

/** How a message names an autoscaler: `ScaledObject "qwen"`. */
export function autoscalerRef(scaler: Autoscaler): string {
  return `${scaler.object.kind} ${shown(scaler.object.metadata?.name)}`;
}

/** A KEDA ScaledObject (keda.sh/*) scales a Deployment unless scaleTargetRef names another kind. */
function isScaledObject(object: K8sObject): boolean {
  return object.kind === "ScaledObject" && typeof object.apiVersion === "string" && object.apiVersion.startsWith("keda.sh/");
}

function isHpa(object: K8sObject): boolean {
  return object.kind === "HorizontalPodAutoscaler" && typeof object.apiVersion === "string" && object.apiVersion.startsWith("autoscaling/");
}

/** KEDA's default `maxReplicaCount` (keda.sh ScaledObject spec). */
const KEDA_DEFAULT_MAX_REPLICAS = 100;

const HPA_METRIC_TYPES: Readonly<Record<string, { readonly field: string; readonly what: string }>> = {
  External: { field: "external", what: "External metric name" },
  Pods: { field: "pods", what: "Pods metric name" },
  Object: { field: "object", what: "Object metric name" },
};

/**
 * The object as an autoscaler (a KEDA ScaledObject or an autoscaling/* HorizontalPodAutoscaler), or undefined when
 * it is neither. Reads only what the model rules need: the target, and every field that names a metric.
 */
export function autoscalerOf(object: K8sObject): Autoscaler | undefined {
  const keda = isScaledObject(object);
  if (!keda && !isHpa(object)) return undefined;
  const spec = asRecord(object["spec"]);
  const ref = asRecord(spec?.["scaleTargetRef"]);
  const name = asString(ref?.["name"]);
  // KEDA defaults the kind to Deployment; the HPA requires it (a missing kind matches nothing, as in the cluster).
  const kind = asString(ref?.["kind"]) ?? (keda ? "Deployment" : "");
  const target = name === undefined || name === "" ? undefined : { kind, name, path: ["spec", "scaleTargetRef", "name"] };
  const metrics: MetricSource[] = [];
  if (keda) {
    asArray(spec?.["triggers"]).forEach((trigger, index) => {
      if (!isRecord(trigger) || trigger["type"] !== "prometheus") return;
      const query = asString(asRecord(trigger["metadata"])?.["query"]);
      if (query !== undefined) metrics.push({ text: query, path: ["spec", "triggers", index, "metadata", "query"], what: "prometheus trigger query" });
    });
  } else {
    asArray(spec?.["metrics"]).forEach((metric, index) => {
      if (!isRecord(metric)) return;
      const typeName = asString(metric["type"]) ?? "";
      if (!Object.hasOwn(HPA_METRIC_TYPES, typeName)) return;
      const type = HPA_METRIC_TYPES[typeName]!;
      const metricName = asString(asRecord(asRecord(metric[type.field])?.["metric"])?.["name"]);
      // prometheus-adapter serves `vllm:num_requests_waiting` as `vllm_num_requests_waiting` (docs/scaling.md), so the
      // adapter form is read back as the engine's series name.
      const series = metricName?.replace(/^(vllm|llamacpp)_/, "$1:");
      if (series !== undefined) metrics.push({ text: series, path: ["spec", "metrics", index, type.field, "metric", "name"], what: type.what });
    });
  }
  const max = keda ? (spec?.["maxReplicaCount"] ?? KEDA_DEFAULT_MAX_REPLICAS) : spec?.["maxReplicas"];
  return { object, ...(target ? { target } : {}), metrics, ...(typeof max === "number" ? { maxReplicas: max } : {}) };
}
