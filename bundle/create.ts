import { execFile } from "node:child_process";
import { cp, mkdir, readdir, realpath, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { modelFilesPath } from "../components/offline/contents.js";
import { loadStackFile } from "../stacks/config/load.js";
import { ConfigError } from "../stacks/config/problems.js";
import type { StackConfig } from "../stacks/config/types.js";
import { SynthError } from "../synth/errors.js";
import { extraGroups } from "../synth/groups.js";
import { synthesizeStack } from "../synth/synthesize.js";
import { tarBytes, writeArchive } from "./archive.js";
import { databaseSize, dumpDatabase } from "./db.js";
import { BundleError } from "./errors.js";
import { hashFile, mapLimit } from "./hash.js";
import { copyIntoLayout, imageBlobs, pinnedImages, reachableBlobs, sourceRef, type RegistryAccess } from "./images.js";
import { BUNDLE_JSON, BUNDLE_SCHEMA_VERSION, IMAGES_DIR, SHA256SUMS, type BundleManifest } from "./manifest.js";
import { walkFiles } from "./paths.js";
import { human, silentProgress, type Progress } from "./progress.js";
import { toolVersion } from "./tools.js";
import { formatSha256Sums } from "./verify.js";

export interface CreateOptions extends RegistryAccess {
  /** `Pulumi.<stack>.yaml` to bundle. */
  readonly stackFile: string;
  /** The stack's name, when the file is not named `Pulumi.<stack>.yaml`. @default from the file name */
  readonly stack?: string;
  /** The bundle folder to create; must not exist. */
  readonly out: string;
  /** Where the stack's model files are (see docs/offline-deployment.md for the layout). @default no model files */
  readonly modelsDir?: string;
  /** Registry database to dump into the bundle. @default no dump */
  readonly dbUrl?: string;
  /** Pull images from this mirror (`host:port`, same repository paths) instead of their own registries. */
  readonly sourceRegistry?: string;
  /** Also write `<out>.tar`; with `splitBytes`, parts `<out>.tar.NNN` of that size listed in `<out>.tar.parts`. @default false */
  readonly archive?: boolean;
  readonly splitBytes?: number;
  readonly progress?: Progress;
  /** Free bytes where the bundle goes. @default statfs of the parent folder */
  readonly freeBytes?: (dir: string) => Promise<number>;
}

export interface CreateResult {
  readonly dir: string;
  readonly manifest: BundleManifest;
  readonly archive: readonly string[];
}

async function statfsFree(dir: string): Promise<number> {
  const info = await statfs(dir);
  return info.bavail * info.bsize;
}

/**
 * Files and bytes of a model's files, symlinks followed (a Hugging Face cache links snapshot files to its blobs; the
 * bundle stores the content). A link loop or a special file is an error naming the path.
 */
async function sizeOf(path: string, seen: ReadonlySet<string> = new Set()): Promise<{ files: number; bytes: number }> {
  const info = await stat(path);
  if (info.isFile()) return { files: 1, bytes: info.size };
  if (!info.isDirectory()) throw new BundleError("input", `${path} is neither a file nor a folder`);
  const real = await realpath(path);
  if (seen.has(real)) throw new BundleError("input", `${path}: symlink loop (back to ${real})`);
  let total = { files: 0, bytes: 0 };
  for (const entry of await readdir(path)) {
    const inner = await sizeOf(join(path, entry), new Set([...seen, real]));
    total = { files: total.files + inner.files, bytes: total.bytes + inner.bytes };
  }
  return total;
}

async function sourceCommit(dir: string): Promise<string | null> {
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "HEAD"], { cwd: dir });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

/**
 * What an interrupted run left in `<out>.partial`: OCI blobs are kept when their content still hashes to their name,
 * everything else (the layout's index, manifests, models, dump, lists) is removed and written afresh, so nothing
 * stale from an older stack file survives. Returns the digests (hex) kept.
 */
async function resumePartial(partial: string): Promise<Set<string>> {
  const kept = new Set<string>();
  if (!(await stat(partial).catch(() => undefined))) return kept;
  const layout = join(partial, IMAGES_DIR);
  const blobs = join(layout, "blobs", "sha256");
  const others = async (dir: string, keep: string) => {
    for (const entry of await readdir(dir).catch(() => [] as string[])) if (entry !== keep) await rm(join(dir, entry), { recursive: true, force: true });
  };
  await others(partial, IMAGES_DIR);
  await others(layout, "blobs");
  await others(join(layout, "blobs"), "sha256");
  const { files, odd } = await walkFiles(blobs).catch(() => ({ files: [] as { path: string; size: number }[], odd: [] as string[] }));
  for (const path of odd) await rm(join(blobs, path), { recursive: true, force: true });
  await mapLimit(files, async (f) => {
    const { sha256 } = await hashFile(join(blobs, f.path));
    if (sha256 === f.path) kept.add(f.path);
    else await rm(join(blobs, f.path));
  });
  return kept;
}

/** Removes blobs no image of the layout references (left by an earlier run for other pins): each stored blob is needed. */
async function dropUnreferencedBlobs(layout: string): Promise<void> {
  const reachable = await reachableBlobs(layout);
  const blobs = join(layout, "blobs", "sha256");
  for (const name of await readdir(blobs)) if (!reachable.has(name)) await rm(join(blobs, name), { recursive: true, force: true });
}

/**
 * Builds a bundle for one stack into `<out>.partial` (and, with `archive`, its tar under `.partial` names), then
 * renames it to `<out>`: an interrupted or failed create never leaves a folder or archive that verifies, and a
 * re-run reuses the verified blobs the last one wrote.
 */
export async function createBundle(options: CreateOptions): Promise<CreateResult> {
  const progress = options.progress ?? silentProgress;
  const out = resolve(options.out);
  const stackFile = resolve(options.stackFile);
  let config: StackConfig;
  try {
    config = loadStackFile(stackFile, options.stack);
  } catch (error) {
    if (error instanceof ConfigError) throw new BundleError("input", error.message);
    throw error;
  }
  const images = pinnedImages(config);
  if (await stat(out).catch(() => undefined)) throw new BundleError("input", `${out} already exists; remove it or choose another --out`);
  if (config.offline && !options.modelsDir) throw new BundleError("input", `${basename(stackFile)} is an offline stack: its models come from PVCs, so pass --models-dir with their files`);

  const models = options.modelsDir
    ? await Promise.all(
        config.models.map(async (model) => {
          const rel = modelFilesPath(model);
          const from = join(resolve(options.modelsDir as string), rel);
          const size = await sizeOf(from).catch((error: unknown) => {
            if (error instanceof BundleError) throw new BundleError("input", `model ${model.name}: ${error.message}`);
            return undefined;
          });
          if (!size) throw new BundleError("input", `model ${model.name}: expected its files at ${from} (--models-dir/${rel})`);
          return { model, rel, from, ...size };
        }),
      )
    : [];

  const partial = `${out}.partial`;
  const layout = join(partial, IMAGES_DIR);
  const kept = await resumePartial(partial);

  // Space: the images' unique blobs not already kept from a previous run, the models, the database at its on-disk
  // size (the dump is smaller), and with --archive a tar of all of it.
  const blobSets = await Promise.all(images.map((image) => imageBlobs(sourceRef(image, options.sourceRegistry), options)));
  const unique = new Map<string, number>();
  const introduced = blobSets.map((blobs) => {
    let bytes = 0;
    for (const [digest, size] of blobs) {
      if (unique.has(digest)) continue;
      unique.set(digest, size);
      bytes += size;
    }
    return bytes;
  });
  const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
  const imageTotal = sum(unique.values());
  const imageNew = sum([...unique].filter(([digest]) => !kept.has(digest)).map(([, size]) => size));
  const modelTotal = sum(models.map((m) => m.bytes));
  const databaseTotal = options.dbUrl ? await databaseSize(options.dbUrl) : 0;
  // Manifests, the index, bundle.json and SHA256SUMS: small; 1 MiB covers them.
  const archiveTotal = options.archive ? tarBytes(unique.size + sum(models.map((m) => m.files)) + 100, imageTotal + modelTotal + databaseTotal + 1024 ** 2) : 0;
  const needed = imageNew + modelTotal + databaseTotal + archiveTotal;
  const free = await (options.freeBytes ?? statfsFree)(dirname(out));
  if (needed > free) {
    const parts = [`images ${human(imageNew)}`, `models ${human(modelTotal)}`, `database ${human(databaseTotal)}`, ...(archiveTotal ? [`archive ${human(archiveTotal)}`] : [])];
    throw new BundleError("space", `not enough disk space in ${dirname(out)}: the bundle needs ${human(needed)} (${parts.join(", ")}), ${human(free)} available`);
  }
  await mkdir(layout, { recursive: true });

  progress.phase("images", imageTotal);
  for (const [i, image] of images.entries()) {
    progress.message(`copying ${image.name} ${image.reference}`);
    await copyIntoLayout(partial, image, { ...options, ...(options.sourceRegistry ? { mirror: options.sourceRegistry } : {}) });
    progress.advance(introduced[i] ?? 0);
  }
  await dropUnreferencedBlobs(layout);

  let synth;
  try {
    synth = synthesizeStack(config, extraGroups(config));
  } catch (error) {
    if (error instanceof SynthError) throw new BundleError("input", error.message);
    throw error;
  }
  await mkdir(join(partial, "manifests"), { recursive: true });
  for (const file of synth.files) await writeFile(join(partial, "manifests", file.path), file.content);

  progress.phase("models", modelTotal);
  for (const m of models) {
    const to = join(partial, "models", m.rel);
    await mkdir(dirname(to), { recursive: true });
    await cp(m.from, to, { recursive: true, force: true, dereference: true });
    progress.advance(m.bytes);
  }

  const database = options.dbUrl ? await dumpDatabase(options.dbUrl, join(partial, "db", "registry.dump")) : null;

  const { files } = await walkFiles(partial);
  const listed = files.filter((f) => f.path !== BUNDLE_JSON && f.path !== SHA256SUMS);
  progress.phase("checksums", listed.reduce((sum, f) => sum + f.size, 0));
  const hashed = await mapLimit(listed, async (f) => ({ path: f.path, ...(await hashFile(join(partial, f.path), (n) => progress.advance(n))) }));
  const manifest: BundleManifest = {
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    stack: config.stack,
    environment: config.environment,
    createdAt: new Date().toISOString(),
    sourceCommit: await sourceCommit(dirname(stackFile)),
    files: hashed.map((h) => ({ path: h.path, sha256: h.sha256, size: h.size })),
    images,
    models: models.map((m) => ({ name: m.model.name, path: `models/${m.rel}`, files: m.files, bytes: m.bytes })),
    database: database ? { path: "db/registry.dump", format: "custom", serverVersion: database.serverVersion, pgDumpVersion: database.pgDumpVersion } : null,
    tools: { skopeo: await toolVersion("skopeo"), ...(database ? { pg_dump: database.pgDumpVersion } : {}) },
  };
  await writeFile(join(partial, BUNDLE_JSON), `${JSON.stringify(manifest, null, 2)}\n`);
  const bundleJson = await hashFile(join(partial, BUNDLE_JSON));
  await writeFile(join(partial, SHA256SUMS), formatSha256Sums([...manifest.files, { path: BUNDLE_JSON, sha256: bundleJson.sha256 }].sort((a, b) => (a.path < b.path ? -1 : 1))));
  let archive: string[] = [];
  if (options.archive) {
    progress.phase("archive", tarBytes(manifest.files.length + 2, sum(manifest.files.map((f) => f.size))));
    archive = await writeArchive(partial, `${out}.tar`, options.splitBytes, (n) => progress.advance(n));
  }
  await rename(partial, out);
  progress.done();
  return { dir: out, manifest, archive };
}
