import type { K8sObject } from "../../../components/shared/k8s-object.js";
import { shown, shownLabels } from "../../display.js";
import { asArray, asRecord, engineContainers, isInferenceWorkload, namespaceOf, objectsSelecting } from "../../k8s.js";
import { defineRule, type Finding } from "../../types.js";

/**
 * network-policy-coverage (stack-level): every inference Deployment/StatefulSet's pods are selected by a
 * NetworkPolicy in the same namespace that governs ingress, so only the router and monitoring reach the engine.
 */
export const networkPolicyCoverage = defineRule({
  id: "network-policy-coverage",
  description: "Every inference Deployment is selected by a NetworkPolicy (ingress) in its namespace.",
  severity: "high",
  enforcement: { development: "advisory", staging: "advisory", production: "mandatory" },
  waivable: true,
  remediation: "Add a NetworkPolicy selecting the model's pod labels that allows ingress only from the router and monitoring.",
  checkStack: (objects) => {
    const findings: Finding[] = [];
    for (const object of objects) {
      if (!isInferenceWorkload(object)) continue;
      const { template } = engineContainers(object)[0]!;
      const ns = namespaceOf(object);
      const covered = objectsSelecting(objects, ns, "NetworkPolicy", "spec.podSelector", podSelectorOf, template.labels).some((policy) => {
        const types = asArray(asRecord(policy["spec"])?.["policyTypes"]);
        return types.length === 0 || types.includes("Ingress");
      });
      if (covered) continue;
      findings.push({
        object,
        path: template.labelsPath,
        message: `no NetworkPolicy in namespace ${shown(ns || "-")} selects these pods (labels ${shownLabels(template.labels)}) for ingress, so any pod in the cluster can call the model. Fix: add a NetworkPolicy whose podSelector matches these labels and allows ingress only from the router and monitoring.`,
      });
    }
    return findings;
  },
});

/** A NetworkPolicy's pod selector; a policy without one selects every pod in its namespace. */
function podSelectorOf(policy: K8sObject): unknown {
  return asRecord(policy["spec"])?.["podSelector"] ?? {};
}
