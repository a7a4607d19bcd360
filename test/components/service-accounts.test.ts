/** Issue #13, point 3: a ServiceAccount per workload, no token mounted, no Role — in every shipped stack's output. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackFile } from "../../config/load.js";
import { extraGroups } from "../../synth/groups.js";
import { synthesizeStack } from "../../synth/synthesize.js";

const ROOT = join(import.meta.dirname, "..", "..");
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe.each(["development", "staging", "production"])("the %s stack", (stack) => {
  const config = loadStackFile(join(ROOT, `Pulumi.${stack}.yaml`));
  const objects = synthesizeStack(config, extraGroups(config)).objects as unknown as Json[];
  const workloads = objects.filter((o) => o.spec?.template?.spec);
  const accounts = new Map(objects.filter((o) => o.kind === "ServiceAccount").map((o) => [o.metadata.name as string, o]));

  // A pool's endpoint picker is the one Kubernetes client among them: it watches its pool and the pool's pods.
  const isPicker = (o: Json) => o.metadata.labels?.["app.kubernetes.io/component"] === "endpoint-picker";
  const pickers = workloads.filter(isPicker);

  it("runs every workload as its own ServiceAccount, which exists in the output and mounts no token (but the pickers')", () => {
    expect(workloads.length).toBeGreaterThanOrEqual(config.models.length + 3);
    const used = workloads.map((w) => w.spec.template.spec.serviceAccountName as string | undefined);
    expect(used.filter((name) => name === undefined || name === "default")).toEqual([]);
    // Jobs of one script share their account with nothing else; every Deployment and StatefulSet has its own.
    expect(new Set(used).size).toBe(used.length);
    for (const workload of workloads) {
      const pod = workload.spec.template.spec;
      expect(accounts.get(pod.serviceAccountName), `${workload.kind}/${workload.metadata.name}`).toBeDefined();
      expect(accounts.get(pod.serviceAccountName)!.automountServiceAccountToken).toBe(false);
      expect(pod.automountServiceAccountToken, `${workload.kind}/${workload.metadata.name}`).toBe(isPicker(workload));
    }
    for (const model of config.models) expect(accounts.has(model.serviceName), model.name).toBe(true);
  });

  it("grants no Kubernetes API access but the pickers' read-only Role in the namespace: no ClusterRole, no write verb", () => {
    expect(pickers).toHaveLength(config.gateway?.endpointPicker.deploy ? config.models.length : 0);
    const rbac = objects.filter((o) => /Role(Binding)?$/.test(String(o.kind)));
    expect(rbac.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(pickers.flatMap((p) => [`Role/${p.metadata.name}`, `RoleBinding/${p.metadata.name}`]).sort());
    for (const role of rbac.filter((o) => o.kind === "Role")) {
      expect(role.metadata.namespace).toBe(config.namespace);
      for (const rule of role.rules) expect(rule.verbs).toEqual(["get", "list", "watch"]);
      expect(role.rules.flatMap((r: Json) => r.resources).sort()).toEqual(["inferencemodelrewrites", "inferenceobjectives", "inferencepools", "pods"]);
    }
    for (const binding of rbac.filter((o) => o.kind === "RoleBinding")) {
      expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: binding.metadata.name, namespace: config.namespace }]);
      expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: binding.metadata.name });
    }
  });
});
