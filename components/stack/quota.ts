import type { StackConfig } from "../../config/types.js";
import { FETCH_RESOURCES, fetchJobCount } from "../models/store.js";
import { enginePodRequests } from "../engines/model-objects.js";
import { pickerRequests } from "../gateway/endpoint-picker.js";
import { buildRegistryObjects } from "../registry/objects.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { stackLabels } from "../shared/labels.js";

export const RESOURCE_QUOTA_NAME = "modelfleet-quota";
export const LIMIT_RANGE_NAME = "modelfleet-defaults";
const GPU = "nvidia.com/gpu";

/**
 * CPU and memory headroom over what the stack's own pods request, for the pods an operator starts by hand
 * (`kubectl debug`, a one-off psql) — GPUs get none: they are the scarce resource the quota guards.
 */
const HEADROOM = 0.1;
/** What a container that names no request is given (LimitRange defaultRequest), so the quota can count it. */
export const DEFAULT_CONTAINER_REQUEST = { cpu: "100m", memory: "128Mi" } as const;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A Kubernetes quantity as a number (cores for cpu, bytes for memory, units for GPUs); the forms our builders emit. */
export function parseQuantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(text);
  if (!match) throw new Error(`quantity "${text}" is not one modelfleet emits (e.g. 500m, 4, 128Mi, 16Gi)`);
  const value = Number(match[1]);
  const unit = match[2] ?? "";
  if (unit === "m") return value / 1000;
  return value * (BINARY[unit] ?? DECIMAL[unit] ?? 1);
}

interface Container {
  resources?: { requests?: Record<string, string | number> };
}
interface PodTemplateOwner {
  kind: string;
  spec?: { replicas?: number; parallelism?: number; template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } };
}

/** The requests of one pod as the scheduler and the quota count them: max(any init container, the sum of the rest). */
function podRequests(spec: { containers?: Container[]; initContainers?: Container[] }): Map<string, number> {
  const of = (c: Container, resource: string) => {
    const value = c.resources?.requests?.[resource];
    return value === undefined ? 0 : parseQuantity(String(value));
  };
  const out = new Map<string, number>();
  for (const resource of ["cpu", "memory", GPU]) {
    const main = (spec.containers ?? []).reduce((sum, c) => sum + of(c, resource), 0);
    const init = Math.max(0, ...(spec.initContainers ?? []).map((c) => of(c, resource)));
    out.set(resource, Math.max(main, init));
  }
  return out;
}

/**
 * What the stack's pods request at most at once: every Deployment and StatefulSet at its replicas (engines roll with
 * maxSurge 0 or Recreate, the health checker with Recreate, so a rollout adds none) and every Job once.
 */
export function stackRequests(objects: readonly K8sObject[]): Map<string, number> {
  const total = new Map<string, number>([["cpu", 0], ["memory", 0], [GPU, 0]]);
  for (const object of objects as unknown as PodTemplateOwner[]) {
    const spec = object.spec?.template?.spec;
    if (!spec) continue;
    const pods = object.kind === "Job" ? (object.spec?.parallelism ?? 1) : (object.spec?.replicas ?? 1);
    for (const [resource, value] of podRequests(spec)) total.set(resource, (total.get(resource) ?? 0) + value * pods);
  }
  return total;
}

const cpuText = (cores: number) => `${Math.ceil(cores * 1000)}m`;
const memoryText = (bytes: number) => `${Math.ceil(bytes / 2 ** 20)}Mi`;

/**
 * A ResourceQuota for the stack's namespace, from the very objects the stack deploys: GPUs exactly what the models
 * request (so nothing else in the namespace can take one), CPU and memory requests with 10 % headroom; and a
 * LimitRange that gives a container without requests a small default, because a namespace with a requests quota
 * refuses such pods otherwise. The LimitRange sets no default limits and no max: a default limit (or a max, which
 * becomes the default limit) would cap the engines' CPU, or give every container a GPU limit.
 */
export function quotaObjects(config: StackConfig): Array<Record<string, unknown>> {
  // Engines, pickers and download Jobs from the figures their objects are built from (rendering them here again
  // doubled synth's cost); the registry's few pods from its objects.
  const need = stackRequests(buildRegistryObjects(config));
  for (const model of config.models) {
    const pod = enginePodRequests(model, config);
    // An autoscaled model may run up to maxReplicas pods; the quota must not stop the autoscaler short of it.
    const pods = model.autoscaling?.maxReplicas ?? model.replicas;
    need.set("cpu", (need.get("cpu") ?? 0) + pod.cpu * pods);
    need.set("memory", (need.get("memory") ?? 0) + pod.memoryGiB * 2 ** 30 * pods);
    need.set(GPU, (need.get(GPU) ?? 0) + pod.gpus * pods);
  }
  // Each pool's endpoint picker, when the stack deploys them (one pod, recreated, never surging).
  const picker = pickerRequests(config);
  if (picker) {
    need.set("cpu", (need.get("cpu") ?? 0) + picker.cpu * config.models.length);
    need.set("memory", (need.get("memory") ?? 0) + picker.memoryGiB * 2 ** 30 * config.models.length);
  }
  // The download Jobs run before the engines start, but all may run at once on a first deploy.
  const jobs = config.models.reduce((sum, m) => sum + fetchJobCount(m), 0);
  need.set("cpu", (need.get("cpu") ?? 0) + parseQuantity(FETCH_RESOURCES.requests.cpu) * jobs);
  need.set("memory", (need.get("memory") ?? 0) + parseQuantity(FETCH_RESOURCES.requests.memory) * jobs);
  const labels = stackLabels(config);
  const quota = {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: RESOURCE_QUOTA_NAME, namespace: config.namespace, labels },
    spec: {
      hard: {
        "requests.cpu": cpuText((need.get("cpu") ?? 0) * (1 + HEADROOM)),
        "requests.memory": memoryText((need.get("memory") ?? 0) * (1 + HEADROOM)),
        [`requests.${GPU}`]: String(need.get(GPU) ?? 0),
      },
    },
  };
  const limitRange = {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: { name: LIMIT_RANGE_NAME, namespace: config.namespace, labels },
    spec: { limits: [{ type: "Container", defaultRequest: { ...DEFAULT_CONTAINER_REQUEST } }] },
  };
  return [quota, limitRange];
}
