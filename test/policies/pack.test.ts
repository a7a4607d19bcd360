import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPolicies, packEnvironment, WAIVERS_POLICY } from "../../policies/pack/policies.js";
import { toK8sObject, UNKNOWN_SENTINELS } from "../../policies/pack/to-k8s-object.js";
import { Empty, MANDATORY, servePack, type ServedPack } from "../helpers/analyzer.js";

const require = createRequire(import.meta.url);
const DIGEST = `sha256:${"c".repeat(64)}`;

function deploymentProps(env: unknown[] = [], annotations?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "qwen-production", namespace: "inference", ...(annotations ? { annotations } : {}) },
    spec: {
      replicas: 1,
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
              env,
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

/** Drives one policy's validateResource in-process with the args CrossGuard would pass. */
async function validate(policyName: string, type: string, props: Record<string, unknown>, config: object = {}, environment: "development" | "production" = "production"): Promise<string[]> {
  const policy = buildPolicies({ environment }).find((p) => p.name === policyName) as ResourceValidationPolicy;
  const messages: string[] = [];
  const args = { type, props, urn: `urn:pulumi:production::modelfleet::${type}::x`, name: "x", getConfig: () => config } as unknown as ResourceValidationArgs;
  const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
  for (const fn of validations) await fn(args, (message) => void messages.push(message));
  return messages;
}

describe("CrossGuard policies (in-process)", () => {
  it("one policy per rule plus the waivers policy, enforcement from the environment", () => {
    const prod = buildPolicies({ environment: "production" });
    expect(prod.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ["no-hardcoded-secrets", "mandatory"],
      ["no-wildcard-cors", "mandatory"],
      ["image-digest", "mandatory"],
      ["gpu-resources", "mandatory"],
      ["probes", "mandatory"],
      ["pod-security", "mandatory"],
      ["network-policy-coverage", "mandatory"],
      ["pdb-coverage", "mandatory"],
      ["model-source-pinned", "mandatory"],
      ["no-download-at-start", "mandatory"],
      ["autoscaler-metric-exported", "mandatory"],
      ["autoscaled-has-pdb", "mandatory"],
      [WAIVERS_POLICY, "advisory"],
    ]);
    const dev = buildPolicies({ environment: "development" });
    expect(dev.find((p) => p.name === "pdb-coverage")?.enforcementLevel).toBe("disabled");
    expect(dev.find((p) => p.name === "probes")?.enforcementLevel).toBe("advisory");
  });

  it("reports a hardcoded password in a Deployment", async () => {
    const messages = await validate("no-hardcoded-secrets", "kubernetes:apps/v1:Deployment", deploymentProps([{ name: "POSTGRES_PASSWORD", value: "lstm_password" }]));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^Deployment\/inference\/qwen-production spec\.template\.spec\.containers\[0\]\.env\[0\]\.value: container "vllm" env "POSTGRES_PASSWORD" holds a literal value \(<redacted, 13 chars>\)/);
  });

  it("does not flag a Pulumi-managed Secret (its values come decrypted from Pulumi secrets)", async () => {
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "api-key", namespace: "inference" }, stringData: { key: "decrypted-pulumi-secret-value" } };
    expect(await validate("no-hardcoded-secrets", "kubernetes:core/v1:Secret", secret)).toEqual([]);
  });

  it("still checks ConfigMaps in the Pulumi path", async () => {
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "db", namespace: "inference" }, data: { postgresPassword: "changeme" } };
    expect(await validate("no-hardcoded-secrets", "kubernetes:core/v1:ConfigMap", configMap)).toHaveLength(1);
  });

  it("reads allowHostPath from --policy-pack-config", async () => {
    expect(await validate("pod-security", "kubernetes:apps/v1:Deployment", deploymentProps())).toHaveLength(1);
    expect(await validate("pod-security", "kubernetes:apps/v1:Deployment", deploymentProps(), { allowHostPath: true })).toEqual([]);
  });

  it("moves waived violations to the advisory waivers policy", async () => {
    const waived = deploymentProps([], { "modelfleet.dev/waive": "pod-security", "modelfleet.dev/waive-reason": "node-local cache, OPS-142" });
    expect(await validate("pod-security", "kubernetes:apps/v1:Deployment", waived)).toEqual([]);
    const listed = await validate(WAIVERS_POLICY, "kubernetes:apps/v1:Deployment", waived);
    expect(listed).toEqual([expect.stringMatching(/^pod-security waived \(node-local cache, OPS-142\): Deployment\/inference\/qwen-production spec\.template\.spec\.volumes\[0\]\.hostPath: /)]);
  });

  it("runs stack-level rules in validateStack and reports against the resource's URN", async () => {
    const policy = buildPolicies({ environment: "production" }).find((p) => p.name === "network-policy-coverage") as StackValidationPolicy;
    const reported: [string, string | undefined][] = [];
    const resources = [
      { type: "kubernetes:apps/v1:Deployment", props: deploymentProps(), urn: "urn:deployment", name: "qwen" },
      { type: "random:index/randomPassword:RandomPassword", props: { result: "x" }, urn: "urn:random", name: "pw" },
    ];
    const args = { resources, getConfig: () => ({}) } as unknown as StackValidationArgs;
    await policy.validateStack(args, (message, urn) => void reported.push([message, urn]));
    expect(reported.map(([, urn]) => urn)).toEqual(["urn:deployment"]);
  });

  it("converts CrossGuard types to Kubernetes objects and drops unknown values", () => {
    const unknown = [...UNKNOWN_SENTINELS][2]!;
    const converted = toK8sObject("kubernetes:core/v1:Service", { metadata: { annotations: { a: unknown } }, spec: { type: "ClusterIP" } }, "svc-1a2b");
    expect(converted).toEqual({ partial: false, object: { apiVersion: "v1", kind: "Service", metadata: { annotations: {}, name: "svc-1a2b" }, spec: { type: "ClusterIP" } } });
    expect(toK8sObject("kubernetes:apps/v1:DeploymentPatch", { metadata: { name: "d" } }, "d")?.partial).toBe(true);
    expect(toK8sObject("kubernetes:helm.sh/v4:Chart", {}, "c")).toBeUndefined();
    expect(toK8sObject("random:index/randomPassword:RandomPassword", {}, "p")).toBeUndefined();
  });

  it("copies @pulumi/policy's unknown-value sentinels exactly", () => {
    const proxy = require("@pulumi/policy/proxy") as Record<string, unknown>;
    const sentinels = Object.entries(proxy).filter(([k]) => /^unknown\w+Value$/.test(k)).map(([, v]) => v);
    expect(new Set(sentinels)).toEqual(UNKNOWN_SENTINELS);
  });

  it("infers the environment from the stack's config, then its name, else production", () => {
    expect(packEnvironment({ PULUMI_CONFIG: '{"modelfleet:environment":"staging"}', PULUMI_STACK: "production" }).environment).toBe("staging");
    expect(packEnvironment({ PULUMI_STACK: "acme/development" }).environment).toBe("development");
    expect(packEnvironment({ PULUMI_STACK: "gpu-lab" })).toEqual({ environment: "production", from: "default (strictest)" });
  });
});

/**
 * The pack as the Pulumi CLI runs it: `run-policy-pack <engine> .` in policies/ prints the analyzer's port; this
 * test then calls GetAnalyzerInfo and Analyze over gRPC (what the engine does before and during a preview).
 */
describe("CrossGuard pack (served over gRPC)", () => {
  let pack: ServedPack;

  beforeAll(async () => {
    pack = await servePack({ config: { "modelfleet:environment": "production" } });
  }, 60_000);
  afterAll(() => pack?.stop());

  it("GetAnalyzerInfo lists the policies", async () => {
    const info = await pack.call<{ getName(): string; getPoliciesList(): { getName(): string }[] }>("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("modelfleet");
    expect(info.getPoliciesList().map((p) => p.getName())).toContain("no-hardcoded-secrets");
  });

  it("Analyze returns mandatory diagnostics for a hardcoded password", async () => {
    const diagnostics = await pack.analyze({
      type: "kubernetes:apps/v1:Deployment",
      urn: "urn:pulumi:production::modelfleet::kubernetes:apps/v1:Deployment::qwen",
      name: "qwen",
      properties: deploymentProps([{ name: "POSTGRES_PASSWORD", value: "lstm_password" }]),
    });
    const secrets = diagnostics.filter((d) => d.policy === "no-hardcoded-secrets");
    expect(secrets).toHaveLength(1);
    expect(secrets[0]!.enforcement).toBe(MANDATORY);
    expect(secrets[0]!.message).toContain("<redacted, 13 chars>");
    expect(secrets[0]!.message).not.toContain("lstm_password");
  });
});

/**
 * policies/package.json "main" (pack/main.cjs) is what run-policy-pack require()s: it imports the compiled pack from
 * build/ (no TypeScript compiled at preview time), and says how to build it when build/ is missing.
 */
describe("the pack's entry point (pack/main.cjs)", () => {
  const PACK_ROOT = join(import.meta.dirname, "..", "..");

  it("resolves to the compiled pack, build/policies/pack/index.js", () => {
    const main = JSON.parse(readFileSync(join(PACK_ROOT, "policies", "package.json"), "utf8")).main as string;
    expect(main).toBe("pack/main.cjs");
    expect(existsSync(join(PACK_ROOT, "build", "policies", "pack", "index.js"))).toBe(true);
  });

  it("rejects with how to build it when build/ is missing", async () => {
    // The same entry point in a checkout without build/: the promise run-policy-pack awaits rejects with the fix.
    const checkout = await mkdtemp(join(tmpdir(), "modelfleet-pack-"));
    try {
      await mkdir(join(checkout, "policies", "pack"), { recursive: true });
      await copyFile(join(PACK_ROOT, "policies", "pack", "main.cjs"), join(checkout, "policies", "pack", "main.cjs"));
      const loading = require(join(checkout, "policies", "pack", "main.cjs")) as Promise<unknown>;
      const error = (await loading.then(
        () => undefined,
        (e: unknown) => e,
      )) as Error;
      expect(error.message).toBe(
        `modelfleet policy pack: ${join(checkout, "build", "policies", "pack", "index.js")} does not exist; the pack runs compiled. Run \`npm ci\` (or \`npm run build\`) at the repository root, then retry.`,
      );
      expect(error.stack).toBe(error.message);
    } finally {
      await rm(checkout, { recursive: true, force: true });
    }
  });
});
