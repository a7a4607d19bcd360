/**
 * bundle verify misses nothing (#11.1, #11.3): every tampered bundle is refused, and whenever `sha256sum -c
 * SHA256SUMS` (the real tool) reports a failure, verify reports one too. Tampering is done the way an attacker
 * would: edit, then re-seal bundle.json and SHA256SUMS so that every checksum matches again.
 */
import { createHash } from "node:crypto";
import { cpSync, linkSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { writeArchive } from "../../bundle/archive.js";
import { walkBundleFiles } from "../../bundle/confine.js";
import { createBundle } from "../../bundle/create.js";
import type { BundleManifest } from "../../bundle/manifest.js";
import { generateKeys, readTrustedKey, signBundleJson } from "../../bundle/sign.js";
import { verifyArchive, verifyBundle, type VerifyOptions } from "../../bundle/verify.js";
import { useBundleFixture } from "./support.js";

const fixture = useBundleFixture();
let counter = 0;
const fresh = (name: string) => join(fixture().work, `${name}-${++counter}`);
const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const CONTROL = new Set(["bundle.json", "SHA256SUMS", "bundle.json.sig"]);

let original: string | undefined;
/** One bundle made by the real create; each test works on its own copy. */
async function bundleCopy(): Promise<string> {
  const f = fixture();
  original ??= (await createBundle({ stackFile: f.stackFile, out: fresh("bundle"), modelsDir: f.modelsDir, insecure: true })).dir;
  const copy = fresh("copy");
  cpSync(original, copy, { recursive: true });
  return copy;
}

const readManifest = (dir: string) => JSON.parse(readFileSync(join(dir, "bundle.json"), "utf8")) as BundleManifest;
const writeSums = (dir: string, entries: { path: string; sha256: string }[]) => writeFileSync(join(dir, "SHA256SUMS"), entries.map((e) => `${e.sha256}  ${e.path}\n`).join(""));

/** What an attacker does after editing: bundle.json lists what is on disk now, SHA256SUMS matches bundle.json. */
async function reseal(dir: string, edit: (manifest: BundleManifest) => void = () => undefined): Promise<void> {
  const manifest = readManifest(dir);
  const { files } = await walkBundleFiles(dir);
  manifest.files = files.filter((f) => !CONTROL.has(f.path)).map((f) => ({ path: f.path, sha256: sha256(readFileSync(join(dir, f.path))), size: f.size }));
  edit(manifest);
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  writeFileSync(join(dir, "bundle.json"), text);
  writeSums(dir, [...manifest.files, { path: "bundle.json", sha256: sha256(text) }]);
}

/** verify's problems as `path: kind`, and whether the real `sha256sum -c SHA256SUMS` passes. */
async function judge(dir: string, options: VerifyOptions = {}) {
  const report = await verifyBundle(dir, options);
  const sums = await execa("sha256sum", ["-c", "--quiet", "SHA256SUMS"], { cwd: dir, reject: false });
  // The rule: verify never accepts what sha256sum -c rejects.
  if (sums.exitCode !== 0) expect(report.ok).toBe(false);
  return { report, problems: report.problems.map((p) => `${p.path}: ${p.problem}`), sumsOk: sums.exitCode === 0, sumsOutput: sums.stdout };
}

const indexOf = (dir: string) => JSON.parse(readFileSync(join(dir, "images/index.json"), "utf8")) as { manifests: { digest: string; size: number; annotations?: Record<string, string> }[] };
const manifestOf = (dir: string, digest: string) => JSON.parse(readFileSync(join(dir, "images/blobs/sha256", digest.slice(7)), "utf8")) as { layers: { digest: string }[] };

describe("authenticity: signature → bundle.json → files", () => {
  it("a signed bundle verifies with its key; re-sealed after replacing a model file it still passes sha256sum -c, but not the signature", async () => {
    const keys = await generateKeys(join(mkdtempSync(join(fixture().work, "keys-")), "release"));
    const trust = { keys: [await readTrustedKey(keys.publicPath)] };
    const dir = await bundleCopy();
    await signBundleJson(join(dir, "bundle.json"), keys.privatePath);
    const good = await judge(dir, { trust });
    expect(good.problems).toEqual([]);
    expect(good.report.signature).toEqual({ state: "valid", keyId: keys.id, keyPath: keys.publicPath });

    // The attack of #11.1: a model file replaced and the bundle re-sealed.
    writeFileSync(join(dir, "models/gguf/qwen3-0.6b-q8_0.gguf"), "GGUF not the model you shipped");
    await reseal(dir, (m) => {
      m.models[1]!.bytes = 30;
    });
    const integrityOnly = await judge(dir);
    expect(integrityOnly.sumsOk).toBe(true);
    expect(integrityOnly.problems).toEqual([]);
    const signed = await judge(dir, { trust });
    expect(signed.problems).toEqual(["bundle.json.sig: signature"]);
    expect(signed.report.problems[0]?.detail).toMatch(/^the signature of bundle\.json is not valid for any trusted key \[ed25519:[0-9a-f]{16} \(release\.public\.pem\)\]/);
    // The same verdict from a standard tool, as the docs show it.
    const openssl = (file: string) => execa("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", keys.publicPath, "-rawin", "-in", file, "-sigfile", join(dir, "bundle.json.sig")], { reject: false });
    expect((await openssl(join(dir, "bundle.json"))).stdout).toContain("Signature Verification Failure");
    expect((await openssl(join(original!, "bundle.json"))).stdout).toContain("Signature Verified Successfully");
  });

  it("refuses an unsigned bundle unless unsigned ones are allowed, and then warns loudly", async () => {
    const dir = await bundleCopy();
    const keys = await generateKeys(join(mkdtempSync(join(fixture().work, "keys-")), "site"));
    const refused = await judge(dir, { trust: { keys: [await readTrustedKey(keys.publicPath)] } });
    expect(refused.problems).toEqual(["bundle.json.sig: unsigned"]);
    const allowed = await judge(dir, { trust: { keys: [], allowUnsigned: true } });
    expect(allowed.report.ok).toBe(true);
    expect(allowed.report.warnings).toEqual([expect.stringMatching(/^WARNING: --allow-unsigned: this bundle is NOT signed/)]);
  });

  it("a signature by a key the site does not trust is refused, even with unsigned bundles allowed", async () => {
    const work = mkdtempSync(join(fixture().work, "keys-"));
    const [mine, theirs] = [await generateKeys(join(work, "mine")), await generateKeys(join(work, "theirs"))];
    const dir = await bundleCopy();
    await signBundleJson(join(dir, "bundle.json"), theirs.privatePath);
    const { problems } = await judge(dir, { trust: { keys: [await readTrustedKey(mine.publicPath)], allowUnsigned: true } });
    expect(problems).toEqual(["bundle.json.sig: signature"]);
    // Any one of several trusted keys is enough (rotation: old and new trusted side by side).
    const both = await judge(dir, { trust: { keys: [await readTrustedKey(mine.publicPath), await readTrustedKey(theirs.publicPath)] } });
    expect(both.report.signature).toMatchObject({ state: "valid", keyId: theirs.id });
  });

  it("the signature travels in the archive and is checked as the archive streams", async () => {
    const keys = await generateKeys(join(mkdtempSync(join(fixture().work, "keys-")), "release"));
    const trust = { keys: [await readTrustedKey(keys.publicPath)] };
    const dir = await bundleCopy();
    await signBundleJson(join(dir, "bundle.json"), keys.privatePath);
    const [tarFile] = await writeArchive(dir, `${dir}.tar`);
    const listed = await execa("tar", ["-tf", tarFile!]);
    expect(listed.stdout.split("\n")).toContain("bundle.json.sig");
    expect((await verifyArchive(tarFile!, { trust })).signature).toMatchObject({ state: "valid" });
    writeFileSync(join(dir, "manifests/model-qwen3.yaml"), "kind: Deployment\n# re-sealed\n");
    await reseal(dir);
    rmSync(tarFile!);
    await writeArchive(dir, `${dir}.tar`);
    expect((await verifyArchive(tarFile!, { trust })).problems.map((p) => `${p.path}: ${p.problem}`)).toEqual(["bundle.json.sig: signature"]);
  });
});

describe("the OCI layout: every descriptor present, every blob used", () => {
  it("a layer blob used by image manifests is missing (re-sealed): named with the images that need it", async () => {
    const dir = await bundleCopy();
    const index = indexOf(dir);
    const [vllm, llamacpp] = [manifestOf(dir, index.manifests[0]!.digest), manifestOf(dir, index.manifests[1]!.digest)];
    const shared = vllm.layers.find((l) => llamacpp.layers.some((m) => m.digest === l.digest))!.digest.slice(7);
    rmSync(join(dir, "images/blobs/sha256", shared));
    await reseal(dir);
    const { problems, report, sumsOk } = await judge(dir);
    expect(sumsOk).toBe(true);
    expect(problems).toEqual([`images/blobs/sha256/${shared}: missing`]);
    expect(report.problems[0]?.detail).toMatch(/^layer 0 of image vllm \(images\/index\.json\), not in the bundle$/);
  });

  it("images/index.json names a manifest that is not in blobs/ (re-sealed)", async () => {
    const dir = await bundleCopy();
    const index = indexOf(dir);
    const ghost = "ab".repeat(32);
    index.manifests.push({ digest: `sha256:${ghost}`, size: 400, annotations: { "org.opencontainers.image.ref.name": "ghost" } });
    writeFileSync(join(dir, "images/index.json"), JSON.stringify(index));
    await reseal(dir);
    const { problems, sumsOk } = await judge(dir);
    expect(sumsOk).toBe(true);
    expect(problems).toEqual([`images/blobs/sha256/${ghost}: missing`]);
  });

  it("a blob no image uses (listed and re-sealed) is reported; so is a blob whose name is not its digest", async () => {
    const dir = await bundleCopy();
    const orphan = sha256("an unused layer");
    writeFileSync(join(dir, "images/blobs/sha256", orphan), "an unused layer");
    writeFileSync(join(dir, "images/blobs/sha256", "not-a-digest"), "x");
    await reseal(dir);
    const { problems } = await judge(dir);
    expect(problems).toEqual([`images/blobs/sha256/${orphan}: unreferenced`, "images/blobs/sha256/not-a-digest: blob-mismatch"]);
  });

  it("the same checks hold for an archive, read as it streams", async () => {
    const dir = await bundleCopy();
    const index = indexOf(dir);
    const layer = manifestOf(dir, index.manifests[2]!.digest).layers[0]!.digest.slice(7);
    rmSync(join(dir, "images/blobs/sha256", layer));
    await reseal(dir);
    const [tarFile] = await writeArchive(dir, `${dir}.tar`);
    expect((await verifyArchive(tarFile!)).problems.map((p) => `${p.path}: ${p.problem}`)).toEqual([`images/blobs/sha256/${layer}: missing`]);
  });
});

describe("duplicates, checksums lines and bundle.json's schema", () => {
  it("bundle.json listing a file twice, first with a wrong sha256 (re-sealed)", async () => {
    const dir = await bundleCopy();
    await reseal(dir, (m) => {
      const entry = m.files.find((f) => f.path === "manifests/model-qwen3.yaml")!;
      m.files.unshift({ ...entry, sha256: "0".repeat(64) });
    });
    const { problems } = await judge(dir);
    expect(problems).toEqual(expect.arrayContaining(["manifests/model-qwen3.yaml: duplicate", "manifests/model-qwen3.yaml: altered"]));
  });

  it("a wrong duplicate line in SHA256SUMS: sha256sum -c says FAILED, and so does verify", async () => {
    const dir = await bundleCopy();
    writeFileSync(join(dir, "SHA256SUMS"), `${readFileSync(join(dir, "SHA256SUMS"), "utf8")}${"1".repeat(64)}  manifests/model-qwen3.yaml\n`);
    const { problems, sumsOk, sumsOutput } = await judge(dir);
    expect(sumsOk).toBe(false);
    expect(sumsOutput).toContain("manifests/model-qwen3.yaml: FAILED");
    expect(problems).toEqual(["manifests/model-qwen3.yaml: checksums", "manifests/model-qwen3.yaml: duplicate"]);
  });

  it.each([
    ["a line that is not <sha256>  <path>", (text: string) => `${text}not a checksum line\n`, "SHA256SUMS: checksums"],
    ["a path that leaves the bundle", (text: string) => `${text}${"2".repeat(64)}  ../etc/passwd\n`, "../etc/passwd: unsafe-path"],
    ["a line for a file bundle.json does not list", (text: string) => `${text}${sha256("x")}  notes.txt\n`, "notes.txt: checksums"],
    ["bundle.json's own line removed", (text: string) => text.split("\n").filter((l) => !l.endsWith("  bundle.json")).join("\n"), "bundle.json: checksums"],
  ])("SHA256SUMS with %s", async (_name, edit, expected) => {
    const dir = await bundleCopy();
    if (expected.startsWith("notes.txt")) writeFileSync(join(dir, "notes.txt"), "x");
    writeFileSync(join(dir, "SHA256SUMS"), edit(readFileSync(join(dir, "SHA256SUMS"), "utf8")));
    const { problems } = await judge(dir);
    expect(problems).toContain(expected);
  });

  it("a schema error in bundle.json is a readable list of dot paths and messages", async () => {
    const dir = await bundleCopy();
    const manifest = readManifest(dir) as unknown as Record<string, unknown> & { files: { sha256: string }[] };
    manifest["schemaVersion"] = 2;
    manifest.files[3]!.sha256 = "xyz";
    writeFileSync(join(dir, "bundle.json"), JSON.stringify(manifest));
    const { report } = await judge(dir);
    expect(report.problems.map((p) => p.detail)).toEqual([
      expect.stringMatching(/^not a valid bundle\.json: schemaVersion: .*1/),
      expect.stringMatching(/^not a valid bundle\.json: files\[3\]\.sha256: /),
    ]);
    expect(report.problems.every((p) => !p.detail.includes("[\n") && !p.detail.includes("\n"))).toBe(true);
  });
});

describe("paths: confined in bundle.json, SHA256SUMS and on disk", () => {
  it("database.path outside the bundle, in no checksum (re-sealed)", async () => {
    const dir = await bundleCopy();
    writeFileSync(join(dir, "..", "outside.dump"), "PGDMP");
    await reseal(dir, (m) => {
      m.database = { path: "../outside.dump", format: "custom", serverVersion: "15.8", pgDumpVersion: "pg_dump (PostgreSQL) 15.8" };
    });
    const { problems, sumsOk } = await judge(dir);
    expect(sumsOk).toBe(true);
    expect(problems).toEqual(["../outside.dump: unsafe-path"]);
  });

  it.each([
    ["database.path naming no listed file", (m: BundleManifest) => void (m.database = { path: "db/registry.dump", format: "custom", serverVersion: "15.8", pgDumpVersion: "x" }), "db/registry.dump: manifest"],
    ["a model path with no listed file", (m: BundleManifest) => void (m.models[0]!.path = "models/elsewhere"), "models/elsewhere: manifest"],
    ["a model path outside models/", (m: BundleManifest) => void (m.models[0]!.path = "manifests"), "manifests: manifest"],
    ["a model path with ..", (m: BundleManifest) => void (m.models[0]!.path = "models/../x"), "models/../x: unsafe-path"],
    ["a file path with a backslash", (m: BundleManifest) => void m.files.push({ path: "models\\x", sha256: "0".repeat(64), size: 1 }), "models\\x: unsafe-path"],
    ["a file path that is absolute", (m: BundleManifest) => void m.files.push({ path: "/etc/passwd", sha256: "0".repeat(64), size: 1 }), "/etc/passwd: unsafe-path"],
    ["a file path with an empty segment", (m: BundleManifest) => void m.files.push({ path: "models//x", sha256: "0".repeat(64), size: 1 }), "models//x: unsafe-path"],
  ])("bundle.json with %s (re-sealed)", async (_name, edit, expected) => {
    const dir = await bundleCopy();
    await reseal(dir, edit);
    expect((await judge(dir)).problems).toContain(expected);
  });

  it("on disk: a symlink, a hard link and a FIFO are each refused", async () => {
    const dir = await bundleCopy();
    const outside = join(dir, "..", `secret-${counter}.txt`);
    writeFileSync(outside, "site secret");
    rmSync(join(dir, "models/qwen3-0.6b/config.json"));
    linkSync(outside, join(dir, "models/qwen3-0.6b/config.json"));
    symlinkSync("/etc/hostname", join(dir, "models/link"));
    await execa("mkfifo", [join(dir, "models/fifo")]);
    const { report } = await judge(dir);
    const byPath = Object.fromEntries(report.problems.filter((p) => p.problem === "extra").map((p) => [p.path, p.detail]));
    expect(byPath).toEqual({
      "models/fifo": "a FIFO, not a regular file",
      "models/link": "a symlink, not a regular file",
      "models/qwen3-0.6b/config.json": "a hard link (2 names share its bytes), not a file of its own",
    });
    expect(statSync(outside).nlink).toBe(2);
  });
});
