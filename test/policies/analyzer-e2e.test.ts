/**
 * End to end through the real analyzer protocol: the program runs under Pulumi's mocks for each stack, and every
 * resource it registers goes to the served CrossGuard pack as the engine would send it during `pulumi preview`
 * (the stack's config in the pack's environment, ConfigureStack, Analyze per resource with its URN and parent,
 * AnalyzeStack with dependencies; secrets still wrapped). The shipped stacks pass; a hardcoded password, a wildcard
 * origin, a missing NetworkPolicy or PodDisruptionBudget do not; `--policy-pack-config` reaches the policies.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operatorSecrets } from "../helpers/stack-values.js";
import { analyzerResources, engineUrn, servePack, type AnalyzedResource, type Diagnostic, type ServedPack } from "../helpers/analyzer.js";
import { configMap, runProgram, SECRET_SIG, type ProgramRun } from "../helpers/pulumi-program.js";

const STACKS = ["development", "staging", "production"] as const;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
/** What an output not yet computed looks like on the wire during a preview (a string; the SDK's rpc.unknownValue). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** rpc.specialSecretSig: the value under the signature key (SECRET_SIG) that marks a secret. */
const SPECIAL_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

const mandatory = (diagnostics: readonly Diagnostic[]) => diagnostics.filter((d) => d.enforcement === "mandatory");
/** @pulumi/policy reports a policy that read an unknown value as an advisory "can't run … during preview". */
const couldNotRun = (diagnostics: readonly Diagnostic[]) => diagnostics.filter((d) => d.message.includes("can't run"));
const analyzeAll = async (pack: ServedPack, resources: readonly AnalyzedResource[]) => (await Promise.all(resources.map((r) => pack.analyze(r)))).flat();

function containers(resource: AnalyzedResource): Record<string, any>[] {
  return (resource.properties as any).spec.template.spec.containers;
}

/** A model's engine Deployment: the Deployment its component registered. */
/** A pool's endpoint picker (registered under the model's component as `<model>-picker-*`), not an engine. */
function isPicker(r: AnalyzedResource): boolean {
  return r.urn.endsWith("-picker-deployment");
}

function modelDeployment(resources: readonly AnalyzedResource[], engine: "VllmModel" | "LlamaCppModel"): AnalyzedResource | undefined {
  return resources.find((r) => r.type === DEPLOYMENT && r.urn.includes(`::modelfleet:inference:${engine}$${DEPLOYMENT}::`) && !isPicker(r));
}

/** Serves the pack for `stack` and runs the stack's program under mocks, around the enclosing describe block. */
function servedStack(stack: string): { pack: ServedPack; run: ProgramRun; resources: AnalyzedResource[] } {
  const state = {} as { pack: ServedPack; run: ProgramRun; resources: AnalyzedResource[] };
  beforeAll(async () => {
    state.pack = await servePack({ stack, config: configMap(stack), dryRun: true });
    state.run = await runProgram(stack, operatorSecrets(stack));
    state.resources = analyzerResources(stack, state.run.resources);
  }, 90_000);
  afterAll(() => state.pack?.stop());
  return state;
}

describe.each(STACKS)("the %s stack through the served pack", (stack) => {
  const served = servedStack(stack);

  it("sends what the engine sends: the engine's URNs and parents, every registered resource, secrets still wrapped", () => {
    for (const [name, urn] of served.run.modelUrns) expect(served.resources.find((r) => r.name === name)?.urn).toBe(urn);
    const types = new Set(served.resources.map((r) => r.type));
    expect(types).toContain("modelfleet:registry:RegistryDatabase");
    expect(types).toContain("random:index/randomPassword:RandomPassword");
    const secrets = served.resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(secret.properties["stringData"]).toMatchObject({ [SECRET_SIG]: SPECIAL_SECRET_SIG });
  });

  it("passes: no mandatory diagnostic for any resource or for the stack, no policy left unrun", async () => {
    const perResource = await analyzeAll(served.pack, served.resources);
    const perStack = await served.pack.analyzeStack(served.resources);
    expect(mandatory(perResource)).toEqual([]);
    expect(mandatory(perStack)).toEqual([]);
    expect(couldNotRun([...perResource, ...perStack])).toEqual([]);
  });

  it("passes the first preview, when generated passwords are still unknown", async () => {
    // Before the first `pulumi up` no RandomPassword has a result: Secret data arrives as a secret unknown value.
    const preview = served.resources.map((r) =>
      r.type === "kubernetes:core/v1:Secret" ? { ...r, properties: { ...r.properties, stringData: { [SECRET_SIG]: SPECIAL_SECRET_SIG, value: UNKNOWN } } } : r,
    );
    const diagnostics = [...(await analyzeAll(served.pack, preview)), ...(await served.pack.analyzeStack(preview))];
    expect(mandatory(diagnostics)).toEqual([]);
    expect(couldNotRun(diagnostics)).toEqual([]);
  });

  it("blocks a hardcoded password and a wildcard origin injected into a vLLM Deployment", async () => {
    const target = modelDeployment(served.resources, "VllmModel");
    expect(target).toBeDefined();
    const injected = structuredClone(target!);
    const [container] = containers(injected);
    container!["env"].push({ name: "POSTGRES_PASSWORD", value: "lstm_password" });
    const args: string[] = container!["args"];
    args[args.indexOf("--allowed-origins") + 1] = '["*"]';
    const found = mandatory(await served.pack.analyze(injected));
    expect(found.map((d) => d.policy).sort()).toEqual(["no-hardcoded-secrets", "no-wildcard-cors"]);
    expect(found.every((d) => d.urn === injected.urn || d.urn === "")).toBe(true);
    expect(JSON.stringify(found)).not.toContain("lstm_password");
    // The same served.resources without the injection stay clean: the violations are the injected ones.
    expect(mandatory(await served.pack.analyze(target!))).toEqual([]);
  });

  it("blocks a vLLM Deployment whose --allowed-origins was removed (vLLM then allows every origin)", async () => {
    const injected = structuredClone(modelDeployment(served.resources, "VllmModel")!);
    const [container] = containers(injected);
    const args: string[] = container!["args"];
    args.splice(args.indexOf("--allowed-origins"), 2);
    expect(mandatory(await served.pack.analyze(injected)).map((d) => d.policy)).toEqual(["no-wildcard-cors"]);
  });
});

describe("stack-level policies over AnalyzeStack (staging)", () => {
  const served = servedStack("staging");

  it("a llama.cpp server restricting origins itself (--cors-origins) passes even with no NetworkPolicy in front", async () => {
    const found = mandatory(await served.pack.analyzeStack(served.resources.filter((r) => r.type !== "kubernetes:networking.k8s.io/v1:NetworkPolicy")));
    expect(found).toEqual([]);
  });

  it("a llama.cpp server without --cors-origins (its default answers any Origin) is blocked, against its Deployment", async () => {
    const llama = modelDeployment(served.resources, "LlamaCppModel")!;
    const stripped = structuredClone(llama);
    const args: string[] = containers(stripped)[0]!["args"];
    expect(args).toContain("--cors-origins");
    args.splice(args.indexOf("--cors-origins"), 2);
    const own = mandatory(await served.pack.analyze(stripped));
    expect(own.map((d) => d.policy)).toEqual(["no-wildcard-cors"]);
    expect(own.every((d) => d.urn === llama.urn || d.urn === "")).toBe(true);
    const withoutPolicies = served.resources.filter((r) => r.type !== "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => (r.urn === llama.urn ? stripped : r));
    const found = mandatory(await served.pack.analyzeStack(withoutPolicies));
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((d) => d.policy === "no-wildcard-cors" && d.urn === llama.urn)).toBe(true);
  });

  it("a literal --api-key argument and a literal HF_TOKEN on the llama.cpp container are blocked, values not echoed", async () => {
    const injected = structuredClone(modelDeployment(served.resources, "LlamaCppModel")!);
    const [container] = containers(injected);
    container!["args"].push("--api-key", "sk-live-0123456789abcdefghij");
    container!["env"].push({ name: "HF_TOKEN", value: "hf_abcdefghijklmnopqrstuvwxyz0123456789" });
    const found = mandatory(await served.pack.analyze(injected));
    expect(found.map((d) => d.policy)).toEqual(["no-hardcoded-secrets", "no-hardcoded-secrets"]);
    expect(JSON.stringify(found)).not.toMatch(/sk-live-0123|hf_abcdefghij/);
  });
});

describe("stack-level policies over AnalyzeStack (production)", () => {
  const served = servedStack("production");

  const inferenceDeployments = () => served.resources.filter((r) => r.type === DEPLOYMENT && r.urn.includes("::modelfleet:inference:") && !isPicker(r));

  it("without any NetworkPolicy, every inference Deployment is reported, against its own URN", async () => {
    const found = mandatory(await served.pack.analyzeStack(served.resources.filter((r) => r.type !== "kubernetes:networking.k8s.io/v1:NetworkPolicy")));
    const coverage = found.filter((d) => d.policy === "network-policy-coverage");
    expect(coverage.map((d) => d.urn).sort()).toEqual(inferenceDeployments().map((d) => d.urn).sort());
    expect(found.filter((d) => d.policy !== "network-policy-coverage")).toEqual([]);
  });

  it("an autoscaled model without its PodDisruptionBudget is reported once, by autoscaled-has-pdb, against its Deployment", async () => {
    const deployment = inferenceDeployments().find((d) => served.resources.some((r) => r.type.endsWith(":ScaledObject") && r.parent === d.parent));
    expect(deployment).toBeDefined();
    const parent = deployment!.parent!;
    const withoutPdb = served.resources.filter((r) => !(r.type === "kubernetes:policy/v1:PodDisruptionBudget" && r.parent === parent));
    expect(withoutPdb).toHaveLength(served.resources.length - 1);
    const found = mandatory(await served.pack.analyzeStack(withoutPdb));
    expect(found.map((d) => [d.policy, d.urn])).toEqual([["autoscaled-has-pdb", deployment!.urn]]);
  });

  it("a fixed-replica model without its PodDisruptionBudget is reported by pdb-coverage", async () => {
    const deployment = inferenceDeployments().find((d) => !served.resources.some((r) => r.type.endsWith(":ScaledObject") && r.parent === d.parent));
    expect(deployment).toBeDefined();
    const withoutPdb = served.resources.filter((r) => !(r.type === "kubernetes:policy/v1:PodDisruptionBudget" && r.parent === deployment!.parent));
    const found = mandatory(await served.pack.analyzeStack(withoutPdb));
    expect(found.map((d) => [d.policy, d.urn])).toEqual([["pdb-coverage", deployment!.urn]]);
  });
});

describe("--policy-pack-config reaches the served policies (the documented example, development)", () => {
  const served = servedStack("development");
  let deployment: AnalyzedResource;

  beforeAll(() => {
    deployment = structuredClone(modelDeployment(served.resources, "VllmModel")!);
    // A node-local model cache, and a container without probes.
    (deployment.properties as any).spec.template.spec.volumes.push({ name: "node-cache", hostPath: { path: "/mnt/models" } });
    const [container] = containers(deployment);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) delete container![probe];
  });

  const levels = (diagnostics: readonly Diagnostic[], policy: string) => diagnostics.filter((d) => d.policy === policy).map((d) => d.enforcement);

  it("before: development reports hostPath and missing probes as advisory only", async () => {
    const diagnostics = await served.pack.analyze(deployment);
    expect(levels(diagnostics, "pod-security")).toEqual(["advisory"]);
    expect(new Set(levels(diagnostics, "probes"))).toEqual(new Set(["advisory"]));
    expect(mandatory(diagnostics)).toEqual([]);
  });

  it('after { probes: mandatory, pod-security: { allowHostPath: true } }: probes block, hostPath passes', async () => {
    await served.pack.configure({ probes: { enforcementLevel: "mandatory" }, "pod-security": { allowHostPath: true } });
    const diagnostics = await served.pack.analyze(deployment);
    expect(levels(diagnostics, "pod-security")).toEqual([]);
    expect(levels(diagnostics, "probes").length).toBeGreaterThan(0);
    expect(new Set(levels(diagnostics, "probes"))).toEqual(new Set(["mandatory"]));
  });
});

describe("URNs", () => {
  it("a child's URN carries its parent's type chain, a top-level resource's only its type", () => {
    const parent = engineUrn("production", "modelfleet:inference:VllmModel", "qwen3-8b");
    expect(parent).toBe("urn:pulumi:production::modelfleet::modelfleet:inference:VllmModel::qwen3-8b");
    expect(engineUrn("production", DEPLOYMENT, "qwen3-8b-deployment", parent)).toBe(
      `urn:pulumi:production::modelfleet::modelfleet:inference:VllmModel$${DEPLOYMENT}::qwen3-8b-deployment`,
    );
  });
});
