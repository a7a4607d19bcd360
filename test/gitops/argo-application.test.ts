import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { describe, expect, it } from "vitest";
import { APPLICATION_FILE, ARGOCD_NAMESPACE, buildArgoApplication, buildKustomization } from "../../components/gitops/argo-application.js";
import { parseStackConfig } from "../../config/load.js";
import type { StackConfig } from "../../config/types.js";
import { stackValues } from "../helpers/stack-values.js";

type Json = Record<string, any>;
const REPO = "https://git.example.com/platform/modelfleet.git";

function stack(env: "development" | "staging" | "production", gitops: Record<string, unknown> | null = { repoURL: REPO }): StackConfig {
  return parseStackConfig(stackValues(env, gitops ? { gitops } : {}), `Pulumi.${env}.yaml`, env);
}

describe("buildArgoApplication", () => {
  it.each(["development", "staging", "production"] as const)("%s: validates against the Argo CD Application schema", (env) => {
    const [app] = buildArgoApplication(stack(env));
    expect(() => new Application(app as never).validate()).not.toThrow();
  });

  it("default: named after the stack, in Argo CD's namespace, labelled as modelfleet's, deploying into the stack's namespace", () => {
    const [app] = buildArgoApplication(stack("staging")) as Json[];
    expect(app!["metadata"]).toEqual({
      name: "modelfleet-staging",
      namespace: ARGOCD_NAMESPACE,
      labels: { "app.kubernetes.io/managed-by": "modelfleet", "app.kubernetes.io/part-of": "modelfleet", "modelfleet.dev/environment": "staging" },
    });
    expect(app!["spec"].destination).toEqual({ server: "https://kubernetes.default.svc", namespace: "llm-staging" });
    expect(app!["spec"].project).toBe("default");
  });

  it("default: tracks HEAD of the synthesized folder dist/<stack>", () => {
    const [app] = buildArgoApplication(stack("development")) as Json[];
    expect(app!["spec"].source).toEqual({ repoURL: REPO, targetRevision: "HEAD", path: "dist/development" });
  });

  it("can configure the revision and the folder", () => {
    const [app] = buildArgoApplication(stack("production", { repoURL: REPO, targetRevision: "release", path: "deploy/prod" })) as Json[];
    expect(app!["spec"].source).toEqual({ repoURL: REPO, targetRevision: "release", path: "deploy/prod" });
  });

  it.each([
    ["development", true],
    ["staging", true],
    ["production", false],
  ] as const)("%s: automated sync with prune and self-heal = %s", (env, automated) => {
    const [app] = buildArgoApplication(stack(env)) as Json[];
    expect(app!["spec"].syncPolicy.automated).toEqual(automated ? { prune: true, selfHeal: true } : undefined);
  });

  it("is not emitted when the stack has no gitops block", () => {
    expect(buildArgoApplication(stack("staging", null))).toEqual([]);
  });

  it("is deterministic: sorted keys, the same bytes every build", () => {
    const once = JSON.stringify(buildArgoApplication(stack("production")));
    expect(JSON.stringify(buildArgoApplication(stack("production")))).toBe(once);
    const [app] = buildArgoApplication(stack("production")) as Json[];
    expect(Object.keys(app!)).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect(Object.keys(app!["spec"])).toEqual([...Object.keys(app!["spec"])].sort());
  });
});

describe("buildKustomization", () => {
  it("lists the files sorted, leaves out the Application (applied to Argo CD, not by it), and does not sort in place", () => {
    const files = ["registry.yaml", APPLICATION_FILE, "namespace.yaml", "monitoring.yaml"];
    expect(buildKustomization(files)).toEqual({
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["monitoring.yaml", "namespace.yaml", "registry.yaml"],
    });
    expect(files[0]).toBe("registry.yaml");
  });

  it("is the same whatever order the files come in", () => {
    expect(buildKustomization(["b.yaml", "a.yaml"])).toEqual(buildKustomization(["a.yaml", "b.yaml"]));
  });
});
