import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { objectRef, type K8sObject } from "../components/shared/k8s-object.js";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/** Every kind modelfleet emits, with the schema (OpenAPI, via kubernetes-models) it must satisfy. */
const MODELS: Readonly<Record<string, ModelClass>> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
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
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "argoproj.io/v1alpha1/Application": Application,
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
