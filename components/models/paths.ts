/**
 * Where an engine finds its weights, for every delivery mode (config/types.ts `ModelDelivery`). One layout everywhere
 * (models/layout.ts): `/models/<owner>--<name>/<revision>`, whether `/models` is the model's own claim, the stack's
 * shared claim, or an image volume mounted directly at that folder. Engine arguments are therefore the same in every
 * mode that does not download at start.
 */
import type { ResolvedModel, ResolvedVllmModel } from "../../config/types.js";
import { modelDir } from "../../models/layout.js";
import { MOUNTS } from "../engines/engine-container.js";

/** Deployment annotation naming where the weights come from: `huggingFace:<repo>@<rev>`, `oci:<ref>` or `pvc:<claim>/<path>`. */
export const MODEL_SOURCE_ANNOTATION = "modelfleet.dev/model-source";
/** Deployment annotation naming how they reach the engine: `store`, `imageVolume`, `pvc` or `download`. */
export const MODEL_DELIVERY_ANNOTATION = "modelfleet.dev/model-delivery";
/** Label every engine Deployment of an offline stack carries (policies read it). */
export const OFFLINE_LABEL = "modelfleet.dev/offline";
/** Argo CD's ordering annotation (argo-cd docs, user-guide/sync-waves.md). */
export const SYNC_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave";

/** True when the engine reads local files it never downloads: a model store claim or an image volume. */
export function readsLocalCopy(model: ResolvedModel): boolean {
  return model.delivery.kind === "store" || model.delivery.kind === "imageVolume";
}

/**
 * The folder holding the model's files inside the engine, for a store or image-volume delivery; undefined otherwise
 * (a `pvc` source has its own path, a `download` delivery has no local copy).
 */
export function localModelDir(model: ResolvedModel): string | undefined {
  if (!readsLocalCopy(model) || model.source.kind !== "huggingFace") return undefined;
  return modelDir(MOUNTS.models, model.source.repo, model.source.revision);
}

/**
 * The speculative draft model's folder in the store (fetched by its own Job), for a store delivery. An image-volume
 * delivery has no store for the draft: undefined (config rules should refuse that pairing; see docs/model-initialization.md).
 */
export function localDraftDir(model: ResolvedVllmModel): string | undefined {
  const draft = model.vllm.speculative;
  if (draft === undefined || model.delivery.kind !== "store") return undefined;
  return modelDir(MOUNTS.models, draft.repo, draft.revision);
}

/** The `modelfleet.dev/model-source` value. */
export function modelSourceAnnotation(model: ResolvedModel): string {
  const s = model.source;
  if (s.kind === "pvc") return `pvc:${s.claimName}/${s.path}`;
  if (model.delivery.kind === "imageVolume") return `oci:${model.delivery.reference}`;
  if (model.delivery.kind === "store" && model.delivery.from === "oci" && model.delivery.oci) return `oci:${model.delivery.oci.reference}`;
  return `huggingFace:${s.repo}@${s.revision}`;
}
