import { z } from "zod";
import { ENVIRONMENTS } from "./environments.js";

/**
 * The shape of the `modelfleet:` keys in `Pulumi.<stack>.yaml`. Shape only: defaults come from the environment
 * profile (stacks/profiles.ts, applied in resolve.ts) and rules that span fields live in rules.ts, so each concern
 * has one home. Objects are strict so a misspelt key is an error, not a silently ignored setting.
 *
 * Keys marked `.meta({ promotable: true })` are the ones `modelfleet promote` copies from one stack to the next
 * (image pins, model sources, engine settings); everything else is environment-specific.
 */

const promotable = { promotable: true } as const;

const dns1123Label = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit")
  .max(63, "must be at most 63 characters");

const labelMap = z.record(z.string().min(1), z.string());

/** A Pulumi secret as it appears in a stack file: `{ secure: "v1:..." }`. The value is never read by synth. */
export const secureValue = z.strictObject({ secure: z.string().min(1) });

const modelSource = z.strictObject({
  /** Hugging Face repository, `owner/name`. */
  huggingFace: z.string().regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, "must be a Hugging Face repository id like Qwen/Qwen3-0.6B").optional(),
  /** Hugging Face revision: a commit SHA (required outside development) or, in development, a branch or tag. */
  revision: z.string().min(1).optional(),
  /** File inside the repository: the GGUF file for llama.cpp. */
  file: z.string().regex(/^[\w./-]+$/, "must be a file path inside the repository").optional(),
  /** PersistentVolumeClaim holding the model files (mounted read-only). */
  pvc: dns1123Label.optional(),
  /** Path inside the claim: a directory for vLLM, a .gguf file for llama.cpp. */
  path: z.string().min(1).optional(),
});

const speculative = z.strictObject({
  huggingFace: z.string().regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, "must be a Hugging Face repository id"),
  revision: z.string().min(1),
  numSpeculativeTokens: z.int().min(1).max(16).default(5),
});

const vllmSettings = z.strictObject({
  maxModelLen: z.int().positive().optional(),
  gpuMemoryUtilization: z.number().optional(),
  dtype: z.enum(["auto", "half", "float16", "bfloat16", "float", "float32"]).optional(),
  quantization: z.enum(["awq", "gptq", "fp8", "bitsandbytes", "compressed-tensors", "gguf"]).optional(),
  tensorParallelSize: z.int().positive().optional(),
  pipelineParallelSize: z.int().positive().optional(),
  enforceEager: z.boolean().optional(),
  speculative: speculative.optional(),
});

const llamaCppSettings = z.strictObject({
  ctxSize: z.int().positive().optional(),
  gpuLayers: z.int().min(0).optional(),
  parallel: z.int().positive().optional(),
  threads: z.int().positive().optional(),
});

const resources = z.strictObject({
  /** CPU cores, requested and limited. */
  cpu: z.number().positive().optional(),
  /** Memory in GiB for the engine, requested and limited (the /dev/shm size is added on top). */
  memoryGiB: z.number().positive().optional(),
});

const cache = z.strictObject({
  /** Existing PersistentVolumeClaim for the download cache; omit for an emptyDir. */
  claimName: dns1123Label.optional(),
  /** emptyDir size limit in GiB. */
  sizeGiB: z.number().positive().optional(),
});

const model = z.strictObject({
  name: z.string(),
  engine: z.enum(["vllm", "llamacpp"]).meta(promotable),
  source: modelSource.meta(promotable),
  sizeBillions: z.number().positive().meta(promotable),
  // GPUs go with the engine settings (tensor × pipeline parallel must equal them), so they travel together.
  gpus: z.int().min(0).optional().meta(promotable),
  replicas: z.int().min(0).optional(),
  singleReplicaAllowed: z.boolean().optional(),
  resources: resources.optional(),
  cache: cache.optional(),
  servedModelName: z.string().min(1).optional().meta(promotable),
  startupBudgetSeconds: z.int().min(60).optional(),
  strategy: z.enum(["Recreate", "RollingUpdate"]).optional(),
  vllm: vllmSettings.optional().meta(promotable),
  llamacpp: llamaCppSettings.optional().meta(promotable),
});

const toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
});

/** Every `modelfleet:<key>` a stack file may hold. */
export const stackConfigSchema = z.strictObject({
  environment: z.enum(ENVIRONMENTS),
  namespace: dns1123Label,
  images: z
    .strictObject({
      vllm: z.string(),
      llamacpp: z.string(),
      postgres: z.string(),
    })
    .meta(promotable),
  cors: z.strictObject({ allowedOrigins: z.array(z.string()) }).optional(),
  models: z.array(model).min(1, "a stack needs at least one model"),
  hfToken: secureValue.optional(),
  apiKey: secureValue.optional(),
  requireApiKey: z.boolean().optional(),
  gpu: z
    .strictObject({
      nodeSelector: labelMap.optional(),
      tolerations: z.array(toleration).optional(),
      runtimeClassName: dns1123Label.optional(),
    })
    .optional(),
  router: z.strictObject({ namespace: dns1123Label.optional(), podLabels: labelMap.optional() }).optional(),
  monitoring: z
    .strictObject({
      namespace: dns1123Label.optional(),
      podLabels: labelMap.optional(),
      serviceMonitor: z.boolean().optional(),
    })
    .optional(),
  network: z.strictObject({ defaultDeny: z.boolean().optional() }).optional(),
  gitops: z
    .strictObject({
      /** Git repository Argo CD syncs from. */
      repoURL: z.string().regex(/^(https?:\/\/|ssh:\/\/|git@)\S+$/, "must be a Git URL (https://…, ssh://… or git@host:org/repo.git)"),
      /** Branch, tag or commit. */
      targetRevision: z.string().min(1).optional(),
      /** Folder of the synthesized stack in that repository. */
      path: z.string().min(1).optional(),
    })
    .optional(),
  registry: z
    .strictObject({
      /** `in-cluster` runs PostgreSQL as a StatefulSet; `external` uses `url`. */
      mode: z.enum(["in-cluster", "external"]).optional(),
      /** Size of the in-cluster database volume. */
      storageGiB: z.int().positive().optional(),
      /** StorageClass of the in-cluster volume; the cluster default when omitted. */
      storageClassName: dns1123Label.optional(),
      /** Connection URL of an external database, as a Pulumi secret. */
      url: secureValue.optional(),
      /** The router ignores entries whose last health check is older than this. */
      staleAfterSeconds: z.int().min(10).optional(),
    })
    .optional(),
  offline: z
    .strictObject({
      /** The site's registry, `host[:port]`; every image is rendered as `<registry>/<repo>@<digest>`. */
      registry: z.string().regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, "must be a registry host[:port] such as registry.local:5000"),
    })
    .optional(),
});

export type RawStackConfig = z.infer<typeof stackConfigSchema>;
export type RawModel = z.infer<typeof model>;

/** Keys whose values must be Pulumi secrets (`secure:`); a plaintext value is an error that never echoes it. */
export const SECRET_KEYS = ["hfToken", "apiKey", "registry.url"] as const;
