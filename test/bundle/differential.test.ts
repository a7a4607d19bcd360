/**
 * Differential bundles end to end (#11.7), through the real CLI: a signed full bundle is loaded into a site (a real
 * docker-registry and a models folder); a later stack (a new vllm image built on the old one's layers, one changed
 * model file) is bundled with `--base <first bundle.json>`. It verifies with --trust-key, carries less, loads where
 * the base was loaded (images then pullable by digest with skopeo, unchanged model files not copied again), and is
 * refused, before anything is pushed, by a registry that lacks the base.
 */
import { createHash, randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBundle } from "../../bundle/create.js";
import { parseBundleManifest, type BundleManifest } from "../../bundle/manifest.js";
import { signBundleJson } from "../../bundle/sign.js";
import { verifyBundle } from "../../bundle/verify.js";
import { startRegistry, type OciRegistry } from "../helpers/oci-registry.js";
import { stackYaml, useBundleFixture, writeStoreFolder } from "./support.js";

const BIN = join(import.meta.dirname, "../../bin/modelfleet.js");
const cli = (args: string[]) => execa("node", [BIN, ...args], { reject: false, env: { MODELFLEET_DB_URL: "" } });
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const fixture = useBundleFixture();

const readManifest = (dir: string): BundleManifest => {
  const parsed = parseBundleManifest(readFileSync(join(dir, "bundle.json"), "utf8"));
  if (!("manifest" in parsed)) throw new Error(parsed.problems.join("; "));
  return parsed.manifest;
};
const blobFiles = (dir: string) => readdirSync(join(dir, "images/blobs/sha256"));
const catalog = async (host: string) => ((await (await fetch(`http://${host}/v2/_catalog`)).json()) as { repositories: string[] }).repositories;

/** A new image on top of `from` (one more layer), pushed to `repository:tag`; returns its pinned reference. */
async function extendImage(from: string, repository: string, tag: string): Promise<string> {
  const layout = mkdtempSync(join(tmpdir(), "modelfleet-diff-oci-"));
  const unpacked = join(layout, "bundle");
  const oci = join(layout, "oci");
  try {
    await execa("skopeo", ["copy", "--src-tls-verify=false", `docker://${from}`, `oci:${oci}:old`]);
    await execa("umoci", ["unpack", ...(process.getuid?.() === 0 ? [] : ["--rootless"]), "--image", `${oci}:old`, unpacked]);
    writeFileSync(join(unpacked, "rootfs", "v2.bin"), randomBytes(32 * 1024));
    await execa("umoci", ["repack", "--image", `${oci}:new`, unpacked]);
    await execa("skopeo", ["copy", "--dest-tls-verify=false", `oci:${oci}:new`, `docker://${repository}:${tag}`]);
    const raw = await execa("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${repository}:${tag}`], { encoding: "buffer", stripFinalNewline: false });
    return `${repository}:${tag}@sha256:${sha256(Buffer.from(raw.stdout))}`;
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}

interface World {
  keys: { privatePath: string; publicPath: string };
  full: string;
  diff: string;
  /** The site's model folder, holding the full bundle's model files. */
  pvc: string;
  empty: OciRegistry;
}
let world: World | undefined;
const w = () => {
  if (!world) throw new Error("differential set-up did not finish");
  return world;
};

beforeAll(async () => {
  const f = fixture();
  const prefix = join(mkdtempSync(join(f.work, "keys-")), "release");
  expect((await cli(["keys", "generate", "--out", prefix])).exitCode).toBe(0);
  const keys = { privatePath: `${prefix}.private.pem`, publicPath: `${prefix}.public.pem` };
  // Given a signed full bundle, loaded into the site registry and models folder...
  const full = join(f.work, "full");
  const made = await cli(["bundle", "create", "--stack", "site", "--stack-file", f.stackFile, "--out", full, "--models-dir", f.modelsDir, "--insecure", "--sign-key", keys.privatePath]);
  expect(made.exitCode, made.stderr).toBe(0);
  const pvc = join(f.work, "pvc");
  const loaded = await cli(["bundle", "load", full, "--registry", f.site.host, "--insecure", "--trust-key", keys.publicPath, "--models-target", pvc]);
  expect(loaded.exitCode, loaded.stderr).toBe(0);
  // ...and a later stack: vllm rebuilt on its old layers (same repository), one model file changed.
  const vllm2 = await extendImage(`${f.images.vllm.repository}@${f.images.vllm.digest}`, f.images.vllm.repository, "v0.10.2");
  const stack2 = join(f.work, "Pulumi.site2.yaml");
  writeFileSync(stack2, stackYaml(f.images, f.site.host, { vllm: vllm2 }));
  const models2 = join(f.work, "models2");
  cpSync(f.modelsDir, models2, { recursive: true });
  writeFileSync(join(models2, "qwen3-0.6b", "config.json"), '{"architectures":["Qwen3ForCausalLM"],"revision":2}\n');
  // When it is bundled against the first bundle.json through the CLI (signed, with an archive).
  const diff = join(f.work, "diff");
  const created = await cli(["bundle", "create", "--stack", "site", "--stack-file", stack2, "--out", diff, "--models-dir", models2, "--insecure", "--sign-key", keys.privatePath, "--archive", "--base", join(full, "bundle.json")]);
  expect(created.exitCode, created.stderr).toBe(0);
  world = { keys, full, diff, pvc, empty: await startRegistry() };
}, 240_000);
afterAll(async () => {
  await world?.empty.stop();
});

describe("a differential bundle (bundle create --base)", () => {
  it("records its base, and carries fewer blobs and only the changed model file", () => {
    const full = readManifest(w().full);
    const diff = readManifest(w().diff);
    expect(full.base).toBeUndefined();
    expect(diff.base).toMatchObject({ kind: "bundle", stack: "site", createdAt: full.createdAt, sha256: sha256(readFileSync(join(w().full, "bundle.json"))) });
    // 3 images: base+vllm, base+llamacpp, postgres layers (4 distinct) were loaded; the new vllm adds one layer.
    expect(diff.base?.blobs).toHaveLength(4);
    expect(blobFiles(w().diff).length).toBeLessThan(blobFiles(w().full).length);
    for (const blob of diff.base?.blobs ?? []) expect(blobFiles(w().diff)).not.toContain(blob.sha256);
    expect(diff.files.filter((x) => x.path.startsWith("models/")).map((x) => x.path)).toEqual(["models/qwen3-0.6b/config.json"]);
    expect(diff.base?.modelFiles.map((x) => x.path)).toEqual(["models/gguf/qwen3-0.6b-q8_0.gguf", "models/qwen3-0.6b/model.safetensors"]);
    const bytes = (m: BundleManifest) => m.files.reduce((sum, x) => sum + x.size, 0);
    expect(bytes(diff)).toBeLessThan(bytes(full) / 2);
  });

  it.each([
    ["folder", ""],
    ["archive", ".tar"],
  ])("verifies with --trust-key as a %s (the signature is no extra file, the left-out layers no missing descriptor)", async (_what, suffix) => {
    const result = await cli(["bundle", "verify", `${w().diff}${suffix}`, "--trust-key", w().keys.publicPath]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^OK: .*; signed by trusted key ed25519:[0-9a-f]{16} /);
  });

  it("still requires every descriptor that base.blobs does not list", async () => {
    // Given a copy whose bundle.json (re-signed, SHA256SUMS updated) no longer lists one left-out layer as at the site.
    const copy = join(fixture().work, "diff-edited");
    cpSync(w().diff, copy, { recursive: true });
    const manifest = readManifest(copy);
    const dropped = manifest.base?.blobs.shift();
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    writeFileSync(join(copy, "bundle.json"), text);
    const sums = readFileSync(join(copy, "SHA256SUMS"), "utf8").replace(/^[0-9a-f]{64}( [ *]bundle\.json)$/m, `${sha256(text)}$1`);
    writeFileSync(join(copy, "SHA256SUMS"), sums);
    await signBundleJson(join(copy, "bundle.json"), w().keys.privatePath);
    // Then verify names that layer as missing, and nothing else.
    const report = await verifyBundle(copy);
    expect(report.problems.map((p) => `${p.path}: ${p.problem}`)).toEqual([`images/blobs/sha256/${dropped?.sha256}: missing`]);
    expect(report.problems[0]?.detail).toMatch(/^layer \d of image .*, not in the bundle nor in bundle\.json's base\.blobs$/);
  });

  it("into a registry without the base: --dry-run lists what is missing; load fails naming it, before anything is pushed", async () => {
    const empty = w().empty.host;
    const target = join(fixture().work, "empty-pvc");
    mkdirSync(target);
    const plan = await cli(["bundle", "load", w().diff, "--registry", empty, "--insecure", "--trust-key", w().keys.publicPath, "--models-target", target, "--dry-run"]);
    expect(plan.exitCode).toBe(1);
    expect(plan.stdout).toMatch(/^missing: this differential bundle was made against the bundle of stack site created .* load that base first/m);
    expect(plan.stdout).toMatch(/^missing: blob sha256:[0-9a-f]{64} of image vllm is not in 127\.0\.0\.1:\d+\/modelfleet-test\/vllm \(404\)$/m);
    expect(plan.stdout).toMatch(/^missing: model file models\/gguf\/qwen3-0\.6b-q8_0\.gguf is missing at /m);

    const result = await cli(["bundle", "load", `${w().diff}.tar`, "--registry", empty, "--insecure", "--trust-key", w().keys.publicPath, "--models-target", target]);
    expect(result.exitCode).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^error: this differential bundle was made against the bundle of stack site created \S+ \(its bundle\.json has sha256 [0-9a-f]{12}…\) \(bundle\.json "base"\), and the site lacks what it expects; nothing was loaded: load that base first, or bring a full bundle \(bundle create without --base\):$/);
    // Each of the 5 layer uses (base layer in two images) and the 2 model files, one line each; no stack trace.
    expect(lines.slice(1)).toHaveLength(7);
    for (const line of lines.slice(1)) expect(line).toMatch(/^ {2}- (blob sha256:[0-9a-f]{64} of image \w+ is not in 127\.0\.0\.1:\d+\/modelfleet-test\/\w+ \(404\)|model file models\/\S+ is missing at \S+)$/);
    expect(await catalog(empty)).toEqual([]);
    expect(readdirSync(target)).toEqual([]);
  });

  it("into the site that has the base: pushes the images (pullable by digest), copies only the changed model file", async () => {
    const f = fixture();
    const pvc = w().pvc;
    const unchanged = ["qwen3-0.6b/model.safetensors", "gguf/qwen3-0.6b-q8_0.gguf"];
    const old = new Date("2001-02-03T04:05:06Z");
    for (const path of unchanged) utimesSync(join(pvc, path), old, old);
    const result = await cli(["bundle", "load", `${w().diff}.tar`, "--registry", f.site.host, "--insecure", "--trust-key", w().keys.publicPath, "--models-target", pvc]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ok {2}vllm +pushed +127\.0\.0\.1:\d+\/modelfleet-test\/vllm@sha256:/m);
    expect(result.stdout).toMatch(/^models: 1 files copied to /m);
    for (const image of readManifest(w().diff).images) {
      const pulled = join(fixture().work, `pulled-${image.name}`);
      const pull = await execa("skopeo", ["copy", "--src-tls-verify=false", `docker://${f.site.host}/${image.repository}@${image.digest}`, `oci:${pulled}:x`], { reject: false });
      expect(pull.exitCode, pull.stderr).toBe(0);
    }
    for (const path of unchanged) expect(statSync(join(pvc, path)).mtime).toEqual(old);
    expect(readFileSync(join(pvc, "qwen3-0.6b/config.json"), "utf8")).toContain('"revision":2');
  });
});

describe("hfTokenAtSource", () => {
  it("is recorded for a Hugging Face model of a stack with hfToken, and not for a PVC model", async () => {
    const f = fixture();
    const stack = join(f.work, "Pulumi.hf.yaml");
    const yaml = stackYaml(f.images, f.site.host)
      .replace(/ {2}modelfleet:offline:\n {4}registry: .*\n/, "  modelfleet:hfToken:\n    secure: v1:c2VjcmV0LW5vdC1yZWFk\n")
      .replace("source: { pvc: models, path: qwen3-0.6b }", `source: { huggingFace: Qwen/Qwen3-0.6B, revision: ${"a".repeat(40)} }`);
    writeFileSync(stack, yaml);
    const models = join(f.work, "hf-models");
    writeStoreFolder(models, "Qwen/Qwen3-0.6B", "a".repeat(40), { "config.json": '{"architectures":["Qwen3ForCausalLM"]}\n', "model.safetensors": Buffer.alloc(1000, 7) });
    cpSync(join(f.modelsDir, "gguf"), join(models, "gguf"), { recursive: true });
    const { manifest } = await createBundle({ stackFile: stack, stack: "hf", out: join(f.work, "hf-bundle"), modelsDir: models, insecure: true });
    expect(manifest.models.map((m) => [m.name, m.hfTokenAtSource ?? false])).toEqual([
      ["qwen3", true],
      ["gguf", false],
    ]);
    expect(readFileSync(join(f.work, "hf-bundle", "bundle.json"), "utf8")).not.toContain("c2VjcmV0LW5vdC1yZWFk");
  });
});
