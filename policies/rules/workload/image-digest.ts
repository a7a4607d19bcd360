import { parseImageRef } from "../../../config/image-ref.js";
import { isCredentialLike, shown } from "../../display.js";
import { asString, containersOf, podTemplate } from "../../k8s.js";
import { defineRule, type Finding } from "../../types.js";

/**
 * image-digest: every container image is pinned by digest, so what was tested is what runs and a re-pushed tag
 * cannot change a running model. Mandatory in staging and production (the stack config already requires pins
 * there, config/profiles.ts), advisory in development.
 */
export const imageDigest = defineRule({
  id: "image-digest",
  description: "Container images are pinned by digest (image@sha256:…), not by a tag or latest.",
  severity: "high",
  enforcement: { development: "advisory", staging: "mandatory", production: "mandatory" },
  waivable: true,
  remediation: "Pin the image: run `modelfleet pins resolve` or paste the digest (repository@sha256:<64 hex>) into the stack config's images map.",
  checkObject: (object, context) => {
    const template = podTemplate(object);
    if (!template) return [];
    const findings: Finding[] = [];
    for (const ref of containersOf(template)) {
      const image = asString(ref.container["image"]);
      if (image === undefined) continue; // unknown during a preview, or a Patch: nothing to judge
      const parsed = parseImageRef(image);
      const path = [...ref.path, "image"];
      const fix = `${context.environment} requires a digest (…@sha256:<64 hex>). Fix: run \`modelfleet pins resolve\` or paste the digest.`;
      if (isCredentialLike(image)) {
        // The parser's reason would quote parts of the value: say only what is wrong with it.
        findings.push({
          object,
          path,
          message: `container ${shown(ref.name)} image ${shown(image)} holds credentials, which an image reference must not carry; ${fix} Registry credentials belong in an imagePullSecret.`,
        });
      } else if ("error" in parsed) {
        findings.push({ object, path, message: `container ${shown(ref.name)} image ${shown(image)} is not a valid image reference (${parsed.error.length > 200 ? `${parsed.error.slice(0, 200)}…` : parsed.error}); ${fix}` });
      } else if (!parsed.digest) {
        const why = parsed.tag === undefined ? "has no tag or digest (it means :latest)" : parsed.tag === "latest" ? "uses :latest" : "is tag-only";
        findings.push({ object, path, message: `container ${shown(ref.name)} image ${shown(image)} ${why}; a tag can be re-pushed. ${fix}` });
      }
    }
    return findings;
  },
});
