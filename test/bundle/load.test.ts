/**
 * bundle load (#11.7 and trust): the same trust rules as verify, destinations confined to --models-target even with
 * --skip-verify, a dry run that changes nothing, and Hugging Face token guidance. Real registries (docker-registry
 * on loopback), real skopeo.
 */
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { walkBundleFiles } from "../../bundle/confine.js";
import { createBundle } from "../../bundle/create.js";
import { hasDigest, loadBundle, planLoad } from "../../bundle/load.js";
import type { BundleManifest } from "../../bundle/manifest.js";
import { generateKeys, readTrustedKey, signBundleJson } from "../../bundle/sign.js";
import { writeArchive } from "../../bundle/archive.js";
import { startRegistry, type OciRegistry } from "../helpers/oci-registry.js";
import { useBundleFixture } from "./support.js";

const fixture = useBundleFixture();
let counter = 0;
const fresh = (name: string) => join(fixture().work, `${name}-${++counter}`);
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const CONTROL = new Set(["bundle.json", "SHA256SUMS", "bundle.json.sig"]);
const registries: OciRegistry[] = [];
afterAll(async () => {
  for (const r of registries) await r.stop();
});

/** A loopback port nothing listens on (taken, then released). */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

let made: { dir: string; keys: Awaited<ReturnType<typeof generateKeys>> } | undefined;
/** A copy of one real, signed bundle, and its key. */
async function signedCopy() {
  const f = fixture();
  if (!made) {
    const { dir } = await createBundle({ stackFile: f.stackFile, out: fresh("bundle"), modelsDir: f.modelsDir, insecure: true });
    const keys = await generateKeys(join(mkdtempSync(join(f.work, "keys-")), "release"));
    await signBundleJson(join(dir, "bundle.json"), keys.privatePath);
    made = { dir, keys };
  }
  const copy = fresh("copy");
  cpSync(made.dir, copy, { recursive: true });
  return { dir: copy, keys: made.keys, trust: { keys: [await readTrustedKey(made.keys.publicPath)] } };
}

/** Re-seal after an edit (bundle.json lists what is on disk, SHA256SUMS matches); re-sign when a key is given. */
async function reseal(dir: string, edit: (m: BundleManifest) => void, privateKey?: string) {
  const manifest = JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8")) as BundleManifest;
  const { files } = await walkBundleFiles(dir);
  manifest.files = files.filter((f) => !CONTROL.has(f.path)).map((f) => ({ path: f.path, sha256: sha256(readFileSync(join(dir, f.path))), size: f.size }));
  edit(manifest);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  writeFileSync(join(dir, "bundle.json"), text);
  writeFileSync(join(dir, "SHA256SUMS"), [...manifest.files, { path: "bundle.json", sha256: sha256(text) }].map((e) => `${e.sha256}  ${e.path}\n`).join(""));
  if (privateKey) await signBundleJson(join(dir, "bundle.json"), privateKey);
}

describe("load applies the trust rules of verify", () => {
  it("loads a bundle signed by a trusted key; refuses the same bundle re-sealed after a model file was replaced, copying nothing", async () => {
    const f = fixture();
    const { dir, trust, keys } = await signedCopy();
    const target = fresh("pvc");
    const loaded = await loadBundle({ source: dir, registry: f.site.host, insecure: true, trust, modelsTarget: target });
    expect(loaded.signature).toEqual({ state: "valid", keyId: keys.id, keyPath: keys.publicPath });
    expect(loaded.models).toHaveLength(3);

    writeFileSync(join(dir, "models/qwen3-0.6b/config.json"), '{"architectures":["Evil"]}\n');
    await reseal(dir, () => undefined);
    const other = fresh("pvc");
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, trust, modelsTarget: other })).rejects.toThrow(/does not verify:\n {2}- bundle\.json\.sig: signature: the signature of bundle\.json is not valid for any trusted key/);
    expect(existsSync(other)).toBe(false);
  });

  it("refuses an unsigned bundle; with unsigned bundles allowed, loads it and warns", async () => {
    const f = fixture();
    const { dir, trust } = await signedCopy();
    rmSync(join(dir, "bundle.json.sig"));
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, trust })).rejects.toThrow(/- bundle\.json\.sig: unsigned: the bundle is not signed; sign it where it is made \(bundle create --sign-key <key>\), or pass --allow-unsigned/);
    const warnings: string[] = [];
    const result = await loadBundle({ source: dir, registry: f.site.host, insecure: true, trust: { keys: [], allowUnsigned: true } }, (w) => warnings.push(w));
    expect(result.images.every((i) => i.verified)).toBe(true);
    expect(warnings).toEqual([expect.stringMatching(/^WARNING: --allow-unsigned: this bundle is NOT signed/)]);
  });
});

describe("--skip-verify never writes outside --models-target", () => {
  it("a model path with ../ inside models/ is refused before anything is copied", async () => {
    const f = fixture();
    const { dir } = await signedCopy();
    writeFileSync(join(dir, "models/escape.bin"), "x");
    await reseal(dir, (m) => {
      m.files.push({ path: "models/qwen3-0.6b/../../../escape.bin", sha256: sha256("x"), size: 1 });
    });
    const site = fresh("site");
    const target = join(site, "pvc");
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, skipVerify: true, modelsTarget: target })).rejects.toThrow(/lists model files outside the bundle's models\/ folder, nothing copied: models\/qwen3-0\.6b\/\.\.\/\.\.\/\.\.\/escape\.bin/);
    expect(existsSync(site)).toBe(false);
  });

  it("a symlink on the site inside the target that leads out is not written through", async () => {
    const f = fixture();
    const { dir } = await signedCopy();
    const site = fresh("site");
    const target = join(site, "pvc");
    const outside = join(site, "outside");
    mkdirSync(target, { recursive: true });
    mkdirSync(outside);
    symlinkSync(outside, join(target, "qwen3-0.6b"));
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, skipVerify: true, modelsTarget: target })).rejects.toThrow(/^model file qwen3-0\.6b\/(config\.json|model\.safetensors): .*\/pvc\/qwen3-0\.6b on the site is a symlink; nothing is written through it$/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it("a symlink in the bundle is not copied as a link", async () => {
    const f = fixture();
    const { dir } = await signedCopy();
    rmSync(join(dir, "models/qwen3-0.6b/config.json"));
    symlinkSync("/etc/hostname", join(dir, "models/qwen3-0.6b/config.json"));
    const target = fresh("pvc");
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, skipVerify: true, modelsTarget: target })).rejects.toThrow("model file models/qwen3-0.6b/config.json is not a regular file in the bundle; nothing copied from it");
    expect(existsSync(join(target, "qwen3-0.6b/config.json"))).toBe(false);
  });
});

describe("load --dry-run changes nothing", () => {
  it("reports images to push, files to copy, conflicts and missing prerequisites, from an archive, without unpacking it", async () => {
    const { dir, trust } = await signedCopy();
    const empty = await startRegistry();
    registries.push(empty);
    const [tarFile] = await writeArchive(dir, `${dir}.tar`);
    const target = fresh("pvc");
    mkdirSync(join(target, "qwen3-0.6b"), { recursive: true });
    writeFileSync(join(target, "qwen3-0.6b/config.json"), readFileSync(join(dir, "models/qwen3-0.6b/config.json")));
    writeFileSync(join(target, "qwen3-0.6b/model.safetensors"), "older weights");
    const before = readdirSync(fixture().work).length;
    const plan = await planLoad({ source: tarFile!, registry: empty.host, insecure: true, trust, modelsTarget: target });
    expect(plan.signature).toMatchObject({ state: "valid" });
    expect(plan.registry.reachable).toBe(true);
    expect(plan.images.map((i) => [i.name, i.action])).toEqual([
      ["vllm", "push"],
      ["llamacpp", "push"],
      ["postgres", "push"],
    ]);
    expect(plan.models).toMatchObject({ files: 3, same: 1, conflicts: ["qwen3-0.6b/model.safetensors"], targetExists: true });
    expect(plan.missing).toEqual([]);
    // Nothing changed: the registry has no image, the target keeps its files, nothing was unpacked.
    const manifest = JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8")) as BundleManifest;
    for (const image of manifest.images) expect(await hasDigest(empty.host, image, { insecure: true })).toBe(false);
    expect(readFileSync(join(target, "qwen3-0.6b/model.safetensors"), "utf8")).toBe("older weights");
    expect(existsSync(join(target, "gguf"))).toBe(false);
    expect(readdirSync(fixture().work).length).toBe(before);
  });

  it("names what the site lacks: an unreachable registry and database, a missing target; never the database password", async () => {
    const { dir, keys, trust } = await signedCopy();
    mkdirSync(join(dir, "db"));
    writeFileSync(join(dir, "db/registry.dump"), "PGDMP");
    await reseal(dir, (m) => void (m.database = { path: "db/registry.dump", format: "custom", serverVersion: "15.8", pgDumpVersion: "pg_dump (PostgreSQL) 15.8" }), keys.privatePath);
    const target = join(fresh("site"), "pvc");
    const port = await closedPort();
    const plan = await planLoad({ source: dir, registry: `127.0.0.1:${port}`, insecure: true, trust, modelsTarget: target, dbUrl: `postgres://admin:s3cr3t-pw@127.0.0.1:${port}/registry` });
    expect(plan.images.map((i) => i.action)).toEqual(["unknown", "unknown", "unknown"]);
    expect(plan.missing).toEqual([
      `registry 127.0.0.1:${port} is not reachable (http://127.0.0.1:${port}/v2/: ECONNREFUSED); start it or fix --registry`,
      `--models-target ${target} does not exist; mount the model volume there (the load would create an empty folder)`,
      expect.stringMatching(new RegExp(`^database not reachable: .*127\\.0\\.0\\.1:${port}`)),
    ]);
    expect(JSON.stringify(plan)).not.toContain("s3cr3t-pw");
    expect(existsSync(target)).toBe(false);
  });
});

describe("Hugging Face token guidance", () => {
  it("a model that needed a token at the source gets a note on how (and whether) to provide one at the site", async () => {
    const f = fixture();
    const { dir, keys, trust } = await signedCopy();
    await reseal(dir, (m) => void (m.models[0]!.hfTokenAtSource = true), keys.privatePath);
    const result = await loadBundle({ source: dir, registry: f.site.host, insecure: true, trust });
    expect(result.notes).toEqual([
      "model qwen3 needed a Hugging Face token at the source; the site needs none to serve it: its files are in this bundle (copy them with --models-target). Only if this site downloads from Hugging Face itself, set the token there: pulumi config set --secret modelfleet:hfToken <token> (GitOps: key hf-token of the Secret <model>-<environment>-credentials).",
    ]);
    expect(JSON.stringify(result)).not.toMatch(/hf_[A-Za-z0-9]{10,}/);
  });
});
