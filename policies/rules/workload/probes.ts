import { shown } from "../../display.js";
import { containersOf, engineOf, LONG_RUNNING_KINDS, podTemplate, requestsGpu } from "../../k8s.js";
import { defineRule, type Finding } from "../../types.js";

const WHY: Record<string, string> = {
  startupProbe: "without it the liveness probe kills a model that is still loading weights",
  readinessProbe: "without it traffic reaches the engine before the model is loaded",
  livenessProbe: "without it a hung engine keeps its GPU and never restarts",
};

/**
 * probes: inference and GPU containers in long-running workloads declare startup, readiness and liveness probes.
 * The startup probe's budget (failureThreshold × periodSeconds) comes from config/startup-budget.ts.
 */
export const probes = defineRule({
  id: "probes",
  description: "Inference and GPU containers declare startup, readiness and liveness probes.",
  severity: "medium",
  enforcement: { development: "advisory", staging: "advisory", production: "mandatory" },
  waivable: true,
  remediation: "Add httpGet /health probes on the engine port: a startupProbe sized to the model's startup budget, then readiness and liveness probes.",
  checkObject: (object) => {
    if (!LONG_RUNNING_KINDS.has(object.kind)) return [];
    const template = podTemplate(object);
    if (!template) return [];
    const findings: Finding[] = [];
    for (const ref of containersOf(template)) {
      if (ref.init || (engineOf(ref) === undefined && !requestsGpu(ref.container))) continue;
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"] as const) {
        if (ref.container[probe] !== undefined) continue;
        findings.push({
          object,
          path: [...ref.path, probe],
          message: `container ${shown(ref.name)} has no ${probe}; ${WHY[probe]}. Fix: add ${probe}: httpGet {path: /health, port: <engine port>}${probe === "startupProbe" ? " with failureThreshold × periodSeconds ≥ the model's startup budget" : ""}.`,
        });
      }
    }
    return findings;
  },
});
