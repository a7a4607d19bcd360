/**
 * bundle create (#11.4): atomic (temporary sibling, refused existing targets, nothing stale from an interrupted run),
 * model files read only from inside --models-dir, the same files in the folder and its tar, and the signing hook.
 * Real images (docker-registry, skopeo, umoci) and real tar files.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { openBundle } from "../../bundle/archive.js";
import { BUNDLE_SIG } from "../../bundle/manifest.js";
import { createBundle, type CreateOptions } from "../../bundle/create.js";
import { BundleError } from "../../bundle/errors.js";
import { confinedFiles, walkFiles } from "../../bundle/paths.js";
import { useBundleFixture } from "./support.js";

const fixture = useBundleFixture();
let counter = 0;
const fresh = (name: string) => join(fixture().work, `${name}-${++counter}`);

function created(options: Partial<CreateOptions> = {}) {
  const f = fixture();
  return createBundle({ stackFile: f.stackFile, out: fresh("bundle"), modelsDir: f.modelsDir, insecure: true, ...options });
}

const errorOf = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BundleError);
  return error as BundleError;
};

const tarEntries = async (tar: string) => (await execa("tar", ["-tf", tar])).stdout.split("\n").filter((n) => !n.endsWith("/"));
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

describe("create refuses to overwrite", () => {
  it.each([
    ["the --out folder", (out: string) => mkdirSync(out), (out: string) => out],
    ["a dangling symlink at --out", (out: string) => symlinkSync("/nonexistent", out), (out: string) => out],
    ["<out>.tar", (out: string) => writeFileSync(`${out}.tar`, "an older archive"), (out: string) => `${out}.tar`],
    ["<out>.tar.parts", (out: string) => writeFileSync(`${out}.tar.parts`, "an older list"), (out: string) => `${out}.tar.parts`],
  ])("%s exists: one line, nothing written", async (_what, make, named) => {
    const out = fresh("exists");
    make(out);
    const before = readdirSync(fixture().work).sort();
    const error = await errorOf(created({ out, archive: true }));
    expect(error.kind).toBe("input");
    expect(error.message).toBe(`${named(out)} already exists; remove it or choose another --out`);
    expect(readdirSync(fixture().work).sort()).toEqual(before);
    if (named(out) === `${out}.tar`) expect(readFileSync(`${out}.tar`, "utf8")).toBe("an older archive");
  });
});

describe("a re-run after an interrupted create", () => {
  it("ships nothing the first run left: models, dump, signature, lists, archive parts, or a blob folder that is a link", async () => {
    const out = fresh("rerun");
    const partial = `${out}.partial`;
    const stale: Record<string, string> = {
      "models/old-model/weights.bin": "an older stack's model",
      "models/qwen3-0.6b/stale.bin": "a file since removed from the model",
      "db/registry.dump": "an older dump",
      "bundle.json": '{"files":[]}',
      [BUNDLE_SIG]: "an older signature",
      SHA256SUMS: `${"0".repeat(64)}  models/old-model/weights.bin\n`,
      "manifests/model-removed.yaml": "kind: Deployment\n",
    };
    for (const [path, text] of Object.entries(stale)) {
      mkdirSync(join(partial, path, ".."), { recursive: true });
      writeFileSync(join(partial, path), text);
    }
    // images/blobs/sha256 as a symlink to a folder outside, holding a correctly named blob: neither kept nor touched.
    const outside = fresh("outside-blobs");
    mkdirSync(outside);
    writeFileSync(join(outside, sha256("an outside blob")), "an outside blob");
    mkdirSync(join(partial, "images", "blobs"), { recursive: true });
    symlinkSync(outside, join(partial, "images", "blobs", "sha256"));
    writeFileSync(`${out}.tar.003.partial`, "an interrupted archive part");

    const { dir, manifest, archive } = await created({ out, archive: true, splitBytes: 150_000 });
    expect(manifest.database).toBeNull();
    const paths = manifest.files.map((f) => f.path);
    for (const path of Object.keys(stale)) expect(paths).not.toContain(path);
    expect(paths.filter((p) => p.startsWith("models/"))).toEqual(["models/gguf/qwen3-0.6b-q8_0.gguf", "models/qwen3-0.6b/config.json", "models/qwen3-0.6b/model.safetensors"]);
    const { files, odd } = await walkFiles(dir);
    expect(odd).toEqual([]);
    expect(files.map((f) => f.path)).toEqual([...paths, "SHA256SUMS", "bundle.json"].sort());
    expect(readFileSync(join(dir, "bundle.json"), "utf8")).not.toBe(stale["bundle.json"]);
    expect(readdirSync(outside)).toEqual([sha256("an outside blob")]);
    expect(existsSync(`${out}.tar.003.partial`)).toBe(false);
    expect(readdirSync(fixture().work).filter((n) => n.startsWith(`rerun-${counter}.`) && n.endsWith(".partial"))).toEqual([]);
    // The archive holds exactly the folder's files, bundle.json first.
    const opened = await openBundle(archive.at(-1)!);
    const unpacked = await walkFiles(opened.dir);
    await opened.cleanup();
    expect(unpacked.files).toEqual(files);
  });
});

describe("model files are read only from inside --models-dir", () => {
  const outsideFile = () => {
    const outside = fresh("outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "payload.gguf"), "a file that must not travel");
    return outside;
  };
  const modelsCopy = () => {
    const modelsDir = fresh("models");
    cpSync(fixture().modelsDir, modelsDir, { recursive: true });
    return modelsDir;
  };

  it.each([
    [
      "a model file linked outside",
      (models: string, outside: string) => {
        rmSync(join(models, "qwen3-0.6b/model.safetensors"));
        symlinkSync(join(outside, "payload.gguf"), join(models, "qwen3-0.6b/model.safetensors"));
      },
      (_models: string, outside: string) => `model qwen3: --models-dir/qwen3-0.6b/model.safetensors leads outside --models-dir (to ${outside}/payload.gguf); only symlinks that stay inside --models-dir are followed: copy the file in instead`,
    ],
    [
      "a model folder linked outside",
      (models: string, outside: string) => {
        rmSync(join(models, "qwen3-0.6b"), { recursive: true });
        symlinkSync(outside, join(models, "qwen3-0.6b"));
      },
      (_models: string, outside: string) => `model qwen3: --models-dir/qwen3-0.6b leads outside --models-dir (to ${outside}); only symlinks that stay inside --models-dir are followed: copy the file in instead`,
    ],
    [
      "a parent folder of the model's path linked outside",
      (models: string, outside: string) => {
        rmSync(join(models, "gguf"), { recursive: true });
        cpSync(join(outside, "payload.gguf"), join(outside, "qwen3-0.6b-q8_0.gguf"));
        symlinkSync(outside, join(models, "gguf"));
      },
      (_models: string, outside: string) => `model gguf: --models-dir/gguf/qwen3-0.6b-q8_0.gguf leads outside --models-dir (to ${outside}/qwen3-0.6b-q8_0.gguf); only symlinks that stay inside --models-dir are followed: copy the file in instead`,
    ],
    [
      "a relative link climbing out",
      (models: string) => symlinkSync("../../../../../../../../etc/passwd", join(models, "qwen3-0.6b/passwd")),
      () => "model qwen3: --models-dir/qwen3-0.6b/passwd leads outside --models-dir (to /etc/passwd); only symlinks that stay inside --models-dir are followed: copy the file in instead",
    ],
    [
      "a dangling link",
      (models: string) => symlinkSync("nothing-here", join(models, "qwen3-0.6b/tokenizer.json")),
      () => "model qwen3: --models-dir/qwen3-0.6b/tokenizer.json is a symlink to nothing (dangling)",
    ],
    [
      "a link loop",
      (models: string) => symlinkSync(".", join(models, "qwen3-0.6b/again")),
      () => "model qwen3: --models-dir/qwen3-0.6b/again: symlink loop (back to --models-dir/qwen3-0.6b)",
    ],
  ])("%s: refused naming it, nothing created", async (_what, make, message) => {
    const models = modelsCopy();
    const outside = outsideFile();
    make(models, outside);
    const out = fresh("confined");
    const error = await errorOf(created({ out, modelsDir: models }));
    expect(error.kind).toBe("input");
    expect(error.message).toBe(message(models, outside));
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it("a FIFO among a model's files is refused, without blocking on it", async () => {
    const models = modelsCopy();
    await execa("mkfifo", [join(models, "qwen3-0.6b/pipe")]);
    const error = await errorOf(created({ modelsDir: models }));
    expect(error.message).toBe("model qwen3: --models-dir/qwen3-0.6b/pipe is neither a regular file nor a folder (a FIFO, device or socket)");
  });

  it.each([
    ["../../../../payload.gguf", "contains a .. segment"],
    ["gguf/../../payload.gguf", "contains a .. segment"],
    ["/etc/passwd", "is absolute"],
    ["gguf\\..\\..\\payload.gguf", "contains a backslash"],
  ])("a model path %s is refused at use, whatever the schema let through", async (rel, reason) => {
    const models = modelsCopy();
    writeFileSync(join(models, "..", "payload.gguf"), "outside");
    await expect(confinedFiles(models, rel, "--models-dir")).rejects.toThrow(`its path "${rel}" ${reason}; it must be a plain relative path inside --models-dir`);
  });

  it("links that stay inside are stored as content; --models-dir may itself be a link; the folder and its .tar hold the same files", async () => {
    const models = modelsCopy();
    mkdirSync(join(models, ".blobs"));
    const weights = join(models, "qwen3-0.6b/model.safetensors");
    cpSync(weights, join(models, ".blobs/abc123"));
    rmSync(weights);
    symlinkSync("../.blobs/abc123", weights);
    const linkedRoot = fresh("models-link");
    symlinkSync(models, linkedRoot);
    const { dir, manifest, archive } = await created({ modelsDir: linkedRoot, archive: true });
    expect(manifest.models[0]).toEqual({ name: "qwen3", path: "models/qwen3-0.6b", files: 2, bytes: 200_000 + 39 });
    expect(lstatSync(join(dir, "models/qwen3-0.6b/model.safetensors")).isFile()).toBe(true);
    const { files, odd } = await walkFiles(dir);
    expect(odd).toEqual([]);
    expect((await tarEntries(archive[0]!)).sort()).toEqual(files.map((f) => f.path).sort());
  });
});

describe("the signing hook", () => {
  it("is called with bundle.json before SHA256SUMS, the archive and the rename; its file travels unlisted, right after bundle.json", async () => {
    const out = fresh("signed");
    const calls: { path: string; outExists: boolean; sums: boolean; tar: boolean }[] = [];
    const signature = Buffer.alloc(64, 7);
    const { dir, manifest, archive } = await created({
      out,
      archive: true,
      sign: async (path) => {
        calls.push({ path, outExists: existsSync(out), sums: existsSync(join(out + ".partial", "SHA256SUMS")), tar: existsSync(`${out}.tar`) });
        writeFileSync(join(path, "..", BUNDLE_SIG), signature);
      },
    });
    expect(calls).toEqual([{ path: join(`${out}.partial`, "bundle.json"), outExists: false, sums: false, tar: false }]);
    expect(readFileSync(join(dir, BUNDLE_SIG))).toEqual(signature);
    expect(manifest.files.map((f) => f.path)).not.toContain(BUNDLE_SIG);
    expect(readFileSync(join(dir, "SHA256SUMS"), "utf8")).not.toContain(BUNDLE_SIG);
    expect((await tarEntries(archive[0]!)).slice(0, 3)).toEqual(["bundle.json", BUNDLE_SIG, "SHA256SUMS"]);
    const opened = await openBundle(archive[0]!);
    expect(readFileSync(join(opened.dir, BUNDLE_SIG))).toEqual(signature);
    await opened.cleanup();
  });

  it("a signing failure leaves no bundle and no archive", async () => {
    const out = fresh("sign-fails");
    const error = await created({ out, archive: true, sign: async () => Promise.reject(new BundleError("input", "no signing key")) }).catch((e: unknown) => e);
    expect((error as Error).message).toBe("no signing key");
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.tar`)).toBe(false);
  });
});

describe("differential bundles (--base)", () => {
  const layerBlobs = (dir: string, manifest: { files: { path: string }[] }) => {
    const listed = new Set(manifest.files.map((f) => f.path));
    return readdirSync(join(dir, "images/blobs/sha256")).filter((hex) => listed.has(`images/blobs/sha256/${hex}`));
  };
  const push = (dir: string, ref: string, target: string) =>
    execa("skopeo", ["copy", "--all", "--preserve-digests", "--dest-tls-verify=false", `oci:${join(dir, "images")}:${ref}`, `docker://${target}`], { reject: false });

  it("against an earlier bundle.json: carries only manifests and configs, records what the site must hold, and loads where the base was loaded", async () => {
    const f = fixture();
    const full = await created();
    const diff = await created({ base: join(full.dir, "bundle.json") });
    const base = (diff.manifest as typeof diff.manifest & { base?: import("../../bundle/base.js").BundleBase }).base!;
    expect(base.kind).toBe("bundle");
    expect(base.sha256).toBe(sha256(readFileSync(join(full.dir, "bundle.json"))));
    expect(base.stack).toBe("site");
    // Every layer is left out; the manifests and configs (3 images) stay.
    const fullBlobs = layerBlobs(full.dir, full.manifest);
    expect(base.blobs.map((b) => b.sha256).sort()).toEqual(fullBlobs.filter((hex) => !layerBlobs(diff.dir, diff.manifest).includes(hex)).sort());
    expect(layerBlobs(diff.dir, diff.manifest)).toHaveLength(6);
    expect(base.modelFiles.map((m) => m.path)).toEqual(["models/gguf/qwen3-0.6b-q8_0.gguf", "models/qwen3-0.6b/config.json", "models/qwen3-0.6b/model.safetensors"]);
    expect(diff.manifest.files.filter((x) => x.path.startsWith("models/"))).toEqual([]);
    const onDisk = (await walkFiles(diff.dir)).files.map((x) => x.path);
    expect(onDisk).toEqual([...diff.manifest.files.map((x) => x.path), "SHA256SUMS", "bundle.json"].sort());

    const { checkBasePresent } = await import("../../bundle/base.js");
    const site = { registry: f.site.host, insecure: true };
    const before = await checkBasePresent(diff.manifest, diff.dir, site);
    expect(before.length).toBeGreaterThanOrEqual(base.blobs.length);
    expect(before[0]).toMatch(/^blob sha256:[0-9a-f]{64} of image vllm is not in 127\.0\.0\.1:\d+\/modelfleet-test\/vllm \(404\)$/);
    expect(before.at(-1)).toBe("3 model file(s) expected at the site, and no models target was given to look in");
    // The differential layout alone cannot be pushed to an empty repository...
    expect((await push(diff.dir, "vllm", `${f.site.host}/diff-only/vllm:1`)).exitCode).not.toBe(0);
    // ...and once the base is loaded, nothing is missing and it pushes by digest.
    for (const image of full.manifest.images) expect((await push(full.dir, image.layoutRef, `${f.site.host}/${image.repository}:${image.tag}`)).exitCode).toBe(0);
    const target = fresh("pvc");
    cpSync(f.modelsDir, target, { recursive: true });
    expect(await checkBasePresent(diff.manifest, diff.dir, { ...site, modelsTarget: target })).toEqual([]);
    for (const image of diff.manifest.images) {
      const pushed = await push(diff.dir, image.layoutRef, `${f.site.host}/${image.repository}:diff`);
      expect(pushed.exitCode, pushed.stderr).toBe(0);
    }
  });

  it("against a site inventory: leaves out exactly what it lists; a changed model file is carried", async () => {
    const full = await created();
    const layer = full.manifest.files.find((x) => x.path.startsWith("images/blobs/sha256/") && x.size > 10_000)!;
    const gguf = full.manifest.files.find((x) => x.path === "models/gguf/qwen3-0.6b-q8_0.gguf")!;
    const inventory = fresh("inventory.json");
    writeFileSync(
      inventory,
      JSON.stringify({ images: [], blobs: [layer.path.split("/").pop()], modelFiles: [gguf, { path: "models/qwen3-0.6b/config.json", sha256: "0".repeat(64) }].map(({ path, sha256 }) => ({ path, sha256 })) }),
    );
    const diff = await created({ base: inventory });
    const base = (diff.manifest as typeof diff.manifest & { base?: import("../../bundle/base.js").BundleBase }).base!;
    expect(base).toEqual({ sha256: sha256(readFileSync(inventory)), kind: "inventory", blobs: [{ sha256: layer.sha256, size: layer.size }], modelFiles: [{ path: gguf.path, sha256: gguf.sha256, size: gguf.size }] });
    const paths = diff.manifest.files.map((x) => x.path);
    expect(paths).not.toContain(layer.path);
    expect(paths).not.toContain(gguf.path);
    expect(paths).toContain("models/qwen3-0.6b/config.json");
    const { checkBasePresent } = await import("../../bundle/base.js");
    const layout = fresh("site-layout");
    mkdirSync(join(layout, "blobs/sha256"), { recursive: true });
    const empty = fresh("empty-pvc");
    mkdirSync(empty);
    expect(await checkBasePresent(diff.manifest, diff.dir, { layoutDir: layout, modelsTarget: empty })).toEqual([
      `blob sha256:${layer.sha256} (${layer.size} bytes) is not in ${layout}`,
      `model file ${gguf.path} is missing at ${join(empty, "gguf/qwen3-0.6b-q8_0.gguf")}`,
    ]);
    cpSync(join(full.dir, layer.path), join(layout, "blobs/sha256", layer.sha256));
    mkdirSync(join(empty, "gguf"));
    cpSync(join(full.dir, gguf.path), join(empty, "gguf/qwen3-0.6b-q8_0.gguf"));
    expect(await checkBasePresent(diff.manifest, diff.dir, { layoutDir: layout, modelsTarget: empty })).toEqual([]);
  });

  it("a --base that is neither is refused in one line before any work", async () => {
    const bad = fresh("bad-base.json");
    writeFileSync(bad, JSON.stringify({ images: "all" }));
    const out = fresh("bad-base-out");
    const error = await errorOf(created({ out, base: bad }));
    expect(error.message).toBe(`--base ${bad} is neither a bundle.json nor a site inventory ({images, blobs, modelFiles}: see bundle/base.ts)`);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });
});
