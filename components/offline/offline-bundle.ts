import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../config/types.js";
import { bundleContents, type BundledImage, type BundledModelArtifact, type BundledModelFiles } from "./contents.js";

export interface OfflineBundleArgs {
  /** An offline stack (`offline.registry` set): its pins, models and site registry. */
  readonly stack: StackConfig;
}

/**
 * What an air-gapped site needs for this stack, as stack outputs: the image list (pinned reference, digest, and the
 * site reference the workloads run), the model files and the oci-pinned model artifacts. It creates no cloud
 * resource: the bundle itself is made by `modelfleet bundle create` from the same `bundleContents`, so the two cannot
 * disagree.
 */
export class OfflineBundle extends pulumi.ComponentResource {
  /** Every image the stack runs, with the digest the site registry must serve. */
  readonly images: pulumi.Output<BundledImage[]>;
  /** `models/<path>` of each model's files in the bundle (a store folder `<owner>--<name>/<revision>`, or a claim path). */
  readonly models: pulumi.Output<BundledModelFiles[]>;
  /** Every oci-pinned model, with the digest the site registry must serve. */
  readonly modelArtifacts: pulumi.Output<BundledModelArtifact[]>;
  /** The site registry `host:port`. */
  readonly registry: pulumi.Output<string>;

  constructor(name: string, args: OfflineBundleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("modelfleet:offline:OfflineBundle", name, {}, opts);
    if (!args.stack.offline) throw new Error(`${args.stack.file}: OfflineBundle needs an offline stack (set modelfleet:offline.registry)`);
    const contents = bundleContents(args.stack);
    this.images = pulumi.output(contents.images.map((i) => ({ ...i })));
    this.models = pulumi.output(contents.models.map((m) => ({ ...m })));
    this.modelArtifacts = pulumi.output(contents.modelArtifacts.map((a) => ({ ...a })));
    this.registry = pulumi.output(args.stack.offline.registry);
    this.registerOutputs({ images: this.images, models: this.models, modelArtifacts: this.modelArtifacts, registry: this.registry });
  }
}
