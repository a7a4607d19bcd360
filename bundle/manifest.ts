import { z } from "zod";

/** bundle.json: what a bundle holds, written last by `bundle create`, checked first by `bundle verify`. */
export const BUNDLE_SCHEMA_VERSION = 1;
export const BUNDLE_JSON = "bundle.json";
export const SHA256SUMS = "SHA256SUMS";
export const IMAGES_DIR = "images";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const bundleManifestSchema = z.strictObject({
  schemaVersion: z.literal(BUNDLE_SCHEMA_VERSION),
  stack: z.string(),
  environment: z.string(),
  createdAt: z.string(),
  sourceCommit: z.string().nullable(),
  files: z.array(z.strictObject({ path: z.string(), sha256: sha256Hex, size: z.int().min(0) })),
  images: z.array(
    z.strictObject({
      /** Which pin: `vllm`, `llamacpp`, `postgres`. */
      name: z.string(),
      /** The reference as pinned in the stack file. */
      reference: z.string(),
      /** Repository path without registry host (`vllm/vllm-openai`): where `bundle load` pushes it. */
      repository: z.string(),
      /** The tag pushed alongside the digest. */
      tag: z.string(),
      digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
      /** `org.opencontainers.image.ref.name` in images/index.json. */
      layoutRef: z.string(),
    }),
  ),
  models: z.array(z.strictObject({ name: z.string(), path: z.string(), files: z.int().min(0), bytes: z.int().min(0) })),
  database: z
    .strictObject({
      path: z.string(),
      format: z.literal("custom"),
      serverVersion: z.string(),
      pgDumpVersion: z.string(),
    })
    .nullable(),
  tools: z.record(z.string(), z.string()),
});

export type BundleManifest = z.infer<typeof bundleManifestSchema>;
export type BundleImage = BundleManifest["images"][number];
