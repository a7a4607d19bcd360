import { contractForImage, SUPPORTED_SPECULATIVE_METHODS } from "./engines/index.js";
import { PROFILES } from "./profiles.js";
import { DEFAULT_IMAGES, IMAGE_KEYS, parseImageRef, type ImageRef } from "./image-ref.js";
import { holdsCredential, renderValue, type ConfigProblem } from "./problems.js";
import type { RawModel, RawStackConfig } from "./schema.js";
import type { ResolvedModel, StackImages } from "./types.js";

/** Rules that span fields or depend on the environment. Each returns problems; none throws. */

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const COMMIT_SHA = /^[0-9a-f]{40}$/;
const ORIGIN = /^https?:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

const problem = (path: string, message: string, received?: unknown): ConfigProblem =>
  received === undefined ? { path, message } : { path, message, received: renderValue(received) };

/** The endpoint picker releases modelfleet renders a picker Deployment for (components/gateway/endpoint-picker.ts). */
const ENDPOINT_PICKER_TAG = /^v1\.5\.[0-9]+$/;

/** Whether the stack deploys an endpoint picker per pool (pools on, and no picker of the user's named). */
function picksEndpoints(raw: RawStackConfig): boolean {
  return raw.gateway?.inferencePool === true && raw.gateway.endpointPicker?.name === undefined && raw.gateway.endpointPicker?.deploy !== false;
}

/** Image pins: parseable, and digest-pinned wherever the environment requires it. */
export function checkImages(raw: RawStackConfig): { problems: ConfigProblem[]; images?: StackImages } {
  const problems: ConfigProblem[] = [];
  // An air-gapped site can only load what was copied by digest. The picker's image needs a digest only when a picker
  // is deployed (below): otherwise it is never run nor bundled.
  const requirePins = PROFILES[raw.environment].requirePins || raw.offline !== undefined;
  const images: Partial<Record<keyof StackImages, ImageRef>> = {};
  for (const key of IMAGE_KEYS) {
    // vllm, llamacpp and postgres are required by the schema; the others have pinned defaults.
    const reference = raw.images[key] ?? DEFAULT_IMAGES[key] ?? "";
    const parsed = parseImageRef(reference);
    const path = `images.${key}`;
    if ("error" in parsed) {
      problems.push(problem(path, `not an image reference${holdsCredential(reference) ? "" : `: ${parsed.error}`}; write repo:tag@sha256:<64 hex>`, reference));
    } else if (!parsed.digest && requirePins && (key !== "endpointPicker" || picksEndpoints(raw))) {
      problems.push(
        problem(
          path,
          `tag-only reference; ${raw.offline ? "an offline stack" : raw.environment} requires a digest (repo:tag@sha256:<64 hex>). Run \`modelfleet pins resolve\` or paste the digest`,
          reference,
        ),
      );
    } else if (!parsed.digest && !parsed.tag) {
      problems.push(problem(path, "neither tag nor digest, so it means :latest and changes under you; pin a tag (development) or a digest", reference));
    } else {
      images[key] = parsed;
      if (key === "vllm" || key === "llamacpp") {
        // The builders render only what the pinned release's contract allows; a release with none cannot be checked.
        const found = contractForImage(key, parsed);
        if ("error" in found) problems.push(problem(path, found.error.replace(`${path}: `, "")));
      }
      if (key === "endpointPicker" && picksEndpoints(raw) && !ENDPOINT_PICKER_TAG.test(parsed.tag ?? "")) {
        // Its flags changed meaning between releases (v1.5.0 refuses the metric flags v1.0 needed): render only for the read one.
        problems.push(
          problem(
            path,
            `${parsed.tag ? `tag ${parsed.tag}` : "no tag"}, but the picker modelfleet deploys is written for GAIE's EPP v1.5.x (its flags and config were read at v1.5.0); pin registry.k8s.io/gateway-api-inference-extension/epp:v1.5.<patch>@sha256:<digest>, or run your own picker with gateway.endpointPicker.name`,
            reference,
          ),
        );
      }
    }
  }
  return IMAGE_KEYS.every((key) => images[key]) ? { problems, images: images as StackImages } : { problems };
}

export function checkCors(raw: RawStackConfig): ConfigProblem[] {
  return (raw.cors?.allowedOrigins ?? []).flatMap((origin, i) => {
    const path = `cors.allowedOrigins[${i}]`;
    if (origin.includes("*")) {
      return [problem(path, "wildcard origin lets any web page call the models with a user's browser; list explicit origins such as https://chat.example.com", origin)];
    }
    if (!ORIGIN.test(origin)) {
      return [problem(path, "not an origin; write scheme://host[:port] with no path, e.g. https://chat.example.com", origin)];
    }
    return [];
  });
}

/**
 * llama-server writes `--cors-origins` verbatim into Access-Control-Allow-Origin, so a llama.cpp model can allow one
 * origin only (the contract's `originsFormat: "verbatimSingle"`). The origins are stack-wide: more than one is an
 * error as soon as the stack has a llama.cpp model.
 */
export function checkLlamaCppCors(raw: RawStackConfig): ConfigProblem[] {
  const origins = raw.cors?.allowedOrigins ?? [];
  if (origins.length <= 1) return [];
  const llama = raw.models.flatMap((m, i) => (m.engine === "llamacpp" ? [`models[${i}] (${m.name})`] : []));
  if (llama.length === 0) return [];
  return [
    problem(
      "cors.allowedOrigins",
      `${origins.length} origins, but ${llama.join(", ")} ${llama.length === 1 ? "runs" : "run"} llama.cpp, which writes --cors-origins verbatim into Access-Control-Allow-Origin, so only one origin works per server; keep exactly one origin, or serve the other origins through the router`,
      origins,
    ),
  ];
}

function checkSource(m: RawModel, path: string, requirePins: boolean, environment: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const s = m.source;
  const hasHf = s.huggingFace !== undefined;
  const hasPvc = s.pvc !== undefined;
  if (hasHf === hasPvc) {
    out.push(problem(`${path}.source`, "give exactly one of huggingFace (with revision) or pvc (with path)", s));
    return out;
  }
  if (!hasHf && (s.oci !== undefined || s.files !== undefined)) {
    out.push(problem(`${path}.source`, "oci and files belong to a huggingFace source (with revision); a pvc source takes path", s));
  }
  if (hasHf && s.oci !== undefined) {
    const ref = parseImageRef(s.oci);
    if ("error" in ref) {
      out.push(problem(`${path}.source.oci`, `not an OCI reference${holdsCredential(s.oci) ? "" : `: ${ref.error}`}; write registry/repo@sha256:<64 hex> (the digest \`modelfleet models push\` printed)`, s.oci));
    } else if (!ref.digest && requirePins) {
      out.push(problem(`${path}.source.oci`, `tag-only reference; ${environment} requires the artifact's digest (registry/repo@sha256:<64 hex>), the bytes that were tested`, s.oci));
    }
    if (s.revision !== undefined && !COMMIT_SHA.test(s.revision)) {
      out.push(problem(`${path}.source.revision`, "with oci, the revision must be the 40-character commit SHA the artifact was packed from (its dev.modelfleet.model.revision annotation)", s.revision));
    }
  }
  if (hasHf) {
    if (s.path !== undefined) out.push(problem(`${path}.source.path`, "path belongs to a pvc source; for Hugging Face use file", s.path));
    if (s.revision === undefined) {
      out.push(problem(`${path}.source.revision`, "missing; pin the Hugging Face repository to a commit SHA (see the repo's 'Files and versions' history)"));
    } else if (requirePins && !COMMIT_SHA.test(s.revision)) {
      out.push(problem(`${path}.source.revision`, `${environment} requires a 40-character commit SHA; branches and tags move`, s.revision));
    }
    if (m.engine === "llamacpp" && (s.file === undefined || !s.file.endsWith(".gguf"))) {
      out.push(problem(`${path}.source.file`, "llama.cpp loads one GGUF file; name it, e.g. qwen3-0.6b-q8_0.gguf", s.file));
    }
    const gguf = m.engine === "vllm" && m.vllm?.quantization === "gguf";
    if (gguf && (s.file === undefined || !s.file.endsWith(".gguf"))) {
      out.push(
        problem(
          `${path}.source.file`,
          `vLLM's GGUF loader needs one .gguf file (it loads <repo>/<file>.gguf), and ${s.file === undefined ? "none is named" : "this is not one"}; name the file in the repository, e.g. qwen3-0.6b-q8_0.gguf`,
          s.file,
        ),
      );
    }
    if (m.engine === "vllm" && !gguf && s.file !== undefined) {
      out.push(problem(`${path}.source.file`, "vLLM loads the whole repository; remove file (only quantization: gguf loads one file)", s.file));
    }
  } else {
    if (s.revision !== undefined || s.file !== undefined || s.gated !== undefined) {
      out.push(problem(`${path}.source`, "revision, file and gated belong to a huggingFace source; a pvc source takes path", s));
    }
    if (s.path === undefined) {
      out.push(problem(`${path}.source.path`, "missing; give the model's path inside the claim"));
    } else if (s.path.startsWith("/") || s.path.split("/").includes("..")) {
      out.push(problem(`${path}.source.path`, "must be relative to the claim's root and stay inside it (no leading '/', no '..')", s.path));
    } else if (m.engine === "llamacpp" && !s.path.endsWith(".gguf")) {
      out.push(problem(`${path}.source.path`, "llama.cpp loads one GGUF file; point path at the .gguf file", s.path));
    }
  }
  return out;
}

/** A gated Hugging Face repository answers 401 without a token; an offline stack downloads nothing, so needs none. */
function checkGated(raw: RawStackConfig, m: RawModel, path: string): ConfigProblem[] {
  if (m.source.gated !== true || m.source.huggingFace === undefined || raw.offline !== undefined) return [];
  if (raw.hfToken !== undefined || raw.gitops?.hfTokenInCredentials === true) return [];
  return [
    problem(
      `${path}.source.gated`,
      "the Hugging Face repository is gated and the stack has no hfToken, so the download would fail (401); run `pulumi config set --secret modelfleet:hfToken <token>` (GitOps: put hf-token in the <model>-<environment>-credentials Secret and set gitops.hfTokenInCredentials: true)",
      true,
    ),
  ];
}

function checkEngineBlocks(m: RawModel, resolved: ResolvedModel, path: string, requirePins: boolean, environment: string): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (m.engine === "vllm" && m.llamacpp !== undefined) out.push(problem(`${path}.llamacpp`, 'settings for another engine; this model has engine "vllm": move them under vllm or change engine'));
  if (m.engine === "llamacpp" && m.vllm !== undefined) out.push(problem(`${path}.vllm`, 'settings for another engine; this model has engine "llamacpp": move them under llamacpp or change engine'));
  switch (resolved.engine) {
    case "vllm": {
      const v = resolved.vllm;
      if (resolved.gpus < 1) out.push(problem(`${path}.gpus`, "vLLM needs at least 1 GPU; use engine llamacpp for CPU-only models", resolved.gpus));
      const product = v.tensorParallelSize * v.pipelineParallelSize;
      if (resolved.gpus >= 1 && product !== resolved.gpus) {
        out.push(
          problem(
            `${path}.vllm.tensorParallelSize`,
            `tensorParallelSize × pipelineParallelSize = ${v.tensorParallelSize} × ${v.pipelineParallelSize} = ${product}, but gpus is ${resolved.gpus}; they must be equal`,
            v.tensorParallelSize,
          ),
        );
      }
      if (!(v.gpuMemoryUtilization > 0 && v.gpuMemoryUtilization <= 1)) {
        out.push(problem(`${path}.vllm.gpuMemoryUtilization`, "must be in (0, 1], the fraction of each GPU's memory vLLM may use", v.gpuMemoryUtilization));
      }
      if (v.speculative && v.speculative.method === undefined) {
        out.push(
          problem(
            `${path}.vllm.speculative.method`,
            `missing; without it vLLM guesses the method from the draft's name or config and otherwise runs it as draft_model, which the pinned vLLM rejects (NotImplementedError). Set method to the kind of the draft repository: one of ${SUPPORTED_SPECULATIVE_METHODS.join(", ")}`,
          ),
        );
      }
      if (v.speculative && requirePins && !COMMIT_SHA.test(v.speculative.revision)) {
        out.push(problem(`${path}.vllm.speculative.revision`, `${environment} requires a 40-character commit SHA`, v.speculative.revision));
      }
      break;
    }
    case "llamacpp": {
      if (resolved.llamacpp.gpuLayers > 0 && resolved.gpus < 1) {
        out.push(problem(`${path}.llamacpp.gpuLayers`, "layers offloaded to a GPU, but gpus is 0; set gpus ≥ 1 or gpuLayers 0", resolved.llamacpp.gpuLayers));
      }
      break;
    }
    default: {
      const unreachable: never = resolved;
      throw new Error(`unhandled engine in ${JSON.stringify(unreachable)}`);
    }
  }
  return out;
}

/** Rules per model and across models. `resolved[i]` is `raw.models[i]` with defaults filled. */
export function checkModels(raw: RawStackConfig, resolved: readonly ResolvedModel[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const env = raw.environment;
  const requirePins = PROFILES[env].requirePins;
  // The Service `<name>-<env>`, and with pickers deployed also `<name>-<env>-epp`, must fit in 63 characters.
  const pickerSuffix = picksEndpoints(raw) ? "-epp" : "";
  const maxNameLength = 63 - env.length - 1 - pickerSuffix.length;
  const seen = new Map<string, number>();
  raw.models.forEach((m, i) => {
    const path = `models[${i}]`;
    const r = resolved[i];
    if (!r) return;
    if (!DNS1035.test(m.name)) {
      out.push(problem(`${path}.name`, "must be a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, ending with a letter or digit", m.name));
    } else if (m.name.length > maxNameLength) {
      out.push(problem(`${path}.name`, `too long: the Service name "${m.name}-${env}${pickerSuffix}" must fit in 63 characters, so at most ${maxNameLength} here`, m.name));
    }
    const first = seen.get(m.name);
    if (first !== undefined) out.push(problem(`${path}.name`, `duplicate of models[${first}].name; model names must be unique in a stack`, m.name));
    else seen.set(m.name, i);
    out.push(...checkSource(m, path, requirePins, env));
    out.push(...checkGated(raw, m, path));
    out.push(...checkEngineBlocks(m, r, path, requirePins, env));
    out.push(...checkAutoscaling(m, path));
    if (env === "production" && r.replicas < 2 && m.singleReplicaAllowed !== true) {
      out.push(
        m.autoscaling
          ? problem(`${path}.autoscaling.minReplicas`, "production needs at least 2 replicas to survive a node drain; raise minReplicas or set singleReplicaAllowed: true", r.replicas)
          : problem(`${path}.replicas`, "production needs at least 2 replicas to survive a node drain; raise replicas or set singleReplicaAllowed: true", r.replicas),
      );
    }
    if (env === "production" && r.source.kind === "pvc") {
      out.push(
        problem(
          `${path}.source.pvc`,
          "production serves only weights pinned by revision or digest, and a claim's files can change under the same name; use huggingFace + revision (the model store fills the claim and verifies every file) or add oci: registry/repo@sha256:…",
          m.source.pvc,
        ),
      );
    }
    if ((r.delivery.kind === "store" || r.delivery.kind === "imageVolume") && r.source.kind === "huggingFace" && r.source.revision && !COMMIT_SHA.test(r.source.revision)) {
      out.push(
        problem(
          `${path}.source.revision`,
          "the model store keeps one verified folder per commit, and a branch or tag moves; pin the 40-character commit SHA (or, in development only, set modelStore.mode: off to download at start)",
          r.source.revision,
        ),
      );
    }
    if (r.delivery.kind === "imageVolume" && r.engine === "vllm" && r.vllm.speculative) {
      out.push(
        problem(
          `${path}.vllm.speculative`,
          "an image-volume model starts offline, and its draft model would have to be downloaded at start; deliver this model through the model store (modelStore.imageVolumes: false) or remove speculative",
        ),
      );
    }
    const maxReplicas = r.autoscaling?.maxReplicas ?? r.replicas;
    if (r.delivery.kind === "store" && r.delivery.accessMode === "ReadWriteOnce" && (r.delivery.shared || maxReplicas > 1)) {
      out.push(
        problem(
          "modelStore.accessMode",
          `ReadWriteOnce, but ${r.delivery.shared ? "the shared claim is mounted by every model's pods" : `models[${i}] (${m.name}) runs up to ${maxReplicas} pods`}, which may land on different nodes and could not mount it; use ReadWriteMany (an RWX StorageClass such as NFS or CephFS)`,
          "ReadWriteOnce",
        ),
      );
    }
    if (r.strategy === "RollingUpdate" && r.replicas <= 1 && m.strategy !== undefined) {
      out.push(problem(`${path}.strategy`, "RollingUpdate with maxSurge 0 and a single replica takes the model down like Recreate but without freeing GPUs first; use Recreate", m.strategy));
    }
  });
  return out;
}

function checkAutoscaling(m: RawModel, path: string): ConfigProblem[] {
  const a = m.autoscaling;
  if (!a) return [];
  const out: ConfigProblem[] = [];
  if (m.replicas !== undefined) {
    out.push(problem(`${path}.replicas`, "set together with autoscaling, which owns the replica count; remove replicas (autoscaling.minReplicas is the floor)", m.replicas));
  }
  if (a.minReplicas > a.maxReplicas) {
    out.push(problem(`${path}.autoscaling.maxReplicas`, `below minReplicas (${a.minReplicas}); maxReplicas must be at least minReplicas`, a.maxReplicas));
  }
  return out;
}

/** Stack-wide settings of the model store and the cluster version. */
export function checkModelStore(raw: RawStackConfig): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (raw.kubernetesVersion !== undefined && Number(raw.kubernetesVersion.split(".")[1]) < 28) {
    out.push(problem("kubernetesVersion", 'older than the Kubernetes modelfleet renders for (cdk8s-plus-28: 1.28 and later); upgrade the cluster or write "1.28"', raw.kubernetesVersion));
  }
  const store = raw.modelStore;
  if (store?.mode === "shared" && store.accessMode === "ReadWriteOnce") {
    out.push(problem("modelStore.accessMode", "ReadWriteOnce, but a shared claim is mounted by every model's pods on many nodes; use ReadWriteMany or mode: perModel", store.accessMode));
  }
  if (store?.sizeGiB !== undefined && store.mode !== "shared") {
    out.push(problem("modelStore.sizeGiB", "sizes the shared claim only; set mode: shared, or size per-model claims with models[].store.sizeGiB", store.sizeGiB));
  }
  if (raw.offline && store?.mode === "off") {
    out.push(problem("modelStore.mode", "off makes engines download at start, and an offline site cannot; use perModel or shared and load the files with `modelfleet bundle load --models-target`", "off"));
  }
  if (raw.gateway && !raw.gateway.inferencePool && (raw.gateway.gatewayName || raw.gateway.endpointPicker || raw.gateway.gatewayNamespace || raw.gateway.provider)) {
    out.push(problem("gateway.inferencePool", "false, but gateway settings are given; set inferencePool: true or remove the gateway block", false));
  }
  const picker = raw.gateway?.endpointPicker;
  const own = picker?.name !== undefined ? `endpointPicker.name (${picker.name})` : picker?.deploy === false ? "endpointPicker.deploy: false" : undefined;
  if (picker?.name !== undefined && picker.deploy === true) {
    out.push(problem("gateway.endpointPicker.deploy", `true, but endpointPicker.name (${picker.name}) names your own picker; remove name to have one deployed per pool, or remove deploy`, true));
  }
  if (own !== undefined) {
    for (const key of ["cpu", "memoryGiB"] as const) {
      if (picker?.[key] !== undefined) out.push(problem(`gateway.endpointPicker.${key}`, `sizes the picker modelfleet deploys, but ${own} says you run your own; remove ${key}, or let modelfleet deploy one per pool`, picker[key]));
    }
  } else if (picker?.port !== undefined) {
    out.push(problem("gateway.endpointPicker.port", "is the port of your own picker Service, but modelfleet deploys the pickers (they listen on 9002); set name or deploy: false, or remove port", picker.port));
  }
  return out;
}

export function checkApiKey(raw: RawStackConfig): ConfigProblem[] {
  if (raw.environment === "production" && raw.requireApiKey === false) {
    return [problem("requireApiKey", "production engines always require an API key; remove requireApiKey (a key is generated when apiKey is not set)", false)];
  }
  return [];
}

/** Registry database settings: external mode needs its URL, in-cluster mode must not carry one. */
export function checkRegistry(raw: RawStackConfig): ConfigProblem[] {
  const r = raw.registry;
  if (!r) return [];
  if (r.mode === "external" && r.url === undefined) {
    return [problem("registry.url", "missing; external mode needs the connection URL as a Pulumi secret: pulumi config set --secret --path registry.url postgres://...")];
  }
  if (r.mode !== "external" && r.url !== undefined) {
    return [problem("registry.url", 'set, but registry.mode is not "external"; set mode: external or remove url')];
  }
  return [];
}

/**
 * An offline site has no route to Hugging Face: a Hugging Face model's files arrive in the model store from the
 * bundle (or from the site registry when oci-pinned), and draft models are not delivered.
 */
export function checkOffline(raw: RawStackConfig): ConfigProblem[] {
  if (!raw.offline) return [];
  return raw.models.flatMap((m, i) => {
    const out: ConfigProblem[] = [];
    if (m.vllm?.speculative !== undefined) {
      out.push(problem(`models[${i}].vllm.speculative`, "a draft model from Hugging Face cannot be downloaded offline; remove speculative for offline stacks"));
    }
    return out;
  });
}
