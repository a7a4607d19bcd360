/**
 * Model weights in an offline bundle (#14, points 2 and 3), end to end with real skopeo and two loopback
 * docker-registries: a Hugging Face model travels as its model store folder (`models/<owner>--<name>/<revision>/`
 * with modelfleet-manifest.json) and is installed whole into --models-target; two oci-pinned models (ModelPack
 * artifacts sharing a tokenizer file) travel by digest in the images' OCI layout and are pushed to the site registry
 * like images. Also: a corrupted file in --models-dir is refused naming it, a re-run load changes nothing, a folder
 * holding something else is refused, a differential bundle leaves out a model folder and model blobs the base has.
 */
import { createHash, randomBytes } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { createBundle } from "../../bundle/create.js";
import { loadBundle, planLoad } from "../../bundle/load.js";
import { pushModelFolder } from "../helpers/oci-stand-ins.js";
import { verifyBundle } from "../../bundle/verify.js";
import { modelDir } from "../../models/layout.js";
import { MANIFEST_FILE, readManifest, verifyAgainstManifest } from "../../models/manifest.js";
import { useBundleFixture, writeStoreFolder, type BundleFixture } from "./support.js";

const fixture = useBundleFixture();
let counter = 0;
const fresh = (name: string) => join(fixture().work, `${name}-${++counter}`);
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

const QWEN = { repo: "Qwen/Qwen3-0.6B", revision: "a1".repeat(20) };
const ALPHA = { repo: "org/Alpha", revision: "b2".repeat(20) };
const BETA = { repo: "org/Beta", revision: "c3".repeat(20) };
/** The file both oci models hold, byte for byte: its blob must be stored once. */
const TOKENIZER = randomBytes(150_000);

interface World {
  /** --models-dir holding the Hugging Face model's store folder. */
  readonly modelsDir: string;
  readonly stackFile: string;
  readonly alpha: { pinned: string; digest: string };
  readonly beta: { pinned: string; digest: string };
}
let world: World | undefined;

function offlineStack(f: BundleFixture, alpha: string, beta: string): string {
  return `# An air-gapped site with a Hugging Face model (from the bundle into the store) and two oci-pinned models.
config:
  modelfleet:environment: staging
  modelfleet:namespace: llm-site
  modelfleet:images:
    vllm: ${f.images.vllm.pinned}
    llamacpp: ${f.images.llamacpp.pinned}
    postgres: ${f.images.postgres.pinned}
    node: ${f.images.node.pinned}
  modelfleet:offline:
    registry: ${f.site.host}
  modelfleet:models:
    - name: qwen3
      engine: vllm
      source: { huggingFace: ${QWEN.repo}, revision: "${QWEN.revision}" }
      sizeBillions: 0.6
    - name: alpha
      engine: vllm
      source: { huggingFace: ${ALPHA.repo}, revision: "${ALPHA.revision}", oci: "${alpha}" }
      sizeBillions: 0.6
    - name: beta
      engine: vllm
      source: { huggingFace: ${BETA.repo}, revision: "${BETA.revision}", oci: "${beta}" }
      sizeBillions: 0.6
`;
}

/** Packs a model folder into a layout and pushes it to the source registry; returns the digest pin. */
async function publish(f: BundleFixture, model: { repo: string; revision: string }, name: string, weights: Buffer): Promise<{ pinned: string; digest: string }> {
  const root = fresh("pack-src");
  const dir = writeStoreFolder(root, model.repo, model.revision, { "config.json": `{"name":"${name}"}\n`, "tokenizer.json": TOKENIZER, "model.safetensors": weights });
  return pushModelFolder(dir, fresh("pack-layout"), `${f.source.host}/models/${name}:v1`, { tag: name });
}

function setUp(): World {
  if (!world) throw new Error("world not ready");
  return world;
}

beforeAll(async () => {
  const f = fixture();
  const modelsDir = fresh("models-dir");
  writeStoreFolder(modelsDir, QWEN.repo, QWEN.revision, { "config.json": '{"architectures":["Qwen3ForCausalLM"]}\n', "model.safetensors": randomBytes(300_000), "tokenizer/vocab.txt": "a\nb\n" });
  const alpha = await publish(f, ALPHA, "alpha", randomBytes(200_000));
  const beta = await publish(f, BETA, "beta", randomBytes(220_000));
  const stackFile = join(f.work, "Pulumi.store.yaml");
  writeFileSync(stackFile, offlineStack(f, alpha.pinned, beta.pinned));
  world = { modelsDir, stackFile, alpha, beta };
}, 120_000);

const create = (options: { out?: string; modelsDir?: string; base?: string } = {}) =>
  createBundle({ stackFile: setUp().stackFile, stack: "store", out: options.out ?? fresh("bundle"), modelsDir: options.modelsDir ?? setUp().modelsDir, insecure: true, ...(options.base ? { base: options.base } : {}) });

/** Per layout entry (`org.opencontainers.image.ref.name`): every blob (hex) its manifest reaches. */
function blobsByRef(layout: string): Map<string, Set<string>> {
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  const out = new Map<string, Set<string>>();
  for (const entry of index.manifests) {
    const blobs = new Set<string>();
    const visit = (digest: string) => {
      const hex = digest.slice(7);
      blobs.add(hex);
      const doc = JSON.parse(readFileSync(join(layout, "blobs/sha256", hex), "utf8")) as { manifests?: { digest: string }[]; config?: { digest: string }; layers?: { digest: string }[] };
      for (const child of doc.manifests ?? []) visit(child.digest);
      for (const leaf of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) blobs.add(leaf.digest.slice(7));
    };
    visit(entry.digest);
    out.set(entry.annotations["org.opencontainers.image.ref.name"] as string, blobs);
  }
  return out;
}

describe("a bundle with a model store folder and oci-pinned models", () => {
  let made: Awaited<ReturnType<typeof create>> | undefined;
  const bundle = async () => (made ??= await create());

  it("create stores the folder in the store layout and the artifacts by digest in the images' layout, shared blobs once", async () => {
    const { dir, manifest } = await bundle();
    const w = setUp();
    const folder = `models/Qwen--Qwen3-0.6B/${QWEN.revision}`;
    expect(manifest.models).toEqual([{ name: "qwen3", path: folder, repo: QWEN.repo, revision: QWEN.revision, files: 4, bytes: expect.any(Number) as number }]);
    expect(manifest.files.filter((f) => f.path.startsWith("models/")).map((f) => f.path)).toEqual([`${folder}/config.json`, `${folder}/model.safetensors`, `${folder}/${MANIFEST_FILE}`, `${folder}/tokenizer/vocab.txt`]);
    expect(readFileSync(join(dir, folder, MANIFEST_FILE), "utf8")).toBe(readFileSync(join(modelDir(w.modelsDir, QWEN.repo, QWEN.revision), MANIFEST_FILE), "utf8"));
    expect(manifest.modelArtifacts).toEqual([
      { name: "alpha", reference: w.alpha.pinned, repository: "models/alpha", tag: "sha256-" + w.alpha.digest.slice(7), digest: w.alpha.digest, layoutRef: "model-alpha" },
      { name: "beta", reference: w.beta.pinned, repository: "models/beta", tag: "sha256-" + w.beta.digest.slice(7), digest: w.beta.digest, layoutRef: "model-beta" },
    ]);

    const byRef = blobsByRef(join(dir, "images"));
    const alpha = byRef.get("model-alpha") as Set<string>;
    const beta = byRef.get("model-beta") as Set<string>;
    const tokenizer = sha256(TOKENIZER);
    expect(alpha.has(tokenizer) && beta.has(tokenizer)).toBe(true);
    // Every blob file is reached, and the union over all entries is exactly what is stored: the tokenizer once.
    const stored = readdirSync(join(dir, "images/blobs/sha256"));
    const union = new Set([...byRef.values()].flatMap((s) => [...s]));
    const perEntry = [...byRef.values()].reduce((n, s) => n + s.size, 0);
    expect(stored.sort()).toEqual([...union].sort());
    expect(stored.filter((b) => b === tokenizer)).toHaveLength(1);
    expect(perEntry - union.size).toBeGreaterThanOrEqual(2); // the tokenizer (shared by the models) and the images' base layer
    expect(manifest.files.filter((f) => f.path === `images/blobs/sha256/${tokenizer}`)).toHaveLength(1);

    const report = await verifyBundle(dir);
    expect(report.problems).toEqual([]);
  });

  it("load pushes the artifacts by digest and installs the folder; a second load changes nothing", async () => {
    const f = fixture();
    const { dir } = await bundle();
    const w = setUp();
    const target = fresh("store-claim");
    mkdirSync(target);
    const first = await loadBundle({ source: dir, registry: f.site.host, insecure: true, modelsTarget: target });
    expect(first.modelArtifacts.map((a) => [a.name, a.action, a.verified, a.target])).toEqual([
      ["alpha", "pushed", true, `${f.site.host}/models/alpha@${w.alpha.digest}`],
      ["beta", "pushed", true, `${f.site.host}/models/beta@${w.beta.digest}`],
    ]);
    for (const a of [w.alpha, w.beta]) {
      const name = a === w.alpha ? "alpha" : "beta";
      const raw = await execa("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${f.site.host}/models/${name}@${a.digest}`], { encoding: "buffer", stripFinalNewline: false });
      expect(`sha256:${sha256(Buffer.from(raw.stdout))}`).toBe(a.digest);
    }
    const installed = modelDir(target, QWEN.repo, QWEN.revision);
    expect(first.modelFolders).toEqual([{ name: "qwen3", folder: installed, action: "written" }]);
    expect(await verifyAgainstManifest(installed, await readManifest(installed))).toEqual([]);
    expect(readdirSync(join(target, "Qwen--Qwen3-0.6B"))).toEqual([QWEN.revision]); // no staging folder left
    const mtime = statSync(join(installed, "model.safetensors")).mtimeMs;

    const again = await loadBundle({ source: dir, registry: f.site.host, insecure: true, modelsTarget: target });
    expect(again.modelArtifacts.map((a) => a.action)).toEqual(["present", "present"]);
    expect(again.modelFolders).toEqual([{ name: "qwen3", folder: installed, action: "present" }]);
    expect(again.models).toEqual([]);
    expect(statSync(join(installed, "model.safetensors")).mtimeMs).toBe(mtime);

    const plan = await planLoad({ source: dir, registry: f.site.host, insecure: true, modelsTarget: target });
    expect(plan.modelArtifacts.map((a) => a.action)).toEqual(["present", "present"]);
    expect(plan.models?.folders.map((x) => x.action)).toEqual(["present"]);
    expect(plan.missing).toEqual([]);
  });

  it("load refuses a folder on the site holding another manifest, naming it, and leaves it as it was", async () => {
    const f = fixture();
    const { dir } = await bundle();
    const target = fresh("other-claim");
    const other = writeStoreFolder(target, QWEN.repo, QWEN.revision, { "config.json": "{}\n" });
    const before = readFileSync(join(other, MANIFEST_FILE), "utf8");
    const plan = await planLoad({ source: dir, registry: f.site.host, insecure: true, modelsTarget: target });
    expect(plan.missing).toContainEqual(expect.stringContaining(`model qwen3: ${other} holds another ${MANIFEST_FILE}`));
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, modelsTarget: target })).rejects.toThrow(
      `model qwen3: ${other} already exists and holds a manifest of ${QWEN.repo}@${QWEN.revision} with other files (1 files), not this model's manifest (3 files); nothing was written there`,
    );
    expect(readFileSync(join(other, MANIFEST_FILE), "utf8")).toBe(before);
    expect(readdirSync(join(target, "Qwen--Qwen3-0.6B"))).toEqual([QWEN.revision]);
  });

  it("load refuses a folder on the site with the same manifest but a changed file, naming the file", async () => {
    const f = fixture();
    const { dir } = await bundle();
    const target = fresh("damaged-claim");
    cpSync(setUp().modelsDir, target, { recursive: true });
    const weights = join(modelDir(target, QWEN.repo, QWEN.revision), "model.safetensors");
    const bytes = readFileSync(weights);
    bytes[10] = (bytes[10] as number) ^ 0xff;
    writeFileSync(weights, bytes);
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, modelsTarget: target })).rejects.toThrow(/holds this model's manifest but model\.safetensors: sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}; remove the folder and load again/);
  });
});

describe("load --model: one per-model claim at a time", () => {
  it("installs only the named model's folder; a name the bundle has no files for is refused, listing those it has", async () => {
    const f = fixture();
    const { dir } = await create();
    const target = fresh("one-claim");
    const loaded = await loadBundle({ source: dir, registry: f.site.host, insecure: true, modelsTarget: target, modelNames: ["qwen3"] });
    expect(loaded.modelFolders.map((x) => [x.name, x.action])).toEqual([["qwen3", "written"]]);
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, modelsTarget: fresh("none-claim"), modelNames: ["alpha"] })).rejects.toThrow(
      "--model alpha: not a model of this bundle; it carries files for: qwen3",
    );
  });
});

describe("create refuses model folders that do not match their manifest", () => {
  it("a corrupted file (same size) is named with the model, and no bundle is left", async () => {
    const modelsDir = fresh("corrupt-models");
    cpSync(setUp().modelsDir, modelsDir, { recursive: true });
    const weights = join(modelDir(modelsDir, QWEN.repo, QWEN.revision), "model.safetensors");
    const bytes = readFileSync(weights);
    bytes[0] = (bytes[0] as number) ^ 0xff;
    writeFileSync(weights, bytes);
    const out = fresh("corrupt-bundle");
    await expect(create({ out, modelsDir })).rejects.toThrow(
      new RegExp(`^model qwen3: --models-dir/Qwen--Qwen3-0\\.6B/${QWEN.revision}/model\\.safetensors does not match modelfleet-manifest\\.json: sha256 ${sha256(bytes)}, the manifest says [0-9a-f]{64}; nothing was bundled`),
    );
    expect(existsSync(out)).toBe(false);
  });

  it("a missing store folder names where it was expected; an offline stack without --models-dir says to pass it", async () => {
    const empty = fresh("empty-models");
    mkdirSync(empty);
    await expect(create({ modelsDir: empty })).rejects.toThrow(`model qwen3: expected its store folder at ${join(empty, "Qwen--Qwen3-0.6B", QWEN.revision)} with ${MANIFEST_FILE}`);
    await expect(createBundle({ stackFile: setUp().stackFile, stack: "store", out: fresh("no-dir"), insecure: true })).rejects.toThrow(
      `Pulumi.store.yaml is an offline stack: its site cannot download models, so their files must be in the bundle (qwen3); pass --models-dir <root> holding Qwen--Qwen3-0.6B/${QWEN.revision}`,
    );
  });
});

describe("a differential bundle against a base that has the models", () => {
  it("leaves out the model folder and the model blobs, verifies, and loads where the base was loaded", async () => {
    const f = fixture();
    const base = await create();
    const target = fresh("diff-claim");
    await loadBundle({ source: base.dir, registry: f.site.host, insecure: true, modelsTarget: target });

    const diff = await create({ base: join(base.dir, "bundle.json") });
    const folder = `models/Qwen--Qwen3-0.6B/${QWEN.revision}`;
    expect(diff.manifest.files.filter((x) => x.path.startsWith("models/"))).toEqual([]);
    expect(diff.manifest.base?.modelFiles.map((x) => x.path)).toEqual([`${folder}/config.json`, `${folder}/model.safetensors`, `${folder}/${MANIFEST_FILE}`, `${folder}/tokenizer/vocab.txt`]);
    expect(diff.manifest.models[0]?.files).toBe(4);
    const leftOut = new Set(diff.manifest.base?.blobs.map((b) => b.sha256));
    expect(leftOut.has(sha256(TOKENIZER))).toBe(true);
    const bytes = (m: typeof diff.manifest) => m.files.reduce((s, x) => s + x.size, 0);
    expect(bytes(diff.manifest)).toBeLessThan(bytes(base.manifest) / 2);
    expect((await verifyBundle(diff.dir)).problems).toEqual([]);

    const loaded = await loadBundle({ source: diff.dir, registry: f.site.host, insecure: true, modelsTarget: target });
    expect(loaded.modelFolders.map((x) => x.action)).toEqual(["base"]);
    expect(loaded.modelArtifacts.map((x) => x.verified)).toEqual([true, true]);

    const bare = fresh("bare-claim");
    mkdirSync(bare);
    await expect(loadBundle({ source: diff.dir, registry: f.site.host, insecure: true, modelsTarget: bare })).rejects.toThrow(`model file ${folder}/model.safetensors is missing at ${join(bare, "Qwen--Qwen3-0.6B", QWEN.revision, "model.safetensors")}`);
  });
});
