import type { EngineContract, FlagSpec } from "./types.js";

/**
 * What vLLM v0.10.2 and v0.11.0 share (the two tags the stacks pin). Sources, in github.com/vllm-project/vllm at the
 * tag named by each contract:
 * - flags: `vllm/entrypoints/openai/cli_args.py` (FrontendArgs: --host, --port, --api-key, --allowed-origins,
 *   --allow-credentials, --served-model-name) and `vllm/engine/arg_utils.py` (EngineArgs: model, --revision,
 *   --tensor-parallel-size, ...). `vllm serve <model>` takes the model as its first argument
 *   (`vllm/entrypoints/cli/serve.py`).
 * - auth: `vllm/entrypoints/openai/api_server.py`, the authentication middleware: `token = args.api_key or
 *   envs.VLLM_API_KEY`; OPTIONS and every path not starting with "/v1" pass without a key, so /health, /metrics and
 *   /ping are open and /v1/models is guarded.
 * - CORS: same file, `CORSMiddleware(allow_origins=args.allowed_origins, allow_credentials=args.allow_credentials)`;
 *   cli_args.py defaults `allowed_origins=["*"]`, `allow_credentials=False`; the value is parsed with `json.loads`.
 * - readiness: `/health` answers 200 only when the engine client is healthy, and the HTTP server starts listening
 *   only after the model is loaded (`build_async_engine_client` completes before `serve_http`).
 * - env: `vllm/envs.py` (VLLM_API_KEY, VLLM_CACHE_ROOT, VLLM_NO_USAGE_STATS, VLLM_DO_NOT_TRACK/DO_NOT_TRACK);
 *   huggingface_hub reads HF_HOME, HF_TOKEN, HF_HUB_OFFLINE.
 * - USER/LOGNAME: torch inductor calls `getpass.getuser()`, which raises KeyError for a uid with no /etc/passwd
 *   entry unless USER or LOGNAME is set; the images run our pods as uid 1000, which the image does not list.
 * - metrics: `vllm/v1/metrics/loggers.py` (PrometheusStatLogger), labels `model_name` and `engine`;
 *   `vllm:request_success_total` adds `finished_reason`.
 * - speculative decoding: `vllm/config/speculative.py` (SpeculativeConfig). With a draft `model` and no `method`,
 *   the method is inferred from the draft's name/model_type (eagle-/eagle3/medusa/mlp_speculator/…_mtp) and
 *   otherwise becomes "draft_model", which the V1 engine of both tags rejects (NotImplementedError, "Speculative
 *   decoding with draft model is not supported yet").
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

export function vllmContract(version: string, source: string): EngineContract {
  return {
    engine: "vllm",
    version,
    source,
    command: ["vllm", "serve"],
    positionalModel: true,
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
  };
}
