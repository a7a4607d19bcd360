import type { Engine, StackContext } from "../../config/types.js";

/** Labels every object of the stack carries, so `kubectl get all -l app.kubernetes.io/part-of=modelfleet` finds them. */
export function stackLabels(ctx: Pick<StackContext, "environment">): Record<string, string> {
  return {
    "app.kubernetes.io/managed-by": "modelfleet",
    "app.kubernetes.io/part-of": "modelfleet",
    "modelfleet.dev/environment": ctx.environment,
  };
}

/**
 * The labels that pick one model's pods. They are the Deployment's selector, which Kubernetes never lets change,
 * so they hold only what identifies the model, nothing that moves with a release.
 */
export function modelSelector(model: { readonly name: string; readonly serviceName: string }): Record<string, string> {
  return {
    "app.kubernetes.io/instance": model.serviceName,
    "app.kubernetes.io/name": model.name,
  };
}

export function modelLabels(model: { readonly name: string; readonly serviceName: string; readonly engine: Engine }, ctx: Pick<StackContext, "environment">): Record<string, string> {
  return {
    ...stackLabels(ctx),
    ...modelSelector(model),
    "app.kubernetes.io/component": "inference",
    "modelfleet.dev/engine": model.engine,
  };
}

/** Pods of the registry's health checker; engine NetworkPolicies let them in to probe /health. */
export const REGISTRY_HEALTH_LABELS: Readonly<Record<string, string>> = {
  "app.kubernetes.io/component": "registry-health",
  "app.kubernetes.io/part-of": "modelfleet",
};
