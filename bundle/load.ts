import { cp, mkdir } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { openBundle } from "./archive.js";
import { restoreDatabase, type RestoreMode, type RestoreResult } from "./db.js";
import { BundleError } from "./errors.js";
import { hashFile, mapLimit } from "./hash.js";
import { digestOf, lastLine, layoutRef, rawManifest, type RegistryAccess } from "./images.js";
import { BUNDLE_JSON, bundleManifestSchema, type BundleImage, type BundleManifest } from "./manifest.js";
import { silentProgress, type Progress } from "./progress.js";
import { insideDir, unsafePathReason } from "./paths.js";
import { run } from "./tools.js";
import { assertVerified } from "./verify.js";
import { readFile } from "node:fs/promises";

export interface LoadOptions extends RegistryAccess {
  /** A bundle folder, `<bundle>.tar`, or `<bundle>.tar.parts`. */
  readonly source: string;
  /** Target registry `host:port`. */
  readonly registry: string;
  /** Load without verifying first. Said loudly; never the default. */
  readonly skipVerify?: boolean;
  /** Copy the model files here and re-check their sha256. */
  readonly modelsTarget?: string;
  /** Restore the bundle's registry dump into this database. */
  readonly dbUrl?: string;
  /** @default "merge" */
  readonly dbMode?: RestoreMode;
  readonly backupDir?: string;
  readonly progress?: Progress;
}

export interface ImageLoadReport {
  readonly name: string;
  readonly target: string;
  readonly digest: string;
  /** `present`: already there, skipped; `pushed`: copied now; then checked by digest either way. */
  readonly action: "present" | "pushed";
  readonly verified: boolean;
}

export interface LoadResult {
  readonly verified: boolean;
  readonly images: readonly ImageLoadReport[];
  readonly models: readonly string[];
  readonly database?: RestoreResult;
}

/** `<registry>/<repository>@<digest>`: where a bundled image lives on the site, the reference offline stacks render. */
export function targetRef(registry: string, image: BundleImage): string {
  return `${registry}/${image.repository}@${image.digest}`;
}

/** Whether the registry serves exactly this digest (the manifest's bytes hash to it). */
export async function hasDigest(registry: string, image: BundleImage, access: RegistryAccess): Promise<boolean> {
  const raw = await rawManifest(`docker://${targetRef(registry, image)}`, access);
  return raw !== undefined && digestOf(raw) === image.digest;
}

/**
 * Verifies the bundle (unless told not to), pushes every image to the site registry preserving digests (skipping
 * what is already there), then checks each digest is really served; copies model files and restores the database
 * when asked. Throws, after pushing what it could, if any image is missing at the end.
 */
export async function loadBundle(options: LoadOptions, warn: (text: string) => void = () => undefined): Promise<LoadResult> {
  const progress = options.progress ?? silentProgress;
  const opened = await openBundle(options.source);
  try {
    const dir = opened.dir;
    let manifest: BundleManifest;
    if (options.skipVerify) {
      warn("WARNING: --skip-verify: the bundle's checksums, OCI blobs and image list were NOT verified; corrupted or tampered content may be loaded.");
      try {
        manifest = bundleManifestSchema.parse(JSON.parse(await readFile(join(dir, BUNDLE_JSON), "utf8")));
      } catch (error) {
        throw new BundleError("integrity", `cannot read ${BUNDLE_JSON} of ${options.source}: ${(error as Error).message.split("\n")[0]}`);
      }
    } else {
      manifest = await assertVerified(dir, { onTotal: (bytes) => progress.phase("verify", bytes), onBytes: (n) => progress.advance(n) });
      progress.done();
    }
    if (options.dbUrl && !manifest.database) throw new BundleError("input", `the bundle has no database dump (it was created without --db-url); drop --db-url or bring a bundle with one`);
    const images: ImageLoadReport[] = [];
    for (const image of manifest.images) {
      const target = `${options.registry}/${image.repository}`;
      let action: ImageLoadReport["action"] = "present";
      if (!(await hasDigest(options.registry, image, options))) {
        action = "pushed";
        progress.message(`pushing ${image.name} → ${target}@${image.digest}`);
        const result = await run(
          "skopeo",
          ["copy", "--all", "--preserve-digests", ...(options.insecure ? ["--dest-tls-verify=false"] : []), layoutRef(dir, image), `docker://${target}:${image.tag}`],
          { reject: false },
        );
        if (result.exitCode !== 0) warn(`image ${image.name}: skopeo copy to ${target} failed: ${lastLine(result.stderr)}`);
      }
      images.push({ name: image.name, target: `${target}@${image.digest}`, digest: image.digest, action, verified: await hasDigest(options.registry, image, options) });
    }
    const missing = images.filter((i) => !i.verified);
    if (missing.length > 0) {
      throw new BundleError("image", `${missing.length} image(s) are not in ${options.registry} after loading: ${missing.map((m) => `${m.name} (${m.target})`).join(", ")}`);
    }
    const models = options.modelsTarget ? await copyModels(dir, manifest, options.modelsTarget) : [];
    const database = options.dbUrl ? await restoreDatabase({ source: dir, url: options.dbUrl, mode: options.dbMode ?? "merge", ...(options.backupDir ? { backupDir: options.backupDir } : {}) }) : undefined;
    return { verified: !options.skipVerify, images, models, ...(database ? { database } : {}) };
  } finally {
    await opened.cleanup();
  }
}

/** Copies `models/…` to the target folder and re-hashes every copied file against bundle.json. */
async function copyModels(dir: string, manifest: BundleManifest, target: string): Promise<string[]> {
  const files = manifest.files.filter((f) => f.path.startsWith("models/"));
  // Checked here too: with --skip-verify nothing else has looked at these paths.
  const unsafe = files.filter((f) => unsafePathReason(f.path) || !insideDir(target, relative("models", f.path)));
  if (unsafe.length > 0) throw new BundleError("integrity", `bundle.json lists model files outside the bundle's models/ folder, nothing copied: ${unsafe.map((f) => f.path).join(", ")}`);
  await mapLimit(files, async (f) => {
    const to = join(target, relative("models", f.path));
    await mkdir(dirname(to), { recursive: true });
    await cp(join(dir, f.path), to, { force: true });
    const { sha256 } = await hashFile(to);
    if (sha256 !== f.sha256) throw new BundleError("integrity", `model file ${to} does not match the bundle after copying (sha256 ${sha256}, expected ${f.sha256})`);
  });
  return files.map((f) => join(target, relative("models", f.path)));
}
