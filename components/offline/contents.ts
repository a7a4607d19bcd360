import type { ImageRef } from "../../config/image-ref.js";
import { mirrorImageRef, repositoryPath } from "../../config/image-ref.js";
import type { ResolvedModel, StackConfig, StackImages } from "../../config/types.js";
import { repoFolderName } from "../../models/layout.js";

/** One image a stack needs on an air-gapped site. */
export interface BundledImage {
  /** Which pin: `vllm`, `llamacpp`, `postgres`. */
  readonly name: keyof StackImages;
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

/** A model pinned as a ModelPack OCI artifact (`source.oci`): carried by digest in the bundle's OCI layout, like an image. */
export interface BundledModelArtifact {
  /** The model's name in the stack. */
  readonly name: string;
  /** `source.oci` as the stack file pins it. */
  readonly reference: string;
  /** Repository path without the registry host: where `bundle load` pushes it on the site. */
  readonly repository: string;
  /** The tag pushed with it (the pin's tag, else `sha256-<hex>`). */
  readonly tag: string;
  readonly digest: string;
  /** The name it has in the bundle's OCI layout (`images/index.json`): `model-<name>`. */
  readonly layoutRef: string;
  /** The reference the site pulls: `<offline.registry>/<repository>@<digest>`; the pin when not offline. */
  readonly siteReference: string;
}

/**
 * Model files a bundle carries: either a model store folder (`repo` and `revision` set; `path` is
 * `<owner>--<name>/<revision>`, the layout of models/layout.ts, with `modelfleet-manifest.json`), or the files of a
 * `source.pvc` model at its path inside the claim.
 */
export interface BundledModelFiles {
  readonly name: string;
  /** Below `--models-dir`, below `models/` in the bundle, and below `--models-target` at the site. */
  readonly path: string;
  readonly repo?: string;
  readonly revision?: string;
}

export interface BundleContents {
  readonly images: readonly BundledImage[];
  /** Model files: where each model's files are expected under `--models-dir` and stored in the bundle. */
  readonly models: readonly BundledModelFiles[];
  /** oci-pinned models, stored by digest next to the images. */
  readonly modelArtifacts: readonly BundledModelArtifact[];
}

type PinName = keyof StackImages;

/**
 * The pins whose images a site runs: the engines and the registry's postgres always; the download Job's node runtime
 * when a model's weights go through a store (offline, its Job verifies the loaded files); the endpoint picker when the
 * stack deploys one per pool.
 */
function bundledPins(config: StackConfig): PinName[] {
  return [
    "vllm",
    "llamacpp",
    "postgres",
    ...(config.models.some((m) => m.delivery.kind === "store") ? (["node"] as const) : []),
    ...(config.gateway?.endpointPicker.deploy ? (["endpointPicker"] as const) : []),
  ];
}

/** The layout name of a model artifact in the bundle's OCI layout. */
export const modelLayoutRef = (modelName: string) => `model-${modelName}`;

/**
 * Where a model's files are expected under `--models-dir`, and where they go in the bundle (`models/<path>`): the
 * store folder `<owner>--<name>/<revision>` for a Hugging Face source, the claim path for a `pvc` source.
 */
export function modelFilesPath(model: ResolvedModel): string {
  const s = model.source;
  if (s.kind === "pvc") return s.path;
  return `${repoFolderName(s.repo)}/${s.revision}`;
}

function bundled(name: PinName, pin: ImageRef, site: ImageRef): BundledImage | { readonly error: string } {
  if (!pin.digest) return { error: `images.${name} = ${pin.reference} has no digest; a bundle carries pinned images only (modelfleet pins resolve)` };
  return { name, reference: pin.reference, repository: repositoryPath(pin), tag: pin.tag ?? `sha256-${pin.digest.slice(7)}`, digest: pin.digest, siteReference: site.reference };
}

/**
 * The model store folders and claim files of the stack: a `pvc` model's path; a Hugging Face model without an oci pin
 * as its store folder; the draft model of a vLLM `speculative` block as a store folder of its own. A folder two models
 * share is listed once (under the first model's name).
 */
function modelFiles(config: StackConfig): BundledModelFiles[] {
  const out: BundledModelFiles[] = [];
  const seen = new Set<string>();
  const folder = (name: string, repo: string, revision: string) => {
    const path = `${repoFolderName(repo)}/${revision}`;
    if (seen.has(path)) return;
    seen.add(path);
    out.push({ name, path, repo, revision });
  };
  for (const m of config.models) {
    const s = m.source;
    if (s.kind === "pvc") out.push({ name: m.name, path: s.path });
    else if (!s.oci) folder(m.name, s.repo, s.revision);
    if (m.engine === "vllm" && m.vllm.speculative) folder(`${m.name}-draft`, m.vllm.speculative.repo, m.vllm.speculative.revision);
  }
  return out;
}

function artifact(model: ResolvedModel, pin: ImageRef, registry: string | undefined): BundledModelArtifact | { readonly error: string } {
  if (!pin.digest) return { error: `models ${model.name}: source.oci = ${pin.reference} has no digest; a bundle carries models pinned by digest only (modelfleet models push prints the pin)` };
  return {
    name: model.name,
    reference: pin.reference,
    repository: repositoryPath(pin),
    tag: pin.tag ?? `sha256-${pin.digest.slice(7)}`,
    digest: pin.digest,
    layoutRef: modelLayoutRef(model.name),
    siteReference: registry ? mirrorImageRef(pin, registry).reference : pin.reference,
  };
}

/**
 * Exactly what an offline site needs for a stack: every pinned image it runs (`bundledPins`), the
 * model files (store folders and claim files) and the oci-pinned model artifacts. The one source for `modelfleet
 * bundle create`, the OfflineBundle component and the docs' checklist.
 * @throws Error naming every image and model artifact pinned by tag only.
 */
export function bundleContents(config: StackConfig): BundleContents {
  const results = bundledPins(config).map((name) => bundled(name, config.pins[name], config.images[name]));
  const artifacts = config.models.flatMap((m) => (m.source.kind === "huggingFace" && m.source.oci ? [artifact(m, m.source.oci, config.offline?.registry)] : []));
  const errors = [...results, ...artifacts].flatMap((r) => ("error" in r ? [r.error] : []));
  if (errors.length > 0) throw new Error(`${config.file}: ${errors.join("; ")}`);
  return {
    images: results as BundledImage[],
    models: modelFiles(config),
    modelArtifacts: artifacts as BundledModelArtifact[],
  };
}
