import { z } from "zod";
import { SUPPORTED_SPECULATIVE_METHODS } from "./engines/index.js";
import { ENVIRONMENTS } from "./environments.js";
import { CONFIG_LIST_MAX_ITEMS, CONFIG_NUMBER_LIMITS, CONFIG_PATH_MAX_LENGTH, CONFIG_STRING_MAX_LENGTH, MODEL_NAME_MAX_LENGTH } from "./limits.js";

/**
 * The shape of the `modelfleet:` keys in `Pulumi.<stack>.yaml`. Shape only: defaults come from the environment
 * profile (config/profiles.ts, applied in resolve.ts) and rules that span fields live in rules.ts, so each concern
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

/** Undefined for a plain relative path (`dir/model.gguf`); otherwise what is wrong with it. */
export function relativePathProblem(value: string): string | undefined {
  if (value.length === 0) return "is empty";
  if (value.length > CONFIG_PATH_MAX_LENGTH) return `is longer than ${CONFIG_PATH_MAX_LENGTH} characters`;
  if (value.includes("\u0000")) return "holds a NUL character";
  if (value.includes("\\")) return "holds a backslash (separate folders with /)";
  if (value.startsWith("/") || /^[A-Za-z]:/.test(value)) return "is absolute";
  const segments = value.split("/");
  if (segments.includes("..")) return "has a '..' segment, which leaves the model's folder";
  if (segments.includes("")) return "has an empty segment (a leading, trailing or doubled /)";
  return undefined;
}

/**
 * A plain relative path inside the model's folder (repository or claim): no `..` segment, not absolute, no
 * backslash, no NUL, no empty segment, at most CONFIG_PATH_MAX_LENGTH characters.
 */
const relativePath = z.string().superRefine((value, ctx) => {
  const problem = relativePathProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: `must be a plain relative path inside the model's folder, e.g. models/qwen3-0.6b-q8_0.gguf; this one ${problem}` });
});

/**
 * A Hugging Face revision: a commit SHA, or in development a branch or tag. Git ref characters only, so a URL (and a
 * credential in one) can never be taken for a revision and rendered into a download URL.
 */
const gitRevision = z
  .string()
  .min(1)
  .max(255, "must be at most 255 characters")
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, "must be a commit SHA (40 hex characters) or, in development, a branch or tag name (letters, digits, . _ / -)");

/** Any other free-form string: bounded, so no value can make messages or manifests huge. */
const text = (min = 0) => z.string().min(min).max(CONFIG_STRING_MAX_LENGTH, `must be at most ${CONFIG_STRING_MAX_LENGTH} characters`);

/** Kubernetes label syntax (apimachinery validation): a name of ≤ 63, an optional DNS-subdomain prefix of ≤ 253. */
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelKey = z
  .string()
  .min(1)
  .max(CONFIG_STRING_MAX_LENGTH)
  .refine((key) => {
    const slash = key.lastIndexOf("/");
    const [prefix, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
    return name.length <= 63 && LABEL_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && LABEL_PREFIX.test(prefix)));
  }, "must be a Kubernetes label key: [prefix/]name, name ≤ 63 of letters, digits, - _ . (e.g. nvidia.com/gpu.present)");
const labelValue = z
  .string()
  .max(63, "must be a Kubernetes label value: at most 63 characters")
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, "must be a Kubernetes label value: letters, digits, - _ . , starting and ending with a letter or digit (e.g. \"true\")");
const labelMap = z.record(labelKey, labelValue);

/** A Pulumi secret as it appears in a stack file: `{ secure: "v1:..." }`. The value is never read by synth. */
export const secureValue = z.strictObject({ secure: z.string().min(1) });

const modelSource = z.strictObject({
  /** Hugging Face repository, `owner/name`. */
  huggingFace: z.string().max(CONFIG_PATH_MAX_LENGTH, `must be at most ${CONFIG_PATH_MAX_LENGTH} characters`).regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, "must be a Hugging Face repository id like Qwen/Qwen3-0.6B").optional(),
  /** Hugging Face revision: a commit SHA (required outside development) or, in development, a branch or tag. */
  revision: gitRevision.optional(),
  /** File inside the repository: the GGUF file for llama.cpp. */
  file: relativePath.optional(),
  /** PersistentVolumeClaim holding the model files (mounted read-only). */
  pvc: dns1123Label.optional(),
  /** Path inside the claim: a directory for vLLM, a .gguf file for llama.cpp. */
  path: relativePath.optional(),
  /**
   * The Hugging Face repository is gated (its licence must be accepted, downloads need a token): requires `hfToken`
   * (or `gitops.hfTokenInCredentials`) unless the stack is offline.
   * @default false
   */
  gated: z.boolean().optional(),
  /**
   * The same revision packed as a ModelPack OCI artifact (`modelfleet models pack|push`): `registry/repo@sha256:…`.
   * The weights then come from this artifact instead of the Hub (huggingFace and revision still name the folder and
   * are checked against the artifact's annotations). Staging, production and offline stacks require the digest.
   */
  oci: text(1).optional(),
  /** Globs (`*`, `?`, `**`) selecting the files the model store fetches. @default per engine (docs/models.md) */
  files: z.array(text(1)).min(1).max(CONFIG_LIST_MAX_ITEMS, `at most ${CONFIG_LIST_MAX_ITEMS} patterns`).optional(),
});

const speculative = z.strictObject({
  /**
   * vLLM's speculative method, one every pinned vLLM contract runs (`SUPPORTED_SPECULATIVE_METHODS`). Required: without
   * it vLLM guesses from the draft's name or config and falls back to `draft_model`, which the pinned versions reject.
   */
  method: z.enum(SUPPORTED_SPECULATIVE_METHODS).optional(),
  huggingFace: z.string().max(CONFIG_PATH_MAX_LENGTH, `must be at most ${CONFIG_PATH_MAX_LENGTH} characters`).regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, "must be a Hugging Face repository id"),
  revision: gitRevision,
  numSpeculativeTokens: z.int().min(1).max(16).default(5),
});

const vllmSettings = z.strictObject({
  maxModelLen: z.int().positive().max(CONFIG_NUMBER_LIMITS.tokens, `at most ${CONFIG_NUMBER_LIMITS.tokens}`).optional(),
  gpuMemoryUtilization: z.number().optional(),
  dtype: z.enum(["auto", "half", "float16", "bfloat16", "float", "float32"]).optional(),
  quantization: z.enum(["awq", "gptq", "fp8", "bitsandbytes", "compressed-tensors", "gguf"]).optional(),
  tensorParallelSize: z.int().positive().max(CONFIG_NUMBER_LIMITS.parallelSize, `at most ${CONFIG_NUMBER_LIMITS.parallelSize}`).optional(),
  pipelineParallelSize: z.int().positive().max(CONFIG_NUMBER_LIMITS.parallelSize, `at most ${CONFIG_NUMBER_LIMITS.parallelSize}`).optional(),
  enforceEager: z.boolean().optional(),
  speculative: speculative.optional(),
});

const llamaCppSettings = z.strictObject({
  ctxSize: z.int().positive().max(CONFIG_NUMBER_LIMITS.tokens, `at most ${CONFIG_NUMBER_LIMITS.tokens}`).optional(),
  gpuLayers: z.int().min(0).max(CONFIG_NUMBER_LIMITS.gpuLayers, `at most ${CONFIG_NUMBER_LIMITS.gpuLayers}`).optional(),
  parallel: z.int().positive().max(CONFIG_NUMBER_LIMITS.threads, `at most ${CONFIG_NUMBER_LIMITS.threads}`).optional(),
  threads: z.int().positive().max(CONFIG_NUMBER_LIMITS.threads, `at most ${CONFIG_NUMBER_LIMITS.threads}`).optional(),
});

const resources = z.strictObject({
  /** CPU cores, requested and limited. */
  cpu: z.number().positive().max(CONFIG_NUMBER_LIMITS.cpu, `at most ${CONFIG_NUMBER_LIMITS.cpu}`).optional(),
  /** Memory in GiB for the engine, requested and limited (the /dev/shm size is added on top). */
  memoryGiB: z.number().positive().max(CONFIG_NUMBER_LIMITS.gibibytes, `at most ${CONFIG_NUMBER_LIMITS.gibibytes}`).optional(),
});

const cache = z.strictObject({
  /** Existing PersistentVolumeClaim for the download cache; omit for an emptyDir. */
  claimName: dns1123Label.optional(),
  /** emptyDir size limit in GiB. */
  sizeGiB: z.number().positive().max(CONFIG_NUMBER_LIMITS.gibibytes, `at most ${CONFIG_NUMBER_LIMITS.gibibytes}`).optional(),
});

const autoscaling = z.strictObject({
  /** Replicas the autoscaler never goes below (production: at least 2). */
  minReplicas: z.int().min(1).max(CONFIG_NUMBER_LIMITS.replicas, `at most ${CONFIG_NUMBER_LIMITS.replicas}`),
  /** Replicas the autoscaler never goes above; the GPU pool must hold this many. */
  maxReplicas: z.int().min(1).max(CONFIG_NUMBER_LIMITS.replicas, `at most ${CONFIG_NUMBER_LIMITS.replicas}`),
  /** Waiting requests per replica the autoscaler aims for (the engine's queue gauge). */
  targetQueueDepth: z.number().positive().max(10_000, "at most 10000"),
  /** Seconds the queue must stay short before a replica is removed. @default 600 */
  scaleDownDelaySeconds: z.int().min(0).max(86_400, "at most 86400").optional(),
});

const model = z.strictObject({
  name: z.string().max(MODEL_NAME_MAX_LENGTH, `must be at most ${MODEL_NAME_MAX_LENGTH} characters (a DNS label)`),
  engine: z.enum(["vllm", "llamacpp"]).meta(promotable),
  source: modelSource.meta(promotable),
  sizeBillions: z.number().positive().max(CONFIG_NUMBER_LIMITS.sizeBillions, `at most ${CONFIG_NUMBER_LIMITS.sizeBillions}`).meta(promotable),
  // GPUs go with the engine settings (tensor × pipeline parallel must equal them), so they travel together.
  gpus: z.int().min(0).max(CONFIG_NUMBER_LIMITS.gpus, `at most ${CONFIG_NUMBER_LIMITS.gpus}`).optional().meta(promotable),
  replicas: z.int().min(0).max(CONFIG_NUMBER_LIMITS.replicas, `at most ${CONFIG_NUMBER_LIMITS.replicas}`).optional(),
  singleReplicaAllowed: z.boolean().optional(),
  resources: resources.optional(),
  cache: cache.optional(),
  /** The model store claim for this model. */
  store: z.strictObject({ /** Claim size in GiB. @default from sizeBillions */ sizeGiB: z.int().positive().max(CONFIG_NUMBER_LIMITS.gibibytes, `at most ${CONFIG_NUMBER_LIMITS.gibibytes}`).optional() }).optional(),
  /** Scale on queue depth instead of a fixed `replicas` (docs/scaling.md). */
  autoscaling: autoscaling.optional().meta(promotable),
  servedModelName: text(1).optional().meta(promotable),
  startupBudgetSeconds: z.int().min(60).max(CONFIG_NUMBER_LIMITS.startupBudgetSeconds, `at most ${CONFIG_NUMBER_LIMITS.startupBudgetSeconds}`).optional(),
  strategy: z.enum(["Recreate", "RollingUpdate"]).optional(),
  /** `modelfleet verify`: a completion must answer within this many seconds. */
  latencyBudgetSeconds: z.number().positive().max(600, "at most 600").optional(),
  vllm: vllmSettings.optional().meta(promotable),
  llamacpp: llamaCppSettings.optional().meta(promotable),
});

const toleration = z.strictObject({
  key: text().optional(),
  operator: z.enum(["Exists", "Equal"]).optional(),
  value: text().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]).optional(),
});

/** Every `modelfleet:<key>` a stack file may hold. */
export const stackConfigSchema = z.strictObject({
  environment: z.enum(ENVIRONMENTS),
  namespace: dns1123Label,
  images: z
    .strictObject({
      vllm: text(),
      llamacpp: text(),
      postgres: text(),
      /** Runtime of the model download Job (Node ≥ 20). @default DEFAULT_NODE_IMAGE (config/image-ref.ts) */
      node: text().optional(),
      /**
       * The endpoint picker deployed per InferencePool (GAIE `epp`, v1.5.x: the release its flags were read at).
       * @default DEFAULT_ENDPOINT_PICKER_IMAGE (config/image-ref.ts)
       */
      endpointPicker: text().optional(),
    })
    .meta(promotable),
  cors: z.strictObject({ allowedOrigins: z.array(text()).max(CONFIG_LIST_MAX_ITEMS, `at most ${CONFIG_LIST_MAX_ITEMS} origins`) }).optional(),
  models: z.array(model).min(1, "a stack needs at least one model").max(CONFIG_LIST_MAX_ITEMS, `at most ${CONFIG_LIST_MAX_ITEMS} models in one stack; split it`),
  hfToken: secureValue.optional(),
  apiKey: secureValue.optional(),
  requireApiKey: z.boolean().optional(),
  gpu: z
    .strictObject({
      nodeSelector: labelMap.optional(),
      tolerations: z.array(toleration).max(CONFIG_LIST_MAX_ITEMS, `at most ${CONFIG_LIST_MAX_ITEMS} tolerations`).optional(),
      runtimeClassName: dns1123Label.optional(),
      /** The GPU nodes this stack may use; models that do not fit are refused before anything is applied. */
      pool: z
        .strictObject({
          nodes: z.int().min(1).max(CONFIG_NUMBER_LIMITS.gpuNodes, `at most ${CONFIG_NUMBER_LIMITS.gpuNodes}`),
          gpusPerNode: z.int().min(1).max(CONFIG_NUMBER_LIMITS.gpus, `at most ${CONFIG_NUMBER_LIMITS.gpus}`),
          product: z
            .string()
            .max(63, "at most 63 characters (a label value)")
            .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, "must be a label value such as NVIDIA-A100-SXM4-80GB (the node's nvidia.com/gpu.product)")
            .optional(),
        })
        .optional(),
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
      repoURL: text()
        .regex(/^(https?:\/\/|ssh:\/\/|git@)\S+$/, "must be a Git URL (https://…, ssh://… or git@host:org/repo.git)")
        .refine((url) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i.test(url), "holds a password (user:password@): it would be written into the Argo CD Application; remove it and give Argo CD the repository's credentials as a repository Secret"),
      /** Branch, tag or commit. */
      targetRevision: text(1).optional(),
      /** Folder of the synthesized stack in that repository. */
      path: relativePath.optional(),
      /**
       * The `<model>-<environment>-credentials` Secrets your secret tooling creates hold `hf-token`, so synthesized
       * pods read HF_TOKEN from them. The Pulumi path still needs `pulumi config set --secret modelfleet:hfToken`.
       * @default false - HF_TOKEN is wired only when `hfToken` is set
       */
      hfTokenInCredentials: z.boolean().optional(),
    })
    .optional(),
  registry: z
    .strictObject({
      /** `in-cluster` runs PostgreSQL as a StatefulSet; `external` uses `url`. */
      mode: z.enum(["in-cluster", "external"]).optional(),
      /** Size of the in-cluster database volume. */
      storageGiB: z.int().positive().max(CONFIG_NUMBER_LIMITS.gibibytes, `at most ${CONFIG_NUMBER_LIMITS.gibibytes}`).optional(),
      /** StorageClass of the in-cluster volume; the cluster default when omitted. */
      storageClassName: dns1123Label.optional(),
      /** Connection URL of an external database, as a Pulumi secret. */
      url: secureValue.optional(),
      /** The router ignores entries whose last health check is older than this. */
      staleAfterSeconds: z.int().min(10).max(CONFIG_NUMBER_LIMITS.staleAfterSeconds, `at most ${CONFIG_NUMBER_LIMITS.staleAfterSeconds}`).optional(),
    })
    .optional(),
  /** The cluster's Kubernetes version, `1.<minor>`: gates image volumes (≥ 1.35) and the preStop sleep action (≥ 1.30). @default "1.28" */
  kubernetesVersion: z.string().regex(/^1\.[0-9]{1,2}$/, 'must be "1.<minor>", e.g. "1.31" (quote it: 1.30 unquoted is the number 1.3)').optional(),
  /** Where model weights live in the cluster (docs/models.md). */
  modelStore: z
    .strictObject({
      /** `perModel`: a claim per model; `shared`: one ReadWriteMany claim; `off`: engines download at start. @default perModel */
      mode: z.enum(["perModel", "shared", "off"]).optional(),
      /** @default ReadWriteOnce for a per-model claim of a model with at most 1 replica, else ReadWriteMany */
      accessMode: z.enum(["ReadWriteOnce", "ReadWriteMany"]).optional(),
      /** StorageClass of the claims; the cluster default when omitted. */
      storageClassName: dns1123Label.optional(),
      /** Size of the shared claim in GiB. @default the sum of the models' store sizes */
      sizeGiB: z.int().positive().max(CONFIG_NUMBER_LIMITS.gibibytes, `at most ${CONFIG_NUMBER_LIMITS.gibibytes}`).optional(),
      /** Mount oci-pinned models as image volumes when kubernetesVersion ≥ 1.35. @default true */
      imageVolumes: z.boolean().optional(),
    })
    .optional(),
  /** How autoscaled models are scaled (docs/scaling.md). */
  scaling: z
    .strictObject({
      /** @default keda */
      autoscaler: z.enum(["keda", "hpa"]).optional(),
      /** Prometheus the autoscaler queries. @default http://prometheus-operated.<monitoring.namespace>.svc:9090 */
      prometheusUrl: text()
        .regex(/^https?:\/\/[^\s/@]+(:[0-9]+)?(\/\S*)?$/, "must be an http(s) URL without credentials, e.g. http://prometheus-operated.monitoring.svc:9090")
        .optional(),
    })
    .optional(),
  /** A Gateway API Inference Extension InferencePool per model (docs/gateway.md). */
  gateway: z
    .strictObject({
      inferencePool: z.boolean(),
      /** Also route from this Gateway to each pool with an HTTPRoute. @default no route */
      gatewayName: dns1123Label.optional(),
      /** Namespace of that Gateway. @default the stack namespace */
      gatewayNamespace: dns1123Label.optional(),
      /**
       * The gateway implementation, for the wiring only it needs: `istio` adds a DestinationRule per deployed picker
       * (TLS without verification to its self-signed certificate). @default none: no implementation-specific objects
       */
      provider: z.enum(["istio"]).optional(),
      /**
       * The pools' endpoint picker (EPP). Without `name`, modelfleet deploys one per pool (`<serviceName>-epp`, image
       * `images.endpointPicker`) with these requests; with `name`, the pools name your picker Service and none is deployed.
       * @default a picker per pool requesting 4 CPU and 8 GiB (the GAIE v1.5.0 chart's figures)
       */
      endpointPicker: z
        .strictObject({
          /**
           * Whether modelfleet deploys a picker per pool. `false` keeps the pools naming `<serviceName>-epp` (e.g. one
           * chart release per model, installed by you). @default true, unless `name` is set
           */
          deploy: z.boolean().optional(),
          /** Your picker's Service, which every pool names; then modelfleet deploys none. @default none */
          name: dns1123Label.optional(),
          /** Your picker's ext-proc port. @default 9002 */
          port: z.int().min(1).max(65535).optional(),
          /** CPU cores each deployed picker requests. @default 4 */
          cpu: z.number().min(0.001, "at least 0.001 (1m)").max(64).optional(),
          /** Memory each deployed picker requests, GiB; its limit is twice that. @default 8 */
          memoryGiB: z.number().min(1 / 1024, "at least 1/1024 GiB (1Mi)").max(256).optional(),
        })
        .optional(),
    })
    .optional(),
  offline: z
    .strictObject({
      /** The site's registry, `host[:port]`; every image is rendered as `<registry>/<repo>@<digest>`. */
      registry: text().regex(/^[A-Za-z0-9.-]+(:[0-9]{1,5})?$/, "must be a registry host[:port] such as registry.local:5000"),
    })
    .optional(),
});

export type RawStackConfig = z.infer<typeof stackConfigSchema>;
export type RawModel = z.infer<typeof model>;

/** Keys whose values must be Pulumi secrets (`secure:`); a plaintext value is an error that never echoes it. */
export const SECRET_KEYS = ["hfToken", "apiKey", "registry.url"] as const;
