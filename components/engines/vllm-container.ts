import { SERVICE_PORT } from "../../config/resolve.js";
import type { ResolvedVllmModel, StackContext } from "../../config/types.js";
import { contractForBuild, type EngineContract } from "../../config/engines/index.js";
import { MOUNTS, SECRET_KEYS, type EngineContainer } from "./engine-container.js";
import { localDraftDir, localModelDir, readsLocalCopy } from "../models/paths.js";

/** The user name vLLM pods report: uid 1000 has no /etc/passwd entry in the image, and getpass.getuser() needs one of USER/LOGNAME. */
export const VLLM_USER = "modelfleet";

/** Shared memory for tensor/pipeline parallel workers (NCCL); 1 GiB covers a single-GPU engine. */
export function vllmShmGiB(model: ResolvedVllmModel): number {
  const workers = model.vllm.tensorParallelSize * model.vllm.pipelineParallelSize;
  return workers > 1 ? 2 * workers : 1;
}

/**
 * The model argument of `vllm serve`: the local folder of a store or image-volume delivery (the same path in both,
 * components/models/paths.ts), the directory on the user's claim, or — only when the stack downloads at start — the
 * Hugging Face repo id. A GGUF model is one file, so vLLM's GGUF loader gets `<folder>/<file>` (or `<repo>/<file>`).
 */
function modelArgument(model: ResolvedVllmModel): string {
  const s = model.source;
  if (s.kind === "pvc") return `${MOUNTS.models}/${s.path}`;
  const base = localModelDir(model) ?? s.repo;
  return model.vllm.quantization === "gguf" && s.file !== undefined ? `${base}/${s.file}` : base;
}

/**
 * `--speculative-config` as JSON; `method` is rendered when the config names one (vLLM infers draft_model otherwise).
 * The draft is its folder in the model store when the model has one (fetched by its own Job), else the repo id with
 * its revision.
 */
function speculativeConfig(model: ResolvedVllmModel): string | undefined {
  const declared = model.vllm.speculative;
  if (declared === undefined) return undefined;
  const spec: NonNullable<ResolvedVllmModel["vllm"]["speculative"]> & { readonly method?: string } = declared;
  const local = localDraftDir(model);
  return JSON.stringify({
    ...(spec.method === undefined ? {} : { method: spec.method }),
    model: local ?? spec.repo,
    num_speculative_tokens: spec.numSpeculativeTokens,
    ...(local === undefined ? { revision: spec.revision } : {}),
  });
}

/**
 * `vllm serve` with every setting explicit. The image's own entrypoint is replaced so the command line is the one
 * shown here. `--allowed-origins` is always passed: vLLM allows every origin when it is absent. The API key comes
 * from `VLLM_API_KEY` (read by vLLM when `--api-key` is not given), so it never appears in the pod spec or `ps`.
 */
export function vllmContainer(model: ResolvedVllmModel, ctx: StackContext, contract: EngineContract = contractForBuild("vllm", ctx.pins.vllm)): EngineContainer {
  const v = model.vllm;
  const speculative = speculativeConfig(model);
  // Only `modelStore.mode: off` downloads at start; every other delivery reads a local copy and must stay offline.
  const downloads = model.delivery.kind === "download" && model.source.kind === "huggingFace";
  const local = readsLocalCopy(model);
  const args: string[] = [
    modelArgument(model),
    ...(downloads ? ["--revision", model.source.revision] : []),
    "--host", "0.0.0.0",
    "--port", String(SERVICE_PORT),
    "--served-model-name", model.servedModelName,
    "--allowed-origins", JSON.stringify(ctx.allowedOrigins),
    "--tensor-parallel-size", String(v.tensorParallelSize),
    "--pipeline-parallel-size", String(v.pipelineParallelSize),
    "--gpu-memory-utilization", String(v.gpuMemoryUtilization),
    "--dtype", v.dtype,
    ...(v.maxModelLen === undefined ? [] : ["--max-model-len", String(v.maxModelLen)]),
    ...(v.quantization === undefined ? [] : ["--quantization", v.quantization]),
    ...(v.enforceEager ? ["--enforce-eager"] : []),
    ...(speculative === undefined ? [] : ["--speculative-config", speculative]),
  ];
  const offline = ctx.offline !== undefined;
  const env: Record<string, string> = {
    DO_NOT_TRACK: "1",
    HF_HOME: `${MOUNTS.cache}/huggingface`,
    HOME: MOUNTS.home,
    LOGNAME: VLLM_USER,
    USER: VLLM_USER,
    VLLM_CACHE_ROOT: `${MOUNTS.cache}/vllm`,
    VLLM_NO_USAGE_STATS: "1",
    XDG_CACHE_HOME: `${MOUNTS.cache}/xdg`,
    ...(offline || local ? { HF_HUB_OFFLINE: "1", TRANSFORMERS_OFFLINE: "1" } : {}),
  };
  const secretEnv: Record<string, string> = {
    ...(ctx.apiKey === "none" ? {} : { VLLM_API_KEY: SECRET_KEYS.apiKey }),
    // The token is for downloads: an engine reading a local copy never gets it.
    ...(ctx.hfToken && !offline && !local ? { HF_TOKEN: SECRET_KEYS.hfToken } : {}),
  };
  return {
    command: [...contract.command],
    args,
    env,
    secretEnv,
    // With an API key, vLLM guards /v1/* (so /v1/models would answer 401 to the kubelet); /health stays open and
    // only answers once the engine has loaded the model.
    readinessPath: ctx.apiKey === "none" ? "/v1/models" : "/health",
    livenessPath: "/health",
    shmGiB: vllmShmGiB(model),
    settings: {
      engine: "vllm",
      engineVersion: contract.version,
      model: modelArgument(model),
      ...(model.source.kind === "huggingFace" ? { revision: model.source.revision } : {}),
      delivery: model.delivery.kind,
      servedModelName: model.servedModelName,
      tensorParallelSize: String(v.tensorParallelSize),
      pipelineParallelSize: String(v.pipelineParallelSize),
      gpuMemoryUtilization: String(v.gpuMemoryUtilization),
      dtype: v.dtype,
      ...(v.maxModelLen === undefined ? {} : { maxModelLen: String(v.maxModelLen) }),
      ...(v.quantization === undefined ? {} : { quantization: v.quantization }),
      enforceEager: String(v.enforceEager),
      ...(v.speculative === undefined ? {} : { speculativeModel: `${v.speculative.repo}@${v.speculative.revision}` }),
      allowedOrigins: JSON.stringify(ctx.allowedOrigins),
      endpoint: model.endpoint,
    },
  };
}
