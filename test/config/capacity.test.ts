/**
 * GPU capacity as config (issue #13, point 3): a stack whose models do not fit its declared pool is refused at
 * config time, with a table of what fits; the shipped stacks fit theirs.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planCapacity } from "../../config/capacity.js";
import { loadStackFile, parseStackConfig } from "../../config/load.js";
import { llamaModel, problemsOf, stackValues, vllmModel } from "../helpers/stack-values.js";

const ROOT = join(import.meta.dirname, "..", "..");
const withPool = (pool: Record<string, unknown>, models: unknown[]) => stackValues("staging", { gpu: { pool }, models });

describe("GPU pool capacity", () => {
  it.each(["development", "staging", "production"])("the shipped %s stack declares a pool its models fit", (stack) => {
    const config = loadStackFile(join(ROOT, `Pulumi.${stack}.yaml`));
    expect(config.gpu.pool).toBeDefined();
    const report = planCapacity(config.models, config.gpu.pool!);
    expect(report.unplaced.size).toBe(0);
    expect(report.tooWide).toEqual([]);
    expect(report.neededGpus).toBeLessThanOrEqual(report.poolGpus);
  });

  it("refuses more GPU pods than the pool holds, naming gpu.pool and showing each model's need", () => {
    const problems = problemsOf(withPool({ nodes: 1, gpusPerNode: 2 }, [vllmModel({ replicas: 2, gpus: 1 }), llamaModel({ replicas: 1, gpus: 1 })]));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe("gpu.pool");
    expect(problems[0]!.received).toBe("1 × 2");
    // Equal sizes are placed by name: gguf first, so one of qwen3's pods is the one left over.
    expect(problems[0]!.message).toContain("qwen3: 2 pod(s) × 1 GPU + 0 surge = 2 GPU — 1 pod(s) do not fit");
    expect(problems[0]!.message).toContain("gguf: 1 pod(s) × 1 GPU + 0 surge = 1 GPU — fits");
    expect(problems[0]!.message).toContain("pool: 1 node(s) × 2 GPU = 2 GPU; models need 3");
    expect(problems[0]!.message).toContain("Fix:");
  });

  it("refuses a tensor-parallel group wider than a node, at the model's gpus key", () => {
    const problems = problemsOf(withPool({ nodes: 4, gpusPerNode: 2 }, [llamaModel({ replicas: 1, gpus: 1 }), vllmModel({ replicas: 1, gpus: 4, vllm: { tensorParallelSize: 4 } })]));
    expect(problems.map((p) => p.path)).toEqual(["models[1].gpus", "gpu.pool"]);
    expect(problems[0]!.message).toContain("one pod needs 4 GPUs on one node, but gpu.pool.gpusPerNode is 2");
    expect(problems[1]!.message).toContain("qwen3: 1 pod(s) × 4 GPU + 0 surge = 4 GPU — does not fit on any node");
  });

  it("counts per node, not in total: three 2-GPU pods do not fit two 3-GPU nodes", () => {
    const values = withPool({ nodes: 2, gpusPerNode: 3 }, [vllmModel({ replicas: 3, gpus: 2, vllm: { tensorParallelSize: 2 } })]);
    const problems = problemsOf(values);
    expect(problems.map((p) => p.path)).toEqual(["gpu.pool"]);
    expect(problems[0]!.message).toContain("models need 6");
    expect(problems[0]!.message).toContain("1 pod(s) do not fit");
    // The same demand on nodes with room for the groups fits.
    expect(problemsOf(withPool({ nodes: 3, gpusPerNode: 2 }, [vllmModel({ replicas: 3, gpus: 2, vllm: { tensorParallelSize: 2 } })]))).toEqual([]);
  });

  it("CPU-only models need no GPUs; a stack without a pool is not checked", () => {
    expect(problemsOf(withPool({ nodes: 1, gpusPerNode: 1 }, [vllmModel({ replicas: 1 }), llamaModel({ replicas: 5, gpus: 0, llamacpp: { gpuLayers: 0 } })]))).toEqual([]);
    expect(problemsOf(stackValues("staging", { models: [vllmModel({ replicas: 40, gpus: 1 })] }))).toEqual([]);
  });

  it("a declared GPU product is selected on GPU pods; a bad product or pool is a schema problem", () => {
    const config = parseStackConfig(withPool({ nodes: 2, gpusPerNode: 8, product: "NVIDIA-A100-SXM4-80GB" }, [vllmModel()]), "Pulumi.test.yaml", "test");
    expect(config.gpu.nodeSelector).toEqual({ "nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB" });
    const problems = problemsOf(withPool({ nodes: 0, gpusPerNode: 8, product: "A100 80GB" }, [vllmModel()]));
    expect(problems.map((p) => p.path).sort()).toEqual(["gpu.pool.nodes", "gpu.pool.product"]);
  });
});
