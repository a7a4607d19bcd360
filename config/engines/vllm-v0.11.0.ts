import { vllmContract } from "./vllm-common.js";

/**
 * vLLM v0.11.0 (`vllm/vllm-openai:v0.11.0`, development's and staging's pin). Source: github.com/vllm-project/vllm
 * at tag v0.11.0; facts and files in vllm-common.ts. v0.11.0 removed the V0 engine, which changes none of the
 * flags, env vars, paths or metric names we use.
 */
export const VLLM_V0_11_0 = vllmContract("v0.11.0", "github.com/vllm-project/vllm@v0.11.0");
