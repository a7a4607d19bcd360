import type { K8sObject } from "../../../components/shared/k8s-object.js";
import { shown, shownLabels } from "../../display.js";
import { asRecord, engineContainers, isInferenceWorkload, namespaceOf, objectsSelecting } from "../../k8s.js";
import { defineRule, type Finding } from "../../types.js";
import { autoscalerRef, autoscalersIn, type Autoscaler } from "./autoscalers.js";
import { workloadNamed } from "./model-metadata.js";

const autoscaledIndexes = new WeakMap<readonly K8sObject[], Map<K8sObject, Autoscaler>>();

/**
 * Inference workloads scaled by a ScaledObject or HPA that may run more than one replica, each with the first
 * autoscaler naming it. Built once per object list (one pass over the autoscalers, a name lookup each).
 */
export function autoscaledWorkloads(objects: readonly K8sObject[]): ReadonlyMap<K8sObject, Autoscaler> {
  let index = autoscaledIndexes.get(objects);
  if (!index) {
    index = new Map();
    for (const scaler of autoscalersIn(objects)) {
      if (!scaler.target || (scaler.maxReplicas !== undefined && scaler.maxReplicas <= 1)) continue;
      const workload = workloadNamed(objects, scaler.target.kind, namespaceOf(scaler.object), scaler.target.name);
      if (workload && isInferenceWorkload(workload) && !index.has(workload)) index.set(workload, scaler);
    }
    autoscaledIndexes.set(objects, index);
  }
  return index;
}

/** A PodDisruptionBudget's selector; one without spec.selector selects nothing (undefined is not a selector map). */
export function pdbSelector(pdb: K8sObject): unknown {
  return asRecord(pdb["spec"])?.["selector"];
}

/**
 * autoscaled-has-pdb (stack-level): a model whose replicas an autoscaler owns has a PodDisruptionBudget selecting
 * its pods, so a node drain (or a scale-down racing one) cannot evict every replica at once. Its Deployment carries
 * no fixed `replicas` (synthesized YAML omits it), so pdb-coverage leaves it to this rule.
 */
export const autoscaledHasPdb = defineRule({
  id: "autoscaled-has-pdb",
  description: "Inference Deployments scaled by a ScaledObject or HPA have a PodDisruptionBudget.",
  severity: "medium",
  enforcement: { development: "disabled", staging: "advisory", production: "mandatory" },
  waivable: true,
  remediation: "Add a PodDisruptionBudget (policy/v1) selecting the model's pod labels with maxUnavailable: 1.",
  checkStack: (objects) => {
    const findings: Finding[] = [];
    for (const [workload, scaler] of autoscaledWorkloads(objects)) {
      const { template } = engineContainers(workload)[0]!;
      const ns = namespaceOf(workload);
      if (objectsSelecting(objects, ns, "PodDisruptionBudget", "spec.selector", pdbSelector, template.labels).length > 0) continue;
      const upTo = scaler.maxReplicas === undefined ? "" : ` up to ${scaler.maxReplicas} replicas`;
      findings.push({
        object: workload,
        path: template.labelsPath,
        message: `${workload.kind} is scaled by ${autoscalerRef(scaler)}${upTo} and no PodDisruptionBudget in namespace ${shown(ns || "-")} selects its pods (labels ${shownLabels(template.labels)}); a node drain can evict every replica at once and drop the streams they serve. Fix: add a policy/v1 PodDisruptionBudget with this selector and maxUnavailable: 1 (modelfleet's builders emit one when the profile asks for PDBs).`,
      });
    }
    return findings;
  },
});
