/**
 * Synth benchmark: the full `modelfleet synth` path (stack file parse, build, schema validation, policies, YAML
 * write; per model also ConfigMap, NetworkPolicy, PDB, ServiceMonitor) for 10, 50 and 200 models, against bare
 * cdk8s-plus synthesizing the same Deployments and Services to YAML in the same run. Run: npm run bench:synth
 * Then the whole process: `node bin/modelfleet.js synth --stack production` (the compiled CLI in build/, so run
 * `npm run build` first), against `node -e 0` in the same run.
 * Aims (issue #12): ours/bare ratio ≤ 1.5 at 200 models; time per model at 200 models ≤ 1.5 × time per model at
 * 10; `synth --stack production` as a whole process ≤ 1.0 s. Ours and bare alternate run by run, so a busy machine
 * slows both alike; the ratio is the median of the per-pair ratios.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { App, Chart } from "cdk8s";
import { stringify } from "yaml";
import { addEngineWorkload } from "../components/engines/model-objects.js";
import { loadStackFile } from "../config/load.js";
import type { StackConfig } from "../config/types.js";
import { runSynth } from "../synth/run.js";

const SIZES = [10, 50, 200] as const;
const RUNS = 9;
const PROCESS_RUNS = 7;
const ROOT = join(import.meta.dirname, "..");
const AIM_RATIO = 1.5;
const AIM_SCALING = 1.5;
const AIM_PROCESS_MS = 1000;
const DIGEST = `sha256:${"b".repeat(64)}`;
const SHA = "c".repeat(40);

function stackFile(models: number): string {
  const config = {
    "modelfleet:environment": "production",
    "modelfleet:namespace": "bench",
    "modelfleet:images": { vllm: `vllm/vllm-openai:v0.11.0@${DIGEST}`, llamacpp: `ghcr.io/ggml-org/llama.cpp:server-cuda-b11206@${DIGEST}`, postgres: `postgres:16@${DIGEST}` },
    "modelfleet:cors": { allowedOrigins: ["https://chat.example.com"] },
    "modelfleet:models": Array.from({ length: models }, (_, i) => ({
      name: `m${String(i).padStart(4, "0")}`,
      engine: "vllm",
      source: { huggingFace: `org/model-${i}`, revision: SHA },
      sizeBillions: 8,
      gpus: 1,
      replicas: 2,
    })),
  };
  return stringify({ config });
}

/**
 * The baseline: the same Deployments and Services (the same cdk8s-plus constructs), synthesized by cdk8s alone
 * into one YAML file — no config parsing, no other objects, no schema validation, no policies.
 */
async function bare(models: number, out: string, config: StackConfig): Promise<void> {
  const app = new App({ outdir: out });
  const chart = new Chart(app, "bench", { namespace: config.namespace, disableResourceNameHashes: true });
  for (const model of config.models.slice(0, models)) addEngineWorkload(chart, model, config);
  await writeFile(join(out, "bare.yaml"), app.synthYaml());
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function timed(run: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Ours and bare alternately, RUNS times each: their medians and the median of the per-pair ratios. */
async function paired(ours: () => Promise<void>, bareRun: () => Promise<void>): Promise<{ ours: number; bare: number; ratio: number }> {
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(await timed(ours));
    b.push(await timed(bareRun));
  }
  return { ours: medianOf(a), bare: medianOf(b), ratio: medianOf(a.map((t, i) => t / (b[i] ?? Number.NaN))) };
}

/** Median wall time of a whole process, after one warm-up run. */
function processMs(args: readonly string[]): number {
  const run = (): number => {
    const start = process.hrtime.bigint();
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: "ignore" });
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  run();
  return medianOf(Array.from({ length: PROCESS_RUNS }, run));
}

const verdict = (met: boolean): string => (met ? "met" : "NOT MET");
const work = await mkdtemp(join(tmpdir(), "modelfleet-bench-synth-"));
const unmet: string[] = [];
try {
  const perModel = new Map<number, number>();
  const ratios = new Map<number, number>();
  console.log("models  ours ms/model  bare ms/model  ratio (median of pairs)");
  for (const models of SIZES) {
    const dir = join(work, String(models));
    const file = join(work, `Pulumi.bench${models}.yaml`);
    await writeFile(file, stackFile(models));
    const config = loadStackFile(file);
    // Warm both paths once so module loading is not measured.
    await runSynth({ stack: `bench${models}`, cwd: work, outDir: dir });
    await bare(models, dir, config);
    const result = await paired(
      () => runSynth({ stack: `bench${models}`, cwd: work, outDir: dir }).then(() => undefined),
      () => bare(models, dir, config),
    );
    perModel.set(models, result.ours / models);
    ratios.set(models, result.ratio);
    console.log(`${String(models).padStart(6)}  ${(result.ours / models).toFixed(3).padStart(13)}  ${(result.bare / models).toFixed(3).padStart(13)}  ${result.ratio.toFixed(2).padStart(5)}`);
  }
  const ratio200 = ratios.get(200) ?? Number.NaN;
  console.log(`ratio ours/bare at 200 models = ${ratio200.toFixed(2)} (aim ≤ ${AIM_RATIO}): ${verdict(ratio200 <= AIM_RATIO)}`);
  if (!(ratio200 <= AIM_RATIO)) unmet.push("ours/bare ratio at 200 models");
  const scaling = (perModel.get(200) ?? Number.NaN) / (perModel.get(10) ?? Number.NaN);
  console.log(`scaling: time per model at 200 / at 10 = ${scaling.toFixed(2)} (aim ≤ ${AIM_SCALING}): ${verdict(scaling <= AIM_SCALING)}`);
  if (!(scaling <= AIM_SCALING)) unmet.push("scaling");

  if (existsSync(join(ROOT, "build", "cli", "main.js"))) {
    const nodeMs = processMs(["-e", "0"]);
    const synthMs = processMs([join(ROOT, "bin", "modelfleet.js"), "synth", "--stack", "production", "--out", join(work, "process")]);
    // The same synth without the CLI around it: what synth itself loads and does, apart from command loading.
    const runner = `import(${JSON.stringify(pathToFileURL(join(ROOT, "build", "synth", "run.js")).href)}).then((m) => m.runSynth({ stack: "production", cwd: ${JSON.stringify(ROOT)}, outDir: ${JSON.stringify(join(work, "alone"))} }))`;
    const aloneMs = processMs(["--input-type=module", "-e", runner]);
    console.log(`whole process: node -e 0 ${nodeMs.toFixed(0)} ms; modelfleet synth --stack production ${synthMs.toFixed(0)} ms (${(synthMs / nodeMs).toFixed(1)}× node -e 0; aim ≤ ${AIM_PROCESS_MS} ms): ${verdict(synthMs <= AIM_PROCESS_MS)}`);
    console.log(`  of which synth alone (build/synth/run.js in a bare node, no CLI): ${aloneMs.toFixed(0)} ms (${(aloneMs / nodeMs).toFixed(1)}× node -e 0)`);
    if (!(synthMs <= AIM_PROCESS_MS)) unmet.push("whole-process synth --stack production");
  } else {
    console.log("whole process: not measured, build/ is missing; run `npm run build` first: NOT MET (unmeasured)");
    unmet.push("whole-process synth (unmeasured)");
  }
  console.log(unmet.length === 0 ? "all aims met" : `aims not met: ${unmet.join("; ")}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
