import type { Environment } from "./environments.js";
import type { GpuPool } from "./capacity.js";
import type { ImageRef } from "./image-ref.js";
import type { SUPPORTED_SPECULATIVE_METHODS } from "./engines/index.js";

/** A `--speculative-config` method every pinned vLLM runs. */
export type SpeculativeMethod = (typeof SUPPORTED_SPECULATIVE_METHODS)[number];

/** Where the weights come from. */
export type ModelSource =
  | {
      readonly kind: "huggingFace";
      readonly repo: string;
      readonly revision: string;
      readonly file?: string;
      /** The ModelPack artifact of this revision, as the stack file pins it (the bytes come from it, not the Hub). */
      readonly oci?: ImageRef;
      /** Globs selecting the files the model store fetches; each must match at least one file. */
      readonly files: readonly string[];
      /** Globs fetched when present (the defaults' tokenizer and template files, which not every repository has). */
      readonly optionalFiles: readonly string[];
    }
  | { readonly kind: "pvc"; readonly claimName: string; readonly path: string };

/** How the weights reach the engine (docs/models.md, "Delivery modes"). */
export type ModelDelivery =
  | {
      /** A claim filled by the model's download Job, read-only to the engines. */
      readonly kind: "store";
      readonly claimName: string;
      /**
       * Where the Job gets the bytes: the Hub, the oci artifact, or nowhere (`bundle`: an offline site's files were
       * copied in by `bundle load --models-target`; the Job only verifies them).
       */
      readonly from: "huggingFace" | "oci" | "bundle";
      /** The artifact the Job pulls when `from` is `oci` (mirrored to the site registry in an offline stack). */
      readonly oci?: ImageRef;
      readonly sizeGiB: number;
      readonly accessMode: "ReadWriteOnce" | "ReadWriteMany";
      readonly storageClassName?: string;
      /** One claim for the whole stack (`modelStore.mode: shared`). */
      readonly shared: boolean;
    }
  /** The oci artifact mounted as an image volume (Kubernetes ≥ 1.35); `reference` is what the kubelet pulls. */
  | { readonly kind: "imageVolume"; readonly reference: string }
  /** `source.pvc`: the user's own claim. */
  | { readonly kind: "pvc" }
  /** `modelStore.mode: off`: the engine downloads at start (policies refuse it in production and offline stacks). */
  | { readonly kind: "download" };

/** Replicas owned by an autoscaler on the engine's queue depth (docs/scaling.md). */
export interface ModelAutoscaling {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Waiting requests per replica. */
  readonly targetQueueDepth: number;
  readonly scaleDownDelaySeconds: number;
}

/** The download/compile cache: an existing claim, or an emptyDir with a size limit. */
export type ModelCache =
  | { readonly kind: "pvc"; readonly claimName: string }
  | { readonly kind: "emptyDir"; readonly sizeGiB: number };

export interface ResolvedModelCommon {
  /** DNS-1035 label, unique in the stack. */
  readonly name: string;
  readonly source: ModelSource;
  readonly sizeBillions: number;
  readonly gpus: number;
  /** Fixed replicas, or for an autoscaled model its minReplicas. */
  readonly replicas: number;
  /** Present when an autoscaler owns the replica count. */
  readonly autoscaling?: ModelAutoscaling;
  readonly delivery: ModelDelivery;
  readonly cpu: number;
  readonly memoryGiB: number;
  readonly cache: ModelCache;
  /** The `model` name clients send; defaults to `name`. */
  readonly servedModelName: string;
  readonly startupBudgetSeconds: number;
  /** `modelfleet verify`: seconds a small completion may take. @default 3 */
  readonly latencyBudgetSeconds: number;
  readonly strategy: "Recreate" | "RollingUpdate";
  /** `{name}-{environment}`: Service name and the registry's key. */
  readonly serviceName: string;
  /** `{serviceName}.{namespace}.svc.cluster.local:8000`. */
  readonly endpoint: string;
}

export interface VllmSettings {
  readonly maxModelLen?: number;
  readonly gpuMemoryUtilization: number;
  readonly dtype: "auto" | "half" | "float16" | "bfloat16" | "float" | "float32";
  readonly quantization?: "awq" | "gptq" | "fp8" | "bitsandbytes" | "compressed-tensors" | "gguf";
  readonly tensorParallelSize: number;
  readonly pipelineParallelSize: number;
  readonly enforceEager: boolean;
  readonly speculative?: {
    /** vLLM's `method` (a supported one; config rules require it). */
    readonly method?: SpeculativeMethod;
    readonly repo: string;
    readonly revision: string;
    readonly numSpeculativeTokens: number;
  };
}

export interface LlamaCppSettings {
  readonly ctxSize: number;
  readonly gpuLayers: number;
  readonly parallel: number;
  readonly threads?: number;
}

export interface ResolvedVllmModel extends ResolvedModelCommon {
  readonly engine: "vllm";
  readonly vllm: VllmSettings;
}

export interface ResolvedLlamaCppModel extends ResolvedModelCommon {
  readonly engine: "llamacpp";
  readonly llamacpp: LlamaCppSettings;
}

export type ResolvedModel = ResolvedVllmModel | ResolvedLlamaCppModel;
export type Engine = ResolvedModel["engine"];

export interface Toleration {
  readonly key?: string;
  readonly operator?: "Exists" | "Equal";
  readonly value?: string;
  readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** The images workloads run: the engines, the registry's database, and the model download Job's runtime. */
export interface StackImages {
  readonly vllm: ImageRef;
  readonly llamacpp: ImageRef;
  readonly postgres: ImageRef;
  readonly node: ImageRef;
  readonly endpointPicker: ImageRef;
}

/** Everything a model's objects need from the stack around it. */
export interface StackContext {
  readonly stack: string;
  readonly environment: Environment;
  readonly namespace: string;
  /** The images the workloads run: the pins, or in an offline stack the same digests in the site registry. */
  readonly images: StackImages;
  /** The image pins exactly as the stack file writes them (what a bundle copies). */
  readonly pins: StackImages;
  /** The cluster's Kubernetes minor version (`kubernetesVersion`, default 1.28). */
  readonly kubernetesVersion: { readonly major: 1; readonly minor: number };
  readonly scaling: { readonly autoscaler: "keda" | "hpa"; readonly prometheusUrl: string };
  /** Set when each model gets an InferencePool. */
  readonly gateway?: {
    readonly gatewayName?: string;
    readonly gatewayNamespace: string;
    /** The gateway implementation whose own wiring is emitted (`istio`: a DestinationRule per deployed picker). */
    readonly provider?: "istio";
    /** A picker deployed per pool with these requests, or the user's own picker Service that every pool names. */
    readonly endpointPicker:
      | { readonly deploy: true; readonly cpu: number; readonly memoryGiB: number }
      | { readonly deploy: false; readonly name?: string; readonly port: number };
  };
  /** Explicit CORS origins; never `*`. Empty means no cross-origin browser access. */
  readonly allowedOrigins: readonly string[];
  /** Where engine API keys come from: the `apiKey` secret, a Pulumi-generated one, or none (development only). */
  readonly apiKey: "config" | "generated" | "none";
  /**
   * Whether engines read HF_TOKEN from the credentials Secret: `hfToken` is configured (its value exists only on the
   * Pulumi path), or `gitops.hfTokenInCredentials` says the GitOps secret tooling puts `hf-token` there.
   */
  readonly hfToken: boolean;
  readonly gpu: {
    readonly nodeSelector: Readonly<Record<string, string>>;
    readonly tolerations: readonly Toleration[];
    readonly runtimeClassName?: string;
    /** The GPU nodes the stack may use (capacity is checked against it); absent when the stack does not declare one. */
    readonly pool?: GpuPool;
  };
  readonly router: { readonly namespace: string; readonly podLabels: Readonly<Record<string, string>> };
  readonly monitoring: {
    readonly namespace: string;
    readonly podLabels: Readonly<Record<string, string>>;
    readonly serviceMonitor: boolean;
  };
  readonly podDisruptionBudget: boolean;
  readonly defaultDenyNetworkPolicy: boolean;
  readonly registry: {
    readonly mode: "in-cluster" | "external";
    readonly storageGiB: number;
    readonly storageClassName?: string;
    readonly staleAfterSeconds: number;
  };
  /** Where Argo CD finds the synthesized stack; synth writes an Application when set. */
  readonly gitops?: { readonly repoURL: string; readonly targetRevision: string; readonly path: string };
  /** Set for an air-gapped site: images come from this registry, models from PVCs, engines never call out. */
  readonly offline?: { readonly registry: string };
}

/** A parsed, defaulted and checked `Pulumi.<stack>.yaml`: the one source every output is built from. */
export interface StackConfig extends StackContext {
  /** The file it came from, for messages (`Pulumi.production.yaml`). */
  readonly file: string;
  readonly models: readonly ResolvedModel[];
}
