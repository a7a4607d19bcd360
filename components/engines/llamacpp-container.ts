import { SERVICE_PORT } from "../../stacks/config/resolve.js";
import type { ResolvedLlamaCppModel, StackContext } from "../../stacks/config/types.js";
import { MOUNTS, SECRET_KEYS, type EngineContainer } from "./engine-container.js";

/** The GGUF file: downloaded by llama-server from a pinned Hugging Face URL, or read from the model claim. */
function modelArguments(model: ResolvedLlamaCppModel): string[] {
  const s = model.source;
  if (s.kind === "pvc") return ["--model", `${MOUNTS.models}/${s.path}`];
  // resolve/<commit>/<file> pins the exact bytes; a branch name here would drift.
  return ["--model-url", `https://huggingface.co/${s.repo}/resolve/${s.revision}/${s.file ?? ""}`];
}

/**
 * `llama-server` with every setting explicit. It has no CORS setting (it answers any Origin), which is why its
 * NetworkPolicy admits only the router and monitoring: the router is the origin-restricting front.
 */
export function llamaCppContainer(model: ResolvedLlamaCppModel, ctx: StackContext): EngineContainer {
  const l = model.llamacpp;
  const offline = ctx.offline !== undefined;
  const apiKeyFile = ctx.apiKey === "none" ? undefined : `${MOUNTS.secrets}/${SECRET_KEYS.apiKey}`;
  const args: string[] = [
    ...modelArguments(model),
    "--host", "0.0.0.0",
    "--port", String(SERVICE_PORT),
    "--metrics",
    "--alias", model.servedModelName,
    "--ctx-size", String(l.ctxSize),
    "--n-gpu-layers", String(l.gpuLayers),
    "--parallel", String(l.parallel),
    ...(l.threads === undefined ? [] : ["--threads", String(l.threads)]),
    ...(apiKeyFile === undefined ? [] : ["--api-key-file", apiKeyFile]),
    ...(offline ? ["--offline"] : []),
  ];
  return {
    command: ["/app/llama-server"],
    args,
    env: {
      HOME: MOUNTS.home,
      LLAMA_CACHE: `${MOUNTS.cache}/llama.cpp`,
    },
    secretEnv: ctx.hfToken && !offline ? { HF_TOKEN: SECRET_KEYS.hfToken } : {},
    ...(apiKeyFile === undefined ? {} : { apiKeyFile }),
    // /health answers 503 until the model is loaded and needs no API key.
    readinessPath: "/health",
    livenessPath: "/health",
    shmGiB: 1,
    settings: {
      engine: "llamacpp",
      model: modelArguments(model)[1] ?? "",
      servedModelName: model.servedModelName,
      ctxSize: String(l.ctxSize),
      gpuLayers: String(l.gpuLayers),
      parallel: String(l.parallel),
      ...(l.threads === undefined ? {} : { threads: String(l.threads) }),
      endpoint: model.endpoint,
    },
  };
}
