/**
 * The model store (issue #14): a claim the weights live on, and a download Job per pinned revision that fills it with
 * exactly that revision (models/download-job.mjs: every file verified, `modelfleet-manifest.json` written last,
 * idempotent). Engines mount the claim read-only and start offline, so a restart, reschedule or second replica never
 * downloads. Pure builders: the same model and stack always give the same objects.
 *
 * Ordering: Pulumi makes the engine Deployment depend on the Job resources (the provider waits for a Job to complete,
 * see docs/model-initialization.md); Argo CD applies sync wave -2 (ServiceAccount, ConfigMap), then -1 (claim and
 * Job) and waits for the Job to be healthy (complete) before wave 0 (the engine). The claim shares the Job's wave: a
 * claim of a WaitForFirstConsumer StorageClass stays Pending (unhealthy to Argo CD) until a pod uses it, so a claim
 * in an earlier wave than its first consumer never lets the sync go on (argoproj/argo-cd#12840).
 */
import { createHash } from "node:crypto";
import { downloadScriptSha256, downloadScriptText } from "../../models/download-script.js";
import { defaultStoreFiles } from "../../config/resolve.js";
import type { RawModel } from "../../config/schema.js";
import type { ResolvedModel, StackConfig, StackContext } from "../../config/types.js";
import { MOUNTS, SECRET_KEYS, credentialsSecretName } from "../engines/engine-container.js";
import type { K8sObject } from "../shared/k8s-object.js";
import { modelLabels, stackLabels } from "../shared/labels.js";
import { containerSecurityJson, podSecurityJson, RUN_AS_USER } from "../shared/security.js";
import { serviceAccount } from "../shared/service-account.js";
import { localModelDir, SYNC_WAVE_ANNOTATION } from "./paths.js";

/**
 * The files a draft model's Job fetches: vLLM's default (config/resolve.ts), since a draft has no `files` of its own.
 * (Asked of config with a minimal vLLM model: the default depends only on engine, quantization and file.)
 */
const DRAFT_FILES = defaultStoreFiles({ engine: "vllm", source: {} } as unknown as RawModel);

/** Argo CD waves (strings, as the annotation wants them). */
export const STORE_WAVES = { setup: "-2", fetch: "-1" } as const;
export const FETCH_CONTAINER_NAME = "fetch";
export const FETCH_SCRIPT_KEY = "download-job.mjs";
const FETCH_SCRIPT_MOUNT = "/fetch";
const TMP_MOUNT = "/tmp";
/** Exit code of models/download-job.mjs for a bad configuration: retrying cannot help, so the Job fails at once. */
const CONFIG_EXIT_CODE = 2;
/** Pod retries after a failure; the script itself retries each file 3 times and resumes partial files. */
export const FETCH_BACKOFF_LIMIT = 4;
/** Fixed part of the Job's deadline: scheduling, image pull, listing, and verifying a present copy. */
const FETCH_DEADLINE_BASE_SECONDS = 1800;
/** The slowest sustained rate the deadline allows for (MiB/s): a 15 GiB model gets 30 + 13 minutes. */
const FETCH_DEADLINE_MIB_PER_SECOND = 20;
/** What the fetch container asks for: one core hashes ~1 GB/s; the script streams in 1 MiB chunks. */
export const FETCH_RESOURCES = {
  requests: { cpu: "500m", memory: "256Mi" },
  limits: { cpu: "2", memory: "1Gi" },
} as const;

/** One thing a download Job fetches: a pinned revision, the files it selects, and where the bytes come from. */
export interface StoreItem {
  readonly repo: string;
  readonly revision: string;
  /** Globs that must each match a file (MODELFLEET_FILES). */
  readonly files: readonly string[];
  /** Globs that select files when present (MODELFLEET_FILES_OPTIONAL). */
  readonly optionalFiles: readonly string[];
  readonly from: "huggingFace" | "oci" | "bundle";
  /** The artifact reference when `from` is `oci`. */
  readonly oci?: string;
}

/** The download Jobs a model runs (the model, and its draft): what the namespace quota counts next to the engines. */
export function fetchJobCount(model: ResolvedModel): number {
  const items = storeItems(model);
  return items === undefined ? 0 : items.draft ? 2 : 1;
}

/** What the model's download Jobs fetch: the model itself and, for a vLLM speculative draft, the draft. */
export function storeItems(model: ResolvedModel): { readonly main: StoreItem; readonly draft?: StoreItem } | undefined {
  const d = model.delivery;
  if (d.kind !== "store" || model.source.kind !== "huggingFace") return undefined;
  const s = model.source;
  const main: StoreItem = {
    repo: s.repo,
    revision: s.revision,
    files: s.files,
    optionalFiles: s.optionalFiles,
    from: d.from,
    ...(d.from === "oci" && d.oci ? { oci: d.oci.reference } : {}),
  };
  const spec = model.engine === "vllm" ? model.vllm.speculative : undefined;
  if (spec === undefined) return { main };
  // The draft has no artifact pin: from the Hub, or in an offline stack from what `bundle load` copied in.
  const draft: StoreItem = { repo: spec.repo, revision: spec.revision, files: DRAFT_FILES.files, optionalFiles: DRAFT_FILES.optional, from: d.from === "bundle" ? "bundle" : "huggingFace" };
  return { main, draft };
}

/** The first 8 hex digits of sha256 over what the Job fetches and runs: a new pin (or script, or image) → a new Job. */
export function fetchHash(item: StoreItem, scriptSha256: string, image: string): string {
  const pin = `${item.repo}@${item.revision}|${item.oci ?? ""}|${item.files.join(",")}|${item.optionalFiles.join(",")}`;
  const runtime = `${item.from}|${image}|${scriptSha256}`;
  return createHash("sha256").update(`${pin}\n${runtime}`).digest("hex").slice(0, 8);
}

/**
 * `<serviceName>-fetch[-draft]-<8 hex>`. A Job's name becomes the `batch.kubernetes.io/job-name` label of its pods,
 * which holds at most 63 characters, so a long service name is shortened (the hash keeps names distinct).
 */
export function fetchJobName(serviceName: string, hash: string, draft = false): string {
  const suffix = `-fetch${draft ? "-draft" : ""}-${hash}`;
  return `${serviceName.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

/** The stack's one ConfigMap holding the download script, which every download Job mounts. */
export const FETCH_SCRIPT_CONFIG_MAP = "modelfleet-fetch-script";

export function fetchServiceAccountName(serviceName: string): string {
  return `${serviceName}-fetch`;
}

/** GiB the Job may have to move for this model: its own claim's size, or for a shared claim an estimate from its size. */
function fetchGiB(model: ResolvedModel): number {
  const d = model.delivery;
  if (d.kind === "store" && !d.shared) return d.sizeGiB;
  const gguf = model.engine === "llamacpp" || model.vllm.quantization === "gguf";
  return Math.max(2, Math.ceil(model.sizeBillions * (gguf ? 1.2 : 2.2) + 2));
}

/**
 * The Job's `activeDeadlineSeconds` (all retries included): 30 minutes plus the model's size at 20 MiB/s, rounded
 * up to a minute. Separate from the engine's startup budget, which now counts loading only.
 */
export function fetchDeadlineSeconds(model: ResolvedModel): number {
  const seconds = FETCH_DEADLINE_BASE_SECONDS + (fetchGiB(model) * 1024) / FETCH_DEADLINE_MIB_PER_SECOND;
  return Math.ceil(seconds / 60) * 60;
}

/** The model's store claim as a Kubernetes object (per-model or shared). */
function claim(name: string, d: Extract<ResolvedModel["delivery"], { kind: "store" }>, namespace: string, labels: Record<string, string>, sizeGiB: number): K8sObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace, labels, annotations: { [SYNC_WAVE_ANNOTATION]: STORE_WAVES.fetch } },
    spec: {
      accessModes: [d.accessMode],
      resources: { requests: { storage: `${sizeGiB}Gi` } },
      ...(d.storageClassName ? { storageClassName: d.storageClassName } : {}),
    },
  };
}

/**
 * The stack's one shared claim (`modelStore.mode: shared`), or nothing when no model uses it. Emitted once per stack,
 * with the namespace's objects, never per model.
 */
export function buildSharedStoreObjects(config: StackConfig): K8sObject[] {
  const user = config.models.find((m) => m.delivery.kind === "store" && m.delivery.shared);
  if (!user || user.delivery.kind !== "store") return [];
  return [claim(user.delivery.claimName, user.delivery, config.namespace, stackLabels(config), user.delivery.sizeGiB)];
}

/**
 * The download script as one ConfigMap per stack (it is the same bytes for every model: one copy instead of ~45 KB
 * per model in the YAML), or nothing when no model has a download Job. Emitted with the namespace's objects, so on
 * the Pulumi path every model already waits for it.
 */
export function buildStoreScriptObjects(config: StackConfig): K8sObject[] {
  if (!config.models.some((m) => m.delivery.kind === "store" && storeItems(m) !== undefined)) return [];
  const metadata = { name: FETCH_SCRIPT_CONFIG_MAP, namespace: config.namespace, labels: stackLabels(config), annotations: { [SYNC_WAVE_ANNOTATION]: STORE_WAVES.setup } };
  return [{ apiVersion: "v1", kind: "ConfigMap", metadata, data: { [FETCH_SCRIPT_KEY]: downloadScriptText() } }];
}

/** The pod labels of a fetch Job: never the engine's selector labels, so no Service, PDB or pool picks it up. */
function fetchPodLabels(model: ResolvedModel, ctx: StackContext): Record<string, string> {
  return {
    ...stackLabels(ctx),
    "app.kubernetes.io/component": "model-fetch",
    "app.kubernetes.io/instance": fetchServiceAccountName(model.serviceName),
    "app.kubernetes.io/name": model.name,
  };
}

function fetchJob(model: ResolvedModel, ctx: StackContext, item: StoreItem, claimName: string, draft: boolean): K8sObject {
  const image = ctx.images.node.reference;
  const hash = fetchHash(item, downloadScriptSha256(), image);
  const env: Array<Record<string, unknown>> = [
    { name: "HOME", value: TMP_MOUNT },
    ...(item.files.length > 0 ? [{ name: "MODELFLEET_FILES", value: item.files.join(",") }] : []),
    ...(item.optionalFiles.length > 0 ? [{ name: "MODELFLEET_FILES_OPTIONAL", value: item.optionalFiles.join(",") }] : []),
    { name: "MODELFLEET_REPO", value: item.repo },
    { name: "MODELFLEET_REVISION", value: item.revision },
    { name: "MODELFLEET_TARGET", value: MOUNTS.models },
    ...(item.from === "oci" && item.oci ? [{ name: "MODELFLEET_OCI", value: item.oci }] : []),
    ...(item.from === "bundle" ? [{ name: "MODELFLEET_OFFLINE", value: "1" }] : []),
    ...(item.from === "huggingFace" && ctx.hfToken
      ? [{ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: credentialsSecretName(model.serviceName), key: SECRET_KEYS.hfToken } } }]
      : []),
  ];
  const pod: Record<string, unknown> = {
    automountServiceAccountToken: false,
    containers: [
      {
        name: FETCH_CONTAINER_NAME,
        image,
        imagePullPolicy: "IfNotPresent",
        command: ["node", `${FETCH_SCRIPT_MOUNT}/${FETCH_SCRIPT_KEY}`],
        env,
        resources: { limits: { ...FETCH_RESOURCES.limits }, requests: { ...FETCH_RESOURCES.requests } },
        securityContext: containerSecurityJson(RUN_AS_USER),
        volumeMounts: [
          { name: "models", mountPath: MOUNTS.models },
          { name: "script", mountPath: FETCH_SCRIPT_MOUNT, readOnly: true },
          { name: "tmp", mountPath: TMP_MOUNT },
        ],
      },
    ],
    restartPolicy: "Never",
    // fsGroup makes the claim's root writable by the non-root uid (OnRootMismatch: chowned once, not on every run).
    securityContext: podSecurityJson(RUN_AS_USER),
    serviceAccountName: fetchServiceAccountName(model.serviceName),
    volumes: [
      { name: "models", persistentVolumeClaim: { claimName } },
      { name: "script", configMap: { name: FETCH_SCRIPT_CONFIG_MAP, defaultMode: 0o444 } },
      { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
    ],
  };
  // On the GPU nodes' placement (no GPU requested): a claim bound where its first consumer runs is then in a zone the
  // engines can reach.
  if (Object.keys(ctx.gpu.nodeSelector).length > 0) pod["nodeSelector"] = { ...ctx.gpu.nodeSelector };
  if (ctx.gpu.tolerations.length > 0) pod["tolerations"] = ctx.gpu.tolerations.map((t) => ({ ...t }));
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: fetchJobName(model.serviceName, hash, draft),
      namespace: ctx.namespace,
      labels: modelLabels(model, ctx),
      annotations: { [SYNC_WAVE_ANNOTATION]: STORE_WAVES.fetch },
    },
    spec: {
      activeDeadlineSeconds: fetchDeadlineSeconds(model),
      backoffLimit: FETCH_BACKOFF_LIMIT,
      // A bad configuration (exit 2) fails the Job at once instead of retrying it.
      podFailurePolicy: { rules: [{ action: "FailJob", onExitCodes: { containerName: FETCH_CONTAINER_NAME, operator: "In", values: [CONFIG_EXIT_CODE] } }] },
      // No ttlSecondsAfterFinished: Argo CD and `pulumi refresh` would see a deleted Job as drift and run it again.
      template: { metadata: { labels: fetchPodLabels(model, ctx) }, spec: pod },
    },
  };
}

/**
 * The model's store objects, in apply order: its own claim (unless the stack's shared claim holds it), the Job's
 * ServiceAccount (no token, no Role), the Job (its script is the stack's one ConfigMap, buildStoreScriptObjects), and a second Job for a vLLM
 * speculative draft. Nothing for the other delivery modes (an image volume is a field of the engine's pod).
 */
export function buildModelStoreObjects(model: ResolvedModel, ctx: StackContext): K8sObject[] {
  const d = model.delivery;
  const items = storeItems(model);
  if (d.kind !== "store" || items === undefined) return [];
  const labels = modelLabels(model, ctx);
  const setup = { [SYNC_WAVE_ANNOTATION]: STORE_WAVES.setup };
  const meta = (name: string) => ({ name, namespace: ctx.namespace, labels, annotations: setup });
  return [
    ...(d.shared ? [] : [claim(d.claimName, d, ctx.namespace, labels, d.sizeGiB)]),
    serviceAccount(meta(fetchServiceAccountName(model.serviceName))),
    fetchJob(model, ctx, items.main, d.claimName, false),
    ...(items.draft ? [fetchJob(model, ctx, items.draft, d.claimName, true)] : []),
  ];
}

/** The image volume of an oci-pinned model on a cluster that has them, mounted read-only at the model's folder. */
export function imageVolume(model: ResolvedModel): { readonly volume: Record<string, unknown>; readonly mountPath: string } | undefined {
  const mountPath = localModelDir(model);
  if (model.delivery.kind !== "imageVolume" || mountPath === undefined) return undefined;
  return { volume: { name: "model-image", image: { reference: model.delivery.reference, pullPolicy: "IfNotPresent" } }, mountPath };
}
