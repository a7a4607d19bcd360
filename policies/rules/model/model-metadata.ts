import type { K8sObject } from "../../../components/shared/k8s-object.js";
import { asArray, asRecord, asString, isRecord, namespaceOf, type ContainerRef } from "../../k8s.js";

/**
 * What the model builders write on every engine Deployment (docs/model-initialization.md, docs/models.md) and the
 * model rules read: where the weights come from, how they reach the engine, and whether the stack is offline.
 */
/** `huggingFace:<repo>@<revision>`, `oci:<ref>` or `pvc:<claim>/<path>`. */
export const MODEL_SOURCE_ANNOTATION = "modelfleet.dev/model-source";
/** `store` | `imageVolume` | `pvc` | `download`. */
export const MODEL_DELIVERY_ANNOTATION = "modelfleet.dev/model-delivery";
/** `"true"` on every engine Deployment of an offline stack. */
export const OFFLINE_LABEL = "modelfleet.dev/offline";

export function annotation(object: K8sObject, key: string): unknown {
  return asRecord(object.metadata?.annotations)?.[key];
}

/** The Deployment belongs to an offline stack: no registry or Hub is reachable from its pods. */
export function isOffline(object: K8sObject): boolean {
  return asRecord(object.metadata?.labels)?.[OFFLINE_LABEL] === "true";
}

/** A container's env entry by name, with its index (the first one: Kubernetes uses the last, builders write one). */
export function envEntry(ref: ContainerRef, name: string): { readonly index: number; readonly entry: Record<string, unknown> } | undefined {
  const env = asArray(ref.container["env"]);
  for (let index = env.length - 1; index >= 0; index--) {
    const entry = env[index];
    if (isRecord(entry) && entry["name"] === name) return { index, entry };
  }
  return undefined;
}

/** `$(VAR)` is expanded by Kubernetes from the container's env: the literal value when there is one, else undefined. */
export function expandEnvReference(ref: ContainerRef, value: string): string | undefined {
  const match = /^\$\(([A-Za-z_][\w.-]*)\)$/.exec(value.trim());
  if (!match) return value;
  return asString(envEntry(ref, match[1]!)?.entry["value"]);
}

/** huggingface_hub's truthy spellings (`constants._is_true`): 1, ON, YES, TRUE in any case. */
export function isTruthyEnv(value: unknown): boolean {
  return typeof value === "string" && ["1", "on", "yes", "true"].includes(value.trim().toLowerCase());
}

/** Deployments and StatefulSets by `namespace\u0000name`, built once per object list. */
const workloadIndexes = new WeakMap<readonly K8sObject[], Map<string, K8sObject>>();

export function workloadNamed(objects: readonly K8sObject[], kind: string, namespace: string, name: string): K8sObject | undefined {
  let index = workloadIndexes.get(objects);
  if (!index) {
    index = new Map();
    for (const object of objects) {
      if (object.kind !== "Deployment" && object.kind !== "StatefulSet") continue;
      const objectName = object.metadata?.name;
      if (typeof objectName !== "string") continue;
      const key = `${object.kind}\u0000${namespaceOf(object)}\u0000${objectName}`;
      if (!index.has(key)) index.set(key, object);
    }
    workloadIndexes.set(objects, index);
  }
  return index.get(`${kind}\u0000${namespace}\u0000${name}`);
}
