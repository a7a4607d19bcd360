import type { EngineContract } from "./types.js";

/**
 * llama.cpp `llama-server` at build b11206 (`ghcr.io/ggml-org/llama.cpp:server-cuda-b11206`, every stack's pin).
 *
 * Sources. Repository github.com/ggml-org/llama.cpp (1.4 GB, over the fetch limit here). The public code index stores
 * single files at assorted commits, shows no dates, and holds no version at a commit known to be tag b11206; it also
 * files some non-upstream commits under this repository (common/arg.cpp@0017d6fb… carries a fork's "tessera" flags),
 * so a stored commit is evidence of what that file said there, not proof of upstream at b11206. Each fact below names
 * the stored `file@commit` it was read in. Neither engine was built or run here (no GPU; no CPU build attempted).
 *
 * - flags: `common/arg.cpp@145b6280d6aa1890e22457143dad0badb3fd6820` — `-m/--model` (sets `model.path`),
 *   `-mu/--model-url` (sets `model.url`), `-a/--alias`, `-c/--ctx-size`, `-np/--parallel`,
 *   `-ngl/--gpu-layers/--n-gpu-layers`, `-t/--threads`, `--host`, `--port`, `--metrics`, `--api-key` (env
 *   LLAMA_API_KEY), `--api-key-file` (one key per line), `--offline` (env LLAMA_OFFLINE), `--webui/--no-webui`,
 *   `--slots/--no-slots`. An unknown argument throws "error: invalid argument: <arg>" and the server exits; the parser
 *   looks the whole token up, so `--flag=value` is not a spelling llama-server accepts (our builders never use it).
 *   The CORS flags are not in that copy; they are taken from `common/common.h@001d906a6d86e2490e394361e7cc6f478b100088`
 *   (fields `cors_origins`, `cors_methods`, `cors_headers`, `cors_credentials`) and the issue's reading of arg.cpp
 *   (`--cors-origins`, `--cors-methods`, `--cors-headers`, `--cors-credentials/--no-cors-credentials`).
 * - router mode: `tools/server/server.cpp@00dd0816129a5210351c78bb90e0828f8eb69f99` — `is_router_server =
 *   params.model.path.empty() && params.model.hf_repo.empty()`, decided before any download (single-model mode calls
 *   `common_params_handle_models` only when it is false); a router logs "starting router server, no model will be
 *   loaded in this process" and marks itself ready at once. `--model-url` sets neither field, so there `--model-url`
 *   alone gives a router. In the older `common/arg.cpp@145b6280d6aa1890e22457143dad0badb3fd6820` the model is
 *   resolved while parsing (`common_params_handle_model`: a URL with no path gets a cache-file path, then downloads),
 *   so there `--model-url` alone still loaded a model. Which behaviour b11206 has was not read; always passing a local
 *   `-m <path>` is right for both. With `-m` and `--model-url` together, both copies keep the given path and download
 *   the URL to it (`common_download_model(model, …)`).
 * - auth: `tools/server/server-http.cpp@00dd0816129a5210351c78bb90e0828f8eb69f99`, `middleware_validate_api_key` —
 *   public paths are `/health`, `/v1/health`, `/models`, `/v1/models`, `/` and the UI's assets (server.cpp at the same
 *   commit marks GET /models and /v1/models "public endpoint (no API key check)"); every other path, `/metrics`
 *   included, needs `Authorization: Bearer <key>` or `X-Api-Key`. The earlier version of this contract listed
 *   /v1/models as guarded; the source read says open, so it is open here.
 * - readiness: same file and commit, `middleware_server_state` — until `is_ready` every path, /health included,
 *   answers 503 "Loading model"; server.cpp sets `is_ready` only after `load_model` succeeds. (The older copy
 *   `tools/server/server-http.cpp@aa6192d38defc9a5d9fb2987413f71b18f214270` let /models answer while loading.)
 * - CORS: `common/common.h@001d906a6d86e2490e394361e7cc6f478b100088` — `cors_origins = "*"`,
 *   `cors_methods = "GET, POST, DELETE, OPTIONS"`, `cors_headers = "*"`, `cors_credentials = false`. Both stored
 *   server-http.cpp copies predate the CORS flags: their pre-routing handler copies the request's Origin into
 *   `Access-Control-Allow-Origin` for every request and answers OPTIONS with `Access-Control-Allow-Credentials: true`.
 *   The credentials default at b11206 itself could not be read, so `defaultCredentials` stays `true` (the issue's
 *   reading, and what the older handler did) and the builders always pass `--no-cors-credentials`. That the value of
 *   `--cors-origins` is written verbatim into the header (one origin per server) is the issue's reading; no stored
 *   server-http.cpp has the new handler, so the config rule allowing one origin is kept as the safe side.
 * - ctx split: `tools/server/server-context.cpp@fb4026604c67c682f552337ec9b91eced0abd35a` — each slot gets
 *   `n_ctx_slot = llama_n_ctx_seq(ctx)`, capped at the model's training context; without a unified KV cache that is
 *   `--ctx-size` ÷ `--parallel` (`kv_unified = false` by default, common.h@001d906; `-kvu` in arg.cpp@145b628 turns it
 *   on). So `--ctx-size` = ctxSize × parallel gives each request ctxSize tokens.
 * - metrics: server-context.cpp@fb40266, `get_metrics` — only with `--metrics` ("This server does not support metrics
 *   endpoint. Start it with `--metrics`" otherwise), names `llamacpp:` + the 7 counters and 4 gauges listed below, no
 *   labels. `llamacpp:requests_deferred` (`n_tasks_deferred`, tasks waiting for a free slot) and
 *   `llamacpp:requests_processing` (`n_processing_slots`) are in its gauge group: the queue and running gauges. There is
 *   no KV-cache utilisation gauge (older builds' `llamacpp:kv_cache_usage_ratio` is not in that copy).
 * - SIGTERM: `tools/server/server.cpp@00dd0816129a5210351c78bb90e0828f8eb69f99` — `sigaction(SIGTERM, …)` runs
 *   `signal_handler`, which (first signal) calls `shutdown_handler`: in single-model mode `ctx_server.terminate()`,
 *   which unblocks `start_loop()`; `main` then runs `clean_up()` (`ctx_http.stop()`, `ctx_server.terminate()`,
 *   `llama_backend_free()`) and exits. Nothing waits for running slots: in-flight generations stop where they are. A
 *   second signal calls `exit(1)`. No flag sets a drain timeout.
 */
export const LLAMACPP_B11206: EngineContract = {
  engine: "llamacpp",
  version: "b11206",
  source:
    "github.com/ggml-org/llama.cpp, stored copies (b11206 itself is not stored): common/arg.cpp@145b6280d6aa1890e22457143dad0badb3fd6820, " +
    "tools/server/server.cpp@00dd0816129a5210351c78bb90e0828f8eb69f99, tools/server/server-http.cpp@00dd0816129a5210351c78bb90e0828f8eb69f99, " +
    "tools/server/server-context.cpp@fb4026604c67c682f552337ec9b91eced0abd35a, common/common.h@001d906a6d86e2490e394361e7cc6f478b100088",
  command: ["/app/llama-server"],
  positionalModel: false,
  // arg.cpp@145b628, common_params_parse_ex: `arg_to_options.find(arg)` on the whole token, else "invalid argument".
  inlineValues: false,
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
  auth: { kind: "allExcept", open: ["/health", "/v1/health", "/models", "/v1/models", "/"] },
  readiness: {
    ready: "/health",
    live: "/health",
    semantics: "every path (/health included) answers 503 \"Loading model\" until the model is loaded, then /health answers 200 without the key; in router mode (no -m) it answers 200 with no model loaded",
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
  queueMetric: "llamacpp:requests_deferred",
  runningMetric: "llamacpp:requests_processing",
  shutdown: {
    drainsInFlight: false,
    drainSeconds: 0,
    // Stopping the HTTP thread and freeing the backend: no engine subprocesses to wait for.
    exitSeconds: 10,
    onSigterm:
      "ctx_server.terminate() unblocks the task loop, then clean_up() stops the HTTP server and frees the backend: " +
      "generations in flight stop, their streams end early; a second signal exits at once",
    source: "tools/server/server.cpp@00dd0816129a5210351c78bb90e0828f8eb69f99 (signal_handler, shutdown_handler, clean_up)",
  },
};
