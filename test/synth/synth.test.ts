import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { parseAllDocuments } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import type { K8sObject } from "../../components/shared/k8s-object.js";
import { loadStackFile } from "../../config/load.js";
import { SynthError } from "../../synth/errors.js";
import { runSynth } from "../../synth/run.js";
import { synthesizeStack } from "../../synth/synthesize.js";
import { validateObjects } from "../../synth/validate.js";
import { OWNERSHIP_MARKER } from "../../synth/write.js";

const ROOT = join(import.meta.dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "modelfleet-synth-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The YAML files of an output folder (the ownership marker is checked on its own). */
function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) if (name !== OWNERSHIP_MARKER) out[name] = readFileSync(join(dir, name), "utf8");
  return out;
}

function objectsIn(tree: Record<string, string>): K8sObject[] {
  return Object.entries(tree)
    .filter(([file]) => file !== "kustomization.yaml")
    .flatMap(([, text]) => parseAllDocuments(text).map((d) => d.toJS() as K8sObject));
}

describe.each(["development", "staging", "production"])("synth %s", (stack) => {
  const out = join(work, `out-${stack}`);

  it("writes schema-valid YAML with no Secret and no secret value, byte-identical on re-run", async () => {
    const first = await runSynth({ stack, cwd: ROOT, outDir: out });
    const tree = readTree(join(out, stack));
    expect(Object.keys(tree)).toContain("namespace.yaml");
    const objects = objectsIn(tree);
    expect(objects).toHaveLength(first.result.objects.length);
    expect(validateObjects(objects)).toEqual([]);
    expect(objects.some((o) => o.kind === "Secret")).toBe(false);
    expect(JSON.stringify(objects)).not.toMatch(/stringData|"secure"/);
    for (const model of first.config.models) expect(tree[`model-${model.name}.yaml`]).toContain(`name: ${model.serviceName}`);
    // kustomization.yaml lists every other file except the Argo CD Application, which points at this folder.
    const kustomization = parseAllDocuments(tree["kustomization.yaml"] ?? "")[0]?.toJS() as { resources: string[] };
    expect(kustomization.resources).toEqual(Object.keys(tree).filter((f) => f !== "kustomization.yaml" && f !== "argocd-application.yaml").sort());
    expect(Object.keys(tree)).toContain("argocd-application.yaml");
    // The ownership marker lists exactly the files written, with their sha256.
    const marker = JSON.parse(readFileSync(join(out, stack, OWNERSHIP_MARKER), "utf8")) as { files: Record<string, string> };
    expect(marker.files).toEqual(Object.fromEntries(Object.entries(tree).map(([name, text]) => [name, `sha256:${createHash("sha256").update(text).digest("hex")}`])));
    const markerBefore = readFileSync(join(out, stack, OWNERSHIP_MARKER), "utf8");

    await runSynth({ stack, cwd: ROOT, outDir: out });
    expect(readTree(join(out, stack))).toEqual(tree);
    expect(readFileSync(join(out, stack, OWNERSHIP_MARKER), "utf8")).toBe(markerBefore);
    expect(readdirSync(out)).toEqual([stack]);
  });
});

describe("synth failures write nothing", () => {
  it("a bad stack file leaves the previous output byte-identical", async () => {
    const dir = join(work, "bad");
    cpSync(join(ROOT, "Pulumi.staging.yaml"), join(dir, "Pulumi.staging.yaml"));
    const out = join(dir, "dist");
    await runSynth({ stack: "staging", cwd: dir, outDir: out });
    const before = readTree(join(out, "staging"));
    const text = readFileSync(join(dir, "Pulumi.staging.yaml"), "utf8").replace("https://chat.staging.example.com", '"*"');
    writeFileSync(join(dir, "Pulumi.staging.yaml"), text);
    const error = await runSynth({ stack: "staging", cwd: dir, outDir: out }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SynthError);
    expect((error as SynthError).kind).toBe("config");
    expect((error as SynthError).message).toContain("Pulumi.staging.yaml: cors.allowedOrigins[0]: wildcard origin");
    expect(readTree(join(out, "staging"))).toEqual(before);
    expect(readdirSync(out)).toEqual(["staging"]);
  });

  it("an object failing the Kubernetes schema is reported with its field, before any file exists", () => {
    const config = loadStackFile(join(ROOT, "Pulumi.development.yaml"));
    const broken = { apiVersion: "v1", kind: "Service", metadata: { name: "x" }, spec: { ports: [{ port: "eighty" }] } } as K8sObject;
    expect(() => synthesizeStack(config, [{ path: "extra.yaml", objects: [broken] }])).toThrow(/Service\/-\/x: spec\.ports\.0\.port must be integer/);
  });
});

// Each case starts the whole CLI; on a loaded shared machine that can take longer than the default timeout.
describe("modelfleet CLI", { timeout: 240_000 }, () => {
  const cli = (args: string[], cwd = ROOT) => execa("node", [join(ROOT, "bin/modelfleet.js"), ...args], { cwd, reject: false });

  it("synth: exit 0 and a summary naming models and endpoints", async () => {
    const result = await cli(["synth", "--stack", "production", "--out", join(work, "cli")]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("qwen3-8b-production.modelfleet-prod.svc.cluster.local:8000");
    expect(readdirSync(join(work, "cli", "production"))).toContain("namespace.yaml");
  });

  it("synth: an unknown stack exits 2 naming the missing file", async () => {
    const result = await cli(["synth", "--stack", "qa", "--out", join(work, "cli-missing")]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("Pulumi.qa.yaml");
    expect(result.stderr).toContain("no such file");
    expect(result.stderr).not.toContain("    at ");
  });

  it("every command has --help", async () => {
    const commands = ["start", "synth", "check", "registry", "promote", "bundle", "db", "pins"];
    const results = await Promise.all(commands.map((command) => cli([command, "--help"])));
    results.forEach((result, i) => {
      expect(result.exitCode, commands[i]).toBe(0);
      expect(result.stdout).toContain(`Usage: modelfleet ${commands[i]}`);
    });
  });

  it("a usage error exits 2", async () => {
    const result = await cli(["synth"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("required option '--stack <name>' not specified");
  });
});
