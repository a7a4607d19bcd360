import { parseImageRef } from "../../../config/image-ref.js";
import { shown } from "../../display.js";
import { isInferenceWorkload } from "../../k8s.js";
import { defineRule } from "../../types.js";
import { annotation, MODEL_SOURCE_ANNOTATION } from "./model-metadata.js";

const REVISION = /^[0-9a-f]{40}$/;
/** A Hugging Face repository id: `name` or `owner/name`. */
const HF_REPO = /^[A-Za-z0-9][\w.-]*(?:\/[A-Za-z0-9][\w.-]*)?$/;
const PINNED_FORMS = "huggingFace:<repo>@<40-hex commit SHA> or oci:<reference>@sha256:<64 hex>";
const FIX =
  "Fix: set the model's source.revision to the commit SHA (the Hub's \"Files and versions\" → commit), or pack the revision as an OCI artifact (`modelfleet models pack`) and pin source.oci by digest; then synth again.";

/**
 * Why a `modelfleet.dev/model-source` value is not pinned, or undefined when it names exact bytes: a Hugging Face
 * commit (40 lower-case hex, what Git and the Hub write) or an OCI artifact by digest. A `pvc:` source is never
 * pinned: a claim holds whatever was last written into it.
 */
export function modelSourcePinProblem(value: string): string | undefined {
  const colon = value.indexOf(":");
  const scheme = colon < 0 ? "" : value.slice(0, colon);
  const rest = value.slice(colon + 1);
  switch (scheme) {
    case "huggingFace": {
      const at = rest.lastIndexOf("@");
      const repo = at < 0 ? rest : rest.slice(0, at);
      if (!HF_REPO.test(repo)) return `names no Hugging Face repository before "@" (owner/name)`;
      if (at < 0) return "names no revision, so whatever the repository's main branch holds when the weights are fetched is served";
      const revision = rest.slice(at + 1);
      return REVISION.test(revision) ? undefined : `has revision ${shown(revision)}, a branch, tag or short SHA, which can point at other bytes tomorrow`;
    }
    case "oci": {
      const ref = parseImageRef(rest);
      if ("error" in ref) return `is not an OCI reference (${ref.error})`;
      return ref.digest ? undefined : "pins the OCI artifact by tag only, which can be re-pushed";
    }
    case "pvc":
      return "is a PersistentVolumeClaim, whose files are whatever was last written into it: nothing pins them";
    default:
      return "is not one of the forms huggingFace:<repo>@<revision>, oci:<reference> or pvc:<claim>/<path>";
  }
}

/**
 * model-source-pinned: production serves only weights that are named exactly, so what was tested in staging is what
 * runs and a re-pushed branch or artifact tag cannot change a running model. Read from the Deployment's
 * `modelfleet.dev/model-source` annotation, which the model builders write (docs/models.md).
 */
export const modelSourcePinned = defineRule({
  id: "model-source-pinned",
  description: "Engine Deployments serve a model pinned by Hugging Face commit or by OCI digest (modelfleet.dev/model-source).",
  severity: "high",
  enforcement: { development: "advisory", staging: "advisory", production: "mandatory" },
  waivable: true,
  remediation: "Pin the model: source.revision = the 40-hex commit SHA, or source.oci = registry/repo@sha256:<64 hex> (`modelfleet models pack`).",
  checkObject: (object, context) => {
    if (!isInferenceWorkload(object)) return [];
    const path = ["metadata", "annotations", MODEL_SOURCE_ANNOTATION];
    const value = annotation(object, MODEL_SOURCE_ANNOTATION);
    const allowed = `${context.environment} requires ${PINNED_FORMS}.`;
    if (typeof value !== "string") {
      return [
        {
          object,
          path,
          message: `${object.kind} runs an inference engine but has no ${MODEL_SOURCE_ANNOTATION} annotation${value === undefined ? "" : ` (it is ${shown(value)}, not a string)`}, so nothing says which weights it serves; ${allowed} ${FIX} (modelfleet's builders write the annotation; for another generator add it by hand.)`,
        },
      ];
    }
    const problem = modelSourcePinProblem(value);
    if (problem === undefined) return [];
    return [{ object, path, message: `${MODEL_SOURCE_ANNOTATION} ${shown(value)} ${problem}; ${allowed} ${FIX}` }];
  },
});
