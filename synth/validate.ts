import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { LimitRange } from "kubernetes-models/v1/LimitRange";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { ResourceQuota } from "kubernetes-models/v1/ResourceQuota";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { objectRef, type K8sObject } from "../components/shared/k8s-object.js";
import { DestinationRule, HTTPRoute, InferencePool } from "./schemas/gateway.js";
import { ScaledObject } from "./schemas/keda.js";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/**
 * Every kind modelfleet emits, with the schema (OpenAPI, precompiled validators in kubernetes-models) it must
 * satisfy. Each kind comes from its own entry point, which loads only that kind's schemas: importing whole API
 * groups (`kubernetes-models/apps/v1`) loaded ~900 modules and took ~1.5 s. The classes are only referenced here;
 * a validator runs when an object of its kind is validated.
 *
 * Not a dynamic `import()` per kind: that would make `validateObjects`, and so `synthesizeStack`, asynchronous for
 * their callers (bundle/create.ts among them); synth validates nearly every kind on every run anyway.
 */
const MODELS: Readonly<Record<string, ModelClass>> = {
  "v1/ConfigMap": ConfigMap,
  "v1/LimitRange": LimitRange,
  "v1/Namespace": Namespace,
  "v1/ResourceQuota": ResourceQuota,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "batch/v1/CronJob": CronJob,
  "batch/v1/Job": Job,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "argoproj.io/v1alpha1/Application": Application,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
  "inference.networking.k8s.io/v1/InferencePool": InferencePool,
  "gateway.networking.k8s.io/v1/HTTPRoute": HTTPRoute,
  "networking.istio.io/v1/DestinationRule": DestinationRule,
} as unknown as Record<string, ModelClass>;

/** One object that does not match its schema: which object, which field, what is wrong. */
export interface SchemaProblem {
  readonly objectRef: string;
  readonly message: string;
}

interface AjvError {
  readonly instancePath?: string;
  readonly message?: string;
}

/** Validates each object against its Kubernetes schema; an unknown kind is a problem too (nothing unchecked ships). */
export function validateObjects(objects: readonly K8sObject[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const obj of objects) {
    const ref = objectRef(obj);
    const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) {
      problems.push({ objectRef: ref, message: `no schema known for ${obj.apiVersion} ${obj.kind}; add it to synth/validate.ts` });
      continue;
    }
    try {
      new Model(obj as never).validate();
    } catch (error) {
      const errors = (error as { errors?: AjvError[] }).errors;
      if (!errors) throw error;
      for (const e of errors) {
        const field = (e.instancePath ?? "").replace(/^\//, "").replaceAll("/", ".") || "(object)";
        problems.push({ objectRef: ref, message: `${field} ${e.message ?? "is invalid"}` });
      }
    }
  }
  return problems;
}
