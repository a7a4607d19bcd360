/**
 * Synth benchmark: the full `modelfleet synth` path (stack file parse, build, schema validation, policies, YAML
 * write; per model also ConfigMap, NetworkPolicy, PDB, ServiceMonitor) for 10, 50 and 200 models, against bare
 * cdk8s-plus synthesizing the same Deployments and Services to YAML in the same run. Run: npm run bench:synth
 * Aims: ours/bare ratio ≤ 2; time per model at 200 models ≤ 1.5 × time per model at 10.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Chart } from "cdk8s";
import { stringify } from "yaml";
import { addEngineWorkload } from "../components/engines/model-objects.js";
import { loadStackFile } from "../config/load.js";
import type { StackConfig } from "../config/types.js";
import { runSynth } from "../synth/run.js";

const SIZES = [10, 50, 200] as const;
const RUNS = 5;
const DIGEST = `sha256:${"b".repeat(64)}`;
const SHA = "c".repeat(40);

function stackFile(models: number): string {
  const config = {
    "modelfleet:environment": "production",
    "modelfleet:namespace": "bench",
    "modelfleet:images": { vllm: `vllm/vllm-openai:v0.11.0@${DIGEST}`, llamacpp: `ghcr.io/ggml-org/llama.cpp:server@${DIGEST}`, postgres: `postgres:16@${DIGEST}` },
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

async function median(run: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)] ?? Number.NaN;
}

const work = await mkdtemp(join(tmpdir(), "modelfleet-bench-synth-"));
try {
  const perModel = new Map<number, number>();
  console.log("models  ours ms/model  bare ms/model  ratio");
  for (const models of SIZES) {
    const dir = join(work, String(models));
    const file = join(work, `Pulumi.bench${models}.yaml`);
    await writeFile(file, stackFile(models));
    const config = loadStackFile(file);
    // Warm both paths once so module loading is not measured.
    await runSynth({ stack: `bench${models}`, cwd: work, outDir: dir });
    await bare(models, dir, config);
    const ours = await median(() => runSynth({ stack: `bench${models}`, cwd: work, outDir: dir }).then(() => undefined));
    const baseline = await median(() => bare(models, dir, config));
    perModel.set(models, ours / models);
    console.log(`${String(models).padStart(6)}  ${(ours / models).toFixed(3).padStart(13)}  ${(baseline / models).toFixed(3).padStart(13)}  ${(ours / baseline).toFixed(2).padStart(5)}`);
  }
  const scaling = (perModel.get(200) ?? Number.NaN) / (perModel.get(10) ?? Number.NaN);
  console.log(`scaling: time per model at 200 / at 10 = ${scaling.toFixed(2)} (aim ≤ 1.5)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
