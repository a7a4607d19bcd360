/**
 * How long an engine may take from container start to its first healthy /health, by model size. Loading is bound
 * by download and by reading weights into GPU memory, both roughly linear in size; the steps leave room for CUDA
 * graph capture and torch.compile, which vLLM runs before it listens. Measured points this table honours:
 * 0.6B ≈ 5 min, 7–13B ≈ 10 min, 70B ≈ 20+ min. Slow storage: set `startupBudgetSeconds` on the model.
 */
const STEPS: ReadonlyArray<readonly [belowBillions: number, seconds: number]> = [
  [3, 300],
  [15, 600],
  [40, 900],
  [80, 1500],
];
const LARGEST_SECONDS = 2400;

export function startupBudgetSeconds(sizeBillions: number, factor = 1): number {
  const step = STEPS.find(([below]) => sizeBillions < below);
  const base = step ? step[1] : LARGEST_SECONDS;
  return Math.ceil((base * factor) / 10) * 10;
}

/** Startup probe period; the failure threshold is derived from the budget so the two cannot disagree. */
export const STARTUP_PROBE_PERIOD_SECONDS = 10;

/**
 * The Deployment's progressDeadlineSeconds: the startup budget plus time to pull the image and schedule, so a
 * rollout is only declared failed after a pod had its whole budget to start.
 */
export function progressDeadlineSeconds(startupBudget: number): number {
  return startupBudget + 600;
}
