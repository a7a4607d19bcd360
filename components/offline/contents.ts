import type { ImageRef } from "../../config/image-ref.js";
import { repositoryPath } from "../../config/image-ref.js";
import type { ResolvedModel, StackConfig } from "../../config/types.js";

/** One image a stack needs on an air-gapped site. */
export interface BundledImage {
  /** Which pin: `vllm`, `llamacpp`, `postgres`. */
  readonly name: "vllm" | "llamacpp" | "postgres";
  /** As pinned in the stack file. */
  readonly reference: string;
  /** Repository path without the registry host: where `bundle load` pushes it on the site. */
  readonly repository: string;
  /** The tag pushed with it (the pin's tag, else `sha256-<hex>`). */
  readonly tag: string;
  readonly digest: string;
  /** The reference the site's workloads use: `<offline.registry>/<repository>@<digest>`; the pin when not offline. */
  readonly siteReference: string;
}

export interface BundleContents {
  readonly images: readonly BundledImage[];
  /** Model files: where each model's files are expected under `--models-dir` and stored in the bundle. */
  readonly models: readonly { readonly name: string; readonly path: string }[];
}

const PIN_NAMES = ["vllm", "llamacpp", "postgres"] as const;

/** Where a model's files are expected under `--models-dir`, and where they go in the bundle (`models/<path>`). */
export function modelFilesPath(model: ResolvedModel): string {
  const s = model.source;
  if (s.kind === "pvc") return s.path;
  return s.file ? `${s.repo}/${s.file}` : s.repo;
}

function bundled(name: (typeof PIN_NAMES)[number], pin: ImageRef, site: ImageRef): BundledImage | { readonly error: string } {
  if (!pin.digest) return { error: `images.${name} = ${pin.reference} has no digest; a bundle carries pinned images only (modelfleet pins resolve)` };
  return { name, reference: pin.reference, repository: repositoryPath(pin), tag: pin.tag ?? `sha256-${pin.digest.slice(7)}`, digest: pin.digest, siteReference: site.reference };
}

/**
 * Exactly what an offline site needs for a stack: every pinned image (engines and the registry's postgres) and the
 * model files. The one source for `modelfleet bundle create`, the OfflineBundle component and the docs' checklist.
 * @throws Error naming every image pinned by tag only.
 */
export function bundleContents(config: StackConfig): BundleContents {
  const results = PIN_NAMES.map((name) => bundled(name, config.pins[name], config.images[name]));
  const errors = results.flatMap((r) => ("error" in r ? [r.error] : []));
  if (errors.length > 0) throw new Error(`${config.file}: ${errors.join("; ")}`);
  return {
    images: results as BundledImage[],
    models: config.models.map((m) => ({ name: m.name, path: modelFilesPath(m) })),
  };
}
