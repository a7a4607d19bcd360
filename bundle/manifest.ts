import { z } from "zod";

/** bundle.json: what a bundle holds, written last by `bundle create`, checked first by `bundle verify`. */
export const BUNDLE_SCHEMA_VERSION = 1;
export const BUNDLE_JSON = "bundle.json";
export const SHA256SUMS = "SHA256SUMS";
export const IMAGES_DIR = "images";
/**
 * The detached Ed25519 signature over the exact bytes of bundle.json (raw 64 bytes; bundle/sign.ts). Never listed
 * in bundle.json (it signs it) nor in SHA256SUMS (written before signing); carried in the archive like any file.
 */
export const BUNDLE_SIG = "bundle.json.sig";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * bundle.json's `base` (differential bundles, bundle/base.ts): what the bundle was made against and what the site
 * must already hold instead of the bundle carrying it. `sha256` is of the base file's bytes.
 */
export const bundleBaseSchema = z.strictObject({
  sha256: sha256Hex,
  kind: z.enum(["bundle", "inventory"]),
  /** The base bundle's stack and creation time; absent for an inventory. */
  stack: z.string().optional(),
  createdAt: z.string().optional(),
  /** OCI layer blobs the images need and the bundle does not carry. */
  blobs: z.array(z.strictObject({ sha256: sha256Hex, size: z.int().min(0) })),
  /** Model files the stack needs and the bundle does not carry, at their bundle path (`models/…`). */
  modelFiles: z.array(z.strictObject({ path: z.string(), sha256: sha256Hex, size: z.int().min(0) })),
});
export type BundleBase = z.infer<typeof bundleBaseSchema>;

/** One entry of the bundle's OCI layout: an image pin, or an oci-pinned model (`modelArtifacts`). */
const bundleImageSchema = z.strictObject({
  /** Which pin: `vllm`, `llamacpp`, `postgres`; for a model artifact, the model's name. */
  name: z.string(),
  /** The reference as pinned in the stack file. */
  reference: z.string(),
  /** Repository path without registry host (`vllm/vllm-openai`): where `bundle load` pushes it. */
  repository: z.string(),
  /** The tag pushed alongside the digest. */
  tag: z.string(),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** `org.opencontainers.image.ref.name` in images/index.json (`model-<name>` for a model artifact). */
  layoutRef: z.string(),
});

export const bundleManifestSchema = z.strictObject({
  schemaVersion: z.literal(BUNDLE_SCHEMA_VERSION),
  stack: z.string(),
  environment: z.string(),
  createdAt: z.string(),
  sourceCommit: z.string().nullable(),
  files: z.array(z.strictObject({ path: z.string(), sha256: sha256Hex, size: z.int().min(0) })),
  images: z.array(bundleImageSchema),
  /**
   * Models pinned as ModelPack OCI artifacts (`source.oci`), stored by digest in the same OCI layout as the images
   * (blobs shared with an image or another model are stored once) and pushed by `bundle load` like images.
   * @default none
   */
  modelArtifacts: z.array(bundleImageSchema).optional(),
  models: z.array(
    z.strictObject({
      name: z.string(),
      /** A listed file, or a folder holding listed files (`models/<path>`). */
      path: z.string(),
      /**
       * Set for a model store folder (`models/<owner>--<name>/<revision>/` with its `modelfleet-manifest.json`):
       * `bundle load --models-target` installs it as a whole (staged, verified, renamed). Absent for a `pvc` model's files.
       */
      repo: z.string().optional(),
      revision: z.string().regex(/^[0-9a-f]{40}$/).optional(),
      files: z.int().min(0),
      bytes: z.int().min(0),
      /**
       * The source stack configured `hfToken` and this model comes from Hugging Face (it may be gated). Guidance
       * only: the files are in the bundle, so an offline site needs no token. @default false
       */
      hfTokenAtSource: z.boolean().optional(),
    }),
  ),
  database: z
    .strictObject({
      path: z.string(),
      format: z.literal("custom"),
      serverVersion: z.string(),
      pgDumpVersion: z.string(),
    })
    .nullable(),
  tools: z.record(z.string(), z.string()),
  /** Set on a differential bundle (`bundle create --base`): what the site must already hold. @default a full bundle */
  base: bundleBaseSchema.optional(),
});

export type BundleManifest = z.infer<typeof bundleManifestSchema>;
export type BundleImage = BundleManifest["images"][number];
export type BundleModel = BundleManifest["models"][number];

/** Every entry of the bundle's OCI layout: the images, then the model artifacts. */
export function layoutEntries(manifest: Pick<BundleManifest, "images" | "modelArtifacts">): BundleImage[] {
  return [...manifest.images, ...(manifest.modelArtifacts ?? [])];
}

/** A zod error as a readable list: `files[2].sha256: <message>`, one line per issue, at most `limit`. */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[], limit = 20): string[] {
  const lines = issues.slice(0, limit).map((issue) => {
    const path = issue.path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), "");
    return `${path || "(top level)"}: ${issue.message.split("\n")[0]}`;
  });
  if (issues.length > limit) lines.push(`... and ${issues.length - limit} more`);
  return lines;
}

/** Parses bundle.json's text: the manifest, or every problem as `dot.path: message`. */
export function parseBundleManifest(text: string): { manifest: BundleManifest } | { problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problems: [`not JSON: ${(error as Error).message.split("\n")[0]}`] };
  }
  const result = bundleManifestSchema.safeParse(value);
  return result.success ? { manifest: result.data } : { problems: formatIssues(result.error.issues) };
}
