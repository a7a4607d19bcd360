import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { createBundle } from "../../bundle/create.js";
import { restoreDatabase } from "../../bundle/db.js";
import { BundleError } from "../../bundle/errors.js";
import { rawManifest } from "../../bundle/images.js";
import { loadBundle } from "../../bundle/load.js";
import { resolvePins } from "../../bundle/pins.js";
import { verifyArchive, verifyBundle } from "../../bundle/verify.js";
import { loadStackFile } from "../../config/load.js";
import { extraGroups } from "../../synth/groups.js";
import { synthesizeStack } from "../../synth/synthesize.js";
import { reconcile } from "../../registry/reconcile.js";
import { desired, snapshotEntries, useRegistryDatabase } from "../registry/support.js";
import { stackYaml, useBundleFixture } from "./support.js";

const fixture = useBundleFixture();
const registryDb = useRegistryDatabase();
let counter = 0;
const fresh = (name: string) => join(fixture().work, `${name}-${++counter}`);

async function created(options: Partial<Parameters<typeof createBundle>[0]> = {}) {
  const f = fixture();
  return createBundle({ stackFile: f.stackFile, out: fresh("bundle"), modelsDir: f.modelsDir, insecure: true, ...options });
}

const problemsOf = async (dir: string) => (await verifyBundle(dir)).problems.map((p) => `${p.path}: ${p.problem}`);

describe("bundle create → verify → load", () => {
  it("creates a bundle whose images are exactly the pins, that verifies and that sha256sum -c accepts", async () => {
    const f = fixture();
    const { dir, manifest } = await created();
    expect(manifest.images.map((i) => [i.name, i.digest])).toEqual([
      ["vllm", f.images.vllm.digest],
      ["llamacpp", f.images.llamacpp.digest],
      ["postgres", f.images.postgres.digest],
    ]);
    expect(manifest.models).toEqual([
      { name: "qwen3", path: "models/qwen3-0.6b", files: 2, bytes: 200_000 + 39 },
      { name: "gguf", path: "models/gguf/qwen3-0.6b-q8_0.gguf", files: 1, bytes: 100_004 },
    ]);
    expect(manifest.files.map((x) => x.path)).toContain("manifests/model-qwen3.yaml");
    expect(manifest.tools["skopeo"]).toMatch(/^skopeo version/);
    expect((await verifyBundle(dir)).ok).toBe(true);
    const check = await execa("sha256sum", ["-c", "--quiet", "SHA256SUMS"], { cwd: dir, reject: false });
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);
  });

  it("stores a blob shared by two images once", async () => {
    const { dir } = await created();
    const blobs = readdirSync(join(dir, "images/blobs/sha256"));
    const referenced = new Map<string, number>();
    const index = JSON.parse(readFileSync(join(dir, "images/index.json"), "utf8")) as { manifests: { digest: string }[] };
    for (const entry of index.manifests) {
      const m = JSON.parse(readFileSync(join(dir, "images/blobs/sha256", entry.digest.slice(7)), "utf8")) as { layers: { digest: string }[] };
      for (const layer of m.layers) referenced.set(layer.digest, (referenced.get(layer.digest) ?? 0) + 1);
    }
    const shared = [...referenced].filter(([, n]) => n > 1).map(([d]) => d.slice(7));
    expect(shared).toHaveLength(1);
    expect(blobs.filter((b) => b === shared[0])).toHaveLength(1);
    expect(new Set(blobs).size).toBe(blobs.length);
  });

  it("loads into the site registry with every digest present and byte-identical manifests; a re-run skips them", async () => {
    const f = fixture();
    const { dir, manifest } = await created();
    const first = await loadBundle({ source: dir, registry: f.site.host, insecure: true, modelsTarget: fresh("pvc") });
    expect(first.images.every((i) => i.verified)).toBe(true);
    for (const image of manifest.images) {
      const served = await rawManifest(`docker://${f.site.host}/${image.repository}@${image.digest}`, { insecure: true });
      expect(served?.equals(readFileSync(join(dir, "images/blobs/sha256", image.digest.slice(7))))).toBe(true);
    }
    expect(first.models).toHaveLength(3);
    const again = await loadBundle({ source: dir, registry: f.site.host, insecure: true });
    expect(again.images.map((i) => i.action)).toEqual(["present", "present", "present"]);
  });

  it("the offline stack's synthesized images point at the site registry with the pinned digests", () => {
    const f = fixture();
    const config = loadStackFile(f.stackFile);
    const images = synthesizeStack(config, extraGroups(config)).objects.flatMap((o) => JSON.stringify(o).match(/"image":"[^"]+"/g) ?? []);
    expect(images.length).toBeGreaterThan(2);
    for (const image of images) expect(image).toMatch(new RegExp(`^"image":"${f.site.host.replace(".", "\\.")}/modelfleet-test/(vllm|llamacpp|postgres)@sha256:[0-9a-f]{64}"$`));
    expect(images).toContain(`"image":"${f.site.host}/modelfleet-test/vllm@${f.images.vllm.digest}"`);
  });
});

describe("bundle verify names each problem", () => {
  const tampered = async (change: (dir: string) => void) => {
    const { dir } = await created();
    const copy = fresh("tampered");
    cpSync(dir, copy, { recursive: true });
    change(copy);
    return problemsOf(copy);
  };
  const firstBlob = (dir: string) => {
    const name = readdirSync(join(dir, "images/blobs/sha256")).find((b) => statSync(join(dir, "images/blobs/sha256", b)).size > 1000)!;
    return { path: `images/blobs/sha256/${name}`, full: join(dir, "images/blobs/sha256", name) };
  };

  it("a truncated blob", async () => {
    let blob = "";
    const problems = await tampered((dir) => {
      const b = firstBlob(dir);
      blob = b.path;
      truncateSync(b.full, 100);
    });
    expect(problems).toEqual(expect.arrayContaining([`${blob}: truncated`, `${blob}: blob-mismatch`]));
  });

  it("one flipped byte", async () => {
    const problems = await tampered((dir) => {
      const file = join(dir, "manifests/model-qwen3.yaml");
      const bytes = readFileSync(file);
      bytes[10] = (bytes[10] ?? 0) ^ 1;
      writeFileSync(file, bytes);
    });
    expect(problems).toEqual(["manifests/model-qwen3.yaml: altered"]);
  });

  it("a deleted file and an added file", async () => {
    const problems = await tampered((dir) => {
      rmSync(join(dir, "models/gguf/qwen3-0.6b-q8_0.gguf"));
      writeFileSync(join(dir, "models/extra.bin"), "x");
    });
    expect(problems).toEqual(["models/extra.bin: extra", "models/gguf/qwen3-0.6b-q8_0.gguf: missing"]);
  });

  it("an edited bundle.json", async () => {
    const problems = await tampered((dir) => {
      const file = join(dir, "bundle.json");
      writeFileSync(file, readFileSync(file, "utf8").replace('"stack": "site"', '"stack": "prod"'));
    });
    expect(problems).toEqual(["bundle.json: altered"]);
  });

  it("a ../ path in bundle.json", async () => {
    const problems = await tampered((dir) => {
      const file = join(dir, "bundle.json");
      const manifest = JSON.parse(readFileSync(file, "utf8"));
      manifest.files.push({ path: "../outside.txt", sha256: "0".repeat(64), size: 1 });
      writeFileSync(file, JSON.stringify(manifest));
    });
    expect(problems).toEqual(expect.arrayContaining(["../outside.txt: unsafe-path", "bundle.json: altered"]));
  });

  it("an image listed in bundle.json but absent from the layout", async () => {
    const problems = await tampered((dir) => {
      const file = join(dir, "images/index.json");
      const index = JSON.parse(readFileSync(file, "utf8"));
      index.manifests = index.manifests.filter((m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"] !== "postgres");
      writeFileSync(file, JSON.stringify(index));
    });
    expect(problems).toContain("images/index.json: image-missing");
    expect(problems.filter((p) => !p.startsWith("images/index.json: "))).toEqual([]);
  });

  it("load refuses a bundle that does not verify, and --skip-verify loads it while saying so", async () => {
    const f = fixture();
    const { dir } = await created();
    writeFileSync(join(dir, "models/extra.bin"), "x");
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true })).rejects.toThrow(/does not verify:\n {2}- models\/extra\.bin: extra/);
    const warnings: string[] = [];
    const result = await loadBundle({ source: dir, registry: f.site.host, insecure: true, skipVerify: true }, (w) => warnings.push(w));
    expect(result.verified).toBe(false);
    expect(warnings[0]).toMatch(/^WARNING: --skip-verify: .*NOT verified/);
  });
});

describe("load --skip-verify still refuses what would escape", () => {
  it("a model path in bundle.json that leaves the models target: nothing copied", async () => {
    const f = fixture();
    const { dir } = await created();
    const file = join(dir, "bundle.json");
    const manifest = JSON.parse(readFileSync(file, "utf8"));
    manifest.files.push({ path: "models/../../escaped.bin", sha256: "0".repeat(64), size: 1 });
    writeFileSync(file, JSON.stringify(manifest));
    writeFileSync(join(dir, "..", "escaped.bin"), "x");
    const target = join(fresh("site"), "pvc");
    await expect(loadBundle({ source: dir, registry: f.site.host, insecure: true, skipVerify: true, modelsTarget: target })).rejects.toThrow(/lists model files outside the bundle's models\/ folder, nothing copied: models\/\.\.\/\.\.\/escaped\.bin/);
    expect(existsSync(join(target, "..", "escaped.bin"))).toBe(false);
    expect(existsSync(target)).toBe(false);
  });
});

describe("create's failures leave no bundle that verifies", () => {
  it("a pin the source registry does not serve fails naming the image", async () => {
    const f = fixture();
    const stackFile = join(f.work, "Pulumi.wrongpin.yaml");
    writeFileSync(stackFile, stackYaml(f.images, f.site.host, { llamacpp: `${f.images.llamacpp.repository}:1@sha256:${"0".repeat(64)}` }));
    const out = fresh("wrongpin");
    const error = await createBundle({ stackFile, out, modelsDir: f.modelsDir, insecure: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleError);
    expect((error as Error).message).toContain("/modelfleet-test/llamacpp");
    expect(existsSync(out)).toBe(false);
  });

  it("checks free space first and says needed vs available", async () => {
    const out = fresh("nospace");
    const error = await created({ out, freeBytes: async () => 4096 }).catch((e: unknown) => e);
    expect((error as BundleError).kind).toBe("space");
    expect((error as Error).message).toMatch(/not enough disk space in .*: the bundle needs [\d.]+ KiB \(images .*\), 4\.0 KiB available/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it("an interrupted create leaves only a partial folder; the re-run reuses its verified blobs and drops a corrupted one", async () => {
    const f = fixture();
    const out = fresh("interrupted");
    // Kill the real CLI process as it starts copying the second image: the first image's blobs are on disk.
    // Its own process group, so the kill takes the CLI's skopeo child too, as a power cut or Ctrl-C would.
    const child = execa("node", [join(import.meta.dirname, "../../bin/modelfleet.js"), "bundle", "create", "--stack", "site", "--stack-file", f.stackFile, "--out", out, "--models-dir", f.modelsDir, "--insecure", "--json"], { reject: false, detached: true });
    await new Promise<void>((resolve) => {
      child.stdout!.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("copying llamacpp")) {
          process.kill(-child.pid!, "SIGKILL");
          resolve();
        }
      });
      void child.then(() => resolve());
    });
    await child;
    expect(existsSync(out)).toBe(false);
    expect((await verifyBundle(`${out}.partial`)).ok).toBe(false);
    const blobs = join(`${out}.partial`, "images/blobs/sha256");
    // Layers are reused as they are (manifests are rewritten on every copy): take the two largest blobs.
    // Only complete blobs (named by their content's sha256); a copy cut short may leave a temp file behind.
    const complete = readdirSync(blobs).filter((name) => /^[0-9a-f]{64}$/.test(name) && createHash("sha256").update(readFileSync(join(blobs, name))).digest("hex") === name);
    const names = complete.sort((a, b) => statSync(join(blobs, b)).size - statSync(join(blobs, a)).size);
    expect(names.length).toBeGreaterThanOrEqual(2);
    const [kept, corrupted] = [names[0]!, names[1]!];
    const keptTime = statSync(join(blobs, kept)).mtimeMs;
    writeFileSync(join(blobs, corrupted), "garbage");
    const { dir } = await created({ out });
    expect((await verifyBundle(dir)).ok).toBe(true);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(statSync(join(dir, "images/blobs/sha256", kept)).mtimeMs).toBe(keptTime);
    expect(readFileSync(join(dir, "images/blobs/sha256", corrupted)).toString()).not.toBe("garbage");
  });
});

describe("create's re-run and model sources", () => {
  it("a re-run keeps no stale file, index entry or unreferenced blob from the earlier run", async () => {
    const out = fresh("stale");
    const blobs = join(`${out}.partial`, "images/blobs/sha256");
    mkdirSync(blobs, { recursive: true });
    mkdirSync(join(`${out}.partial`, "manifests"), { recursive: true });
    writeFileSync(join(`${out}.partial`, "manifests/model-removed.yaml"), "kind: Deployment\n");
    // A complete blob (named by its content) that no image of the stack references any more.
    const orphan = createHash("sha256").update("an old layer").digest("hex");
    writeFileSync(join(blobs, orphan), "an old layer");
    writeFileSync(join(`${out}.partial`, "images/index.json"), '{"schemaVersion":2,"manifests":[{"digest":"sha256:' + orphan + '","size":12}]}');
    const { dir, manifest } = await created({ out });
    expect((await verifyBundle(dir)).ok).toBe(true);
    expect(manifest.files.map((f) => f.path)).not.toContain("manifests/model-removed.yaml");
    expect(existsSync(join(dir, "images/blobs/sha256", orphan))).toBe(false);
    const index = JSON.parse(readFileSync(join(dir, "images/index.json"), "utf8")) as { manifests: unknown[] };
    expect(index.manifests).toHaveLength(3);
  });

  it("model files behind symlinks (a Hugging Face cache) are stored as their content", async () => {
    const f = fixture();
    const modelsDir = fresh("hf-cache");
    cpSync(f.modelsDir, modelsDir, { recursive: true });
    mkdirSync(join(modelsDir, ".blobs"));
    const weights = join(modelsDir, "qwen3-0.6b", "model.safetensors");
    cpSync(weights, join(modelsDir, ".blobs", "abc123"));
    rmSync(weights);
    symlinkSync("../.blobs/abc123", weights);
    const { dir, manifest } = await created({ modelsDir });
    expect(manifest.models[0]).toEqual({ name: "qwen3", path: "models/qwen3-0.6b", files: 2, bytes: 200_000 + 39 });
    expect(lstatSync(join(dir, "models/qwen3-0.6b/model.safetensors")).isFile()).toBe(true);
    expect((await verifyBundle(dir)).ok).toBe(true);
  });

  it("the space check counts the archive too", async () => {
    const { manifest } = await created();
    const bundleBytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
    const freeBytes = async () => Math.floor(bundleBytes * 1.5);
    const error = await created({ archive: true, freeBytes }).catch((e: unknown) => e);
    expect((error as BundleError).kind).toBe("space");
    expect((error as Error).message).toMatch(/\(images [^)]*, archive [\d.]+ [KM]iB\), [\d.]+ [KM]iB available/);
    const { dir } = await created({ freeBytes });
    expect((await verifyBundle(dir)).ok).toBe(true);
  });
});

describe("the registry database in a bundle", () => {
  it("create --db-url carries a checked dump; load --db-url restores it; db restore reads a .tar and refuses an altered dump", async () => {
    const f = fixture();
    const { db: source, client: sourceClient } = await registryDb.migratedDb();
    await reconcile(sourceClient, [desired("alpha", "staging"), desired("beta", "staging")], "staging");
    const rows = await snapshotEntries(sourceClient);
    const backupDir = fresh("backups");
    const { dir, manifest, archive } = await created({ dbUrl: source.url, archive: true });
    expect(manifest.database).toMatchObject({ path: "db/registry.dump", format: "custom", serverVersion: expect.stringMatching(/^15\./), pgDumpVersion: expect.stringMatching(/^pg_dump \(PostgreSQL\) /) });
    expect(manifest.files.map((x) => x.path)).toContain("db/registry.dump");
    expect(manifest.tools["pg_dump"]).toBe(manifest.database?.pgDumpVersion);

    const { db: site, client: siteClient } = await registryDb.migratedDb();
    await reconcile(siteClient, [desired("alpha", "staging", { servedModelName: "site/alpha" })], "staging");
    const loaded = await loadBundle({ source: dir, registry: f.site.host, insecure: true, dbUrl: site.url, dbMode: "merge", backupDir });
    expect(loaded.database?.inserted).toEqual(["beta in staging"]);
    expect(loaded.database?.conflicts).toEqual(["alpha in staging"]);
    expect(existsSync(loaded.database!.backup)).toBe(true);

    const { db: empty, client: emptyClient } = await registryDb.emptyDb();
    await restoreDatabase({ source: archive[0]!, url: empty.url, mode: "replace", backupDir });
    expect(await snapshotEntries(emptyClient)).toEqual(rows);

    // No password of any database involved is in the bundle, its archive or a backup.
    const passwords = [source.url, site.url, empty.url].map((u) => decodeURIComponent(new URL(u).password)).filter((p) => p.length > 0);
    expect(passwords.length).toBeGreaterThan(0);
    const scanned = [dir, backupDir].flatMap((root) => readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)));
    for (const file of [...scanned, ...archive]) {
      const bytes = readFileSync(file);
      for (const password of passwords) expect(bytes.includes(Buffer.from(password)), `${file} holds a database password`).toBe(false);
    }

    const altered = fresh("altered-dump");
    cpSync(dir, altered, { recursive: true });
    const dump = join(altered, "db/registry.dump");
    const bytes = readFileSync(dump);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 1;
    writeFileSync(dump, bytes);
    const before = await snapshotEntries(siteClient);
    await expect(restoreDatabase({ source: altered, url: site.url, mode: "replace", backupDir })).rejects.toThrow(/the bundle's database dump db\/registry\.dump is altered .*; nothing restored/);
    expect(await snapshotEntries(siteClient)).toEqual(before);
  });
});

describe("archives", () => {
  it("a split archive verifies and loads; an altered part is named", async () => {
    const f = fixture();
    const { archive } = await created({ archive: true, splitBytes: 150_000 });
    const parts = archive.at(-1)!;
    expect(parts).toMatch(/\.tar\.parts$/);
    expect(archive.length).toBeGreaterThan(2);
    const verify = await execa("node", [join(import.meta.dirname, "../../bin/modelfleet.js"), "bundle", "verify", parts, "--allow-unsigned"], { reject: false });
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^OK: /);
    // Nothing of this bundle is left under a .partial name once create returns.
    const name = parts.split("/").pop()!.replace(/\.tar\.parts$/, "");
    expect(readdirSync(f.work).filter((n) => n.startsWith(name) && n.endsWith(".partial"))).toEqual([]);
    const loaded = await loadBundle({ source: parts, registry: f.site.host, insecure: true });
    expect(loaded.images.every((i) => i.verified)).toBe(true);
    const second = archive[1]!;
    const bytes = readFileSync(second);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    writeFileSync(second, bytes);
    const bad = await execa("node", [join(import.meta.dirname, "../../bin/modelfleet.js"), "bundle", "verify", parts, "--allow-unsigned"], { reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain(`archive part ${second.split("/").pop()} is altered`);
  });
});

const firstLargeBlob = (dir: string) => `images/blobs/sha256/${readdirSync(join(dir, "images/blobs/sha256")).find((b) => statSync(join(dir, "images/blobs/sha256", b)).size > 10_000)!}`;

describe("verify of an archive, as it streams", () => {
  it("a .tar verifies without unpacking; a re-tarred tampered copy names each problem, and load refuses its ../ entry", async () => {
    const f = fixture();
    const { dir, archive } = await created({ archive: true });
    expect(archive).toEqual([`${dir}.tar`]);
    const whole = await verifyArchive(`${dir}.tar`);
    expect(whole.problems).toEqual([]);
    expect(whole.files).toBe((await verifyBundle(dir)).files);
    // Tampered, then archived by GNU tar as an operator might (./ prefixes), with a symlink and a ../ entry added.
    const copy = fresh("retar");
    cpSync(dir, copy, { recursive: true });
    const yaml = join(copy, "manifests/model-qwen3.yaml");
    writeFileSync(yaml, readFileSync(yaml, "utf8").replace("qwen3", "qwen4"));
    rmSync(join(copy, "models/gguf/qwen3-0.6b-q8_0.gguf"));
    symlinkSync("/etc/passwd", join(copy, "models/link"));
    writeFileSync(join(copy, "..", "evil.txt"), "x");
    const tarFile = `${copy}.tar`;
    await execa("tar", ["-cf", tarFile, "-C", copy, "."]);
    await execa("tar", ["-rPf", tarFile, "-C", copy, "../evil.txt"]);
    const problems = (await verifyArchive(tarFile)).problems.map((p) => `${p.path}: ${p.problem}`);
    expect(problems).toEqual(["../evil.txt: unsafe-path", "manifests/model-qwen3.yaml: altered", "models/gguf/qwen3-0.6b-q8_0.gguf: missing", "models/link: extra"]);
    // Cut short in the middle of the largest blob: that blob is truncated, everything after it missing.
    const cut = `${copy}-cut.tar`;
    const whole2 = readFileSync(`${dir}.tar`);
    const blob = firstLargeBlob(dir);
    const at = whole2.indexOf(readFileSync(join(dir, blob)).subarray(0, 4096));
    writeFileSync(cut, whole2.subarray(0, at + 1000));
    const cutProblems = (await verifyArchive(cut)).problems.map((p) => `${p.path}: ${p.problem}`);
    expect(cutProblems).toEqual(expect.arrayContaining([`${blob}: truncated`, "models/gguf/qwen3-0.6b-q8_0.gguf: missing"]));
    await expect(loadBundle({ source: tarFile, registry: f.site.host, insecure: true })).rejects.toThrow(/has entries that escape the bundle or are not regular files, not extracted:\n {2}- \.\/models\/link \(a SymbolicLink, not a regular file\)\n {2}- \.\.\/evil\.txt \(contains a \.\. segment\)/);
  });
});

describe("pins resolve", () => {
  it("turns tags into tag@digest from the registry, keeping comments", async () => {
    const f = fixture();
    const file = join(mkdtempSync(join(f.work, "pins-")), "Pulumi.site.yaml");
    writeFileSync(file, stackYaml(f.images, f.site.host, { vllm: `${f.images.vllm.repository}:${f.images.vllm.tag}`, postgres: `${f.images.postgres.repository}:${f.images.postgres.tag}@sha256:${"1".repeat(64)}` }));
    const changes = await resolvePins(file, { insecure: true, write: true });
    expect(changes.map((c) => [c.name, c.to])).toEqual([
      ["vllm", f.images.vllm.pinned],
      ["postgres", f.images.postgres.pinned],
    ]);
    const text = readFileSync(file, "utf8");
    expect(text).toContain("# An air-gapped site's stack.");
    expect(text).toContain(`vllm: ${f.images.vllm.pinned}`);
    expect(await resolvePins(file, { insecure: true })).toEqual([]);
  });
});
