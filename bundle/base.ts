/**
 * Differential bundles (#11.7): a bundle made against a base (an earlier bundle's bundle.json, or a site inventory)
 * leaves out the OCI layer blobs and model files the site already has, and records what it expects there.
 *
 * Site inventory (`--base inventory.json`), all fields required, arrays may be empty:
 *
 *   {
 *     "images": ["sha256:<64 hex>", ...],            // image (manifest) digests loaded on the site
 *     "blobs": ["<64 hex>", ...],                    // OCI layer blobs the site registry holds
 *     "modelFiles": [{ "path": "models/<...>", "sha256": "<64 hex>" }, ...]  // model files on the site's volume
 *   }
 *
 * Manifests, indexes and configs are always carried (small, and skopeo reads them from the bundle to push an image;
 * a layer the target repository already holds is not read); model artifacts (oci-pinned models) are entries of the
 * same layout, so their layer blobs are left out alike. A model store folder (`models/<owner>--<name>/<revision>/`)
 * is left out as a whole when the base has every one of its files, manifest included, with the same sha256 (the site
 * then holds that folder; load installs folders whole, never half); a `pvc` model's file is left out when the base has
 * the same path with the same sha256.
 */
import { createHash } from "node:crypto";
import { readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { BundleError } from "./errors.js";
import { hashFile, mapLimit } from "../files/hash.js";
import { BUNDLE_JSON, IMAGES_DIR, layoutEntries, type BundleBase, type BundleImage, type BundleManifest } from "./manifest.js";
import { confinedPathReason, shownPath } from "./confine.js";
import { walkFiles } from "./paths.js";

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const BLOB = /^images\/blobs\/sha256\/([0-9a-f]{64})$/;

/** The site inventory format (see the file's comment). */
export const siteInventorySchema = z.strictObject({
  images: z.array(z.string().regex(/^sha256:[0-9a-f]{64}$/)),
  blobs: z.array(sha256Hex),
  modelFiles: z.array(z.strictObject({ path: z.string(), sha256: sha256Hex })),
});
export type SiteInventory = z.infer<typeof siteInventorySchema>;

/** What bundle.json records of its base: the schema lives in manifest.ts (bundle.json's `base`), re-exported here. */
export { bundleBaseSchema, type BundleBase } from "./manifest.js";

/** What a base says the site has. */
export interface BaseContents {
  readonly sha256: string;
  readonly kind: "bundle" | "inventory";
  readonly stack?: string;
  readonly createdAt?: string;
  readonly blobs: ReadonlySet<string>;
  /** path → sha256 */
  readonly modelFiles: ReadonlyMap<string, string>;
}

const baseBundleSchema = z.object({
  stack: z.string(),
  createdAt: z.string(),
  files: z.array(z.object({ path: z.string(), sha256: sha256Hex })),
  base: z.object({ blobs: z.array(z.object({ sha256: sha256Hex })), modelFiles: z.array(z.object({ path: z.string(), sha256: sha256Hex })) }).optional(),
});

/** Reads `--base`: an earlier bundle's bundle.json (its blobs and model files, and those its own base expected) or a site inventory. */
export async function readBase(path: string): Promise<BaseContents> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new BundleError("input", `--base ${path}: cannot read it (${error.code ?? error.message}); pass an earlier bundle's bundle.json or a site inventory JSON`);
  });
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new BundleError("input", `--base ${path} is not JSON; pass an earlier bundle's bundle.json or a site inventory JSON`);
  }
  const inventory = siteInventorySchema.safeParse(value);
  if (inventory.success) {
    return { sha256, kind: "inventory", blobs: new Set(inventory.data.blobs), modelFiles: new Map(inventory.data.modelFiles.map((f) => [f.path, f.sha256])) };
  }
  const bundle = baseBundleSchema.safeParse(value);
  if (!bundle.success) throw new BundleError("input", `--base ${path} is neither a bundle.json nor a site inventory ({images, blobs, modelFiles}: see bundle/base.ts)`);
  const blobs = new Set<string>();
  const modelFiles = new Map<string, string>();
  for (const file of [...bundle.data.files, ...(bundle.data.base?.modelFiles ?? [])]) {
    const blob = BLOB.exec(file.path);
    if (blob && blob[1] === file.sha256) blobs.add(file.sha256);
    else if (file.path.startsWith("models/")) modelFiles.set(file.path, file.sha256);
  }
  for (const blob of bundle.data.base?.blobs ?? []) blobs.add(blob.sha256);
  return { sha256, kind: "bundle", stack: bundle.data.stack, createdAt: bundle.data.createdAt, blobs, modelFiles };
}

interface OciDocument {
  readonly mediaType?: string;
  readonly manifests?: readonly { digest: string }[];
  readonly layers?: readonly { digest: string; size: number }[];
}

/** Per image (by layout ref name): the layer blobs (hex → size) its manifests reference. */
export async function imageLeaves(layout: string, images: readonly BundleImage[]): Promise<Map<string, Map<string, number>>> {
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests?: { digest: string; annotations?: Record<string, string> }[] };
  const out = new Map<string, Map<string, number>>();
  for (const image of images) {
    const leaves = new Map<string, number>();
    const visit = async (digest: string): Promise<void> => {
      const doc = JSON.parse(await readFile(join(layout, "blobs", "sha256", digest.replace(/^sha256:/, "")), "utf8")) as OciDocument;
      for (const child of doc.manifests ?? []) await visit(child.digest);
      for (const leaf of doc.layers ?? []) leaves.set(leaf.digest.replace(/^sha256:/, ""), leaf.size);
    };
    const entry = index.manifests?.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === image.layoutRef);
    if (entry) await visit(entry.digest);
    out.set(image.layoutRef, leaves);
  }
  return out;
}

/**
 * DIFFERENTIAL CREATE: removes from the bundle folder `dir` (before it is hashed) the layer blobs and model
 * files the base already has, and returns bundle.json's `base` record of what the site must hold instead.
 * `images` are every entry of the OCI layout (images and model artifacts); `folders` the bundle paths of the model
 * store folders (`models/<owner>--<name>/<revision>`), each left out only as a whole.
 */
export async function leaveOutBase(dir: string, images: readonly BundleImage[], base: BaseContents, folders: readonly string[] = []): Promise<BundleBase> {
  const layout = join(dir, IMAGES_DIR);
  const leaves = new Map<string, number>();
  for (const perImage of (await imageLeaves(layout, images)).values()) for (const [hex, size] of perImage) leaves.set(hex, size);
  const blobs: BundleBase["blobs"] = [];
  for (const [hex, size] of [...leaves].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!base.blobs.has(hex)) continue;
    await rm(join(layout, "blobs", "sha256", hex), { force: true });
    blobs.push({ sha256: hex, size });
  }
  const modelFiles: BundleBase["modelFiles"] = [];
  for (const folder of folders) {
    const { files } = await walkFiles(join(dir, ...folder.split("/"))).catch(() => ({ files: [] as { path: string; size: number }[] }));
    if (files.length === 0) continue;
    const same = await mapLimit(files, async (f) => {
      const path = `${folder}/${f.path}`;
      const want = base.modelFiles.get(path);
      return want !== undefined && (await hashFile(join(dir, ...path.split("/")))).sha256 === want ? { path, sha256: want, size: f.size } : undefined;
    });
    if (same.some((f) => f === undefined)) continue;
    for (const f of same as { path: string; sha256: string; size: number }[]) {
      await rm(join(dir, ...f.path.split("/")));
      modelFiles.push(f);
    }
    await rm(join(dir, ...folder.split("/")), { recursive: true, force: true });
  }
  for (const [path, sha256] of [...base.modelFiles].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (confinedPathReason(path) || !path.startsWith("models/")) continue;
    if (folders.some((folder) => path.startsWith(`${folder}/`))) continue;
    const here = join(dir, ...path.split("/"));
    const info = await stat(here).catch(() => undefined);
    if (!info?.isFile()) continue;
    const actual = await hashFile(here);
    if (actual.sha256 !== sha256) continue;
    await rm(here);
    modelFiles.push({ path, sha256, size: actual.size });
  }
  modelFiles.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { sha256: base.sha256, kind: base.kind, ...(base.stack ? { stack: base.stack, createdAt: base.createdAt } : {}), blobs, modelFiles };
}

export interface SiteState {
  /** The site registry (`host:port`): each left-out blob must be in the repository of every image using it. */
  readonly registry?: string;
  /** Plain HTTP to the registry (loopback and lab registries). @default false */
  readonly insecure?: boolean;
  /** An OCI layout folder on the site holding earlier blobs (`blobs/sha256/<hex>`). */
  readonly layoutDir?: string;
  /** The site's model folder (`bundle load --models-target`): left-out model files must be there, same sha256. */
  readonly modelsTarget?: string;
}

/**
 * What a differential bundle expects at the site and the site lacks, one line each (empty: all present). Blobs are
 * looked up in `layoutDir` or, per image repository, in `registry` (HTTP HEAD, anonymous); model files in
 * `modelsTarget`, re-hashed. `bundle load` calls this after verifying and before pushing anything.
 */
export async function checkBasePresent(manifest: BundleManifest, bundleDir: string, site: SiteState): Promise<string[]> {
  const base = manifest.base;
  if (!base) return [];
  const missing: string[] = [];
  const expected = new Map(base.blobs.map((b) => [b.sha256, b.size]));
  if (expected.size > 0) {
    if (site.layoutDir) {
      for (const [hex, size] of expected) {
        const info = await stat(join(site.layoutDir, "blobs", "sha256", hex)).catch(() => undefined);
        if (info?.size !== size) missing.push(`blob sha256:${hex} (${size} bytes) is not in ${site.layoutDir}`);
      }
    } else if (site.registry) {
      const entries = layoutEntries(manifest);
      const leaves = await imageLeaves(join(bundleDir, IMAGES_DIR), entries);
      for (const image of entries) {
        for (const [hex] of leaves.get(image.layoutRef) ?? []) {
          if (!expected.has(hex)) continue;
          const url = `${site.insecure ? "http" : "https"}://${site.registry}/v2/${image.repository}/blobs/sha256:${hex}`;
          const status = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(10_000) }).then(
            (r) => r.status,
            (error: Error) => `unreachable (${error.message})`,
          );
          if (status !== 200) missing.push(`blob sha256:${hex} of image ${image.name} is not in ${site.registry}/${image.repository} (${status})`);
        }
      }
    } else missing.push(`${expected.size} blob(s) expected at the site, and neither a registry nor a layout folder was given to look in`);
  }
  if (base.modelFiles.length > 0) {
    if (!site.modelsTarget) missing.push(`${base.modelFiles.length} model file(s) expected at the site, and no models target was given to look in`);
    else {
      const target = site.modelsTarget;
      const found = await mapLimit(base.modelFiles, async (f) => {
        const reason = f.path.startsWith("models/") ? confinedPathReason(f.path) : "is not under models/";
        if (reason) return `model file ${shownPath(f.path)} (${BUNDLE_JSON} base.modelFiles) ${reason}; not looked up`;
        const at = join(target, ...f.path.split("/").slice(1));
        const actual = await hashFile(at).catch(() => undefined);
        return actual?.sha256 === f.sha256 ? undefined : `model file ${f.path} is ${actual ? "different" : "missing"} at ${at}`;
      });
      missing.push(...found.filter((m): m is string => m !== undefined));
    }
  }
  return missing;
}

/** Which base a differential bundle was made against, for messages. */
export function describeBase(base: BundleBase): string {
  const id = `sha256 ${base.sha256.slice(0, 12)}…`;
  return base.kind === "bundle" ? `the bundle of stack ${base.stack ?? "?"} created ${base.createdAt ?? "?"} (its bundle.json has ${id})` : `a site inventory (${id})`;
}

/**
 * Throws a BundleError (a headline and one `  - ` line per gap, at most 20) when the site lacks what a differential
 * bundle expects, so load stops before pushing or copying anything.
 */
export async function assertBasePresent(manifest: BundleManifest, bundleDir: string, site: SiteState): Promise<void> {
  const missing = await checkBasePresent(manifest, bundleDir, site);
  if (missing.length === 0 || !manifest.base) return;
  const shown = missing.slice(0, 20).map((m) => `  - ${m}`);
  if (missing.length > 20) shown.push(`  - ... and ${missing.length - 20} more`);
  throw new BundleError(
    "integrity",
    `this differential bundle was made against ${describeBase(manifest.base)} (${BUNDLE_JSON} "base"), and the site lacks what it expects; nothing was loaded: load that base first, or bring a full bundle (bundle create without --base):\n${shown.join("\n")}`,
  );
}
