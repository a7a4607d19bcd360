import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANNOTATION_FILEPATH,
  ANNOTATION_REF_NAME,
  ANNOTATION_TITLE,
  MODEL_ARTIFACT_TYPE,
  MODEL_CONFIG_MEDIA_TYPE,
  MODEL_LAYER_MEDIA_TYPES,
  packModel,
  pullModel,
  pushModel,
  unpackModel,
} from "../../bundle/model-artifact.js";
import { modelDir as storeFolder } from "../../models/layout.js";
import { MANIFEST_FILE } from "../../models/manifest.js";
import { writeModelFolder } from "../helpers/model-folder.js";
import { startRegistry, type OciRegistry } from "../helpers/oci-registry.js";

const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";
const sha = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const made: string[] = [];
const temp = (what: string) => {
  const dir = mkdtempSync(join(tmpdir(), `modelfleet-artifact-${what}-`));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A model folder as the download Job leaves it (test/helpers/model-folder.ts), in a temp dir of this file. */
function modelDir(files: Record<string, Buffer | string>, repo = "Qwen/Qwen3-0.6B", revision = REVISION): string {
  return writeModelFolder(temp("model"), files, { repo, revision });
}

const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const blob = (layout: string, digest: string) => join(layout, "blobs", "sha256", digest.replace(/^sha256:/, ""));

/** Rewrites a packed manifest (and the index entry pointing at it) so a test can hand unpack a tampered artifact. */
function tamper(layout: string, digest: string, change: (doc: { layers: { annotations: Record<string, string> }[] }) => void): string {
  const doc = json(blob(layout, digest));
  change(doc);
  const bytes = Buffer.from(JSON.stringify(doc));
  const next = `sha256:${sha(bytes)}`;
  writeFileSync(blob(layout, next), bytes);
  const index = json(join(layout, "index.json"));
  index.manifests = [{ ...index.manifests[0], digest: next, size: bytes.length }];
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));
  return next;
}

const WEIGHTS = randomBytes(256 * 1024);
const FILES = {
  "model.safetensors": WEIGHTS,
  "config.json": '{"architectures":["Qwen3ForCausalLM"]}',
  "tokenizer.json": '{"version":"1.0"}',
  "README.md": "# Qwen3-0.6B\n",
  "original/params.json": '{"dim":1024}',
};

describe("models as OCI artifacts (bundle/model-artifact.ts)", () => {
  it("packs deterministically: the same folder gives the same manifest digest in any layout, under any tag", async () => {
    const dir = modelDir(FILES);
    const first = await packModel(dir, join(temp("layout"), "oci"));
    const secondLayout = join(temp("layout"), "oci");
    const second = await packModel(dir, secondLayout, { tag: "other" });
    expect(second.digest).toBe(first.digest);
    expect(first.tag).toBe(`Qwen--Qwen3-0.6B--${REVISION}`);
    expect(first.layers).toBe(6);

    // ModelPack shape: artifactType, config media type, one raw layer per file (digest = the file's sha256), sorted.
    const doc = json(blob(secondLayout, second.digest));
    expect(doc.artifactType).toBe(MODEL_ARTIFACT_TYPE);
    expect(doc.config.mediaType).toBe(MODEL_CONFIG_MEDIA_TYPE);
    expect(doc.annotations).toMatchObject({ "dev.modelfleet.model.repo": "Qwen/Qwen3-0.6B", "dev.modelfleet.model.revision": REVISION });
    const layers = doc.layers as { mediaType: string; digest: string; annotations: Record<string, string> }[];
    expect(layers.map((l) => l.annotations[ANNOTATION_FILEPATH])).toEqual(["README.md", "config.json", "model.safetensors", MANIFEST_FILE, "original/params.json", "tokenizer.json"]);
    const weight = layers.find((l) => l.annotations[ANNOTATION_TITLE] === "model.safetensors");
    expect(weight).toMatchObject({ mediaType: MODEL_LAYER_MEDIA_TYPES.weight, digest: `sha256:${sha(WEIGHTS)}` });
    expect(layers.find((l) => l.annotations[ANNOTATION_FILEPATH] === "README.md")?.mediaType).toBe(MODEL_LAYER_MEDIA_TYPES.doc);
    expect(layers.find((l) => l.annotations[ANNOTATION_FILEPATH] === "config.json")?.mediaType).toBe(MODEL_LAYER_MEDIA_TYPES.weightConfig);
    const config = json(blob(secondLayout, doc.config.digest));
    expect(config.modelfs).toEqual({ type: "layers", diffIds: layers.map((l) => l.digest) });
    expect(config.descriptor).toEqual({ name: "Qwen/Qwen3-0.6B", revision: REVISION, sourceURL: "https://huggingface.co/Qwen/Qwen3-0.6B" });
    expect(json(join(secondLayout, "index.json")).manifests).toEqual([
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: second.digest, size: expect.any(Number), artifactType: MODEL_ARTIFACT_TYPE, annotations: { [ANNOTATION_REF_NAME]: "other" } },
    ]);
  });

  it("refuses to pack a file that does not match the manifest, naming it, and tags nothing", async () => {
    const dir = modelDir(FILES);
    writeFileSync(join(dir, "tokenizer.json"), '{"version":"2.0"}');
    const layout = join(temp("layout"), "oci");
    await expect(packModel(dir, layout)).rejects.toThrow(/tokenizer\.json does not match modelfleet-manifest\.json: sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}; nothing was tagged/);
    expect(existsSync(join(layout, "index.json"))).toBe(false);
    expect(readdirSync(join(layout, "blobs", "sha256")).filter((f) => f.endsWith(".partial"))).toEqual([]);
  });

  it("refuses to pack a manifest listing a path outside the folder, and a file that leads outside it", async () => {
    const dir = modelDir(FILES);
    const manifest = json(join(dir, MANIFEST_FILE));
    writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify({ ...manifest, files: [...manifest.files, { path: "../secret", bytes: 1, sha256: sha("x") }] }));
    await expect(packModel(dir, join(temp("layout"), "oci"))).rejects.toThrow(/not a modelfleet\.dev\/model-manifest\/v1 manifest: files\.5\.path: must be a relative path inside the model folder/);

    const linked = modelDir({ "config.json": "{}" });
    const outside = join(temp("outside"), "config.json");
    writeFileSync(outside, "{}");
    rmSync(join(linked, "config.json"));
    symlinkSync(outside, join(linked, "config.json"));
    await expect(packModel(linked, join(temp("layout"), "oci"))).rejects.toThrow(`${join(linked, "config.json")} leads outside ${linked}`);
  });

  it("unpacks into <root>/<owner>--<name>/<revision>/ with the same bytes and manifest, and again as a verified no-op", async () => {
    const dir = modelDir(FILES);
    const layout = join(temp("layout"), "oci");
    const packed = await packModel(dir, layout);
    const root = temp("root");
    const out = await unpackModel({ layoutDir: layout, ref: packed.digest }, root);
    expect(out).toMatchObject({ folder: storeFolder(root, "Qwen/Qwen3-0.6B", REVISION), alreadyPresent: false });
    expect(out.folder).toBe(join(root, "Qwen--Qwen3-0.6B", REVISION));
    for (const path of [...Object.keys(FILES), MANIFEST_FILE]) expect(readFileSync(join(out.folder, path))).toEqual(readFileSync(join(dir, path)));
    expect(readdirSync(join(root, "Qwen--Qwen3-0.6B"))).toEqual([REVISION]);
    expect(await unpackModel({ layoutDir: layout, ref: packed.tag }, root)).toMatchObject({ alreadyPresent: true });
  });

  it("fails unpack on a corrupted blob naming the file, leaving no model folder behind", async () => {
    const layout = join(temp("layout"), "oci");
    const packed = await packModel(modelDir(FILES), layout);
    const path = blob(layout, sha(WEIGHTS));
    const bytes = readFileSync(path);
    bytes[1000] = (bytes[1000] ?? 0) ^ 0xff;
    writeFileSync(path, bytes);
    const root = temp("root");
    await expect(unpackModel({ layoutDir: layout }, root)).rejects.toThrow(
      new RegExp(`^model\\.safetensors: blob sha256:${sha(WEIGHTS)} in .* is corrupted \\(262144 bytes with sha256 [0-9a-f]{64}, expected 262144 bytes\\); nothing was unpacked`),
    );
    expect(readdirSync(join(root, "Qwen--Qwen3-0.6B"))).toEqual([]);
    expect(packed.digest).toMatch(/^sha256:/);
  });

  it("stores a file shared by two models once in one layout, and unpacks both", async () => {
    const tokenizer = '{"shared":"tokenizer"}';
    const a = modelDir({ "model.safetensors": randomBytes(4096), "tokenizer.json": tokenizer }, "Qwen/Qwen3-0.6B");
    const b = modelDir({ "model.safetensors": randomBytes(4096), "tokenizer.json": tokenizer }, "Qwen/Qwen3-0.6B-Base");
    const layout = join(temp("layout"), "oci");
    const first = await packModel(a, layout);
    const second = await packModel(b, layout);
    const alone = await packModel(b, join(temp("layout"), "oci"));
    expect(second.bytesAdded).toBe(alone.bytesAdded - Buffer.byteLength(tokenizer));
    expect(first.bytesAdded).toBeGreaterThan(4096);
    // 2 models × (weights, manifest file, config, manifest) + 1 shared tokenizer = 9 blobs, not 10.
    const blobs = readdirSync(join(layout, "blobs", "sha256"));
    expect(blobs.filter((h) => h === sha(tokenizer))).toHaveLength(1);
    expect(blobs).toHaveLength(9);
    expect(json(join(layout, "index.json")).manifests.map((m: { annotations: Record<string, string> }) => m.annotations[ANNOTATION_REF_NAME])).toEqual([
      `Qwen--Qwen3-0.6B--${REVISION}`,
      `Qwen--Qwen3-0.6B-Base--${REVISION}`,
    ]);
    const root = temp("root");
    await unpackModel({ layoutDir: layout, ref: first.tag }, root);
    await unpackModel({ layoutDir: layout, ref: second.digest }, root);
    expect(readFileSync(join(root, "Qwen--Qwen3-0.6B-Base", REVISION, "tokenizer.json"), "utf8")).toBe(tokenizer);
    await expect(unpackModel({ layoutDir: layout }, root)).rejects.toThrow(/holds 2 artifacts .*; name one by tag or sha256: digest/);
  });

  it("keeps every tag when several models are packed into one layout at once", async () => {
    const layout = join(temp("layout"), "oci");
    const repos = ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-1.7B", "Qwen/Qwen3-4B", "Qwen/Qwen3-8B"];
    await Promise.all(repos.map((repo) => packModel(modelDir({ "config.json": `{"repo":"${repo}"}` }, repo), layout)));
    expect(json(join(layout, "index.json")).manifests).toHaveLength(4);
    expect(existsSync(join(layout, "index.json.lock"))).toBe(false);
  });

  it.each([
    ["a .. segment", "../../escaped.json", "contains a .. segment"],
    ["an absolute path", "/tmp/escaped.json", "is absolute"],
  ])("refuses a layer path with %s, writing nothing outside the model folder", async (_name, evil, reason) => {
    const layout = join(temp("layout"), "oci");
    const packed = await packModel(modelDir(FILES), layout);
    tamper(layout, packed.digest, (doc) => {
      const layer = doc.layers.find((l) => l.annotations[ANNOTATION_FILEPATH] === "config.json")!;
      layer.annotations[ANNOTATION_FILEPATH] = evil;
    });
    const root = temp("root");
    await expect(unpackModel({ layoutDir: layout }, join(root, "models"))).rejects.toThrow(`path ${evil} ${reason}; nothing is written outside the model folder`);
    expect(readdirSync(root)).toEqual([]);
  });

  it("refuses an artifact whose packed manifest does not list its layers", async () => {
    const layout = join(temp("layout"), "oci");
    const packed = await packModel(modelDir(FILES), layout);
    tamper(layout, packed.digest, (doc) => {
      doc.layers.find((l) => l.annotations[ANNOTATION_FILEPATH] === "config.json")!.annotations[ANNOTATION_FILEPATH] = "config2.json";
    });
    await expect(unpackModel({ layoutDir: layout }, temp("root"))).rejects.toThrow(/does not list exactly the artifact's layers, repo and revision/);
  });

  describe("through a real registry (docker-registry on loopback, skopeo)", () => {
    let registry: OciRegistry;
    beforeAll(async () => {
      registry = await startRegistry();
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it("pushes, reads back by digest, pulls into a fresh layout and unpacks the same files", async () => {
      const dir = modelDir(FILES);
      const layout = join(temp("layout"), "oci");
      const packed = await packModel(dir, layout);
      const repository = `${registry.host}/models/qwen3-0.6b`;
      const pushed = await pushModel(layout, packed.tag, `${repository}:r1`, { insecure: true });
      expect(pushed).toEqual({ pinned: `${repository}@${packed.digest}`, digest: packed.digest });

      const raw = await execa("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${pushed.pinned}`], { encoding: "buffer", stripFinalNewline: false });
      const served = Buffer.from(raw.stdout);
      expect(`sha256:${sha(served)}`).toBe(packed.digest);
      expect(served).toEqual(readFileSync(blob(layout, packed.digest)));
      expect(JSON.parse(served.toString()).artifactType).toBe(MODEL_ARTIFACT_TYPE);

      const fresh = join(temp("layout"), "oci");
      expect(await pullModel(pushed.pinned, fresh, "pulled", { insecure: true })).toEqual({ digest: packed.digest });
      const root = temp("root");
      const out = await unpackModel({ layoutDir: fresh, ref: packed.digest }, root);
      for (const path of [...Object.keys(FILES), MANIFEST_FILE]) expect(readFileSync(join(out.folder, path))).toEqual(readFileSync(join(dir, path)));
    });

    it("refuses to pull by a tag", async () => {
      await expect(pullModel(`${registry.host}/models/qwen3-0.6b:r1`, join(temp("layout"), "oci"), "x", { insecure: true })).rejects.toThrow(/is not pinned by digest; use registry\/repository@sha256:<64 hex>/);
    });
  });
});
