/**
 * Model store benchmark (issue #14), in one run, every figure against a baseline measured in the same run:
 *
 * Part 1, verifying and packing a model folder (BENCH_MODELS_MIB, default 1024; set 4096 for a multi-GiB folder) of
 * random weights, on the same (page-cached) files:
 * - `verifyAgainstManifest` (models/manifest.ts) vs `sha256sum` over the same files (aim ≥ 0.8× its throughput);
 * - the download Job's re-run check (`node models/download-job.mjs`, which hashes every file before deciding there is
 *   nothing to do) vs the same `sha256sum`; it gets an unreachable HF_ENDPOINT, so any network use would fail it;
 * - `packModel` (bundle/model-artifact.ts: copy every file into an OCI layout as a blob, hashing on the way) and
 *   `bundle create`'s folder copy (bundle/model-folders.ts copySourceFolder: copy + verify against the manifest) vs
 *   `sha256sum` (aim ≥ 0.8×) and vs `cp -r` of the folder (what the copy alone costs on this disk).
 * Each is measured BENCH_MODELS_ROUNDS times (default 3), alternating, best run kept.
 *
 * Part 2, bundle bytes when two stacks share a model (BENCH_SHARED_MIB, default 128, per model): a staging stack and a
 * production stack, both offline, both serving the same Hugging Face model (a store folder) and the same oci-pinned
 * model (a ModelPack artifact in a loopback docker-registry). The staging bundle is the base; the production bundle is
 * made with `--base <staging bundle.json>`. Prints the model bytes each stores (models/ files and model artifact
 * blobs) and the ratio against two full bundles.
 *
 * The folders are deleted after. Run: node --import tsx bench/models.ts
 */
import { randomFillSync } from "node:crypto";
import { open, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { createBundle } from "../bundle/create.js";
import { packModel, pushModel } from "../bundle/model-artifact.js";
import { copySourceFolder, readSourceFolder } from "../bundle/model-folders.js";
import type { BundleManifest } from "../bundle/manifest.js";
import { modelDir } from "../models/layout.js";
import { MANIFEST_FILE, MANIFEST_SCHEMA, serializeManifest, verifyAgainstManifest, type ModelManifest } from "../models/manifest.js";
import { parseSha256Sums } from "../files/hash.js";
import { pushTestImages } from "../test/helpers/oci-images.js";
import { startRegistry } from "../test/helpers/oci-registry.js";

const TOTAL_MIB = Number(process.env["BENCH_MODELS_MIB"] ?? 1024);
const ROUNDS = Number(process.env["BENCH_MODELS_ROUNDS"] ?? 3);
const SHARED_MIB = Number(process.env["BENCH_SHARED_MIB"] ?? 128);
const SHARDS = 4;
const REPO = "bench/Model-7B";
const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";
const SCRIPT = join(import.meta.dirname, "..", "models", "download-job.mjs");

const mibs = (bytes: number, ms: number) => (bytes / 1024 / 1024 / (ms / 1000)).toFixed(0);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Random (incompressible, not sparse) bytes, written 16 MiB at a time. */
async function randomFile(path: string, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(16 << 20);
  const handle = await open(path, "w");
  try {
    for (let left = bytes; left > 0; left -= chunk.length) {
      const n = Math.min(left, chunk.length);
      randomFillSync(chunk, 0, n);
      await handle.write(chunk, 0, n);
    }
  } finally {
    await handle.close();
  }
}

/** A store folder `<root>/<owner>--<name>/<revision>/` of `shards` random shards and two small files, with its manifest (digests from sha256sum). */
async function modelFolder(root: string, repo: string, revision: string, totalBytes: number, shards: number): Promise<{ dir: string; manifest: ModelManifest; paths: string[]; total: number }> {
  const dir = modelDir(root, repo, revision);
  await mkdir(dir, { recursive: true });
  const shardBytes = Math.floor(totalBytes / shards);
  const paths = ["config.json", "tokenizer.json", ...Array.from({ length: shards }, (_, i) => `model-0000${i + 1}-of-0000${shards}.safetensors`)];
  await writeFile(join(dir, "config.json"), '{"architectures":["Qwen2ForCausalLM"]}\n');
  await randomFile(join(dir, "tokenizer.json"), 7 << 20);
  for (const path of paths.slice(2)) await randomFile(join(dir, path), shardBytes);
  const sums = parseSha256Sums((await execa("sha256sum", paths, { cwd: dir })).stdout + "\n");
  const { stdout: sizes } = await execa("stat", ["-c", "%s", ...paths], { cwd: dir });
  const bytesOf = sizes.split("\n").map(Number);
  const manifest: ModelManifest = { schema: MANIFEST_SCHEMA, repo, revision, files: paths.map((path, i) => ({ path, bytes: bytesOf[i] as number, sha256: sums.get(path) as string })) };
  await writeFile(join(dir, MANIFEST_FILE), serializeManifest(manifest));
  return { dir, manifest, paths, total: manifest.files.reduce((sum, f) => sum + f.bytes, 0) };
}

async function partOne(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "modelfleet-bench-models-"));
  try {
    console.log(`part 1: writing a ${TOTAL_MIB} MiB model folder (${SHARDS} shards and 2 small files) …`);
    const { dir, manifest, paths, total } = await modelFolder(root, REPO, REVISION, TOTAL_MIB * 1024 * 1024, SHARDS);
    // Warms the page cache for everyone measured below.
    await execa("sha256sum", paths, { cwd: dir });
    const source = await readSourceFolder(root, { name: "bench", path: `${REPO.replace("/", "--")}/${REVISION}`, repo: REPO, revision: REVISION });
    const scratch = join(root, "scratch");

    const runs = { ours: [] as number[], job: [] as number[], pack: [] as number[], copy: [] as number[], sha256sum: [] as number[], cp: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.sha256sum.push(await timed(() => execa("sha256sum", paths, { cwd: dir })));
      runs.ours.push(
        await timed(async () => {
          const mismatches = await verifyAgainstManifest(dir, manifest);
          if (mismatches.length > 0) throw new Error(`verifyAgainstManifest found mismatches: ${JSON.stringify(mismatches)}`);
        }),
      );
      runs.job.push(
        await timed(async () => {
          const env = { PATH: process.env["PATH"] ?? "", MODELFLEET_REPO: REPO, MODELFLEET_REVISION: REVISION, MODELFLEET_TARGET: root, HF_ENDPOINT: "http://127.0.0.1:9" };
          const { stdout } = await execa(process.execPath, [SCRIPT], { env, extendEnv: false });
          if (!stdout.includes("nothing to do")) throw new Error(`the download Job did not take the no-op path: ${stdout}`);
        }),
      );
      // The writers each get a fresh destination, removed (outside the timing) before the next.
      runs.cp.push(await timed(() => execa("cp", ["-r", dir, scratch])));
      await rm(scratch, { recursive: true, force: true });
      runs.pack.push(await timed(() => packModel(dir, scratch)));
      await rm(scratch, { recursive: true, force: true });
      runs.copy.push(await timed(() => copySourceFolder(source, scratch)));
      await rm(scratch, { recursive: true, force: true });
    }
    const best = (ms: number[]) => Math.min(...ms);
    const baseline = best(runs.sha256sum);
    const cp = best(runs.cp);
    console.log(`\nfolder: ${(total / 1024 / 1024).toFixed(0)} MiB in ${paths.length} files; best of ${ROUNDS} runs each (page cache warm)`);
    console.log(`sha256sum                         ${baseline.toFixed(0)} ms  ${mibs(total, baseline)} MiB/s`);
    console.log(`cp -r (copy only, no hashing)     ${cp.toFixed(0)} ms  ${mibs(total, cp)} MiB/s`);
    for (const [name, key, writes] of [
      ["verifyAgainstManifest", "ours", false],
      ["download-job.mjs re-run check", "job", false],
      ["models pack (packModel)", "pack", true],
      ["bundle create folder copy+verify", "copy", true],
    ] as const) {
      const ms = best(runs[key]);
      const ratio = baseline / ms;
      console.log(
        `${name.padEnd(34)}${ms.toFixed(0)} ms  ${mibs(total, ms)} MiB/s  = ${ratio.toFixed(2)}× sha256sum's throughput (aim ≥ 0.8×: ${ratio >= 0.8 ? "met" : "NOT met"})${writes ? `; ${(cp / ms).toFixed(2)}× cp -r's` : ""}`,
      );
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Bytes of model data a bundle stores: files under models/ and the blobs only model artifacts reach. */
function modelBytes(manifest: BundleManifest, artifactBlobs: ReadonlySet<string>): { folder: number; artifact: number } {
  let folder = 0;
  let artifact = 0;
  for (const f of manifest.files) {
    if (f.path.startsWith("models/")) folder += f.size;
    const blob = /^images\/blobs\/sha256\/([0-9a-f]{64})$/.exec(f.path)?.[1];
    if (blob && artifactBlobs.has(blob)) artifact += f.size;
  }
  return { folder, artifact };
}

function offlineStack(environment: "staging" | "production", images: Awaited<ReturnType<typeof pushTestImages>>, site: string, oci: string, revision: string): string {
  return `config:
  modelfleet:environment: ${environment}
  modelfleet:namespace: llm-${environment}
  modelfleet:images:
    vllm: ${images.vllm.pinned}
    llamacpp: ${images.llamacpp.pinned}
    postgres: ${images.postgres.pinned}
${environment === "production" ? "  modelfleet:apiKey:\n    secure: v1:bm90LWEtcmVhbC1rZXk=\n" : ""}  modelfleet:offline:
    registry: ${site}
  modelfleet:models:
    - name: chat
      engine: vllm
      source: { huggingFace: ${REPO}, revision: "${REVISION}" }
      sizeBillions: 7
${environment === "production" ? "      replicas: 2\n" : ""}    - name: coder
      engine: vllm
      source: { huggingFace: bench/Coder-7B, revision: "${revision}", oci: "${oci}" }
      sizeBillions: 7
${environment === "production" ? "      replicas: 2\n" : ""}`;
}

async function partTwo(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "modelfleet-bench-shared-"));
  const [source, site] = await Promise.all([startRegistry(), startRegistry()]);
  try {
    console.log(`\npart 2: two stacks sharing a ${SHARED_MIB} MiB store folder and a ${SHARED_MIB} MiB model artifact …`);
    const images = await pushTestImages(source.host, 64 * 1024);
    const modelsDir = join(work, "models");
    await modelFolder(modelsDir, REPO, REVISION, SHARED_MIB * 1024 * 1024, 2);
    const coderRevision = "0f".repeat(20);
    const coder = await modelFolder(join(work, "coder-src"), "bench/Coder-7B", coderRevision, SHARED_MIB * 1024 * 1024, 2);
    const layout = join(work, "coder-layout");
    const packed = await packModel(coder.dir, layout, { tag: "coder" });
    const { pinned } = await pushModel(layout, packed.tag, `${source.host}/models/coder:v1`, { insecure: true });
    const artifactBlobs = new Set([...(await readdir(join(layout, "blobs", "sha256")))]);

    const stacks = { staging: join(work, "Pulumi.staging.yaml"), production: join(work, "Pulumi.production.yaml") };
    await writeFile(stacks.staging, offlineStack("staging", images, site.host, pinned, coderRevision));
    await writeFile(stacks.production, offlineStack("production", images, site.host, pinned, coderRevision));
    const base = await createBundle({ stackFile: stacks.staging, stack: "staging", out: join(work, "staging-bundle"), modelsDir, insecure: true });
    const full = await createBundle({ stackFile: stacks.production, stack: "production", out: join(work, "production-full"), modelsDir, insecure: true });
    const diff = await createBundle({ stackFile: stacks.production, stack: "production", out: join(work, "production-diff"), modelsDir, insecure: true, base: join(base.dir, "bundle.json") });
    const rows = [
      ["staging (base, full)", base.manifest],
      ["production, full", full.manifest],
      ["production, --base staging", diff.manifest],
    ] as const;
    console.log(`${"bundle".padEnd(30)}${"store folder".padStart(14)}${"model blobs".padStart(14)}${"all files".padStart(14)}`);
    for (const [name, manifest] of rows) {
      const bytes = modelBytes(manifest, artifactBlobs);
      const all = manifest.files.reduce((sum, f) => sum + f.size, 0);
      console.log(`${name.padEnd(30)}${mib(bytes.folder).padStart(14)}${mib(bytes.artifact).padStart(14)}${mib(all).padStart(14)}`);
    }
    const modelTotal = (m: BundleManifest) => {
      const b = modelBytes(m, artifactBlobs);
      return b.folder + b.artifact;
    };
    const shared = modelTotal(base.manifest) + modelTotal(diff.manifest);
    const twice = modelTotal(base.manifest) + modelTotal(full.manifest);
    console.log(`model bytes shipped for both stacks: ${mib(shared)} with --base vs ${mib(twice)} as two full bundles = ${(shared / twice).toFixed(2)}× (each model stored once: 0.50×)`);
    const left = diff.manifest.base;
    console.log(`the production bundle expects at the site: ${left?.modelFiles.length ?? 0} model files (${mib((left?.modelFiles ?? []).reduce((s, f) => s + f.size, 0))}), ${left?.blobs.length ?? 0} blobs (${mib((left?.blobs ?? []).reduce((s, b) => s + b.size, 0))})`);
  } finally {
    await source.stop();
    await site.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await partOne();
await partTwo();
