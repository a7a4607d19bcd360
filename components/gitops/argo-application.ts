import type { StackContext } from "../../config/types.js";
import { canonical, renderChart } from "../shared/chart.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { stackLabels } from "../shared/labels.js";
import { cdk8s } from "../shared/cdk8s.js";

export const ARGOCD_NAMESPACE = "argocd";
export const APPLICATION_FILE = "argocd-application.yaml";

/**
 * The Argo CD Application that deploys a synthesized stack from Git. Development and staging sync on their own
 * (prune, self-heal); production waits for someone to press Sync, so a merged change is still a reviewed rollout.
 * It lives beside the stack's files but is not one of the kustomization's resources: it is applied once, to Argo CD.
 */
export function buildArgoApplication(ctx: StackContext): K8sObject[] {
  if (!ctx.gitops) return [];
  const { repoURL, targetRevision, path } = ctx.gitops;
  const automated = ctx.environment !== "production";
  return renderChart(undefined, (chart) => {
    new cdk8s.ApiObject(chart, "application", {
      apiVersion: "argoproj.io/v1alpha1",
      kind: "Application",
      metadata: { name: `modelfleet-${ctx.stack}`, namespace: ARGOCD_NAMESPACE, labels: stackLabels(ctx) },
      spec: {
        project: "default",
        source: { repoURL, targetRevision, path },
        destination: { server: "https://kubernetes.default.svc", namespace: ctx.namespace },
        syncPolicy: {
          ...(automated ? { automated: { prune: true, selfHeal: true } } : {}),
          syncOptions: ["ServerSideApply=true"],
        },
      },
    });
  }).map(canonical);
}

/** kustomization.yaml listing the stack's files, so `kubectl apply -k` and Argo CD apply exactly those. */
export function buildKustomization(files: readonly string[]): Record<string, unknown> {
  return {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: [...files].filter((f) => f !== APPLICATION_FILE).sort(),
  };
}
