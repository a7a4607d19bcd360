import { describe, expect, it } from "vitest";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { checkObjects } from "../../cli/commands/check.js";
import { checkPaths, loadYaml, type Loaded } from "../../policies/check.js";
import { fastParseDocuments } from "../../policies/fast-yaml.js";
import { objectsIn, objectsSelecting, selectorMatches } from "../../policies/k8s.js";
import { RULES } from "../../policies/rules/index.js";
import { RULE_IDS } from "../../policies/types.js";
import { yamlDocumentObject } from "../../policies/documents.js";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";

const DIGEST = `sha256:${"b".repeat(64)}`;

const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";
/** What the model builders write on an engine Deployment served from the model store (model-source-pinned). */
const MODEL_ANNOTATIONS = { "modelfleet.dev/model-source": `huggingFace:Qwen/Qwen3-0.6B@${REVISION}`, "modelfleet.dev/model-delivery": "store" };

/** A minimal vLLM Deployment, compliant except where a test changes it. */
function vllmDeployment(overrides: { annotations?: Record<string, string>; env?: unknown[]; replicas?: number } = {}): K8sObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "qwen-production", namespace: "inference", annotations: { ...MODEL_ANNOTATIONS, ...overrides.annotations } },
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
              args: ["--model", `/models/Qwen--Qwen3-0.6B/${REVISION}`, "--allowed-origins", '["https://chat.example.com"]'],
              env: [...(overrides.env ?? []), { name: "HF_HUB_OFFLINE", value: "1" }],
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

/** Every .yaml file under a folder (stack files aside: they are read by the library only). */
function manifestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name) && !/^Pulumi\./.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** The objects two readers load from a text, and the line each gives for every finding (and for a few other paths). */
function compareReaders(file: string, text: string): { fast: Loaded[]; lines: [number, number][] } {
  const fast = loadYaml(file, text, "fast");
  const library = loadYaml(file, text, "library");
  expect(fast.map((l) => l.object)).toStrictEqual(library.map((l) => l.object));
  const lines: [number, number][] = [];
  for (const environment of ["development", "production"] as const) {
    for (const v of checkObjects(fast.map((l) => l.object), environment)) {
      const i = fast.findIndex((l) => l.object === v.object);
      lines.push([fast[i]!.line(v.path, v.embeddedLine), library[i]!.line(v.path, v.embeddedLine)]);
    }
  }
  for (const [i, loaded] of fast.entries()) {
    for (const path of [[], ["metadata"], ["metadata", "name"], ["spec", "template", "spec", "containers", 0, "image"], ["spec", "no-such-field"], ["items", 1, "kind"]]) {
      lines.push([loaded.line(path), library[i]!.line(path)]);
    }
  }
  return { fast, lines };
}

/** Generated-style YAML the fast reader takes: every construct it handles, with findings after empty documents. */
const GENERATED = [
  "# Source: chart/templates/first.yaml",
  "---",
  "# Source: chart/templates/empty.yaml",
  "---",
  "apiVersion: apps/v1",
  "kind: Deployment",
  "metadata:",
  "  name: 'quoted ''name'''",
  "  namespace: inference",
  "  labels: &labels",
  "    app: qwen   # trailing comment",
  '    "app.kubernetes.io/name": "qwen\\u0021"',
  "  annotations: {}",
  "spec:",
  "  replicas: 2",
  "  selector:",
  "    matchLabels: *labels",
  "  template:",
  "    metadata:",
  "      labels: *labels",
  "    spec:",
  "      containers:",
  "      - name: vllm",
  "        image: vllm/vllm-openai:v0.8.5",
  "        args:",
  "        - --api-key",
  "        - sk-0123456789abcdef0123456789abcdef",
  "          # a comment deeper than the items",
  "        - --max-model-len",
  "        - 4096",
  "        env:",
  "          - name: POSTGRES_PASSWORD",
  "            value: lstm_password",
  "          - name: RATIO",
  "            value: -1.5e3",
  "          - name: FLAGS",
  "            value: [] ",
  "        ports:",
  "        -",
  "          containerPort: 8000",
  "        - - nested",
  "          - list",
  "---",
  "apiVersion: v1",
  "kind: List",
  "items:",
  "- apiVersion: v1",
  "  kind: Service",
  "  metadata: {}",
  "- apiVersion: v1",
  "  kind: ConfigMap",
  "  metadata:",
  "    name: cors",
  "  data:",
  "    CORS_ORIGINS: '*'",
  "    toString: ~",
  "---",
  "replicaCount: 1",
  "auth:",
  "  password: hunter2hunter2",
  "  enabled: true",
  "",
].join("\n");

describe("the fast YAML reader (policies/fast-yaml.ts) agrees with the yaml library", () => {
  it("reads generated YAML itself: the same objects and the same line for every finding", () => {
    // Given generated-style YAML the fast reader takes on (not handed to the library)
    expect(fastParseDocuments(GENERATED)?.map((d) => d.value === null)).toEqual([true, false, false, false]);
    // When both readers load it and the rules run
    const { fast, lines } = compareReaders("/charts/out.yaml", GENERATED);
    // Then objects, names and every line agree (compareReaders asserts the objects)
    expect(fast.map((l) => `${l.object.kind}/${String(l.object.metadata.name)}`)).toEqual(["Deployment/quoted 'name'", "Service/(unnamed)", "ConfigMap/cors", "YamlDocument/out.yaml#4"]);
    expect(lines.length).toBeGreaterThan(8);
    for (const [fastLine, libraryLine] of lines) expect(fastLine).toBe(libraryLine);
    // And the lines are the file's own
    const deployment = fast[0]!;
    expect(deployment.line(["spec", "template", "spec", "containers", 0, "env", 0, "value"])).toBe(33);
    expect(deployment.line(["spec", "template", "spec", "containers", 0, "ports", 0, "containerPort"])).toBe(40);
    expect(fast[3]!.line(["auth", "password"])).toBe(60);
  });

  it.each([
    ["a block scalar", "data:\n  settings.py: |\n    PASSWORD = 'x'\n"],
    ["a flow map over two lines", "metadata: {name: a,\n  namespace: b}\n"],
    ["a flow map with a key and no value", "metadata: {name}\n"],
    ["a multi-line plain scalar", "a: one\n  two\n"],
    ["a tag", "a: !!str 1\n"],
    ["a duplicate key", "a: 1\na: 2\n"],
    ["a directive", "%YAML 1.2\n---\na: 1\n"],
    ["a tab", "a:\t1\n"],
    ["CRLF line ends", "a: 1\r\nb: 2\r\n"],
    ["an unknown alias", "a: *nope\n"],
    ["a merge key", "a: &x\n  b: 1\nc:\n  <<: *x\n"],
    ["a number as a key", "80: http\n"],
    ["a document end marker", "a: 1\n...\n"],
    ["a value on the --- line", "--- a: 1\n"],
    ["an escape JSON lacks", 'a: "\\x41"\n'],
    ["nesting deeper than it takes on", `${Array.from({ length: 60 }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n")} x\n`],
  ])("hands %s to the yaml library", (_what, text) => {
    // Either the whole text (file-level constructs) or the one document is left to the library.
    const documents = fastParseDocuments(text);
    expect(documents === undefined || documents.every((d) => d.fallback && d.value === undefined)).toBe(true);
    // And the outcome is the library's: the same objects, or the same error
    const outcome = (reader: "fast" | "library"): unknown => {
      try {
        return loadYaml("/x.yaml", text, reader).map((l) => l.object);
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(outcome("fast")).toStrictEqual(outcome("library"));
  });

  it("reads the other documents of a file itself when one is left to the library, with the file's lines", () => {
    const text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  app.env: |\n    API_TOKEN=abc123abc123\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n";
    expect(fastParseDocuments(text)?.map((d) => d.fallback)).toEqual([true, false]);
    const { fast, lines } = compareReaders("/x.yaml", text);
    expect(fast.map((l) => l.object.metadata.name)).toEqual(["a", "b"]);
    for (const [fastLine, libraryLine] of lines) expect(fastLine).toBe(libraryLine);
    expect(fast[0]!.line(["data", "app.env"], 1)).toBe(6);
  });

  it("leaves an alias bomb to the library, which refuses it", async () => {
    const lines = ["a0: &a0 x"];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i}\n${Array.from({ length: 9 }, () => `  - *a${i - 1}`).join("\n")}`);
    const text = `${lines.join("\n")}\n`;
    expect(fastParseDocuments(text)?.map((d) => d.fallback)).toEqual([true]);
    expect(() => loadYaml("/bomb.yaml", text)).toThrow("/bomb.yaml:1: YAML aliases expand to more than 1000 nodes (an alias bomb?); write the values out");
  });

  it("loads every policy fixture as the library does, with the same lines for every finding", () => {
    const files = manifestFiles(join(import.meta.dirname, "../fixtures/policies")).filter((f) => basename(f) !== "broken.yaml");
    let fastFiles = 0;
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      if (fastParseDocuments(text) !== undefined) fastFiles++;
      const { lines } = compareReaders(file, text);
      for (const [fastLine, libraryLine] of lines) expect(fastLine, file).toBe(libraryLine);
    }
    // Most fixtures are plain generated YAML: the comparison exercises the fast reader, not only the fallback.
    expect(fastFiles).toBeGreaterThan(files.length / 2);
  });
});

describe("objectsSelecting (the selector index stack-level rules use)", () => {
  it("finds exactly the objects selectorMatches accepts, for every kind of selector", () => {
    // Given policies with every selector shape: labels, expressions only, {}, none, not a map, non-string values
    const selectors: unknown[] = [
      { matchLabels: { app: "a" } },
      { matchLabels: { app: "a", tier: "gpu" } },
      { matchLabels: { tier: "gpu" }, matchExpressions: [{ key: "app", operator: "In", values: ["b"] }] },
      { matchExpressions: [{ key: "app", operator: "Exists" }] },
      { matchExpressions: [{ key: "app", operator: "NotIn", values: ["a"] }] },
      {},
      undefined,
      "app=a",
      { matchLabels: { app: 1, tier: "cpu" } },
      { matchLabels: { app: "b" } },
    ];
    const policies: K8sObject[] = selectors.map((podSelector, i) => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: `p${i}`, namespace: i === 9 ? "other" : "inference" },
      spec: podSelector === undefined ? {} : { podSelector },
    }));
    const objects = [...policies, vllmDeployment()];
    const selectorOf = (o: K8sObject): unknown => (o["spec"] as Record<string, unknown>)["podSelector"] ?? {};
    const podLabels: Record<string, string>[] = [{}, { app: "a" }, { app: "a", tier: "gpu" }, { app: "b", tier: "gpu" }, { app: "b" }, { tier: "cpu" }, { app: "c", tier: "cpu" }];
    for (const namespace of ["inference", "other", "none"]) {
      for (const labels of podLabels) {
        // When indexed and when judged one by one
        const indexed = objectsSelecting(objects, namespace, "NetworkPolicy", "test.podSelector", selectorOf, labels).map((o) => o.metadata.name).sort();
        const bruteForce = objectsIn(objects, namespace, "NetworkPolicy").filter((o) => selectorMatches(selectorOf(o), labels)).map((o) => o.metadata.name).sort();
        // Then they agree
        expect(indexed, `${namespace} ${JSON.stringify(labels)}`).toEqual(bruteForce);
      }
    }
    expect(objectsSelecting(objects, "inference", "NetworkPolicy", "test.podSelector", selectorOf, { app: "a", tier: "gpu" }).map((o) => o.metadata.name).sort()).toEqual(["p0", "p1", "p3", "p5", "p6"]);
  });
});
