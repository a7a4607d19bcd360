/**
 * Model store benchmark, part 1: verifying a multi-GiB model folder (BENCH_MODELS_MIB, default 2048) of random
 * weights, in the same run and on the same (page-cached) files:
 * - `verifyAgainstManifest` (models/manifest.ts) vs `sha256sum` over the same files (aim ≥ 0.8× its throughput);
 * - the download Job's re-run check (`node models/download-job.mjs`, which hashes every file before deciding there is
 *   nothing to do) vs the same `sha256sum`; it gets an unreachable HF_ENDPOINT, so any network use would fail it.
 * Each is measured BENCH_MODELS_ROUNDS times (default 3), alternating, best run kept. The folder is deleted after.
 * Run: node --import tsx bench/models.ts
 */
import { randomFillSync } from "node:crypto";
import { open, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { modelDir } from "../models/layout.js";
import { MANIFEST_FILE, MANIFEST_SCHEMA, serializeManifest, verifyAgainstManifest, type ModelManifest } from "../models/manifest.js";
import { parseSha256Sums } from "../files/hash.js";

const TOTAL_MIB = Number(process.env["BENCH_MODELS_MIB"] ?? 2048);
const ROUNDS = Number(process.env["BENCH_MODELS_ROUNDS"] ?? 3);
const SHARDS = 4;
const REPO = "bench/Model-7B";
const REVISION = "c1899de289a04d12100db370d81485cdf75e47ca";
const SCRIPT = join(import.meta.dirname, "..", "models", "download-job.mjs");

const mibs = (bytes: number, ms: number) => (bytes / 1024 / 1024 / (ms / 1000)).toFixed(0);

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

const root = await mkdtemp(join(tmpdir(), "modelfleet-bench-models-"));
try {
  const dir = modelDir(root, REPO, REVISION);
  await mkdir(dir, { recursive: true });
  const shardBytes = Math.floor((TOTAL_MIB * 1024 * 1024) / SHARDS);
  const paths = ["config.json", "tokenizer.json", ...Array.from({ length: SHARDS }, (_, i) => `model-0000${i + 1}-of-0000${SHARDS}.safetensors`)];
  console.log(`writing ${SHARDS} shards of ${(shardBytes / 1024 / 1024).toFixed(0)} MiB and 2 small files into ${dir} …`);
  await writeFile(join(dir, "config.json"), '{"architectures":["Qwen2ForCausalLM"]}\n');
  await randomFile(join(dir, "tokenizer.json"), 7 << 20);
  for (const path of paths.slice(2)) await randomFile(join(dir, path), shardBytes);

  // The manifest from sha256sum's own digests (also warms the page cache for everyone measured below).
  const sums = parseSha256Sums((await execa("sha256sum", paths, { cwd: dir })).stdout + "\n");
  const { stdout: sizes } = await execa("stat", ["-c", "%s", ...paths], { cwd: dir });
  const bytesOf = sizes.split("\n").map(Number);
  const manifest: ModelManifest = {
    schema: MANIFEST_SCHEMA,
    repo: REPO,
    revision: REVISION,
    files: paths.map((path, i) => ({ path, bytes: bytesOf[i] as number, sha256: sums.get(path) as string })),
  };
  await writeFile(join(dir, MANIFEST_FILE), serializeManifest(manifest));
  const total = manifest.files.reduce((sum, f) => sum + f.bytes, 0);

  const runs = { ours: [] as number[], job: [] as number[], sha256sum: [] as number[] };
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
  }
  const best = (ms: number[]) => Math.min(...ms);
  const baseline = best(runs.sha256sum);
  console.log(`\nfolder: ${(total / 1024 / 1024).toFixed(0)} MiB in ${paths.length} files; best of ${ROUNDS} runs each (page cache warm)`);
  console.log(`sha256sum                         ${baseline.toFixed(0)} ms  ${mibs(total, baseline)} MiB/s`);
  for (const [name, key] of [["verifyAgainstManifest", "ours"], ["download-job.mjs re-run check", "job"]] as const) {
    const ms = best(runs[key]);
    const ratio = baseline / ms;
    console.log(
      `${name.padEnd(34)}${ms.toFixed(0)} ms  ${mibs(total, ms)} MiB/s  = ${ratio.toFixed(2)}× sha256sum's throughput (aim ≥ 0.8×: ${ratio >= 0.8 ? "met" : "NOT met"})`,
    );
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
