import { SERVICE_PORT } from "../../config/resolve.js";
import type { ResolvedLlamaCppModel, StackContext } from "../../config/types.js";
import { contractForBuild, hasFlag, type EngineContract } from "../../config/engines/index.js";
import { MOUNTS, SECRET_KEYS, type EngineContainer } from "./engine-container.js";
import { localModelDir, readsLocalCopy } from "../models/paths.js";

/**
 * The origin llama-server is given when the stack allows none: `.invalid` can never resolve (RFC 2606), so no page
 * has this origin and no browser is let in. llama-server has no "allow none" value, and without the flag it allows
 * every origin.
 */
export const NO_CROSS_ORIGIN = "https://no-cross-origin.invalid";

/**
 * Where the GGUF file is read from: the user's claim; the model's folder in the store or image volume
 * (components/models/paths.ts); or, only when the stack downloads at start (`modelStore.mode: off`), the cache volume,
 * downloaded there by llama-server from a revision-pinned URL. The local `-m` path is what keeps llama-server out of
 * router mode: with `--model-url` alone its model path is empty and it serves no model (config/engines/llamacpp-b11206.ts).
 */
export function llamaCppModelFiles(model: ResolvedLlamaCppModel): { readonly path: string; readonly url?: string } {
  const s = model.source;
  if (s.kind === "pvc") return { path: `${MOUNTS.models}/${s.path}` };
  // Config rules require source.file for llama.cpp; resolve/<commit>/<file> pins the exact bytes (a branch would drift).
  const file = s.file ?? "model.gguf";
  const local = localModelDir(model);
  if (local !== undefined) return { path: `${local}/${file}` };
  return { path: `${MOUNTS.cache}/${file}`, url: `https://huggingface.co/${s.repo}/resolve/${s.revision}/${file}` };
}

/** The one origin llama-server echoes (it writes the value verbatim, so it can hold only one; config rules keep it so). */
export function llamaCppCorsOrigin(ctx: StackContext): string {
  return ctx.allowedOrigins[0] ?? NO_CROSS_ORIGIN;
}

/**
 * `llama-server` with every setting explicit, limited to the flags the pinned build's contract has.
 * - always `-m <local path>`; only when the stack downloads at start also `--model-url` (download to that path);
 *   `--offline` for a store or image-volume copy and in an offline stack;
 * - `ctxSize` is the context per request: llama-server splits `--ctx-size` across `--parallel` slots, so it gets
 *   ctxSize × parallel (both shown in the ConfigMap);
 * - CORS closed: `--cors-origins <the stack's one origin>` and `--no-cors-credentials` (its defaults are `*` with
 *   credentials, which echoes any Origin).
 */
export function llamaCppContainer(model: ResolvedLlamaCppModel, ctx: StackContext, contract: EngineContract = contractForBuild("llamacpp", ctx.pins.llamacpp)): EngineContainer {
  const l = model.llamacpp;
  const offline = ctx.offline !== undefined;
  const apiKeyFile = ctx.apiKey === "none" ? undefined : `${MOUNTS.secrets}/${SECRET_KEYS.apiKey}`;
  const files = llamaCppModelFiles(model);
  const ctxSizeTotal = l.ctxSize * l.parallel;
  const origin = llamaCppCorsOrigin(ctx);
  const has = (flag: string): boolean => hasFlag(contract, flag);
  const args: string[] = [
    "--model", files.path,
    ...(files.url === undefined ? [] : ["--model-url", files.url]),
    "--host", "0.0.0.0",
    "--port", String(SERVICE_PORT),
    "--metrics",
    "--alias", model.servedModelName,
    "--ctx-size", String(ctxSizeTotal),
    "--n-gpu-layers", String(l.gpuLayers),
    "--parallel", String(l.parallel),
    ...(l.threads === undefined ? [] : ["--threads", String(l.threads)]),
    ...(apiKeyFile === undefined ? [] : ["--api-key-file", apiKeyFile]),
    ...(has(contract.cors.originsFlag) ? [contract.cors.originsFlag, origin] : []),
    ...(contract.cors.credentialsOffFlag !== undefined && has(contract.cors.credentialsOffFlag) ? [contract.cors.credentialsOffFlag] : []),
    ...((offline || readsLocalCopy(model)) && has("--offline") ? ["--offline"] : []),
  ];
  return {
    command: [...contract.command],
    args,
    env: {
      HOME: MOUNTS.home,
      LLAMA_CACHE: `${MOUNTS.cache}/llama.cpp`,
    },
    // The token is for llama-server's own download; an engine reading a local copy never gets it.
    secretEnv: ctx.hfToken && !offline && !readsLocalCopy(model) ? { HF_TOKEN: SECRET_KEYS.hfToken } : {},
    ...(apiKeyFile === undefined ? {} : { apiKeyFile }),
    // /health answers 503 until the model is loaded and needs no API key (config/engines/llamacpp-b11206.ts, readiness).
    readinessPath: contract.readiness.ready,
    livenessPath: contract.readiness.live,
    shmGiB: 1,
    settings: {
      engine: "llamacpp",
      engineVersion: contract.version,
      model: files.path,
      ...(files.url === undefined ? {} : { modelUrl: files.url }),
      delivery: model.delivery.kind,
      servedModelName: model.servedModelName,
      ctxSize: String(l.ctxSize),
      ctxSizeTotal: String(ctxSizeTotal),
      gpuLayers: String(l.gpuLayers),
      parallel: String(l.parallel),
      ...(l.threads === undefined ? {} : { threads: String(l.threads) }),
      corsOrigin: origin,
      endpoint: model.endpoint,
    },
  };
}
