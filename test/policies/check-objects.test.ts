import { describe, expect, it } from "vitest";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { checkObjects } from "../../cli/commands/check.js";
import { checkPaths } from "../../policies/check.js";
import { RULES } from "../../policies/rules/index.js";
import { RULE_IDS } from "../../policies/types.js";
import { join } from "node:path";

const DIGEST = `sha256:${"b".repeat(64)}`;

/** A minimal vLLM Deployment, compliant except where a test changes it. */
function vllmDeployment(overrides: { annotations?: Record<string, string>; env?: unknown[]; replicas?: number } = {}): K8sObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "qwen-production", namespace: "inference", ...(overrides.annotations ? { annotations: overrides.annotations } : {}) },
    spec: {
      replicas: overrides.replicas ?? 1,
      template: {
        metadata: { labels: { app: "qwen" } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          volumes: [{ name: "cache", hostPath: { path: "/mnt/cache" } }],
          containers: [
            {
              name: "vllm",
              image: `vllm/vllm-openai@${DIGEST}`,
              args: ["--allowed-origins", '["https://chat.example.com"]'],
              env: overrides.env ?? [],
              resources: { requests: { cpu: "4", memory: "16Gi" }, limits: { cpu: "4", memory: "16Gi", "nvidia.com/gpu": "1" } },
              securityContext: { allowPrivilegeEscalation: false },
              startupProbe: {},
              readinessProbe: {},
              livenessProbe: {},
            },
          ],
        },
      },
    },
  };
}
const netpol: K8sObject = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "qwen", namespace: "inference" },
  spec: { podSelector: { matchLabels: { app: "qwen" } }, policyTypes: ["Ingress"], ingress: [] },
};

describe("rules", () => {
  it("one rule per id, in RULE_IDS order", () => {
    expect(RULES.map((r) => r.id)).toEqual([...RULE_IDS]);
  });

  it("the two security rules are mandatory everywhere and not waivable", () => {
    for (const rule of RULES.filter((r) => r.id === "no-hardcoded-secrets" || r.id === "no-wildcard-cors")) {
      expect(rule.enforcement).toEqual({ development: "mandatory", staging: "mandatory", production: "mandatory" });
      expect(rule.waivable).toBe(false);
    }
  });
});

describe("checkObjects", () => {
  it("reports a hostPath volume as mandatory in production, advisory in staging", () => {
    const prod = checkObjects([vllmDeployment(), netpol], "production");
    expect(prod.map((v) => [v.ruleId, v.enforcement, v.objectRef, v.fieldPath])).toEqual([
      ["pod-security", "mandatory", "Deployment/inference/qwen-production", "spec.template.spec.volumes[0].hostPath"],
    ]);
    expect(checkObjects([vllmDeployment(), netpol], "staging").map((v) => v.enforcement)).toEqual(["advisory"]);
  });

  it("can allow hostPath for a stack", () => {
    expect(checkObjects([vllmDeployment(), netpol], "production", { options: { allowHostPath: true } })).toEqual([]);
  });

  it("reports a waived violation as waived, with its reason", () => {
    const waived = vllmDeployment({ annotations: { "modelfleet.dev/waive": "pod-security", "modelfleet.dev/waive-reason": "node-local cache, OPS-142" } });
    const [violation] = checkObjects([waived, netpol], "production");
    expect(violation).toMatchObject({ ruleId: "pod-security", enforcement: "mandatory", waiver: { reason: "node-local cache, OPS-142" } });
  });

  it("ignores a waiver without a reason, and says so", () => {
    const unexplained = vllmDeployment({ annotations: { "modelfleet.dev/waive": "pod-security" } });
    const [violation] = checkObjects([unexplained, netpol], "production");
    expect(violation?.waiver).toBeUndefined();
    expect(violation?.message).toMatch(/\(waiver ignored: modelfleet\.dev\/waive lists "pod-security" but modelfleet\.dev\/waive-reason is missing or empty; add the reason\)$/);
  });

  it("refuses to waive no-hardcoded-secrets", () => {
    const object = vllmDeployment({
      annotations: { "modelfleet.dev/waive": "no-hardcoded-secrets pod-security", "modelfleet.dev/waive-reason": "test" },
      env: [{ name: "POSTGRES_PASSWORD", value: "lstm_password" }],
    });
    const secret = checkObjects([object, netpol], "development").find((v) => v.ruleId === "no-hardcoded-secrets");
    expect(secret?.waiver).toBeUndefined();
    expect(secret?.message).toContain('lists "no-hardcoded-secrets", which cannot be waived');
  });

  it("never prints a secret value", () => {
    const object = vllmDeployment({ env: [{ name: "POSTGRES_PASSWORD", value: "lstm_password" }] });
    const messages = checkObjects([object, netpol], "production").map((v) => v.message).join("\n");
    expect(messages).toContain("<redacted, 13 chars>");
    expect(messages).not.toContain("lstm_password");
  });

  it("flags a Secret with values in YAML, not in the Pulumi path", () => {
    const secret: K8sObject = { apiVersion: "v1", kind: "Secret", metadata: { name: "db", namespace: "inference" }, data: { password: "bHN0bV9wYXNzd29yZA==" } };
    expect(checkObjects([secret], "production").map((v) => v.fieldPath)).toEqual(["data.password"]);
    expect(checkObjects([secret], "production", { source: "pulumi" })).toEqual([]);
  });

  it("returns the same order for the same objects", () => {
    const objects = [vllmDeployment({ replicas: 3, env: [{ name: "API_KEY", value: "abc123def456" }] })];
    expect(checkObjects(objects, "production")).toEqual(checkObjects([...objects].reverse(), "production"));
  });
});

describe("checkPaths", () => {
  it("infers a stack file's environment from modelfleet:environment, else its name", async () => {
    const dir = join(import.meta.dirname, "../fixtures/policies/no-hardcoded-secrets/fail");
    const report = await checkPaths([join(dir, "Pulumi.nested-password.yaml"), join(dir, "Pulumi.plaintext-hf-token.yaml")]);
    expect(report.stacks.map((s) => [s.stack, s.environment])).toEqual([
      ["nested-password", "staging"],
      ["plaintext-hf-token", "production"],
    ]);
    expect(report.violations.map((v) => [v.line, v.objectRef, v.fieldPath])).toEqual([
      [6, "PulumiStackConfig/-/nested-password", 'config["modelfleet:database"].password'],
      [4, "PulumiStackConfig/-/plaintext-hf-token", 'config["modelfleet:hfToken"]'],
    ]);
    expect(report.violations[0]?.message).toContain("pulumi config set --secret --path 'modelfleet:database.password' <value>");
  });

  it("points at the line inside a ConfigMap's embedded file", async () => {
    const file = join(import.meta.dirname, "../fixtures/policies/no-wildcard-cors/fail/configmap-cors-origins-python.yaml");
    const report = await checkPaths([file]);
    expect(report.violations.map((v) => [v.ruleId, v.line])).toEqual([["no-wildcard-cors", 9]]);
    expect(report.violations[0]?.message).toContain('ConfigMap file "settings.toml" line 2: "cors_origins" allows every origin (["*"])');
  });
});
