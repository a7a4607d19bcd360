import { shown } from "../../display.js";
import { asRecord, asString, containersOf, engineOf, GPU_RESOURCE, podTemplate, requestsGpu, targetsGpuNodes } from "../../k8s.js";
import { defineRule, type Finding } from "../../types.js";

/**
 * gpu-resources: a GPU container declares `nvidia.com/gpu` in its limits and cpu/memory requests and limits, so the
 * scheduler places it on a node with the GPU and memory it needs and it cannot starve its neighbours.
 *
 * A GPU container is one that names nvidia.com/gpu in requests or limits, a vLLM container (unless its image is a
 * CPU build), or a llama.cpp container in a pod that targets GPU nodes (NVIDIA runtime class, GPU toleration or node
 * selector). A CPU-only llama.cpp is not one.
 */
export const gpuResources = defineRule({
  id: "gpu-resources",
  description: "GPU containers declare nvidia.com/gpu limits and cpu/memory requests and limits.",
  severity: "medium",
  enforcement: { development: "advisory", staging: "advisory", production: "mandatory" },
  waivable: true,
  remediation: "Set resources.limits nvidia.com/gpu (the model's gpus), and cpu/memory in both requests and limits (model resources.cpu / resources.memoryGiB).",
  checkObject: (object) => {
    const template = podTemplate(object);
    if (!template) return [];
    const findings: Finding[] = [];
    const gpuNodes = targetsGpuNodes(template.spec);
    for (const ref of containersOf(template)) {
      if (ref.init) continue;
      const engine = engineOf(ref);
      const image = (asString(ref.container["image"]) ?? "").toLowerCase();
      const isGpu = requestsGpu(ref.container) || (engine === "vllm" && !image.includes("cpu")) || (engine !== undefined && gpuNodes);
      if (!isGpu) continue;
      const resources = asRecord(ref.container["resources"]);
      const limits = asRecord(resources?.["limits"]);
      const requests = asRecord(resources?.["requests"]);
      const base = [...ref.path, "resources"];
      const gpuLimit = limits?.[GPU_RESOURCE];
      if (gpuLimit === undefined) {
        findings.push({
          object,
          path: [...base, "limits", GPU_RESOURCE],
          message: `GPU container ${shown(ref.name)} has no limits["${GPU_RESOURCE}"]; without it the pod is not given a GPU (extended resources are set in limits). Fix: set limits ${GPU_RESOURCE}: <gpus> (requests, if set, must equal it).`,
        });
      } else if (!/^[1-9]\d*$/.test(scalarText(gpuLimit))) {
        findings.push({ object, path: [...base, "limits", GPU_RESOURCE], message: `GPU container ${shown(ref.name)} limits["${GPU_RESOURCE}"] is ${shown(gpuLimit)}; allowed: a whole number ≥ 1. Fix: set the model's gpus.` });
      } else if (requests?.[GPU_RESOURCE] !== undefined && scalarText(requests[GPU_RESOURCE]) !== scalarText(gpuLimit)) {
        findings.push({
          object,
          path: [...base, "requests", GPU_RESOURCE],
          message: `GPU container ${shown(ref.name)} requests ${shown(requests[GPU_RESOURCE])} ${GPU_RESOURCE} but limits ${shown(gpuLimit)}; Kubernetes requires them equal. Fix: drop the request or make it equal.`,
        });
      }
      for (const [field, map] of [["requests", requests], ["limits", limits]] as const) {
        for (const resource of ["cpu", "memory"]) {
          if (map?.[resource] !== undefined) continue;
          findings.push({
            object,
            path: [...base, field, resource],
            message: `GPU container ${shown(ref.name)} has no ${field}.${resource}; a GPU pod without it is scheduled blind or can starve its node. Fix: set ${field}.${resource} (model resources.${resource === "cpu" ? "cpu" : "memoryGiB"}).`,
          });
        }
      }
    }
    return findings;
  },
});

/** A quantity as text; lists and maps (never valid quantities) as "", without walking them. */
function scalarText(value: unknown): string {
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}
