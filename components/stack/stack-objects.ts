import type { StackConfig } from "../../config/types.js";
import { buildModelObjects } from "../engines/model-objects.js";
import { buildSharedStoreObjects, buildStoreScriptObjects } from "../models/store.js";
import { renderChart } from "../shared/chart.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { stackLabels } from "../shared/labels.js";
import { cdk8s } from "../shared/cdk8s.js";
import { quotaObjects } from "./quota.js";

export const DEFAULT_DENY_POLICY_NAME = "default-deny-ingress";

/**
 * The stack's own objects: its Namespace (restricted Pod Security Standard enforced), a ResourceQuota and LimitRange
 * sized from the stack's own pods (components/stack/quota.ts) and, where the environment asks, a namespace-wide
 * default-deny ingress policy, so only the per-model policies open anything.
 */
export function buildNamespaceObjects(ctx: StackConfig): K8sObject[] {
  return renderChart(undefined, (chart) => {
    new cdk8s.ApiObject(chart, "namespace", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: ctx.namespace,
        labels: {
          ...stackLabels(ctx),
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/warn": "restricted",
        },
      },
    });
    if (ctx.defaultDenyNetworkPolicy) {
      new cdk8s.ApiObject(chart, "default-deny", {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: DEFAULT_DENY_POLICY_NAME, namespace: ctx.namespace, labels: stackLabels(ctx) },
        spec: { podSelector: {}, policyTypes: ["Ingress"] },
      });
    }
    for (const object of quotaObjects(ctx)) new cdk8s.ApiObject(chart, String(object["kind"]).toLowerCase(), object as never);
  }).concat(buildStoreScriptObjects(ctx));
}

/** Every object synth writes for a stack's models, grouped by model name (namespace-level objects under ""). */
export function buildStackObjects(config: StackConfig): Map<string, K8sObject[]> {
  const groups = new Map<string, K8sObject[]>();
  groups.set("", [...buildNamespaceObjects(config), ...buildSharedStoreObjects(config)]);
  for (const model of config.models) groups.set(model.name, buildModelObjects(model, config));
  return groups;
}
