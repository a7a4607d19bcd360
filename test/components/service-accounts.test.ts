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

  it("runs every workload as its own ServiceAccount, which exists in the output and mounts no token", () => {
    expect(workloads.length).toBeGreaterThanOrEqual(config.models.length + 3);
    const used = workloads.map((w) => w.spec.template.spec.serviceAccountName as string | undefined);
    expect(used.filter((name) => name === undefined || name === "default")).toEqual([]);
    // Jobs of one script share their account with nothing else; every Deployment and StatefulSet has its own.
    expect(new Set(used).size).toBe(used.length);
    for (const workload of workloads) {
      const pod = workload.spec.template.spec;
      expect(accounts.get(pod.serviceAccountName), `${workload.kind}/${workload.metadata.name}`).toBeDefined();
      expect(accounts.get(pod.serviceAccountName)!.automountServiceAccountToken).toBe(false);
      expect(pod.automountServiceAccountToken, `${workload.kind}/${workload.metadata.name}`).toBe(false);
    }
    for (const model of config.models) expect(accounts.has(model.serviceName), model.name).toBe(true);
  });

  it("grants no Kubernetes API access: no Role, ClusterRole or binding", () => {
    expect(objects.filter((o) => /Role(Binding)?$/.test(String(o.kind)))).toEqual([]);
  });
});
