import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DROPPED_DEFAULTS, dropDefaults } from "../../components/shared/defaults.js";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { loadStackFile } from "../../config/load.js";
import { extraGroups } from "../../synth/groups.js";
import { synthesizeStack } from "../../synth/synthesize.js";
import { validateObjects } from "../../synth/validate.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** Every value at `path` (`*` = each array element) in `node`. */
function valuesAt(node: unknown, path: readonly string[]): unknown[] {
  if (path.length === 0) return [node];
  if (node === null || typeof node !== "object") return [];
  const [head, ...rest] = path as [string, ...string[]];
  if (head === "*") return Array.isArray(node) ? node.flatMap((item) => valuesAt(item, rest)) : [];
  if (Array.isArray(node) || !(head in node)) return [];
  return valuesAt((node as Record<string, unknown>)[head], rest);
}

// The noise cdk8s-plus used to write, as it appeared in the synthesized YAML.
const NOISE = [
  /^\s*immutable: false$/m,
  /^\s*externalIPs: \[\]$/m,
  /^\s*hostNetwork: false$/m,
  /^\s*setHostnameAsFQDN: false$/m,
  /^\s*minReadySeconds: 0$/m,
  /^\s*dnsPolicy: ClusterFirst$/m,
  /^\s*restartPolicy: Always$/m,
  /^\s*scheme: HTTP$/m,
];

describe.each(["development", "staging", "production"])("synthesized %s stack", (stack) => {
  const config = loadStackFile(join(ROOT, `Pulumi.${stack}.yaml`));
  const result = synthesizeStack(config, extraGroups(config));

  it("holds no field the drop list names at its Kubernetes default", () => {
    const left: string[] = [];
    for (const obj of result.objects) {
      for (const entry of DROPPED_DEFAULTS.filter((e) => e.kinds.includes(obj.kind))) {
        for (const value of valuesAt(obj, entry.path)) {
          if (JSON.stringify(value) === JSON.stringify(entry.value)) left.push(`${obj.kind}/${obj.metadata.name} ${entry.path.join(".")}`);
        }
      }
    }
    expect(left).toEqual([]);
    for (const file of result.files) for (const noise of NOISE) expect(file.content, `${file.path} ${noise}`).not.toMatch(noise);
  });

  it("keeps the security settings and the values the builders set on purpose", () => {
    const pods = result.objects.flatMap((o) => {
      const spec = o["spec"] as { template?: { spec?: Record<string, unknown> }; jobTemplate?: { spec: { template: { spec: Record<string, unknown> } } } } | undefined;
      const pod = spec?.template?.spec ?? spec?.jobTemplate?.spec.template.spec;
      const picker = (o.metadata.labels ?? {})["app.kubernetes.io/component"] === "endpoint-picker";
      return pod ? [{ kind: o.kind, pod, picker }] : [];
    });
    expect(pods.length).toBeGreaterThan(0);
    for (const { kind, pod, picker } of pods) {
      // Only a pool's endpoint picker calls the Kubernetes API (it watches its pool), so only it mounts a token.
      expect(pod["automountServiceAccountToken"]).toBe(picker);
      if (kind === "Job" || kind === "CronJob") expect(pod["restartPolicy"]).toBe("Never");
      for (const container of pod["containers"] as Array<{ securityContext: Record<string, unknown> }>) {
        expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true });
      }
    }
    const services = result.objects.filter((o) => o.kind === "Service") as Array<K8sObject & { spec: { type: string; ports: Array<{ protocol: string }> } }>;
    for (const service of services) {
      expect(service.spec.type).toBe("ClusterIP");
      for (const port of service.spec.ports) expect(port.protocol).toBe("TCP");
    }
  });

  it("still passes strict schema validation, and synthesizes to the same bytes again", () => {
    expect(validateObjects(result.objects)).toEqual([]);
    const again = synthesizeStack(config, extraGroups(config));
    expect(again.files.map((f) => [f.path, f.content])).toEqual(result.files.map((f) => [f.path, f.content]));
  });
});

describe("dropDefaults", () => {
  const deployment = (pod: Record<string, unknown>, spec: Record<string, unknown> = {}): K8sObject =>
    ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { ...spec, template: { spec: pod } } }) as K8sObject;

  it("drops a listed field only when it holds the Kubernetes default", () => {
    const obj = dropDefaults(
      deployment(
        {
          hostNetwork: false,
          dnsPolicy: "ClusterFirst",
          restartPolicy: "Always",
          setHostnameAsFQDN: false,
          automountServiceAccountToken: false,
          containers: [{ name: "c", livenessProbe: { httpGet: { path: "/", port: 1, scheme: "HTTP" } }, readinessProbe: { httpGet: { path: "/", port: 1, scheme: "HTTPS" } } }],
        },
        { minReadySeconds: 0, replicas: 1 },
      ),
    );
    expect(obj).toEqual(
      deployment(
        {
          automountServiceAccountToken: false,
          containers: [{ name: "c", livenessProbe: { httpGet: { path: "/", port: 1 } }, readinessProbe: { httpGet: { path: "/", port: 1, scheme: "HTTPS" } } }],
        },
        { replicas: 1 },
      ),
    );
  });

  it.each([
    ["a host-network pod", deployment({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet", setHostnameAsFQDN: true }, { minReadySeconds: 30 })],
    ["an immutable ConfigMap", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, immutable: true } as K8sObject],
    ["a Service with external IPs", { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { externalIPs: ["10.0.0.1"] } } as K8sObject],
    ["a Job's restartPolicy", { apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec: { template: { spec: { restartPolicy: "Always" } } } } as K8sObject],
    ["a kind the list does not name", { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" }, immutable: false, spec: { minReadySeconds: 0 } } as K8sObject],
  ])("keeps %s as it is", (_, obj) => {
    const before = structuredClone(obj);
    expect(dropDefaults(obj)).toEqual(before);
  });
});
