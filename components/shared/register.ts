import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { K8sObject } from "./k8s-object.js";

/** Kinds we emit, each registered as its typed @pulumi/kubernetes resource so previews and policies see its schema. */
type ResourceClass = new (name: string, args: never, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

const TYPED = {
  "v1/ConfigMap": k8s.core.v1.ConfigMap,
  "v1/LimitRange": k8s.core.v1.LimitRange,
  "v1/Namespace": k8s.core.v1.Namespace,
  "v1/PersistentVolumeClaim": k8s.core.v1.PersistentVolumeClaim,
  "v1/ResourceQuota": k8s.core.v1.ResourceQuota,
  "v1/Secret": k8s.core.v1.Secret,
  "v1/Service": k8s.core.v1.Service,
  "v1/ServiceAccount": k8s.core.v1.ServiceAccount,
  "apps/v1/Deployment": k8s.apps.v1.Deployment,
  "apps/v1/StatefulSet": k8s.apps.v1.StatefulSet,
  "autoscaling/v2/HorizontalPodAutoscaler": k8s.autoscaling.v2.HorizontalPodAutoscaler,
  "batch/v1/CronJob": k8s.batch.v1.CronJob,
  "batch/v1/Job": k8s.batch.v1.Job,
  "networking.k8s.io/v1/NetworkPolicy": k8s.networking.v1.NetworkPolicy,
  "policy/v1/PodDisruptionBudget": k8s.policy.v1.PodDisruptionBudget,
  "rbac.authorization.k8s.io/v1/Role": k8s.rbac.v1.Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": k8s.rbac.v1.RoleBinding,
} as unknown as Readonly<Record<string, ResourceClass>>;

/** Short kind names for Pulumi resource names: `qwen3-8b-deployment`. */
function kindSlug(kind: string): string {
  return kind.replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase();
}

export interface RegisterOptions {
  /** Prefix of every Pulumi resource name, normally the component's name. */
  readonly prefix: string;
  /** The component the resources belong to. @default the stack itself */
  readonly parent?: pulumi.Resource;
  /** Resources every object waits for. @default none */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Per-object timeouts, e.g. a Deployment's rollout up to its progress deadline. @default the provider's */
  readonly customTimeouts?: (obj: K8sObject) => pulumi.CustomTimeouts | undefined;
  /**
   * Per-object additions: more resources to wait for (after `dependsOn`), and fields Pulumi must not reset (e.g. an
   * autoscaled Deployment's `spec.replicas`). @default none
   */
  readonly perObject?: (obj: K8sObject) => { readonly dependsOn?: readonly pulumi.Resource[]; readonly ignoreChanges?: readonly string[] } | undefined;
}

/**
 * Registers each object as its own Pulumi resource (not a ConfigGroup, whose children neither mocks nor policies
 * see). Objects keep their explicit names, so a replacement must delete first: two objects cannot share a name.
 * Returns the resources keyed by `Kind/name`.
 */
export function registerObjects(objects: readonly K8sObject[], options: RegisterOptions): Map<string, pulumi.CustomResource> {
  const counts = new Map<string, number>();
  for (const obj of objects) counts.set(obj.kind, (counts.get(obj.kind) ?? 0) + 1);
  const out = new Map<string, pulumi.CustomResource>();
  for (const obj of objects) {
    const slug = kindSlug(obj.kind);
    const name = (counts.get(obj.kind) ?? 0) > 1 ? `${options.prefix}-${slug}-${obj.metadata.name}` : `${options.prefix}-${slug}`;
    const timeouts = options.customTimeouts?.(obj);
    const extra = options.perObject?.(obj);
    const dependsOn = [...(options.dependsOn ?? []), ...(extra?.dependsOn ?? [])];
    const opts: pulumi.CustomResourceOptions = {
      ...(options.parent ? { parent: options.parent } : {}),
      deleteBeforeReplace: true,
      ...(options.dependsOn || dependsOn.length > 0 ? { dependsOn } : {}),
      ...(timeouts ? { customTimeouts: timeouts } : {}),
      ...(extra?.ignoreChanges && extra.ignoreChanges.length > 0 ? { ignoreChanges: [...extra.ignoreChanges] } : {}),
    };
    const typed = TYPED[`${obj.apiVersion}/${obj.kind}`];
    const resource = typed
      ? new typed(name, obj as never, opts)
      : new k8s.apiextensions.CustomResource(name, obj as unknown as k8s.apiextensions.CustomResourceArgs, opts);
    out.set(`${obj.kind}/${obj.metadata.name}`, resource);
  }
  return out;
}
