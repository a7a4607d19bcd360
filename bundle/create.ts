import { execFile } from "node:child_process";
import { copyFile, lstat, mkdir, readdir, realpath, rename, rm, stat, statfs, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { loadStackFile } from "../config/load.js";
import { ConfigError } from "../config/problems.js";
import type { StackConfig } from "../config/types.js";
import { SynthError } from "../synth/errors.js";
import { extraGroups } from "../synth/groups.js";
import { synthesizeStack } from "../synth/synthesize.js";
import { PARTS_SUFFIX, tarBytes, writeArchive } from "./archive.js";
import { leaveOutBase, readBase } from "./base.js";
import { databaseSize, dumpDatabase } from "./db.js";
import { BundleError } from "./errors.js";
import { hashFile, mapLimit } from "../files/hash.js";
import { copyIntoLayout, imageBlobs, pinnedImages, pinnedModelArtifacts, reachableBlobs, sourceRef, stackModelFiles, type RegistryAccess } from "./images.js";
import { copySourceFolder, readSourceFolder, type SourceFolder } from "./model-folders.js";
import { BUNDLE_JSON, BUNDLE_SCHEMA_VERSION, BUNDLE_SIG, IMAGES_DIR, SHA256SUMS, type BundleManifest } from "./manifest.js";
import { confinedFiles, walkFiles } from "./paths.js";
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
  /**
   * Where the stack's model files are: `<owner>--<name>/<revision>/` store folders with their
   * `modelfleet-manifest.json` for Hugging Face models (models/layout.ts), a `pvc` model's files at its path
   * (docs/offline-deployment.md). Required for an offline stack with such models. @default no model files
   */
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
  /**
   * Signs the bundle: called with the path of the finished bundle.json, before SHA256SUMS, the archive and the final
   * rename; writes `bundle.json.sig` next to it (bundle/sign.ts). @default unsigned
   */
  readonly sign?: (bundleJsonPath: string) => Promise<void>;
  /**
   * Make a differential bundle: leave out the OCI layers and model files this base already has (an earlier
   * bundle's bundle.json, or a site inventory: bundle/base.ts), recorded in bundle.json as `base`. @default a full bundle
   */
  readonly base?: string;
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
  const info = await lstat(partial).catch(() => undefined);
  if (!info) return kept;
  if (!info.isDirectory()) {
    // Our own `.partial` name, but not a folder this code made (a symlink would send the bundle elsewhere).
    await rm(partial, { force: true });
    return kept;
  }
  const layout = join(partial, IMAGES_DIR);
  const blobs = join(layout, "blobs", "sha256");
  // Only the real folder images/blobs/sha256 is kept: a symlink or file under one of those names goes too.
  const others = async (dir: string, keep: string) => {
    for (const entry of await readdir(dir).catch(() => [] as string[])) {
      if (entry !== keep || !(await lstat(join(dir, entry))).isDirectory()) await rm(join(dir, entry), { recursive: true, force: true });
    }
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
  const base = options.base ? await readBase(resolve(options.base)) : undefined;
  const targets = [out, ...(options.archive ? [`${out}.tar`, `${out}.tar${PARTS_SUFFIX}`, `${out}.tar.000`] : [])];
  for (const target of targets) {
    if (await lstat(target).catch(() => undefined)) throw new BundleError("input", `${target} already exists; remove it or choose another --out`);
  }
  const artifacts = pinnedModelArtifacts(config);
  const wanted = stackModelFiles(config);
  if (config.offline && !options.modelsDir && wanted.length > 0) {
    throw new BundleError(
      "input",
      `${basename(stackFile)} is an offline stack: its site cannot download models, so their files must be in the bundle (${wanted.map((m) => m.name).join(", ")}); pass --models-dir <root> holding ${wanted.map((m) => m.path).join(", ")} (docs/offline-deployment.md, "Model files")`,
    );
  }

  const modelsRoot = options.modelsDir ? await realpath(resolve(options.modelsDir)).catch(() => undefined) : undefined;
  if (options.modelsDir && !(await stat(modelsRoot ?? "").catch(() => undefined))?.isDirectory()) throw new BundleError("input", `--models-dir ${options.modelsDir} is not a folder; pass the folder holding the stack's model files`);
  const withModel = (name: string) => (error: unknown) => {
    throw error instanceof BundleError && !error.message.startsWith("model ") ? new BundleError(error.kind, `model ${name}: ${error.message}`) : error;
  };
  // Store folders (Hugging Face models, drafts): the manifest's files; pvc models: whatever is at their path.
  const folders: SourceFolder[] = modelsRoot
    ? await Promise.all(wanted.flatMap((m) => (m.repo && m.revision ? [readSourceFolder(modelsRoot, { ...m, repo: m.repo, revision: m.revision }).catch(withModel(m.name))] : [])))
    : [];
  const models = modelsRoot
    ? await Promise.all(
        wanted
          .filter((m) => !m.repo)
          .map(async (m) => {
            const rel = m.path;
            const files = await confinedFiles(modelsRoot, rel, "--models-dir").catch(withModel(m.name));
            if (!files) throw new BundleError("input", `model ${m.name}: expected its files at ${join(modelsRoot, rel)} (--models-dir/${rel})`);
            return { name: m.name, rel, files, bytes: files.reduce((sum, f) => sum + f.size, 0) };
          }),
      )
    : [];

  const partial = `${out}.partial`;
  const layout = join(partial, IMAGES_DIR);
  const kept = await resumePartial(partial);

  // Space: the images' unique blobs not already kept from a previous run, the models, the database at its on-disk
  // size (the dump is smaller), and with --archive a tar of all of it.
  const layoutEntries = [...images, ...artifacts];
  const blobSets = await Promise.all(layoutEntries.map((image) => imageBlobs(sourceRef(image, options.sourceRegistry), options)));
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
  const modelTotal = sum(models.map((m) => m.bytes)) + sum(folders.map((f) => f.bytes));
  const databaseTotal = options.dbUrl ? await databaseSize(options.dbUrl) : 0;
  // Manifests, the index, bundle.json and SHA256SUMS: small; 1 MiB covers them.
  const archiveTotal = options.archive ? tarBytes(unique.size + sum(models.map((m) => m.files.length)) + sum(folders.map((f) => f.files.length)) + 100, imageTotal + modelTotal + databaseTotal + 1024 ** 2) : 0;
  const needed = imageNew + modelTotal + databaseTotal + archiveTotal;
  const free = await (options.freeBytes ?? statfsFree)(dirname(out));
  if (needed > free) {
    const parts = [`images ${human(imageNew)}`, `models ${human(modelTotal)}`, `database ${human(databaseTotal)}`, ...(archiveTotal ? [`archive ${human(archiveTotal)}`] : [])];
    throw new BundleError("space", `not enough disk space in ${dirname(out)}: the bundle needs ${human(needed)} (${parts.join(", ")}), ${human(free)} available`);
  }
  await mkdir(layout, { recursive: true });

  progress.phase("images", imageTotal);
  for (const [i, image] of layoutEntries.entries()) {
    progress.message(`copying ${i < images.length ? "" : "model "}${image.name} ${image.reference}`);
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
  // Each copy hashed and compared with each folder's manifest: the checksums below need not read them again.
  const preHashed = new Map<string, { sha256: string; size: number }>();
  for (const folder of folders) {
    const hashed = await copySourceFolder(folder, join(partial, "models", ...folder.path.split("/")), (n) => progress.advance(n));
    for (const [path, h] of hashed) preHashed.set(`models/${folder.path}/${path}`, h);
  }
  for (const m of models) {
    for (const file of m.files) {
      // rel and every entry name were checked: the copy stays under models/, and is a copy, never a link.
      const to = join(partial, "models", m.rel, ...(file.to ? file.to.split("/") : []));
      await mkdir(dirname(to), { recursive: true });
      await copyFile(file.from, to);
      progress.advance(file.size);
    }
  }

  const database = options.dbUrl ? await dumpDatabase(options.dbUrl, join(partial, "db", "registry.dump")) : null;

  // DIFFERENTIAL: what the base has is removed before hashing, so bundle.json lists only what the bundle carries.
  const baseRecord = base ? await leaveOutBase(partial, layoutEntries, base, folders.map((f) => `models/${f.path}`)) : undefined;

  const { files, odd } = await walkFiles(partial);
  // Nothing this code writes is a link or special file; anything else would make the folder and its tar differ.
  if (odd.length > 0) throw new BundleError("integrity", `${partial} holds ${odd.slice(0, 5).join(", ")}, not regular files; remove ${partial} and run create again`);
  const listed = files.filter((f) => f.path !== BUNDLE_JSON && f.path !== SHA256SUMS && f.path !== BUNDLE_SIG);
  progress.phase("checksums", listed.reduce((sum, f) => sum + f.size, 0));
  const hashed = await mapLimit(listed, async (f) => {
    const known = preHashed.get(f.path);
    if (known && known.size === f.size) {
      progress.advance(f.size);
      return { path: f.path, ...known };
    }
    return { path: f.path, ...(await hashFile(join(partial, f.path), (n) => progress.advance(n))) };
  });
  const manifest: BundleManifest = {
    schemaVersion: BUNDLE_SCHEMA_VERSION,
    stack: config.stack,
    environment: config.environment,
    createdAt: new Date().toISOString(),
    sourceCommit: await sourceCommit(dirname(stackFile)),
    files: hashed.map((h) => ({ path: h.path, sha256: h.sha256, size: h.size })),
    images,
    ...(artifacts.length > 0 ? { modelArtifacts: artifacts } : {}),
    // hfTokenAtSource: guidance for the site (load prints how to set a token there); never the token itself.
    models: [
      ...folders.map((f) => {
        // A differential bundle may leave a whole folder out (the site has it): counted from bundle.json either way.
        const carried = hashed.filter((h) => h.path.startsWith(`models/${f.path}/`));
        const atSite = baseRecord?.modelFiles.filter((h) => h.path.startsWith(`models/${f.path}/`)) ?? [];
        return {
          name: f.name,
          path: `models/${f.path}`,
          repo: f.repo,
          revision: f.revision,
          files: carried.length + atSite.length,
          bytes: sum([...carried, ...atSite].map((h) => h.size)),
          ...(config.hfToken ? { hfTokenAtSource: true } : {}),
        };
      }),
      ...models.map((m) => ({ name: m.name, path: `models/${m.rel}`, files: m.files.length, bytes: m.bytes })),
    ],
    database: database ? { path: "db/registry.dump", format: "custom", serverVersion: database.serverVersion, pgDumpVersion: database.pgDumpVersion } : null,
    tools: { skopeo: await toolVersion("skopeo"), ...(database ? { pg_dump: database.pgDumpVersion } : {}) },
    ...(baseRecord ? { base: baseRecord } : {}),
  };
  await writeFile(join(partial, BUNDLE_JSON), `${JSON.stringify(manifest, null, 2)}\n`);
  // The signature (bundle.json.sig) is written next to bundle.json: neither bundle.json nor SHA256SUMS lists it,
  // the archive carries it right after bundle.json.
  if (options.sign) await options.sign(join(partial, BUNDLE_JSON));
  const bundleJson = await hashFile(join(partial, BUNDLE_JSON));
  await writeFile(join(partial, SHA256SUMS), formatSha256Sums([...manifest.files, { path: BUNDLE_JSON, sha256: bundleJson.sha256 }].sort((a, b) => (a.path < b.path ? -1 : 1))));
  let archive: string[] = [];
  if (options.archive) {
    // Leftovers of an interrupted archive write (`<out>.tar.NNN.partial`, …) are never part of this one.
    const prefix = `${basename(out)}.tar`;
    for (const name of await readdir(dirname(out))) if (name.startsWith(prefix) && name.endsWith(".partial")) await rm(join(dirname(out), name), { force: true });
    progress.phase("archive", tarBytes(manifest.files.length + 3, sum(manifest.files.map((f) => f.size))));
    archive = await writeArchive(partial, `${out}.tar`, options.splitBytes, (n) => progress.advance(n));
  }
  // rename() would replace an empty folder created meanwhile: check once more right before.
  if (await lstat(out).catch(() => undefined)) throw new BundleError("input", `${out} appeared while the bundle was created; the bundle is in ${partial}`);
  await rename(partial, out);
  progress.done();
  return { dir: out, manifest, archive };
}
