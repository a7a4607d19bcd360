import type { Environment } from "../config/environments.js";

export type { Environment };

/** Inference engines the registry knows. Closed set, mirrored by a CHECK constraint. */
export const ENGINES = ["vllm", "llamacpp"] as const;
export type Engine = (typeof ENGINES)[number];

/** Lifecycle of a registry entry. Closed set, mirrored by a CHECK constraint. Only `ready` is routable. */
export const DEPLOYMENT_STATUSES = ["pending", "deploying", "ready", "degraded", "disabled", "failed"] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/**
 * Who owns an entry: `stack` entries are written by the deploy's reconcile Job and disabled when they leave the
 * stack; `manual` entries (models deployed outside the stack, added with `registry register`) are never touched by
 * reconcile.
 */
export type ManagedBy = "stack" | "manual";

/**
 * Why a `disabled` entry is disabled: `operator` (`registry disable`; sticky, reconcile keeps it disabled until
 * `registry enable`) or `reconcile` (the model left the stack; adding it back makes it ready again).
 */
export type DisabledBy = "operator" | "reconcile";

/** One row of `model_registry_entries`, as the library returns it. */
export interface RegistryEntry {
  readonly id: string;
  readonly modelName: string;
  readonly engine: Engine;
  readonly servedModelName: string;
  readonly imageDigest: string | null;
  readonly endpoint: string;
  readonly status: DeploymentStatus;
  readonly environment: Environment;
  readonly namespace: string;
  readonly managedBy: ManagedBy;
  readonly disabledBy: DisabledBy | null;
  readonly lastHealthCheckAt: Date | null;
  /** The InferencePool serving the entry, in its namespace (migration 0004); null when none is published. */
  readonly inferencePool: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A model the stack deploys, as the reconcile wants it in the registry. */
export interface DesiredEntry {
  /** The model's name in the stack config; a DNS label, unique per environment. */
  readonly modelName: string;
  readonly engine: Engine;
  /** The name the engine serves the model under (`--served-model-name`), e.g. `meta-llama/Llama-3.1-8B-Instruct`. */
  readonly servedModelName: string;
  /** `sha256:<64 hex>` of the engine image, or null when the stack runs a tag (development only). */
  readonly imageDigest: string | null;
  /** `host:port` of the model's Service, e.g. `llama-production.inference.svc.cluster.local:8000`. */
  readonly endpoint: string;
  /** Kubernetes namespace the model runs in. */
  readonly namespace: string;
  /**
   * The Gateway API InferencePool that serves the model, in `namespace` (`gateway.inferencePool: true`).
   * @default null - the stack publishes no pool
   */
  readonly inferencePool?: string | null;
}
