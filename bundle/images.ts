import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bundleContents, type BundledModelFiles } from "../components/offline/contents.js";
import { parseImageRef } from "../config/image-ref.js";
import type { StackConfig } from "../config/types.js";
import { BundleError } from "./errors.js";
import { IMAGES_DIR, type BundleImage } from "./manifest.js";
import { execa } from "execa";
import { run, toolEnv } from "./tools.js";

/** The bundle's image entries: the stack's pins (bundleContents), each stored in the layout under its pin name. */
export function pinnedImages(config: StackConfig): BundleImage[] {
  try {
    return bundleContents(config).images.map(({ name, reference, repository, tag, digest }) => ({ name, reference, repository, tag, digest, layoutRef: name }));
  } catch (error) {
    throw new BundleError("input", (error as Error).message);
  }
}

/** The oci-pinned models (bundleContents), each stored in the same layout as the images under `model-<name>`. */
export function pinnedModelArtifacts(config: StackConfig): BundleImage[] {
  try {
    return bundleContents(config).modelArtifacts.map(({ name, reference, repository, tag, digest, layoutRef }) => ({ name, reference, repository, tag, digest, layoutRef }));
  } catch (error) {
    throw new BundleError("input", (error as Error).message);
  }
}

/** The model files the stack needs in a bundle (store folders and pvc paths), from bundleContents. */
export function stackModelFiles(config: StackConfig): BundledModelFiles[] {
  try {
    return [...bundleContents(config).models];
  } catch (error) {
    throw new BundleError("input", (error as Error).message);
  }
}

export interface RegistryAccess {
  /** Talk plain HTTP / skip TLS verification (loopback and lab registries). @default false */
  readonly insecure?: boolean;
}

/** Where to pull a pinned image from: its own registry, or a mirror holding the same repository paths. */
export function sourceRef(image: BundleImage, mirror?: string): string {
  if (mirror) return `docker://${mirror}/${image.repository}@${image.digest}`;
  const ref = parseImageRef(image.reference);
  if ("error" in ref) throw new BundleError("input", ref.error);
  return `docker://${ref.repository}@${image.digest}`;
}

export const layoutRef = (dir: string, image: BundleImage) => `oci:${join(dir, IMAGES_DIR)}:${image.layoutRef}`;

/** The raw manifest at a reference, exactly as served (its sha256 is the digest). Undefined when absent. */
export async function rawManifest(ref: string, access: RegistryAccess = {}): Promise<Buffer | undefined> {
  const result = await execa("skopeo", ["inspect", "--raw", ...(access.insecure ? ["--tls-verify=false"] : []), ref], {
    env: toolEnv(),
    reject: false,
    encoding: "buffer",
    stripFinalNewline: false,
  });
  return result.exitCode === 0 ? Buffer.from(result.stdout) : undefined;
}

export function digestOf(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * The blobs an image is made of, by digest (hex) with their sizes: its manifest (for an index, the index and every
 * platform's manifest), configs and layers. Layers shared by several images appear under one digest, so the union
 * over a stack's images is exactly what its OCI layout stores.
 */
export async function imageBlobs(ref: string, access: RegistryAccess): Promise<Map<string, number>> {
  const raw = await rawManifest(ref, access);
  if (!raw) throw new BundleError("image", `cannot read ${ref.replace(/^docker:\/\//, "")}: not found or registry unreachable`);
  const blobs = new Map([[digestOf(raw).slice(7), raw.length]]);
  const manifest = JSON.parse(raw.toString("utf8")) as OciDocument;
  if (manifest.manifests) {
    const base = ref.slice(0, ref.lastIndexOf("@"));
    for (const entry of manifest.manifests) for (const [digest, size] of await imageBlobs(`${base}@${entry.digest}`, access)) blobs.set(digest, size);
    return blobs;
  }
  for (const leaf of [...(manifest.config ? [manifest.config] : []), ...(manifest.layers ?? [])]) blobs.set(leaf.digest.replace(/^sha256:/, ""), leaf.size);
  return blobs;
}

interface OciDocument {
  readonly manifests?: readonly { digest: string; size: number; annotations?: Record<string, string> }[];
  readonly config?: { digest: string; size: number };
  readonly layers?: readonly { digest: string; size: number }[];
  readonly blobs?: readonly { digest: string; size: number }[];
}

/**
 * Every blob (hex digest) the layout's index.json reaches: indexes, manifests, configs, layers. Only manifests and
 * indexes are read (small JSON documents); layers are never opened.
 */
export async function reachableBlobs(layout: string): Promise<Set<string>> {
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as OciDocument;
  const reached = new Set<string>();
  const hex = (digest: string) => digest.replace(/^sha256:/, "");
  const visitManifest = async (digest: string): Promise<void> => {
    if (reached.has(hex(digest))) return;
    reached.add(hex(digest));
    const doc = JSON.parse(await readFile(join(layout, "blobs", "sha256", hex(digest)), "utf8")) as OciDocument;
    for (const child of doc.manifests ?? []) await visitManifest(child.digest);
    for (const leaf of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? []), ...(doc.blobs ?? [])]) reached.add(hex(leaf.digest));
  };
  for (const entry of index.manifests ?? []) await visitManifest(entry.digest);
  return reached;
}

/** Copies one pinned image into the shared OCI layout by digest, then proves the layout holds that digest. */
export async function copyIntoLayout(dir: string, image: BundleImage, options: RegistryAccess & { mirror?: string }): Promise<void> {
  const from = sourceRef(image, options.mirror);
  const result = await run("skopeo", ["copy", "--all", "--preserve-digests", ...(options.insecure ? ["--src-tls-verify=false"] : []), from, layoutRef(dir, image)], { reject: false });
  if (result.exitCode !== 0) throw new BundleError("image", `${image.layoutRef.startsWith("model-") ? "model" : "image"} ${image.name} (${image.reference}): skopeo copy failed: ${lastLine(result.stderr)}`);
  const index = JSON.parse(await readFile(join(dir, IMAGES_DIR, "index.json"), "utf8")) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === image.layoutRef);
  if (entry?.digest !== image.digest) {
    throw new BundleError("image", `${image.layoutRef.startsWith("model-") ? "model" : "image"} ${image.name}: the copy has digest ${entry?.digest ?? "none"}, but the stack pins ${image.digest} (${image.reference}); the source does not serve the pinned image`);
  }
}

export function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).pop() ?? "unknown error";
}
