/** Engine contracts: what each pinned engine version accepts and does, read from its source (docs/engines.md). */
export type { AuthRule, ContractProblem, CorsContract, EngineContract, FlagSpec, ShutdownContract, ValueFormat } from "./types.js";
export { canonicalFlag, hasFlag, pathNeedsKey } from "./flags.js";
export {
  CONTRACTS,
  NEWEST_CONTRACT,
  SUPPORTED_SPECULATIVE_METHODS,
  contractForBuild,
  contractForImage,
  engineVersionOfTag,
  type ContractLookup,
} from "./registry.js";
export { LLAMACPP_B11206 } from "./llamacpp-b11206.js";
export { VLLM_V0_10_2 } from "./vllm-v0.10.2.js";
export { VLLM_V0_11_0 } from "./vllm-v0.11.0.js";
export { VLLM_V0_30_0, VLLM_V0_30_0_CLI_ARGS } from "./vllm-v0.30.0.js";
