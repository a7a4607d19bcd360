/**
 * The namespace's ResourceQuota and LimitRange (issue #13, point 3), sized from the stack's own pods: every pod of
 * the synthesized stack fits under the quota, GPUs exactly, and the LimitRange cannot cap or add anything.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONTAINER_REQUEST, LIMIT_RANGE_NAME, parseQuantity, RESOURCE_QUOTA_NAME } from "../../components/stack/quota.js";
import { loadStackFile } from "../../config/load.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { extraGroups } from "../../synth/groups.js";
import { synthesizeStack } from "../../synth/synthesize.js";

const ROOT = join(import.meta.dirname, "..", "..");
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Independent of quota.ts: per resource, each workload's containers summed × its pods (init containers ignored: we emit none). */
function requestedBy(objects: readonly K8sObject[]): Record<string, number> {
  const sum: Record<string, number> = { cpu: 0, memory: 0, "nvidia.com/gpu": 0 };
  // An autoscaled Deployment has no spec.replicas: it may run up to its ScaledObject's (or HPA's) maximum.
  const maxOf = new Map<string, number>();
  for (const o of objects as unknown as Json[]) {
    if (o.kind === "ScaledObject") maxOf.set(o.spec.scaleTargetRef.name, o.spec.maxReplicaCount);
    if (o.kind === "HorizontalPodAutoscaler") maxOf.set(o.spec.scaleTargetRef.name, o.spec.maxReplicas);
  }
  for (const o of objects as unknown as Json[]) {
    const pod = o.spec?.template?.spec;
    if (!pod) continue;
    expect(pod.initContainers ?? []).toEqual([]);
    const pods = o.kind === "Job" ? 1 : (o.spec.replicas ?? maxOf.get(o.metadata.name) ?? 1);
    for (const c of pod.containers) {
      for (const resource of Object.keys(sum)) {
        const value = c.resources?.requests?.[resource];
        if (value !== undefined) sum[resource]! += parseQuantity(String(value)) * pods;
      }
    }
  }
  return sum;
}

describe.each(["development", "staging", "production"])("the %s stack's namespace", (stack) => {
  const config = loadStackFile(join(ROOT, `Pulumi.${stack}.yaml`));
  const result = synthesizeStack(config, extraGroups(config));
  const quota = (result.objects as unknown as Json[]).find((o) => o.kind === "ResourceQuota")!;
  const limitRange = (result.objects as unknown as Json[]).find((o) => o.kind === "LimitRange")!;

  it("has a ResourceQuota every pod of the stack fits under, GPUs exactly, CPU and memory with headroom", () => {
    expect(quota.metadata).toMatchObject({ name: RESOURCE_QUOTA_NAME, namespace: config.namespace });
    const need = requestedBy(result.objects);
    const hard = quota.spec.hard as Record<string, string>;
    expect(Number(hard["requests.nvidia.com/gpu"])).toBe(config.models.reduce((n, m) => n + m.gpus * (m.autoscaling?.maxReplicas ?? m.replicas), 0));
    expect(Number(hard["requests.nvidia.com/gpu"])).toBe(need["nvidia.com/gpu"]);
    for (const resource of ["cpu", "memory"]) {
      const limit = parseQuantity(hard[`requests.${resource}`]!);
      expect(limit, resource).toBeGreaterThanOrEqual(need[resource]! * 1.09);
      expect(limit, resource).toBeLessThanOrEqual(need[resource]! * 1.11 + 1);
    }
  });

  it("has a LimitRange that only fills in missing requests: no default limit, no max", () => {
    expect(limitRange.metadata).toMatchObject({ name: LIMIT_RANGE_NAME, namespace: config.namespace });
    expect(limitRange.spec.limits).toEqual([{ type: "Container", defaultRequest: DEFAULT_CONTAINER_REQUEST }]);
  });

  it("sizes the quota from the config: one more replica of a GPU model raises the GPU quota by its GPUs", () => {
    const fixed = config.models.findIndex((m) => m.autoscaling === undefined && m.gpus > 0);
    const grown = { ...config, models: config.models.map((m, i) => (i === fixed ? { ...m, replicas: m.replicas + 1 } : m)) };
    const grownQuota = (synthesizeStack(grown).objects as unknown as Json[]).find((o) => o.kind === "ResourceQuota")!;
    expect(Number(grownQuota.spec.hard["requests.nvidia.com/gpu"]) - Number(quota.spec.hard["requests.nvidia.com/gpu"])).toBe(config.models[fixed]!.gpus);
  });

  it("an autoscaled model is counted at its maximum: raising maxReplicas raises the GPU quota", () => {
    const scaled = config.models.findIndex((m) => m.autoscaling !== undefined);
    if (scaled === -1) return expect(config.environment).toBe("development");
    const grown = { ...config, models: config.models.map((m, i) => (i === scaled && m.autoscaling ? { ...m, autoscaling: { ...m.autoscaling, maxReplicas: m.autoscaling.maxReplicas + 2 } } : m)) };
    const grownQuota = (synthesizeStack(grown).objects as unknown as Json[]).find((o) => o.kind === "ResourceQuota")!;
    expect(Number(grownQuota.spec.hard["requests.nvidia.com/gpu"]) - Number(quota.spec.hard["requests.nvidia.com/gpu"])).toBe(2 * config.models[scaled]!.gpus);
  });
});

describe("parseQuantity", () => {
  it.each([
    ["500m", 0.5],
    ["4", 4],
    ["128Mi", 128 * 2 ** 20],
    ["16Gi", 16 * 2 ** 30],
    ["1.5", 1.5],
    ["2k", 2000],
  ])("%s → %d", (text, value) => expect(parseQuantity(text)).toBe(value));

  it("refuses a form the builders never emit, rather than counting it wrong", () => {
    expect(() => parseQuantity("1e3")).toThrow('quantity "1e3" is not one modelfleet emits');
  });
});
