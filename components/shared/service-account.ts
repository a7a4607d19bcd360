import type { K8sObject } from "./k8s-object.js";

/**
 * A workload's own ServiceAccount, with no API token mounted into its pods and no Role bound: none of modelfleet's
 * pods (engines, the registry database, its Jobs and health checker) calls the Kubernetes API, so each gets an
 * identity that can do nothing, instead of sharing the namespace's `default` account.
 */
export function serviceAccount(metadata: K8sObject["metadata"]): K8sObject {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata, automountServiceAccountToken: false } as K8sObject;
}
