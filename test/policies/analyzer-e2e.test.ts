/**
 * End to end through the real analyzer protocol: the program runs under Pulumi's mocks for each stack, and every
 * Kubernetes resource it registers goes to the served CrossGuard pack as the engine would send it (Analyze per
 * resource, then AnalyzeStack). The shipped stacks pass; a hardcoded password and a wildcard origin do not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MANDATORY, servePack, type AnalyzedResource, type Diagnostic, type ServedPack } from "../helpers/analyzer.js";
import { configMap, runProgram, SECRET_SIG } from "../helpers/pulumi-program.js";

const STACKS = ["development", "staging", "production"] as const;

/** The engine hands policies decrypted values: unwrap Pulumi's secret envelopes. */
function decrypted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decrypted);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  if (SECRET_SIG in record) return decrypted(record["value"]);
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, decrypted(v)]));
}

async function programResources(stack: string): Promise<AnalyzedResource[]> {
  const run = await runProgram(stack);
  return run.resources
    .filter((r) => r.type.startsWith("kubernetes:"))
    .map((r) => ({ type: r.type, name: r.name, urn: `urn:pulumi:${stack}::modelfleet::${r.type}::${r.name}`, properties: decrypted(r.inputs) as Record<string, unknown> }));
}

const mandatory = (diagnostics: readonly Diagnostic[]) => diagnostics.filter((d) => d.enforcement === MANDATORY);

describe.each(STACKS)("the %s stack through the served pack", (stack) => {
  let pack: ServedPack;
  let resources: AnalyzedResource[];

  beforeAll(async () => {
    // The CLI runs the pack with the stack's config in PULUMI_CONFIG; the pack judges in that environment.
    pack = await servePack({ PULUMI_CONFIG: JSON.stringify(configMap(stack)), PULUMI_STACK: stack });
    resources = await programResources(stack);
  }, 90_000);
  afterAll(() => pack?.stop());

  it("passes: no mandatory diagnostic for any resource or for the stack", async () => {
    expect(resources.length).toBeGreaterThan(8);
    const perResource = (await Promise.all(resources.map((r) => pack.analyze(r)))).flat();
    expect(mandatory(perResource)).toEqual([]);
    expect(mandatory(await pack.analyzeStack(resources))).toEqual([]);
  });

  it("blocks a hardcoded password and a wildcard origin injected into a Deployment", async () => {
    const target = resources.find((r) => r.type === "kubernetes:apps/v1:Deployment" && JSON.stringify(r.properties).includes('"vllm"'));
    expect(target).toBeDefined();
    const injected = structuredClone(target!);
    const container = (injected.properties as any).spec.template.spec.containers[0];
    container.env.push({ name: "POSTGRES_PASSWORD", value: "lstm_password" });
    container.args[container.args.indexOf("--allowed-origins") + 1] = '["*"]';
    const found = mandatory(await pack.analyze(injected));
    expect(found.map((d) => d.policy).sort()).toEqual(["no-hardcoded-secrets", "no-wildcard-cors"]);
    expect(found.every((d) => d.urn === injected.urn || d.urn === "")).toBe(true);
    expect(JSON.stringify(found)).not.toContain("lstm_password");
  });
});
