/** A container image reference split into its parts, so rules can ask "is it digest-pinned?" without regexes. */
export interface ImageRef {
  /** Registry host and path, e.g. `docker.io/vllm/vllm-openai` or `vllm/vllm-openai`. */
  readonly repository: string;
  /** The tag, when the reference has one. */
  readonly tag?: string;
  /** `sha256:<64 hex>`, when the reference is pinned. */
  readonly digest?: string;
  /** The reference exactly as written in the config. */
  readonly reference: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
// Docker's reference grammar, simplified to what registries accept: lower-case path components separated by
// `/`, an optional `host[:port]/` prefix, then `:tag` and/or `@sha256:...`.
const REPOSITORY = /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

export const DIGEST_PATTERN = DIGEST;

/**
 * The model download Job's runtime when a stack does not pin `images.node`: Node 22 on Alpine (the script uses
 * builtins only). A digest taken from public pins of `node:22-alpine`; refresh it with `modelfleet pins resolve`.
 */
export const DEFAULT_NODE_IMAGE = "node:22-alpine@sha256:8094c002d08262dba12645a3b4a15cd6cd627d30bc782f53229a2ec13ee22a00";

/**
 * The endpoint picker deployed per InferencePool when a stack does not pin `images.endpointPicker`: GAIE's EPP v1.5.0,
 * the release whose flags and config components/gateway/endpoint-picker.ts was written from. The digest is taken from
 * public pins of that tag, not resolved here; refresh it with `modelfleet pins resolve`.
 */
export const DEFAULT_ENDPOINT_PICKER_IMAGE =
  "registry.k8s.io/gateway-api-inference-extension/epp:v1.5.0@sha256:86c679b057298e68c6e65ff5603e92066d432e77b11f1f81f0a06399694810bc";

/** Every `images.*` key of a stack (StackImages), in the order checks and bundles list them. */
export const IMAGE_KEYS = ["vllm", "llamacpp", "postgres", "node", "endpointPicker"] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];

/** The keys a stack may leave out, and the pin each then gets. */
export const DEFAULT_IMAGES: Readonly<Partial<Record<ImageKey, string>>> = { node: DEFAULT_NODE_IMAGE, endpointPicker: DEFAULT_ENDPOINT_PICKER_IMAGE };

import { preview } from "./limits.js";

/** Parses an image reference; returns a reason instead when it is not one. */
export function parseImageRef(reference: string): ImageRef | { readonly error: string } {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      return { error: `digest ${preview(digest)} is not sha256:<64 lower-case hex>` };
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return { error: `tag ${preview(tag)} is not a valid image tag` };
  }
  if (!REPOSITORY.test(rest)) return { error: `repository ${preview(rest)} is not a valid image repository` };
  return { repository: rest, reference, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

/** The reference as written back: `repo[:tag][@digest]`. */
export function formatImageRef(ref: ImageRef): string {
  return `${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/**
 * The repository path without its registry host, as registries store it: `vllm/vllm-openai`,
 * `ggml-org/llama.cpp`, and Docker Hub's official images under `library/` (`postgres` → `library/postgres`).
 */
export function repositoryPath(ref: Pick<ImageRef, "repository">): string {
  const parts = ref.repository.split("/");
  const first = parts[0] ?? "";
  const hasHost = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const path = hasHost ? parts.slice(1) : parts;
  return path.length === 1 ? `library/${path[0]}` : path.join("/");
}

/** The same image addressed through another registry (the offline site's), by digest only. */
export function mirrorImageRef(ref: ImageRef, registry: string): ImageRef {
  if (!ref.digest) throw new Error(`cannot mirror ${ref.reference}: it has no digest`);
  const repository = `${registry}/${repositoryPath(ref)}`;
  return { repository, digest: ref.digest, reference: `${repository}@${ref.digest}` };
}
