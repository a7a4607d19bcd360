import { contractForBuild, type EngineContract } from "../../config/engines/index.js";
import type { ResolvedModel, StackContext } from "../../config/types.js";

/**
 * Seconds a terminating pod keeps serving after it left the Service's ready endpoints, so kube-proxy, ingress
 * controllers and gateways stop sending it new requests before it stops. The value vLLM's Kubernetes guide draft
 * (vllm PR #43208) and KServe (#5496) use for their preStop sleep.
 */
export const ENDPOINT_PROPAGATION_SECONDS = 15;

/**
 * Seconds a request already running may still stream when its pod is told to stop. Neither pinned engine drains on
 * SIGTERM (config/engines: `shutdown.drainsInFlight: false`), so the pod's preStop waits this long before SIGTERM;
 * a stream longer than this is cut (docs/scaling.md, "Drain before stop").
 */
export const STREAM_ALLOWANCE_SECONDS = 120;

/**
 * The first Kubernetes minor where the `sleep` preStop action is on by default: feature gate PodLifecycleSleepAction,
 * alpha 1.29, beta and on by default 1.30, GA 1.34 (kubernetes `pkg/features/kube_features.go`, versioned gate table;
 * KEP-3960). Older clusters get `exec: sleep N`, which both engine images can run (docs/scaling.md).
 */
export const SLEEP_ACTION_MINOR = 30;

/** The preStop hook of the engine container, in the Kubernetes API's JSON shape (`lifecycle.preStop`). */
export type PreStopHook =
  | { readonly sleep: { readonly seconds: number } }
  | { readonly exec: { readonly command: readonly string[] } };

/** How an engine pod stops, and why it takes that long. */
export interface EngineDrain {
  /** `spec.template.spec.containers[engine].lifecycle.preStop`. */
  readonly preStop: PreStopHook;
  /** `spec.template.spec.terminationGracePeriodSeconds`: counts from the start of the preStop hook. */
  readonly terminationGracePeriodSeconds: number;
  /** Seconds the preStop hook waits before the kubelet sends SIGTERM. */
  readonly preStopSeconds: number;
  /** Seconds the engine itself spends draining after SIGTERM (0: it does not drain; the preStop covers streams). */
  readonly engineDrainSeconds: number;
  /** Seconds left for the process to exit cleanly after its drain, before SIGKILL. */
  readonly exitSeconds: number;
}

/**
 * The drain of one model's engine pods: a preStop that keeps the pod serving while endpoints update and running
 * streams finish, then SIGTERM, then the engine's own shutdown, all inside `terminationGracePeriodSeconds`.
 *
 * preStop = endpoint propagation + (the longest stream, when the engine does not drain itself);
 * terminationGracePeriodSeconds = preStop + the engine's own drain + its exit time. The grace period counts from the
 * start of the preStop hook (kubernetes.io, "Termination of Pods"; kubernetes/kubernetes#74160), and the API refuses a
 * sleep longer than the grace period, so the sleep always stays below it.
 */
export function engineDrain(model: ResolvedModel, ctx: StackContext, contract: EngineContract = contractForBuild(model.engine, ctx.images[model.engine])): EngineDrain {
  const shutdown = contract.shutdown;
  const preStopSeconds = ENDPOINT_PROPAGATION_SECONDS + (shutdown.drainsInFlight ? 0 : STREAM_ALLOWANCE_SECONDS);
  const engineDrainSeconds = shutdown.drainsInFlight ? shutdown.drainSeconds : 0;
  const preStop: PreStopHook =
    ctx.kubernetesVersion.minor >= SLEEP_ACTION_MINOR
      ? { sleep: { seconds: preStopSeconds } }
      : // coreutils `sleep` is in both images: Ubuntu-based CUDA images (docs/scaling.md).
        { exec: { command: ["sleep", String(preStopSeconds)] } };
  return {
    preStop,
    terminationGracePeriodSeconds: preStopSeconds + engineDrainSeconds + shutdown.exitSeconds,
    preStopSeconds,
    engineDrainSeconds,
    exitSeconds: shutdown.exitSeconds,
  };
}
