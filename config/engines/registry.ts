import { parseImageRef, type ImageRef } from "../image-ref.js";
import { LLAMACPP_B11206 } from "./llamacpp-b11206.js";
import type { EngineContract } from "./types.js";
import { VLLM_SPECULATIVE_METHODS } from "./vllm-common.js";
import { VLLM_V0_10_2 } from "./vllm-v0.10.2.js";
import { VLLM_V0_11_0 } from "./vllm-v0.11.0.js";
import { VLLM_V0_30_0 } from "./vllm-v0.30.0.js";


type EngineName = EngineContract["engine"];

/** Every contract, newest last per engine. Adding an engine version = a new module + one line here (docs/engines.md). */
export const CONTRACTS: readonly EngineContract[] = [VLLM_V0_10_2, VLLM_V0_11_0, VLLM_V0_30_0, LLAMACPP_B11206];

/** The contract builders use when called with an image that has none (config validation rejects such stacks first). */
export const NEWEST_CONTRACT: Readonly<Record<EngineName, EngineContract>> = { vllm: VLLM_V0_30_0, llamacpp: LLAMACPP_B11206 };

/** Speculative `method` values every vLLM contract supports: the schema enum for `vllm.speculative.method`. */
export const SUPPORTED_SPECULATIVE_METHODS = VLLM_SPECULATIVE_METHODS;

/**
 * The engine release an image tag pins: vLLM's `vX.Y.Z` tags (an optional `-suffix` variant), llama.cpp's
 * `server[-variant]-bNNNN` tags (the variant is the backend: cuda, vulkan, rocm, …).
 */
export function engineVersionOfTag(engine: EngineName, tag: string | undefined): string | undefined {
  if (tag === undefined) return undefined;
  if (engine === "vllm") return /^(v\d+\.\d+\.\d+)(?:-[\w.]+)?$/.exec(tag)?.[1];
  return /^server(?:-[a-z0-9]+)*-(b\d+)$/.exec(tag)?.[1];
}

export type ContractLookup = { readonly contract: EngineContract } | { readonly error: string };

/** How a tag of each contract is written, for messages. */
function exampleTags(engine: EngineName): string[] {
  return CONTRACTS.filter((c) => c.engine === engine).map((c) => (engine === "vllm" ? c.version : `server-cuda-${c.version}`));
}

/**
 * The contract for an engine image (`images.vllm` / `images.llamacpp`, or the site-registry mirror of one). An image
 * whose tag names no release with a contract is an error naming `images.<engine>` and the tags that have one.
 */
export function contractForImage(engine: EngineName, image: string | ImageRef): ContractLookup {
  const ref = typeof image === "string" ? parseImageRef(image) : image;
  const written = typeof image === "string" ? image : image.reference;
  const shown = written.length > 120 ? `${written.slice(0, 117)}...` : written;
  const tags = exampleTags(engine).join(", ");
  if ("error" in ref) return { error: `images.${engine}: "${shown}" is not an image reference (${ref.error}); use a tag with an engine contract: ${tags}.` };
  const version = engineVersionOfTag(engine, ref.tag);
  const contract = CONTRACTS.find((c) => c.engine === engine && c.version === version);
  if (contract) return { contract };
  const what = ref.tag === undefined ? "has no tag" : `has tag "${ref.tag}"`;
  return {
    error:
      `images.${engine}: "${shown}" ${what}, and no engine contract covers it; tags with a contract: ${tags}` +
      `${engine === "llamacpp" ? " (any server-<backend>-bNNNN variant of those builds)" : ""}. ` +
      "Pin one of them (keep the @sha256 digest), or add a contract for the new release (docs/engines.md).",
  };
}

/** The contract a builder renders for: the pinned image's, else the engine's newest. */
export function contractForBuild(engine: EngineName, image: ImageRef): EngineContract {
  const found = contractForImage(engine, image);
  return "contract" in found ? found.contract : NEWEST_CONTRACT[engine];
}

