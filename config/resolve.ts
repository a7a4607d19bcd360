import { startupBudgetSeconds } from "./startup-budget.js";
import { PROFILES } from "./profiles.js";
import { mirrorImageRef, type ImageRef } from "./image-ref.js";
import type { RawModel, RawStackConfig } from "./schema.js";
import type { ModelCache, ModelSource, ResolvedModel, ResolvedModelCommon, StackConfig, StackContext } from "./types.js";

/**
 * Every default, in one place: the environment profile first, then engine defaults derived from the model
 * (size, GPUs). Runs only on shape-valid config; rules.ts then checks what spans fields.
 */

export const SERVICE_PORT = 8000;

const DEFAULT_GPU_NODE_SELECTOR = { "nvidia.com/gpu.present": "true" } as const;
/** What `modelfleet verify` allows a small completion when the model does not say (the platform's acceptance test). */
export const DEFAULT_LATENCY_BUDGET_SECONDS = 3;
/** The node label NVIDIA GPU feature discovery sets to the GPU model. */
const GPU_PRODUCT_LABEL = "nvidia.com/gpu.product";
const DEFAULT_GPU_TOLERATIONS = [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] as const;
const DEFAULT_ROUTER_LABELS = { "app.kubernetes.io/name": "modelfleet-router" } as const;
const DEFAULT_MONITORING_NAMESPACE = "monitoring";
const DEFAULT_REGISTRY_STORAGE_GIB = 10;
export { DEFAULT_STALE_AFTER_SECONDS } from "./limits.js";
import { DEFAULT_STALE_AFTER_SECONDS } from "./limits.js";

export function serviceName(model: string, environment: string): string {
  return `${model}-${environment}`;
}

export function endpointOf(model: string, environment: string, namespace: string): string {
  return `${serviceName(model, environment)}.${namespace}.svc.cluster.local:${SERVICE_PORT}`;
}

export function resolveContext(raw: RawStackConfig, stack: string, images: StackContext["images"]): StackContext {
  const profile = PROFILES[raw.environment];
  const requireApiKey = raw.requireApiKey ?? profile.requireApiKey;
  const offline = raw.offline;
  return {
    stack,
    environment: raw.environment,
    namespace: raw.namespace,
    images: offline
      ? {
          vllm: mirrorImageRef(images.vllm, offline.registry),
          llamacpp: mirrorImageRef(images.llamacpp, offline.registry),
          postgres: mirrorImageRef(images.postgres, offline.registry),
        }
      : images,
    pins: images,
    allowedOrigins: [...(raw.cors?.allowedOrigins ?? [])].sort(),
    apiKey: raw.apiKey ? "config" : requireApiKey ? "generated" : "none",
    // An offline site downloads nothing, so the GitOps-side token is not wired there (an hfToken secret still is).
    hfToken: raw.hfToken !== undefined || (raw.gitops?.hfTokenInCredentials === true && offline === undefined),
    gpu: {
      // A declared GPU product is selected too, so the pool the capacity check counted is where pods land.
      nodeSelector: {
        ...(raw.gpu?.nodeSelector ?? DEFAULT_GPU_NODE_SELECTOR),
        ...(raw.gpu?.pool?.product ? { [GPU_PRODUCT_LABEL]: raw.gpu.pool.product } : {}),
      },
      tolerations: raw.gpu?.tolerations ?? DEFAULT_GPU_TOLERATIONS,
      ...(raw.gpu?.runtimeClassName ? { runtimeClassName: raw.gpu.runtimeClassName } : {}),
      ...(raw.gpu?.pool ? { pool: raw.gpu.pool } : {}),
    },
    router: {
      namespace: raw.router?.namespace ?? raw.namespace,
      podLabels: raw.router?.podLabels ?? DEFAULT_ROUTER_LABELS,
    },
    monitoring: {
      namespace: raw.monitoring?.namespace ?? DEFAULT_MONITORING_NAMESPACE,
      podLabels: raw.monitoring?.podLabels ?? {},
      serviceMonitor: raw.monitoring?.serviceMonitor ?? profile.serviceMonitor,
    },
    podDisruptionBudget: profile.podDisruptionBudget,
    defaultDenyNetworkPolicy: raw.network?.defaultDeny ?? profile.defaultDenyNetworkPolicy,
    registry: {
      mode: raw.registry?.mode ?? "in-cluster",
      storageGiB: raw.registry?.storageGiB ?? DEFAULT_REGISTRY_STORAGE_GIB,
      ...(raw.registry?.storageClassName ? { storageClassName: raw.registry.storageClassName } : {}),
      staleAfterSeconds: raw.registry?.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS,
    },
    ...(raw.gitops
      ? { gitops: { repoURL: raw.gitops.repoURL, targetRevision: raw.gitops.targetRevision ?? "HEAD", path: raw.gitops.path ?? `dist/${stack}` } }
      : {}),
    ...(offline ? { offline: { registry: offline.registry } } : {}),
  };
}

function resolveSource(raw: RawModel["source"]): ModelSource {
  if (raw.pvc !== undefined) return { kind: "pvc", claimName: raw.pvc, path: raw.path ?? "" };
  return {
    kind: "huggingFace",
    repo: raw.huggingFace ?? "",
    revision: raw.revision ?? "",
    ...(raw.file === undefined ? {} : { file: raw.file }),
  };
}

function resolveCache(raw: RawModel, defaultSizeGiB: number): ModelCache {
  if (raw.cache?.claimName) return { kind: "pvc", claimName: raw.cache.claimName };
  return { kind: "emptyDir", sizeGiB: raw.cache?.sizeGiB ?? defaultSizeGiB };
}

export function resolveModel(raw: RawModel, ctx: StackContext): ResolvedModel {
  const profile = PROFILES[ctx.environment];
  const gpus = raw.gpus ?? 1;
  const replicas = raw.replicas ?? profile.defaultReplicas;
  const size = raw.sizeBillions;
  const common = {
    name: raw.name,
    source: resolveSource(raw.source),
    sizeBillions: size,
    gpus,
    replicas,
    servedModelName: raw.servedModelName ?? raw.name,
    startupBudgetSeconds: raw.startupBudgetSeconds ?? startupBudgetSeconds(size, profile.startupBudgetFactor),
    latencyBudgetSeconds: raw.latencyBudgetSeconds ?? DEFAULT_LATENCY_BUDGET_SECONDS,
    // One replica cannot roll without a spare GPU; Recreate frees its GPUs before the new pod needs them.
    strategy: raw.strategy ?? (replicas <= 1 ? "Recreate" : "RollingUpdate"),
    serviceName: serviceName(raw.name, ctx.environment),
    endpoint: endpointOf(raw.name, ctx.environment, ctx.namespace),
  } satisfies Partial<ResolvedModelCommon>;

  switch (raw.engine) {
    case "vllm": {
      const v = raw.vllm ?? {};
      const pipeline = v.pipelineParallelSize ?? 1;
      return {
        ...common,
        engine: "vllm",
        cpu: raw.resources?.cpu ?? Math.max(4, 2 * gpus),
        // bf16 weights are staged through host memory while loading: about 2 bytes per parameter.
        memoryGiB: raw.resources?.memoryGiB ?? Math.max(8, Math.ceil(size * 2 + 4)),
        cache: resolveCache(raw, Math.ceil(size * 2.2 + 10)),
        vllm: {
          ...(v.maxModelLen === undefined ? {} : { maxModelLen: v.maxModelLen }),
          gpuMemoryUtilization: v.gpuMemoryUtilization ?? 0.9,
          dtype: v.dtype ?? "auto",
          ...(v.quantization === undefined ? {} : { quantization: v.quantization }),
          tensorParallelSize: v.tensorParallelSize ?? Math.max(1, Math.floor(gpus / pipeline)),
          pipelineParallelSize: pipeline,
          enforceEager: v.enforceEager ?? false,
          ...(v.speculative === undefined
            ? {}
            : {
                speculative: {
                  ...(v.speculative.method === undefined ? {} : { method: v.speculative.method }),
                  repo: v.speculative.huggingFace,
                  revision: v.speculative.revision,
                  numSpeculativeTokens: v.speculative.numSpeculativeTokens,
                },
              }),
        },
      };
    }
    case "llamacpp": {
      const l = raw.llamacpp ?? {};
      return {
        ...common,
        engine: "llamacpp",
        cpu: raw.resources?.cpu ?? (gpus > 0 ? 4 : Math.max(2, l.threads ?? 4)),
        // GGUF files are quantized (≈ 0.5–1 byte per parameter) and memory-mapped.
        memoryGiB: raw.resources?.memoryGiB ?? Math.max(4, Math.ceil(size + 2)),
        cache: resolveCache(raw, Math.ceil(size * 1.2 + 2)),
        llamacpp: {
          ctxSize: l.ctxSize ?? 4096,
          // 999 offloads every layer; llama.cpp clamps it to the model's layer count.
          gpuLayers: l.gpuLayers ?? (gpus > 0 ? 999 : 0),
          parallel: l.parallel ?? 1,
          ...(l.threads === undefined ? {} : { threads: l.threads }),
        },
      };
    }
    default: {
      const unreachable: never = raw.engine;
      throw new Error(`unhandled engine ${String(unreachable)}`);
    }
  }
}

export function resolveStack(raw: RawStackConfig, stack: string, file: string, images: Record<"vllm" | "llamacpp" | "postgres", ImageRef>): StackConfig {
  const ctx = resolveContext(raw, stack, images);
  return { ...ctx, file, models: raw.models.map((m) => resolveModel(m, ctx)) };
}
