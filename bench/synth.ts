/**
 * Synth benchmark: the full `modelfleet synth` path (stack file parse, build, schema validation, policies, YAML
 * write) for 10, 50 and 200 models, against bare cdk8s-plus synthesizing the same Deployments and Services to YAML
 * in the same run. Run: npm run bench:synth
 * Aims: ours/bare ratio ≤ 2; time per model at 200 models ≤ 1.5 × time per model at 10.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Chart, Duration, Size } from "cdk8s";
import * as kplus from "cdk8s-plus-28";
import { stringify } from "yaml";
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

/** What a hand-written cdk8s-plus chart does for the same models: Deployment + Service, synthesized to YAML. */
async function bare(models: number, out: string): Promise<void> {
  const app = new App({ outdir: out });
  const chart = new Chart(app, "bench", { namespace: "bench", disableResourceNameHashes: true });
  for (let i = 0; i < models; i++) {
    const name = `m${String(i).padStart(4, "0")}-production`;
    const deployment = new kplus.Deployment(chart, `d${i}`, {
      metadata: { name },
      replicas: 2,
      containers: [
        {
          name: "engine",
          image: `vllm/vllm-openai:v0.11.0@${DIGEST}`,
          args: [`org/model-${i}`, "--revision", SHA, "--port", "8000"],
          portNumber: 8000,
          resources: { cpu: { request: kplus.Cpu.units(4), limit: kplus.Cpu.units(4) }, memory: { request: Size.gibibytes(20), limit: Size.gibibytes(20) } },
          startup: kplus.Probe.fromHttpGet("/health", { port: 8000, periodSeconds: Duration.seconds(10), failureThreshold: 60 }),
          readiness: kplus.Probe.fromHttpGet("/health", { port: 8000 }),
          liveness: kplus.Probe.fromHttpGet("/health", { port: 8000 }),
        },
      ],
    });
    new kplus.Service(chart, `s${i}`, { metadata: { name }, selector: deployment, ports: [{ port: 8000 }] });
  }
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
    await writeFile(join(work, `Pulumi.bench${models}.yaml`), stackFile(models));
    // Warm both paths once so module loading is not measured.
    await runSynth({ stack: `bench${models}`, cwd: work, outDir: dir });
    await bare(models, dir);
    const ours = await median(() => runSynth({ stack: `bench${models}`, cwd: work, outDir: dir }).then(() => undefined));
    const baseline = await median(() => bare(models, dir));
    perModel.set(models, ours / models);
    console.log(`${String(models).padStart(6)}  ${(ours / models).toFixed(3).padStart(13)}  ${(baseline / models).toFixed(3).padStart(13)}  ${(ours / baseline).toFixed(2).padStart(5)}`);
  }
  const scaling = (perModel.get(200) ?? Number.NaN) / (perModel.get(10) ?? Number.NaN);
  console.log(`scaling: time per model at 200 / at 10 = ${scaling.toFixed(2)} (aim ≤ 1.5)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
