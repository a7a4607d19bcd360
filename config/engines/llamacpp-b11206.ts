import type { EngineContract } from "./types.js";

/**
 * llama.cpp `llama-server` at build b11206 (`ghcr.io/ggml-org/llama.cpp:server-cuda-b11206`, every stack's pin).
 * Source: github.com/ggml-org/llama.cpp. The repository snapshot (1.4 GB) is over the fetch limit here, so the tag
 * itself could not be checked out; the facts below were read from the public code index's copies of the files named,
 * from builds after b10010 (when the CORS flags appeared) — the nearest versions available, not b11206 itself:
 * - flags and env twins: `common/arg.cpp` (`add_opt(common_arg({"--cors-origins"}, …).set_env("LLAMA_ARG_CORS_ORIGINS"))`,
 *   `{"--cors-credentials"}, {"--no-cors-credentials"}`, `{"--offline"}` (env LLAMA_OFFLINE), `{"-m", "--model"}`,
 *   `{"-mu", "--model-url"}`, `{"--api-key-file"}`, `{"--metrics"}`, `{"-np", "--parallel"}`, `{"-c", "--ctx-size"}`).
 * - CORS defaults: `common/common.h`, `cors_origins = "*"`, `cors_credentials = true`.
 * - CORS behaviour: `tools/server/server-http.cpp`, pre-routing handler: with credentials on and origins "*" the
 *   request's Origin is echoed back (any page, with credentials); "localhost" echoes only localhost origins;
 *   anything else is written verbatim into `Access-Control-Allow-Origin` — so exactly one origin works per server.
 *   OPTIONS answers with `Access-Control-Allow-Credentials: true|false` from the flag.
 * - auth: same file, `middleware_validate_api_key`: public paths are `/health`, `/v1/health` and the web UI's assets;
 *   everything else (including `/metrics` and `/v1/models`) needs `Authorization: Bearer <key>` or `X-Api-Key`.
 * - readiness: same file, `middleware_server_state`: until the model is loaded every API path answers 503
 *   "Loading model"; `/health` then answers 200.
 * - router mode: `tools/server/server.cpp`, `is_router_server = params.model.path.empty()`, decided before any
 *   download; in router mode the server logs "starting server in router mode", answers /health 200, loads nothing
 *   and answers completions for unknown models with an error. `--model-url` alone leaves `model.path` empty, so a
 *   local `-m <path>` must always be given (with `--model-url`, llama-server downloads the URL to that path).
 * - `--parallel N` splits `--ctx-size` across N slots (`n_ctx_slot = n_ctx / n_parallel`, tools/server), so the
 *   context one request gets is ctx-size ÷ parallel.
 * - metrics: `tools/server/server-context.cpp`, `/metrics` (only with `--metrics`), prefix `llamacpp:`.
 * Not confirmed by running a b11206 build here (no GPU, and a CPU build from source was not attempted in the time).
 */
export const LLAMACPP_B11206: EngineContract = {
  engine: "llamacpp",
  version: "b11206",
  source: "github.com/ggml-org/llama.cpp (indexed copies of common/arg.cpp, common/common.h, tools/server/server-http.cpp, tools/server/server.cpp after b10010; b11206 itself not checked out)",
  command: ["/app/llama-server"],
  positionalModel: false,
  flags: {
    "--model": { value: { kind: "path" }, aliases: ["-m"] },
    "--model-url": { value: { kind: "url" }, aliases: ["-mu"] },
    "--offline": { value: { kind: "switch" } },
    "--host": { value: { kind: "string" } },
    "--port": { value: { kind: "int", min: 1 } },
    "--metrics": { value: { kind: "switch" } },
    "--alias": { value: { kind: "string" }, aliases: ["-a"] },
    "--ctx-size": { value: { kind: "int", min: 0 }, aliases: ["-c"] },
    "--n-gpu-layers": { value: { kind: "int", min: 0 }, aliases: ["-ngl", "--gpu-layers"] },
    "--parallel": { value: { kind: "int", min: 1 }, aliases: ["-np"] },
    "--threads": { value: { kind: "int", min: 1 }, aliases: ["-t"] },
    "--api-key": { value: { kind: "string" } },
    "--api-key-file": { value: { kind: "path" } },
    "--cors-origins": { value: { kind: "string" } },
    "--cors-methods": { value: { kind: "string" } },
    "--cors-headers": { value: { kind: "string" } },
    "--cors-credentials": { value: { kind: "switch" } },
    "--no-cors-credentials": { value: { kind: "switch" } },
    "--no-webui": { value: { kind: "switch" }, aliases: ["--no-ui"] },
    "--no-slots": { value: { kind: "switch" } },
  },
  env: {
    LLAMA_CACHE: "download cache directory (common/common.cpp fs_get_cache_directory)",
    HF_TOKEN: "token for gated Hugging Face downloads (common/arg.cpp)",
    LLAMA_API_KEY: "API key (env twin of --api-key)",
    LLAMA_OFFLINE: "env twin of --offline",
    LLAMA_ARG_CORS_ORIGINS: "env twin of --cors-origins",
    HOME: "home directory",
  },
  requiredEnv: [],
  apiKey: { flags: ["--api-key", "--api-key-file"], env: ["LLAMA_API_KEY"] },
  auth: { kind: "allExcept", open: ["/health", "/v1/health"] },
  readiness: {
    ready: "/health",
    live: "/health",
    semantics: "/health answers 503 until the model is loaded, then 200, and never needs the key; in router mode (no -m) it answers 200 with no model loaded",
  },
  metrics: {
    path: "/metrics",
    names: [
      "llamacpp:prompt_tokens_total",
      "llamacpp:prompt_seconds_total",
      "llamacpp:tokens_predicted_total",
      "llamacpp:tokens_predicted_seconds_total",
      "llamacpp:n_decode_total",
      "llamacpp:n_busy_slots_per_decode",
      "llamacpp:prompt_tokens_seconds",
      "llamacpp:predicted_tokens_seconds",
      "llamacpp:requests_processing",
      "llamacpp:requests_deferred",
      "llamacpp:n_tokens_max",
    ],
    labels: [],
  },
  cors: {
    originsFlag: "--cors-origins",
    originsFormat: "verbatimSingle",
    defaultOrigins: "*",
    credentialsOffFlag: "--no-cors-credentials",
    defaultCredentials: true,
  },
};
