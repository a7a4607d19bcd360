/**
 * The model-store and autoscaling rules (#14, #15): model-source-pinned, no-download-at-start,
 * autoscaler-metric-exported, autoscaled-has-pdb. The fixture folders (test/fixtures/policies/<rule>/) cover each rule's
 * pass and fail cases through `modelfleet check`'s loader; this file pins what the fixtures cannot: enforcement per
 * environment and per finding, the exact messages, the interplay with pdb-coverage, and the CrossGuard door (the
 * policies in-process, then the pack served over gRPC as the Pulumi engine serves it).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { checkObjects, checkPaths, isBlocking, loadYaml } from "../../policies/check.js";
import { buildPolicies } from "../../policies/pack/policies.js";
import { RULES } from "../../policies/rules/index.js";
import { modelSourcePinProblem } from "../../policies/rules/model/model-source-pinned.js";
import { servePack, type AnalyzedResource, type Diagnostic, type ServedPack } from "../helpers/analyzer.js";

const FIXTURES = join(import.meta.dirname, "../fixtures/policies");
const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";
const MODEL_RULES = ["model-source-pinned", "no-download-at-start", "autoscaler-metric-exported", "autoscaled-has-pdb"] as const;

function fixturePath(rule: string, outcome: "pass" | "fail", name: string): string {
  return join(FIXTURES, rule, outcome, name);
}

/** A fixture file's objects, as `modelfleet check` loads them. */
function fixture(rule: string, outcome: "pass" | "fail", name: string): K8sObject[] {
  const file = fixturePath(rule, outcome, name);
  return loadYaml(file, readFileSync(file, "utf8")).map((l) => l.object);
}

/** Violations of the model rules only (the fixtures are minimal and may trip others). */
function modelViolations(objects: readonly K8sObject[], environment: "development" | "staging" | "production") {
  return checkObjects(objects, environment).filter((v) => (MODEL_RULES as readonly string[]).includes(v.ruleId));
}

function withLabels(object: K8sObject, labels: Record<string, string>): K8sObject {
  return { ...object, metadata: { ...object.metadata, labels: { ...object.metadata.labels, ...labels } } };
}

describe("enforcement", () => {
  it.each([
    ["model-source-pinned", { development: "advisory", staging: "advisory", production: "mandatory" }, true],
    ["no-download-at-start", { development: "mandatory", staging: "mandatory", production: "mandatory" }, true],
    ["autoscaler-metric-exported", { development: "mandatory", staging: "mandatory", production: "mandatory" }, true],
    ["autoscaled-has-pdb", { development: "disabled", staging: "advisory", production: "mandatory" }, true],
  ] as const)("%s: %o, waivable %s", (id, enforcement, waivable) => {
    const rule = RULES.find((r) => r.id === id)!;
    expect(rule.enforcement).toEqual(enforcement);
    expect(rule.waivable).toBe(waivable);
  });
});

describe("model-source-pinned", () => {
  it.each([
    [`huggingFace:Qwen/Qwen3-8B@${REVISION}`, undefined],
    [`huggingFace:gpt2@${REVISION}`, undefined],
    [`oci:registry.example:5000/models/qwen3-8b@sha256:${"b".repeat(64)}`, undefined],
    [`oci:registry.example/models/qwen3-8b:v1@sha256:${"b".repeat(64)}`, undefined],
    ["huggingFace:Qwen/Qwen3-8B@main", 'has revision "main", a branch, tag or short SHA, which can point at other bytes tomorrow'],
    [`huggingFace:Qwen/Qwen3-8B@${REVISION.toUpperCase()}`, /^has revision "C1899DE2/],
    ["huggingFace:Qwen/Qwen3-8B", /^names no revision/],
    [`huggingFace:@${REVISION}`, /^names no Hugging Face repository/],
    ["oci:registry.example/models/qwen3-8b:v1", "pins the OCI artifact by tag only, which can be re-pushed"],
    ["oci:registry.example/models/qwen3-8b@sha256:abc", /^is not an OCI reference \(digest "sha256:abc" is not sha256:<64 lower-case hex>\)$/],
    ["pvc:team-models/qwen3-8b", /^is a PersistentVolumeClaim/],
    [`Qwen/Qwen3-8B@${REVISION}`, /^is not one of the forms/],
  ])("%s → %s", (value, expected) => {
    const problem = modelSourcePinProblem(value);
    if (expected === undefined) expect(problem).toBeUndefined();
    else if (typeof expected === "string") expect(problem).toBe(expected);
    else expect(problem).toMatch(expected);
  });

  it("names the object, field and value, what production allows and the fix", () => {
    const [violation] = modelViolations(fixture("model-source-pinned", "fail", "pvc-source.yaml"), "production");
    expect(violation).toMatchObject({ ruleId: "model-source-pinned", enforcement: "mandatory", objectRef: "Deployment/inference/qwen3-8b-production", fieldPath: 'metadata.annotations["modelfleet.dev/model-source"]' });
    expect(violation!.message).toBe(
      'modelfleet.dev/model-source "pvc:team-models/qwen3-8b" is a PersistentVolumeClaim, whose files are whatever was last written into it: nothing pins them; ' +
        "production requires huggingFace:<repo>@<40-hex commit SHA> or oci:<reference>@sha256:<64 hex>. " +
        'Fix: set the model\'s source.revision to the commit SHA (the Hub\'s "Files and versions" → commit), or pack the revision as an OCI artifact (`modelfleet models pack`) and pin source.oci by digest; then synth again.',
    );
  });

  it("is advisory outside production", () => {
    const objects = fixture("model-source-pinned", "fail", "missing-annotation.yaml");
    expect(modelViolations(objects, "staging").map((v) => [v.ruleId, v.enforcement])).toEqual([["model-source-pinned", "advisory"]]);
    expect(modelViolations(objects, "development").map((v) => [v.ruleId, v.enforcement])).toEqual([["model-source-pinned", "advisory"]]);
  });
});

describe("no-download-at-start", () => {
  const downloading = () => fixture("no-download-at-start", "fail", "production-download-delivery.yaml");

  it("reports an online staging or development stack that downloads at start: nothing (modelStore.mode off is allowed there)", () => {
    expect(modelViolations(downloading(), "staging").filter((v) => v.ruleId === "no-download-at-start")).toEqual([]);
    expect(modelViolations(downloading(), "development").filter((v) => v.ruleId === "no-download-at-start")).toEqual([]);
  });

  it("blocks the same Deployment in an offline stack of any environment, and says why", () => {
    const offline = downloading().map((o) => (o.kind === "Deployment" ? withLabels(o, { "modelfleet.dev/offline": "true" }) : o));
    for (const environment of ["development", "staging", "production"] as const) {
      const found = modelViolations(offline, environment).filter((v) => v.ruleId === "no-download-at-start");
      expect(found.map((v) => [v.enforcement, v.fieldPath])).toEqual([
        ["mandatory", 'metadata.annotations["modelfleet.dev/model-delivery"]'],
        ["mandatory", "spec.template.spec.containers[0].args[0]"],
        ["mandatory", "spec.template.spec.containers[0].env"],
      ]);
      expect(found[1]!.message).toBe(
        'container "vllm": model argument "Qwen/Qwen3-8B" is not a local path: vLLM downloads it from the Hub at start; ' +
          'this is an offline stack (label modelfleet.dev/offline: "true"), where no model hub is reachable, so the pod never starts. ' +
          "Fix: deliver the weights through the model store (modelfleet:modelStore.mode perModel or shared, the default) or an image volume, so the engine reads them from /models; " +
          "allowed: an absolute path in the container, e.g. /models/<owner>--<name>/<revision> from the model store.",
      );
    }
  });

  it("names the llama.cpp flag, and the env var without echoing its value", () => {
    const found = modelViolations(fixture("no-download-at-start", "fail", "llamacpp-hf-repo.yaml"), "production");
    expect(found.map((v) => v.message.split(";")[0])).toEqual([
      'container "llama-server" runs llama-server b11206 without --offline, so it may still reach the network for the model',
      'container "llama-server" passes -hf: llama-server downloads the weights when it starts',
      'container "llama-server" sets LLAMA_ARG_MODEL_URL: llama-server downloads the weights when it starts',
    ]);
    expect(found.map((v) => v.message).join("\n")).not.toContain("huggingface.co");
  });

  it("can be waived on the Deployment, with a reason", () => {
    const waived = downloading().map((o) =>
      o.kind === "Deployment" ? { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, "modelfleet.dev/waive": "no-download-at-start", "modelfleet.dev/waive-reason": "evaluation cluster, OPS-7" } } } : o,
    );
    const found = modelViolations(waived, "production").filter((v) => v.ruleId === "no-download-at-start");
    expect(found).toHaveLength(3);
    expect(found.every((v) => v.waiver?.reason === "evaluation cluster, OPS-7")).toBe(true);
  });
});

describe("autoscaler-metric-exported", () => {
  it("names the engine version, the field and value, the metrics it exports and the fix", () => {
    const [violation] = modelViolations(fixture("autoscaler-metric-exported", "fail", "keda-misspelt-metric.yaml"), "production");
    expect(violation).toMatchObject({ ruleId: "autoscaler-metric-exported", enforcement: "mandatory", objectRef: "ScaledObject/inference/qwen3-8b-production", fieldPath: "spec.triggers[0].metadata.query" });
    expect(violation!.message).toMatch(
      /^ScaledObject "qwen3-8b-production" prometheus trigger query names "vllm:num_requests_waitin", which vLLM v0\.11\.0 \(image "vllm\/vllm-openai:v0\.11\.0@sha256:a{64}" of Deployment "qwen3-8b-production" in namespace "inference"\) does not export; the query is always empty, so the autoscaler never scales on demand\. Allowed: vllm:num_requests_waiting \(waiting requests, what modelfleet scales on\) or vllm:num_requests_running \(running requests\); all \d+ names vLLM v0\.11\.0 exports are listed in config\/engines\/\. Fix: /,
    );
  });

  it("an autoscaler whose target is not among the checked objects is an advisory, never blocking", async () => {
    const report = await checkPaths([fixturePath("autoscaler-metric-exported", "fail", "target-not-checked.yaml")]);
    const found = report.violations.filter((v) => v.ruleId === "autoscaler-metric-exported");
    expect(found.map((v) => [v.enforcement, v.line, v.fieldPath])).toEqual([["advisory", 7, "spec.scaleTargetRef.name"]]);
    expect(found.some(isBlocking)).toBe(false);
    expect(found[0]!.message).toContain("cannot be checked. Fix: check the autoscaler together with that workload's manifest");
  });

  it("a digest-only engine image: a name some version exports is an advisory, a name none exports is an error", () => {
    const objects = fixture("autoscaler-metric-exported", "fail", "digest-only-image-unknown-metric.yaml");
    expect(modelViolations(objects, "production").map((v) => v.enforcement)).toEqual(["mandatory"]);
    const valid = objects.map((o) =>
      o.kind === "ScaledObject" ? (JSON.parse(JSON.stringify(o).replace("vllm:num_requests_queued", "vllm:num_requests_waiting")) as K8sObject) : o,
    );
    const [advisory] = modelViolations(valid, "production");
    expect(advisory).toMatchObject({ enforcement: "advisory", fieldPath: "spec.triggers[0].metadata.query" });
    expect(advisory!.message).toContain("names no engine version with a contract, so whether it exports the metric cannot be checked (exported by v0.10.2, v0.11.0, v0.30.0)");
  });
});

describe("autoscaled-has-pdb", () => {
  it("reports an autoscaled model without a PDB once, under autoscaled-has-pdb, not also under pdb-coverage", () => {
    const objects = fixture("autoscaled-has-pdb", "fail", "hpa-pdb-selects-other-pods.yaml");
    const found = checkObjects(objects, "production").filter((v) => v.ruleId === "autoscaled-has-pdb" || v.ruleId === "pdb-coverage");
    expect(found.map((v) => [v.ruleId, v.objectRef, v.fieldPath])).toEqual([["autoscaled-has-pdb", "Deployment/inference/qwen3-8b-production", "spec.template.metadata.labels"]]);
    expect(found[0]!.message).toBe(
      'Deployment is scaled by HorizontalPodAutoscaler "qwen3-8b-production" up to 4 replicas and no PodDisruptionBudget in namespace "inference" selects its pods ' +
        '(labels {"app.kubernetes.io/name":"qwen3-8b","app.kubernetes.io/instance":"qwen3-8b-production"}); a node drain can evict every replica at once and drop the streams they serve. ' +
        "Fix: add a policy/v1 PodDisruptionBudget with this selector and maxUnavailable: 1 (modelfleet's builders emit one when the profile asks for PDBs).",
    );
    const withoutAutoscalers = objects.filter((o) => o.kind !== "HorizontalPodAutoscaler");
    expect(checkObjects(withoutAutoscalers, "production").filter((v) => v.ruleId === "autoscaled-has-pdb" || v.ruleId === "pdb-coverage").map((v) => v.ruleId)).toEqual(["pdb-coverage"]);
  });

  it("is advisory in staging", () => {
    const found = modelViolations(fixture("autoscaled-has-pdb", "fail", "keda-no-pdb.yaml"), "staging").filter((v) => v.ruleId === "autoscaled-has-pdb");
    expect(found.map((v) => v.enforcement)).toEqual(["advisory"]);
  });

  it("judges many models in one pass: every autoscaled model without a PDB, and only those", () => {
    const [deployment, scaler, pdb] = fixture("autoscaler-metric-exported", "pass", "keda-vllm-queue.yaml");
    const rename = <T,>(value: T, i: number): T => JSON.parse(JSON.stringify(value).replaceAll("qwen3-8b", `model-${i}`)) as T;
    const objects: K8sObject[] = [];
    for (let i = 0; i < 300; i++) objects.push(rename(deployment!, i), rename(scaler!, i), ...(i % 3 === 0 ? [] : [rename(pdb!, i)]));
    const found = checkObjects(objects, "production").filter((v) => v.ruleId === "autoscaled-has-pdb");
    expect(found).toHaveLength(100);
    const indexes = found.map((v) => Number(/^Deployment\/inference\/model-(\d+)-production$/.exec(v.objectRef)?.[1]));
    expect(indexes.every((i) => i % 3 === 0)).toBe(true);
  });
});

/** A Kubernetes object as CrossGuard sends it: `kubernetes:<group/version>:<Kind>` with the object as its props. */
function asResource(object: K8sObject): AnalyzedResource {
  const groupVersion = object.apiVersion.includes("/") ? object.apiVersion : `core/${object.apiVersion}`;
  const type = `kubernetes:${groupVersion}:${object.kind}`;
  const name = object.metadata.name;
  return { type, name, urn: `urn:pulumi:production::modelfleet::${type}::${name}`, properties: object as unknown as Record<string, unknown> };
}

describe("CrossGuard policies (in-process)", () => {
  it("the stack policy reports a definite error against the autoscaler's URN, and leaves a target outside the stack alone", async () => {
    const policy = buildPolicies({ environment: "production" }).find((p) => p.name === "autoscaler-metric-exported") as StackValidationPolicy;
    const run = async (objects: readonly K8sObject[]) => {
      const reported: [string, string | undefined][] = [];
      const resources = objects.map(asResource).map((r) => ({ type: r.type, props: r.properties, urn: r.urn, name: r.name }));
      await policy.validateStack({ resources, getConfig: () => ({}) } as unknown as StackValidationArgs, (message, urn) => void reported.push([message, urn]));
      return reported;
    };
    const misspelt = await run(fixture("autoscaler-metric-exported", "fail", "keda-misspelt-metric.yaml"));
    expect(misspelt.map(([message, urn]) => [message.split(":")[0], urn])).toEqual([["ScaledObject/inference/qwen3-8b-production spec.triggers[0].metadata.query", "urn:pulumi:production::modelfleet::kubernetes:keda.sh/v1alpha1:ScaledObject::qwen3-8b-production"]]);
    expect(await run(fixture("autoscaler-metric-exported", "fail", "target-not-checked.yaml"))).toEqual([]);
  });
});

describe("CrossGuard pack (served over gRPC, production)", () => {
  let pack: ServedPack;
  beforeAll(async () => {
    pack = await servePack({ stack: "production", config: { "modelfleet:environment": "production" } });
  }, 60_000);
  afterAll(() => pack?.stop());

  const mandatoryOf = (diagnostics: readonly Diagnostic[], policy: string) =>
    diagnostics.filter((d) => d.policy === policy && d.enforcement === "mandatory");

  it("Analyze blocks an engine Deployment without a pinned model source and one that downloads at start", async () => {
    const unpinned = asResource(fixture("model-source-pinned", "fail", "branch-revision.yaml")[0]!);
    expect(mandatoryOf(await pack.analyze(unpinned), "model-source-pinned").map((d) => d.message)).toEqual([
      expect.stringMatching(/\nDeployment\/inference\/qwen3-8b-production metadata\.annotations\["modelfleet\.dev\/model-source"\]: modelfleet\.dev\/model-source "huggingFace:Qwen\/Qwen3-8B@main" has revision "main"/),
    ]);
    const downloading = asResource(fixture("no-download-at-start", "fail", "vllm-no-model.yaml")[0]!);
    expect(mandatoryOf(await pack.analyze(downloading), "no-download-at-start")).toHaveLength(1);
    const stored = asResource(fixture("no-download-at-start", "pass", "vllm-store.yaml")[0]!);
    const clean = await pack.analyze(stored);
    expect(clean.filter((d) => d.policy === "model-source-pinned" || d.policy === "no-download-at-start")).toEqual([]);
  });

  it("AnalyzeStack blocks a trigger on a metric the engine does not export, against the ScaledObject", async () => {
    const resources = fixture("autoscaler-metric-exported", "fail", "keda-llamacpp-metric-on-vllm.yaml").map(asResource);
    const found = mandatoryOf(await pack.analyzeStack(resources), "autoscaler-metric-exported");
    expect(found.map((d) => d.urn)).toEqual([resources.find((r) => r.type === "kubernetes:keda.sh/v1alpha1:ScaledObject")!.urn]);
  });

  it("AnalyzeStack blocks an autoscaled model without a PDB, against its Deployment, and passes it with one", async () => {
    const resources = fixture("autoscaled-has-pdb", "fail", "keda-no-pdb.yaml").map(asResource);
    const found = await pack.analyzeStack(resources);
    expect(mandatoryOf(found, "autoscaled-has-pdb").map((d) => d.urn)).toEqual([resources.find((r) => r.type === "kubernetes:apps/v1:Deployment")!.urn]);
    expect(mandatoryOf(found, "pdb-coverage")).toEqual([]);
    const covered = await pack.analyzeStack(fixture("autoscaled-has-pdb", "pass", "keda-with-pdb.yaml").map(asResource));
    expect(mandatoryOf(covered, "autoscaled-has-pdb")).toEqual([]);
    expect(mandatoryOf(covered, "autoscaler-metric-exported")).toEqual([]);
  });
});
