import type { StackContext } from "../../config/types.js";

/** Selects one namespace by the label Kubernetes sets on every namespace to its own name. */
export function namespaceSelector(namespace: string): { matchLabels: Record<string, string> } {
  return { matchLabels: { "kubernetes.io/metadata.name": namespace } };
}

/** A NetworkPolicy peer: the pods carrying `podLabels` in `namespace`. */
export function podsIn(namespace: string, podLabels: Readonly<Record<string, string>>): Record<string, unknown> {
  return { namespaceSelector: namespaceSelector(namespace), podSelector: { matchLabels: { ...podLabels } } };
}

/** The Prometheus that scrapes the stack: its namespace, narrowed to its pods when `monitoring.podLabels` names them. */
export function monitoringPeer(ctx: Pick<StackContext, "monitoring">): Record<string, unknown> {
  const { namespace, podLabels } = ctx.monitoring;
  return Object.keys(podLabels).length > 0 ? podsIn(namespace, podLabels) : { namespaceSelector: namespaceSelector(namespace) };
}

/**
 * Label an implementation that deploys a Gateway's data plane in the cluster must put on what it generates
 * (gateway-api GEP-1762, "In Cluster Gateway Deployments"); the engines' and pickers' NetworkPolicies admit the pods
 * carrying it for the stack's Gateway.
 */
export const GATEWAY_POD_LABEL = "gateway.networking.k8s.io/gateway-name";

/** The named Gateway's data-plane pods in its namespace. */
export function gatewayPeer(gatewayName: string, gatewayNamespace: string): Record<string, unknown> {
  return podsIn(gatewayNamespace, { [GATEWAY_POD_LABEL]: gatewayName });
}
