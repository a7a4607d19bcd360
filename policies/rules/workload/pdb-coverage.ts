import { shown, shownLabels } from "../../display.js";
import { asRecord, engineContainers, isInferenceWorkload, namespaceOf, objectsSelecting } from "../../k8s.js";
import { defineRule, type Finding } from "../../types.js";
import { autoscaledWorkloads, pdbSelector } from "../model/autoscaled-has-pdb.js";

/**
 * pdb-coverage (stack-level): a model running more than one replica has a PodDisruptionBudget selecting its pods,
 * so a node drain cannot take every replica at once. Disabled in development (one replica, no PDB by profile).
 * A workload an autoscaler scales is left to autoscaled-has-pdb (one violation per missing PDB, not two).
 */
export const pdbCoverage = defineRule({
  id: "pdb-coverage",
  description: "Replicated inference Deployments have a PodDisruptionBudget.",
  severity: "medium",
  enforcement: { development: "disabled", staging: "advisory", production: "mandatory" },
  waivable: true,
  remediation: "Add a PodDisruptionBudget (policy/v1) selecting the model's pod labels with maxUnavailable: 1.",
  checkStack: (objects) => {
    const findings: Finding[] = [];
    const autoscaled = autoscaledWorkloads(objects);
    for (const object of objects) {
      if (!isInferenceWorkload(object) || autoscaled.has(object)) continue;
      const replicas = asRecord(object["spec"])?.["replicas"];
      if (typeof replicas !== "number" || replicas <= 1) continue;
      const { template } = engineContainers(object)[0]!;
      const ns = namespaceOf(object);
      const covered = objectsSelecting(objects, ns, "PodDisruptionBudget", "spec.selector", pdbSelector, template.labels).length > 0;
      if (covered) continue;
      findings.push({
        object,
        path: ["spec", "replicas"],
        message: `${replicas} replicas and no PodDisruptionBudget in namespace ${shown(ns || "-")} selects these pods (labels ${shownLabels(template.labels)}); a node drain can evict every replica at once. Fix: add a policy/v1 PodDisruptionBudget with this selector and maxUnavailable: 1.`,
      });
    }
    return findings;
  },
});
