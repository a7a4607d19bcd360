import type { EngineContract, FlagSpec, ShutdownContract } from "./types.js";

/**
 * What the vLLM contracts share, and where each fact was read.
 *
 * Repository github.com/vllm-project/vllm (1.1 GB, over the fetch limit here). The public code index stores single
 * files at assorted commits and shows no dates; none of the versions found is at the v0.10.2 or v0.11.0 tag commit
 * (a version can only be asked for by its commit, and the tag commits could not be learnt here). Each fact names the
 * stored `file@commit` it was re-read in and whether that copy is older or newer than the pins (judged from its
 * content). Neither engine was built or run here (no GPU).
 *
 * - frontend flags and CORS defaults: `vllm/entrypoints/openai/cli_args.py@005223338608bc94fd165a4f976c102a57bd1fc4`
 *   (newer than both pins) — FrontendArgs `host`, `port`, `allow_credentials: bool = False`,
 *   `allowed_origins / allowed_methods / allowed_headers: list[str] = ["*"]`, the three parsed with `json.loads`,
 *   `api_key: list[str] | None`.
 * - auth: `vllm/entrypoints/openai/api_server.py@048027fbbdb8c252560205a6159ba3288ede291e` (newer than both pins) —
 *   `tokens = [key for key in (args.api_key or [envs.VLLM_API_KEY]) if key]`; `AuthenticationMiddleware` skips
 *   OPTIONS and every path not starting with "/v1", so /health, /metrics, /ping are open and /v1/models is guarded.
 *   The same copy adds `CORSMiddleware(allow_origins=args.allowed_origins, allow_credentials=args.allow_credentials,
 *   …)`. The issue (#10) read the same "/v1 only" rule at both pinned tags.
 * - readiness: same api_server.py — `setup_server` binds the socket before the engine is built, but the app is built
 *   and served only after `build_async_engine_client` has returned (model loaded), so nothing answers /health before.
 * - speculative decoding: `vllm/config/speculative.py@f19b16d95e4395790661f4835e4436bc3dd5d9c7` (newer than both pins:
 *   it knows Qwen3.5 MTP) — with a draft `model` and no `method`, the method is detected from the draft's name
 *   ("eagle-", "eagle3") or `model_type` (medusa, mlp_speculator, MTP types); when nothing matches and method is not
 *   "draft_model" it raises `NotImplementedError("Unsupported speculative method: 'None'")`. At both pinned tags the
 *   fall-back was "draft_model", which their V1 engine rejected (issue #10's reading). Either way a draft without a
 *   `method` fails unless its name or config gives the kind away, hence the config rule requiring `method`.
 *   In that copy the per-model MTP names (`deepseek_mtp`, …) are deprecated aliases of `mtp` (a warning, still run).
 * - GGUF: `vllm/model_executor/model_loader/gguf_loader.py@0328802bed2bb6ca346ea10acb61221a0c607768` —
 *   `_prepare_weights` accepts a local file, an http(s) URL ending in .gguf, or `<repo_id>/<filename>.gguf`, else
 *   raises `ValueError("Unrecognised GGUF reference …")`. Note: the `<repo>/<file>.gguf` form is fetched with
 *   `hf_hub_download(repo_id, filename)` and no revision, so `--revision` does not pin the GGUF file's bytes.
 * - metrics: `vllm/v1/metrics/loggers.py@a6f0308cfe806b7731ad4979c9bea6e470c35efd` (older than both pins) —
 *   PrometheusStatLogger, labels `model_name` and `engine`; `vllm:request_success_total` adds `finished_reason`;
 *   `vllm:generation_tokens_total`, `vllm:e2e_request_latency_seconds` (the names our dashboards read),
 *   `vllm:prompt_tokens_total`, `vllm:num_requests_running/waiting`, the request histograms. The two
 *   `vllm:prefix_cache_*` names are the issue's reading for the pinned tags (that older copy calls them
 *   `vllm:gpu_prefix_cache_*`); no dashboard reads them.
 * - queue and KV-cache gauges: `vllm/v1/metrics/loggers.py@005a810bc40faa25b8870fbc8559c3462581eee3` (a v0.10-era
 *   copy: it has the data-parallel `engine_indexes`) — `vllm:num_requests_waiting` (requests queued in the scheduler)
 *   and `vllm:num_requests_running`, Gauges labelled `model_name` and `engine`, and `vllm:kv_cache_usage_perc` (0..1),
 *   which replaced `vllm:gpu_cache_usage_perc` (deprecated in 0.9, hidden one minor release later: not listed here).
 *   The autoscalers scale on `vllm:num_requests_waiting` (docs/design/autoscaling-and-gateway.md §3).
 * - SIGTERM: `vllm/entrypoints/launcher.py@02828a12936935499c31449aca820543a8403c28` (newer than both pins) —
 *   `serve_http` installs `loop.add_signal_handler(SIGTERM, signal_handler)`, whose handler only cancels the uvicorn
 *   serve task; `serve_http` then returns `server.shutdown()` unawaited. `run_server_worker` in
 *   `vllm/entrypoints/openai/api_server.py@048027fbbdb8c252560205a6159ba3288ede291e` calls `serve_http` inside
 *   `async with build_async_engine_client(...)` and awaits that shutdown only after the block ("NB: Await server
 *   shutdown only after the backend context is exited"), so the engine is shut down while requests are in flight:
 *   running streams end without their remaining tokens. No flag or env var of the pinned releases waits for them;
 *   a later `--shutdown-timeout` (vllm PRs #34730/#36666, 2026) is not in these contracts.
 * - env: `vllm/envs.py` (VLLM_API_KEY, read in api_server.py above; VLLM_CACHE_ROOT, VLLM_NO_USAGE_STATS,
 *   DO_NOT_TRACK) and huggingface_hub (HF_HOME, HF_TOKEN, HF_HUB_OFFLINE): earlier reading, not re-read.
 * - USER/LOGNAME: Python's `getpass.getuser()` reads LOGNAME, USER, LNAME, USERNAME, then falls back to the passwd
 *   entry of the uid and raises when there is none; torch inductor calls it. Our pods run as uid 1000, which the
 *   image does not list.
 * - engine flags (`vllm/engine/arg_utils.py`: --revision, --tensor-parallel-size/-tp, --dtype, --quantization, …) and
 *   `vllm serve <model>`: earlier reading, not re-read here.
 */
export const VLLM_FLAGS: Readonly<Record<string, FlagSpec>> = {
  "--revision": { value: { kind: "string" } },
  "--tokenizer": { value: { kind: "string" } },
  "--host": { value: { kind: "string" } },
  "--port": { value: { kind: "int", min: 1 } },
  "--served-model-name": { value: { kind: "string" } },
  "--api-key": { value: { kind: "string" } },
  "--allowed-origins": { value: { kind: "jsonList" } },
  "--allowed-methods": { value: { kind: "jsonList" } },
  "--allowed-headers": { value: { kind: "jsonList" } },
  "--allow-credentials": { value: { kind: "switch" } },
  "--tensor-parallel-size": { value: { kind: "int", min: 1 }, aliases: ["-tp"] },
  "--pipeline-parallel-size": { value: { kind: "int", min: 1 }, aliases: ["-pp"] },
  "--gpu-memory-utilization": { value: { kind: "float", min: 0, max: 1 } },
  "--dtype": { value: { kind: "enum", values: ["auto", "half", "float16", "bfloat16", "float", "float32"] } },
  "--max-model-len": { value: { kind: "int", min: 1 } },
  "--max-num-seqs": { value: { kind: "int", min: 1 } },
  "--quantization": {
    value: {
      kind: "enum",
      values: ["awq", "awq_marlin", "gptq", "gptq_marlin", "fp8", "bitsandbytes", "compressed-tensors", "gguf", "modelopt", "experts_int8"],
    },
    aliases: ["-q"],
  },
  "--enforce-eager": { value: { kind: "switch" } },
  "--speculative-config": { value: { kind: "json" } },
  "--download-dir": { value: { kind: "path" } },
  "--trust-remote-code": { value: { kind: "switch" } },
  "--enable-prefix-caching": { value: { kind: "switch" } },
};

/**
 * Speculative methods that work with the V1 engine of v0.10.2 and v0.11.0 (`vllm/config/speculative.py`,
 * `vllm/v1/spec_decode/`): n-gram needs no draft repo, the others name a draft repo of their kind. "draft_model"
 * (a plain smaller model) is in the Literal but raises NotImplementedError at both tags, so it is not listed.
 */
export const VLLM_SPECULATIVE_METHODS = ["ngram", "eagle", "eagle3", "medusa", "mlp_speculator", "deepseek_mtp"] as const;

/** Names the Prometheus logger of both tags exports (`vllm/v1/metrics/loggers.py`); histograms add _bucket/_sum/_count. */
export const VLLM_METRICS = [
  "vllm:num_requests_running",
  "vllm:num_requests_waiting",
  "vllm:kv_cache_usage_perc",
  "vllm:num_preemptions_total",
  "vllm:prompt_tokens_total",
  "vllm:generation_tokens_total",
  "vllm:request_success_total",
  "vllm:request_prompt_tokens",
  "vllm:request_generation_tokens",
  "vllm:iteration_tokens_total",
  "vllm:request_params_n",
  "vllm:request_params_max_tokens",
  "vllm:time_to_first_token_seconds",
  "vllm:time_per_output_token_seconds",
  "vllm:e2e_request_latency_seconds",
  "vllm:request_queue_time_seconds",
  "vllm:request_inference_time_seconds",
  "vllm:request_prefill_time_seconds",
  "vllm:request_decode_time_seconds",
  "vllm:prefix_cache_queries_total",
  "vllm:prefix_cache_hits_total",
] as const;

/** SIGTERM at both pinned releases (sources in the comment at the top of this file). */
export const VLLM_SHUTDOWN: ShutdownContract = {
  drainsInFlight: false,
  drainSeconds: 0,
  // AsyncLLM.shutdown() stops the engine-core process and its GPU workers; then uvicorn closes its connections.
  exitSeconds: 15,
  onSigterm:
    "cancels the uvicorn serve task, leaves the engine-client context (AsyncLLM.shutdown: engine core and GPU workers stop), " +
    "then awaits uvicorn's shutdown: requests in flight are cut, new connections are refused",
  source:
    "vllm/entrypoints/launcher.py@02828a12936935499c31449aca820543a8403c28 (serve_http, signal_handler), " +
    "vllm/entrypoints/openai/api_server.py@048027fbbdb8c252560205a6159ba3288ede291e (run_server_worker)",
};

/** A vLLM contract: the shared facts above, with what differs in a release given in `overrides`. */
export function vllmContract(version: string, source: string, overrides: Partial<Pick<EngineContract, "auth" | "flags">> = {}): EngineContract {
  return {
    engine: "vllm",
    version,
    source,
    command: ["vllm", "serve"],
    positionalModel: true,
    // FlexibleArgumentParser is an argparse.ArgumentParser, which reads `--flag=value`.
    inlineValues: true,
    flags: VLLM_FLAGS,
    env: {
      VLLM_API_KEY: "API key when --api-key is not given (vllm/envs.py)",
      VLLM_CACHE_ROOT: "compile and other caches (vllm/envs.py)",
      VLLM_NO_USAGE_STATS: "1 disables usage reporting (vllm/envs.py)",
      DO_NOT_TRACK: "1 disables usage reporting (vllm/envs.py)",
      HF_HOME: "Hugging Face cache (huggingface_hub)",
      HF_TOKEN: "token for gated repositories (huggingface_hub)",
      HF_HUB_OFFLINE: "1 forbids Hub calls (huggingface_hub)",
      TRANSFORMERS_OFFLINE: "1 forbids Hub calls (transformers)",
      HOME: "home directory",
      XDG_CACHE_HOME: "cache directory of torch and triton",
      USER: "read by getpass.getuser() (torch inductor)",
      LOGNAME: "read by getpass.getuser() (torch inductor)",
    },
    requiredEnv: [["USER", "LOGNAME"]],
    apiKey: { flags: ["--api-key"], env: ["VLLM_API_KEY"] },
    auth: { kind: "guardedPrefixes", prefixes: ["/v1"] },
    readiness: {
      ready: "/health",
      live: "/health",
      semantics: "the server listens only after the model is loaded; /health is 200 while the engine is healthy and never needs the key",
    },
    metrics: { path: "/metrics", names: VLLM_METRICS, labels: ["model_name", "engine", "finished_reason"] },
    cors: { originsFlag: "--allowed-origins", originsFormat: "jsonList", defaultOrigins: '["*"]', defaultCredentials: false },
    speculativeMethods: VLLM_SPECULATIVE_METHODS,
    queueMetric: "vllm:num_requests_waiting",
    runningMetric: "vllm:num_requests_running",
    shutdown: VLLM_SHUTDOWN,
    ...overrides,
  };
}
