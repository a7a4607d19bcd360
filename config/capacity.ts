import { holdsCredential, type ConfigProblem } from "./problems.js";
import type { ResolvedModel } from "./types.js";

/** The GPU nodes a stack may schedule on (`modelfleet:gpu.pool`). */
export interface GpuPool {
  /** GPU nodes in the pool. */
  readonly nodes: number;
  /** `nvidia.com/gpu` allocatable on each node. */
  readonly gpusPerNode: number;
  /** `nvidia.com/gpu.product` label of the nodes (GPU feature discovery); engines then select it. */
  readonly product?: string;
}

/** One model's GPU demand: pods that must each fit on one node. */
export interface ModelDemand {
  readonly model: string;
  /** GPUs one pod needs, all on one node (a tensor-parallel group cannot span nodes). */
  readonly gpusPerPod: number;
  /** Pods at steady state: the fixed replicas, or an autoscaled model's maxReplicas (it may scale up to them). */
  readonly replicas: number;
  /**
   * Extra pods while a rollout runs. Engines roll with maxSurge 0 (RollingUpdate) or stop first (Recreate), so a
   * rollout never needs GPUs beyond the steady state; kept as a column so the table says so.
   */
  readonly surge: number;
}

export interface CapacityReport {
  readonly demand: readonly ModelDemand[];
  readonly pool: GpuPool;
  /** GPUs the models need at the peak of a rollout of every model at once (a promotion changes every pin). */
  readonly neededGpus: number;
  readonly poolGpus: number;
  /** Pods that do not fit in the pool by first-fit-decreasing placement, as `model` → count. */
  readonly unplaced: ReadonlyMap<string, number>;
  /** Models whose single pod needs more GPUs than any node has. */
  readonly tooWide: readonly ModelDemand[];
}

/** Surge pods of a model's rollout (see ModelDemand.surge). */
const surgeOf = (_model: ResolvedModel): number => 0;

export function demandOf(models: readonly ResolvedModel[]): ModelDemand[] {
  return models
    .filter((m) => m.gpus > 0)
    .map((m) => ({ model: m.name, gpusPerPod: m.gpus, replicas: m.autoscaling?.maxReplicas ?? m.replicas, surge: surgeOf(m) }));
}

/**
 * Places every GPU pod (steady state plus surge) on the pool's nodes, largest first, each on the first node with
 * room. First-fit decreasing is what the scheduler can at best achieve with whole-GPU requests and no preemption;
 * a stack it cannot place would leave pods Pending.
 */
export function planCapacity(models: readonly ResolvedModel[], pool: GpuPool): CapacityReport {
  const demand = demandOf(models);
  const tooWide = demand.filter((d) => d.gpusPerPod > pool.gpusPerNode);
  const pods = demand
    .filter((d) => d.gpusPerPod <= pool.gpusPerNode)
    .flatMap((d) => Array.from({ length: d.replicas + d.surge }, () => d))
    .sort((a, b) => b.gpusPerPod - a.gpusPerPod || a.model.localeCompare(b.model));
  const free = Array.from({ length: pool.nodes }, () => pool.gpusPerNode);
  const unplaced = new Map<string, number>();
  for (const pod of pods) {
    const node = free.findIndex((room) => room >= pod.gpusPerPod);
    if (node === -1) unplaced.set(pod.model, (unplaced.get(pod.model) ?? 0) + 1);
    else free[node]! -= pod.gpusPerPod;
  }
  return {
    demand,
    pool,
    neededGpus: demand.reduce((sum, d) => sum + d.gpusPerPod * (d.replicas + d.surge), 0),
    poolGpus: pool.nodes * pool.gpusPerNode,
    unplaced,
    tooWide,
  };
}

/** The table a capacity problem shows: what each model needs and what the pool has. */
export function capacityTable(report: CapacityReport): string {
  const rows = report.demand.map((d, i) => {
    // Names are input: one that is not a valid name may hold a pasted credential (the name rule reports it).
    const name = holdsCredential(d.model) ? `model #${i + 1} (name not shown)` : d.model;
    const missing = report.tooWide.includes(d) ? "does not fit on any node" : report.unplaced.has(d.model) ? `${report.unplaced.get(d.model)} pod(s) do not fit` : "fits";
    return `${name}: ${d.replicas} pod(s) × ${d.gpusPerPod} GPU + ${d.surge} surge = ${d.gpusPerPod * (d.replicas + d.surge)} GPU — ${missing}`;
  });
  const pool = `pool: ${report.pool.nodes} node(s) × ${report.pool.gpusPerNode} GPU = ${report.poolGpus} GPU${report.pool.product ? ` (${report.pool.product})` : ""}; models need ${report.neededGpus}`;
  return [...rows, pool].join("; ");
}

/** Config problems for a stack whose models do not fit its GPU pool; none when `pool` is not declared. */
export function checkCapacity(models: readonly ResolvedModel[], pool: GpuPool | undefined, modelIndex: (name: string) => number): ConfigProblem[] {
  if (!pool) return [];
  const report = planCapacity(models, pool);
  const problems: ConfigProblem[] = report.tooWide.map((d) => ({
    path: `models[${modelIndex(d.model)}].gpus`,
    message: `one pod needs ${d.gpusPerPod} GPUs on one node, but gpu.pool.gpusPerNode is ${pool.gpusPerNode}; a tensor-parallel group cannot span nodes. Fix: lower gpus (and tensorParallelSize) to at most ${pool.gpusPerNode}, or declare the larger nodes in gpu.pool`,
    received: String(d.gpusPerPod),
  }));
  if (report.unplaced.size > 0 || report.tooWide.length > 0) {
    problems.push({
      path: "gpu.pool",
      message: `the models need more GPUs than the pool has, so pods would stay Pending: ${capacityTable(report)}. Fix: lower replicas (autoscaling.maxReplicas) or gpus, drop a model, or raise gpu.pool.nodes`,
      received: `${pool.nodes} × ${pool.gpusPerNode}`,
    });
  }
  return problems;
}
