import { describe, expect, it } from "vitest";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { checkObjects } from "../../cli/commands/check.js";
import { checkPaths } from "../../policies/check.js";
import { RULES } from "../../policies/rules/index.js";
import { RULE_IDS } from "../../policies/types.js";
import { yamlDocumentObject } from "../../policies/documents.js";
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

describe("checkObjects on hostile in-memory objects", () => {
  const HF_TOKEN = `hf_${"Q".repeat(34)}`;
  /** `[[[…leaf…]]]`, `depth` lists deep, built without recursion. */
  const nested = (depth: number, leaf: unknown): unknown => {
    let node = leaf;
    for (let i = 0; i < depth; i++) node = [node];
    return node;
  };

  it("judges objects nested 20,000 deep instead of overflowing the stack, and keeps the message short", () => {
    // Given a Deployment and a plain YAML document, each holding a token at the bottom of a 20,000-deep list
    const deployment = vllmDeployment();
    (deployment["spec"] as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!["x-extra"] = nested(20_000, HF_TOKEN);
    const document = yamlDocumentObject("values.yaml", { values: nested(20_000, HF_TOKEN) });
    // When checked
    const violations = checkObjects([deployment, netpol, document], "production");
    // Then both tokens are reported where they are, with a one-line message that elides the middle of the path
    const secrets = violations.filter((v) => v.ruleId === "no-hardcoded-secrets");
    expect(secrets.map((v) => [v.objectRef, v.path.length])).toEqual([
      ["Deployment/inference/qwen-production", 6 + 20_000],
      ["YamlDocument/-/values.yaml", 1 + 20_000],
    ]);
    expect(secrets[1]?.message).toBe(
      'values[0][0][0][0][0][0][0]…(19989 more)…[0][0][0][0] holds a Hugging Face token (hf_…) (<redacted, 37 chars>). Fix: remove the value from the file; pass it from a Secret (e.g. Helm `existingSecret`) created from a Pulumi secret, and rotate the exposed value.',
    );
    // The field path stays exact (tools locate the field by it); only the message shortens it.
    expect(secrets[0]?.fieldPath === `spec.template.spec.containers[0].x-extra${"[0]".repeat(20_000)}`).toBe(true);
  });

  it("judges a ConfigMap file nested 20,000 deep (one-line JSON)", () => {
    const json = `${'{"a":['.repeat(20_000)}{"apiToken":"${"x9Kq".repeat(8)}"}${"]}".repeat(20_000)}`;
    const configMap: K8sObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "app", namespace: "inference" }, data: { "settings.json": json } };
    const [violation] = checkObjects([configMap], "production");
    expect(violation).toMatchObject({ ruleId: "no-hardcoded-secrets", fieldPath: 'data["settings.json"]', message: expect.stringMatching(/^ConfigMap file "settings\.json" line 1: "…a\[0\](\.a\[0\]){10}\.apiToken" holds a literal secret-looking value \(<redacted, 32 chars>\)/) });
  });

  it("never echoes an image reference with credentials (userinfo), and says why it is refused", () => {
    // Given an image written as a URL with a user and password
    const image = "https://u:sEcReT-pw@registry.example.com/vllm/vllm-openai:v0.8.5";
    const deployment = vllmDeployment();
    (deployment["spec"] as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!["image"] = image;
    // When checked
    const violations = checkObjects([deployment, netpol], "production").filter((v) => v.ruleId === "image-digest");
    // Then the image is reported without its password or user
    expect(violations.map((v) => v.message)).toEqual([
      'container "vllm" image <redacted, 64 chars> holds credentials, which an image reference must not carry; production requires a digest (…@sha256:<64 hex>). Fix: run `modelfleet pins resolve` or paste the digest. Registry credentials belong in an imagePullSecret.',
    ]);
  });

  it("never echoes a credential from any field a message names: container name, labels, namespace, CORS value, ConfigMap key", () => {
    const url = "postgresql://app:sEcReT%21pw@db.internal/registry";
    const deployment = vllmDeployment({ env: [{ name: "CORS_ALLOWED_ORIGINS", value: `*, ${url}\nsecond line` }] });
    const spec = deployment["spec"] as { template: { metadata: { labels: Record<string, string> }; spec: { containers: Record<string, unknown>[] } } };
    spec.template.spec.containers[0]!["name"] = url;
    spec.template.metadata.labels["db"] = url;
    const configMap: K8sObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cors", namespace: url }, data: { [url]: "*", CORS_ORIGINS: "*" } };
    const violations = checkObjects([deployment, configMap], "production");
    expect(violations.length).toBeGreaterThan(3);
    for (const v of violations) {
      expect(`${v.objectRef} ${v.fieldPath} ${v.message}`).not.toMatch(/sEcReT|%21pw/);
      expect(v.message).not.toContain("\n");
    }
    expect(violations.map((v) => v.ruleId)).toEqual(expect.arrayContaining(["network-policy-coverage", "no-wildcard-cors"]));
    expect(violations.find((v) => v.ruleId === "network-policy-coverage")?.message).toContain('(labels {"app":"qwen","db":<redacted, 49 chars>})');
  });

  it("stays fast on a 200,000-capital key (no quadratic regular expression)", () => {
    const document = yamlDocumentObject("values.yaml", { ["A".repeat(200_000)]: "x", nested: { ["B".repeat(200_000)]: "y" } });
    const start = performance.now();
    expect(checkObjects([document], "production")).toEqual([]);
    expect(performance.now() - start).toBeLessThan(2_000);
  });
});
