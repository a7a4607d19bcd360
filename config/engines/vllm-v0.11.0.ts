import { vllmContract } from "./vllm-common.js";

/**
 * vLLM v0.11.0 (`vllm/vllm-openai:v0.11.0`, development's and staging's pin). The v0.11.0 tag commit is not stored
 * in the public code index, so no fact here was read at the tag; sources and the stored copies re-read are listed in
 * vllm-common.ts as `file@commit`. v0.11.0 removed the V0 engine, which changes none of the flags, env vars, paths or
 * metric names we use (release notes).
 */
export const VLLM_V0_11_0 = vllmContract(
  "v0.11.0",
  "github.com/vllm-project/vllm v0.11.0 (tag commit not stored); re-read in stored copies, see vllm-common.ts: " +
    "vllm/entrypoints/openai/api_server.py@048027fbbdb8c252560205a6159ba3288ede291e, vllm/entrypoints/openai/cli_args.py@005223338608bc94fd165a4f976c102a57bd1fc4, " +
    "vllm/config/speculative.py@f19b16d95e4395790661f4835e4436bc3dd5d9c7, vllm/model_executor/model_loader/gguf_loader.py@0328802bed2bb6ca346ea10acb61221a0c607768, " +
    "vllm/v1/metrics/loggers.py@a6f0308cfe806b7731ad4979c9bea6e470c35efd",
);
