import { vllmContract } from "./vllm-common.js";

/**
 * vLLM v0.10.2 (`vllm/vllm-openai:v0.10.2`, production's pin). Source: github.com/vllm-project/vllm at tag v0.10.2;
 * the facts and their files are listed in vllm-common.ts. The repository snapshot (1.1 GB) is over the fetch limit
 * here, so the files were read from the public code index; the auth middleware, CORS defaults and V1 metric names
 * are the same at v0.10.2 and v0.11.0.
 */
export const VLLM_V0_10_2 = vllmContract("v0.10.2", "github.com/vllm-project/vllm@v0.10.2");
