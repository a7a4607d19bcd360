import { startupBudgetSeconds } from "./startup-budget.js";
import { PROFILES } from "./profiles.js";
import { IMAGE_KEYS, mirrorImageRef, parseImageRef } from "./image-ref.js";
import type { RawModel, RawStackConfig } from "./schema.js";
import type { ModelCache, ModelDelivery, ModelSource, ResolvedModel, ResolvedModelCommon, StackConfig, StackContext, StackImages } from "./types.js";

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

/** The Kubernetes version a stack assumes when it does not say: the oldest cdk8s-plus-28 targets. */
export const DEFAULT_KUBERNETES_MINOR = 28;
/** Image volumes (KEP-4639) are beta and on by default from Kubernetes 1.35. */
export const IMAGE_VOLUME_MINOR = 35;
export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 600;
const DEFAULT_ENDPOINT_PICKER_PORT = 9002;
/** A deployed picker's requests: the GAIE v1.5.0 `inferencepool` chart's (`values.yaml`: cpu "4", memory 8Gi). */
const DEFAULT_ENDPOINT_PICKER_CPU = 4;
const DEFAULT_ENDPOINT_PICKER_MEMORY_GIB = 8;

/** The shared model claim of a stack (`modelStore.mode: shared`). */
export function sharedStoreClaimName(environment: string): string {
  return `modelfleet-models-${environment}`;
}

/** A model's own store claim. */
export function modelStoreClaimName(serviceName: string): string {
  return `${serviceName}-models`;
}

export function resolveContext(raw: RawStackConfig, stack: string, images: StackImages): StackContext {
  const profile = PROFILES[raw.environment];
  const requireApiKey = raw.requireApiKey ?? profile.requireApiKey;
  const offline = raw.offline;
  return {
    stack,
    environment: raw.environment,
    namespace: raw.namespace,
    images: offline
      ? (Object.fromEntries(IMAGE_KEYS.map((key) => [key, mirrorImageRef(images[key], offline.registry)])) as unknown as StackImages)
      : images,
    pins: images,
    kubernetesVersion: { major: 1, minor: raw.kubernetesVersion ? Number(raw.kubernetesVersion.split(".")[1]) : DEFAULT_KUBERNETES_MINOR },
    scaling: {
      autoscaler: raw.scaling?.autoscaler ?? "keda",
      prometheusUrl: raw.scaling?.prometheusUrl ?? `http://prometheus-operated.${raw.monitoring?.namespace ?? DEFAULT_MONITORING_NAMESPACE}.svc:9090`,
    },
    ...(raw.gateway?.inferencePool
      ? {
          gateway: {
            ...(raw.gateway.gatewayName ? { gatewayName: raw.gateway.gatewayName } : {}),
            gatewayNamespace: raw.gateway.gatewayNamespace ?? raw.namespace,
            ...(raw.gateway.provider ? { provider: raw.gateway.provider } : {}),
            endpointPicker:
              raw.gateway.endpointPicker?.name !== undefined || raw.gateway.endpointPicker?.deploy === false
                ? {
                    deploy: false,
                    ...(raw.gateway.endpointPicker.name !== undefined ? { name: raw.gateway.endpointPicker.name } : {}),
                    port: raw.gateway.endpointPicker.port ?? DEFAULT_ENDPOINT_PICKER_PORT,
                  }
                : { deploy: true, cpu: raw.gateway.endpointPicker?.cpu ?? DEFAULT_ENDPOINT_PICKER_CPU, memoryGiB: raw.gateway.endpointPicker?.memoryGiB ?? DEFAULT_ENDPOINT_PICKER_MEMORY_GIB },
          },
        }
      : {}),
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

/**
 * What the model store fetches when `source.files` does not say, as models/download-job.mjs reads it: `files` must
 * each match at least one file of the revision, `optional` may match none. A leading `/` keeps a glob to the top
 * level, so a repository's `original/` folder (consolidated .pth weights) is not fetched.
 */
export function defaultStoreFiles(raw: RawModel): { readonly files: readonly string[]; readonly optional: readonly string[] } {
  const file = raw.source.file;
  if (raw.engine === "llamacpp") return { files: [file ?? "/*.gguf"], optional: [] };
  // vLLM's GGUF loader reads the one file plus the tokenizer and config files beside it.
  if (raw.vllm?.quantization === "gguf" && file) return { files: [file], optional: ["/*.json", "/*.txt", "/*.model", "/*.jinja"] };
  // Config, tokenizer, chat template, safetensors weights and remote code; no .bin/.pth duplicates.
  return { files: ["/*.json", "/*.safetensors"], optional: ["/*.txt", "/*.model", "/*.tiktoken", "/*.jinja", "/*.py"] };
}

function resolveSource(raw: RawModel): ModelSource {
  const s = raw.source;
  if (s.pvc !== undefined) return { kind: "pvc", claimName: s.pvc, path: s.path ?? "" };
  const oci = s.oci === undefined ? undefined : parseImageRef(s.oci);
  return {
    kind: "huggingFace",
    repo: s.huggingFace ?? "",
    revision: s.revision ?? "",
    ...(s.file === undefined ? {} : { file: s.file }),
    // A malformed reference is reported by the rules; it is left out here.
    ...(oci === undefined || "error" in oci ? {} : { oci }),
    ...(s.files ? { files: s.files, optionalFiles: [] } : (({ files, optional }) => ({ files, optionalFiles: optional }))(defaultStoreFiles(raw))),
  };
}

/** GiB a model's weights take on disk, with room for the manifest and a re-download's .part files. */
export function defaultStoreSizeGiB(raw: RawModel): number {
  const quantized = raw.engine === "llamacpp" || raw.vllm?.quantization === "gguf";
  // bf16 safetensors ≈ 2 bytes per parameter; GGUF files ≈ 0.5–1.1 bytes per parameter (Q4 … Q8).
  return Math.max(2, Math.ceil(raw.sizeBillions * (quantized ? 1.2 : 2.2) + 2));
}

function resolveDelivery(raw: RawStackConfig, m: RawModel, source: ModelSource, maxReplicas: number, ctx: StackContext): ModelDelivery {
  if (source.kind === "pvc") return { kind: "pvc" };
  const mode = raw.modelStore?.mode ?? "perModel";
  if (mode === "off") return { kind: "download" };
  const oci = source.oci && ctx.offline && source.oci.digest ? mirrorImageRef(source.oci, ctx.offline.registry) : source.oci;
  if (oci && (raw.modelStore?.imageVolumes ?? true) && ctx.kubernetesVersion.minor >= IMAGE_VOLUME_MINOR) {
    return { kind: "imageVolume", reference: oci.reference };
  }
  const shared = mode === "shared";
  const sizeGiB = shared ? (raw.modelStore?.sizeGiB ?? raw.models.reduce((sum, x) => sum + (x.store?.sizeGiB ?? defaultStoreSizeGiB(x)), 0)) : (m.store?.sizeGiB ?? defaultStoreSizeGiB(m));
  return {
    kind: "store",
    claimName: shared ? sharedStoreClaimName(ctx.environment) : modelStoreClaimName(serviceName(m.name, ctx.environment)),
    from: oci ? "oci" : ctx.offline ? "bundle" : "huggingFace",
    ...(oci ? { oci } : {}),
    sizeGiB,
    accessMode: raw.modelStore?.accessMode ?? (shared || maxReplicas > 1 ? "ReadWriteMany" : "ReadWriteOnce"),
    ...(raw.modelStore?.storageClassName ? { storageClassName: raw.modelStore.storageClassName } : {}),
    shared,
  };
}

function resolveCache(raw: RawModel, defaultSizeGiB: number): ModelCache {
  if (raw.cache?.claimName) return { kind: "pvc", claimName: raw.cache.claimName };
  return { kind: "emptyDir", sizeGiB: raw.cache?.sizeGiB ?? defaultSizeGiB };
}

export function resolveModel(raw: RawModel, ctx: StackContext, stackRaw?: RawStackConfig): ResolvedModel {
  const profile = PROFILES[ctx.environment];
  const gpus = raw.gpus ?? 1;
  const a = raw.autoscaling;
  const replicas = a ? a.minReplicas : (raw.replicas ?? profile.defaultReplicas);
  const size = raw.sizeBillions;
  const source = resolveSource(raw);
  const delivery = resolveDelivery(stackRaw ?? ({ models: [raw] } as RawStackConfig), raw, source, a ? a.maxReplicas : replicas, ctx);
  // Without a download at start, the cache holds only compile caches (vLLM's torch.compile and CUDA graphs).
  const downloads = delivery.kind === "download";
  const common = {
    name: raw.name,
    source,
    delivery,
    sizeBillions: size,
    gpus,
    replicas,
    ...(a
      ? {
          autoscaling: {
            minReplicas: a.minReplicas,
            maxReplicas: a.maxReplicas,
            targetQueueDepth: a.targetQueueDepth,
            scaleDownDelaySeconds: a.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS,
          },
        }
      : {}),
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
        cache: resolveCache(raw, downloads ? Math.ceil(size * 2.2 + 10) : 10),
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
        cache: resolveCache(raw, downloads ? Math.ceil(size * 1.2 + 2) : 1),
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

export function resolveStack(raw: RawStackConfig, stack: string, file: string, images: StackImages): StackConfig {
  const ctx = resolveContext(raw, stack, images);
  return { ...ctx, file, models: raw.models.map((m) => resolveModel(m, ctx, raw)) };
}
