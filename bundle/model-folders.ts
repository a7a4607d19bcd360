/**
 * Model store folders in a bundle (issue #14, point 2: one layout everywhere). `bundle create --models-dir <root>`
 * reads `<root>/<owner>--<name>/<revision>/` (models/layout.ts) with its `modelfleet-manifest.json`, checks every
 * listed file against the manifest (size and sha256, each copy hashed) and stores the folder at
 * `models/<owner>--<name>/<revision>/` in the bundle; `bundle load --models-target <dir>` installs it at
 * `<dir>/<owner>--<name>/<revision>/`: staged in a hidden sibling, verified, renamed into place. A folder already
 * holding the same manifest is verified and left; a folder holding anything else is refused. So a site's store claim
 * looks exactly like one the download Job filled.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, lstat, mkdir, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { BundledModelFiles } from "../components/offline/contents.js";
import { hashFile, mapLimit } from "../files/hash.js";
import { modelDir, repoFolderName } from "../models/layout.js";
import { MANIFEST_FILE, parseManifest, serializeManifest, verifyAgainstManifest, type ModelManifest } from "../models/manifest.js";
import { confinedDestination, shownPath } from "./confine.js";
import { BundleError } from "./errors.js";
import type { BundleManifest, BundleModel } from "./manifest.js";
import { within } from "./paths.js";

/** A store folder found under `--models-dir`, its files resolved (inside the root) and listed by its manifest. */
export interface SourceFolder {
  readonly name: string;
  /** `<owner>--<name>/<revision>` */
  readonly path: string;
  readonly repo: string;
  readonly revision: string;
  readonly manifest: ModelManifest;
  /** Every listed file and the manifest file itself: path inside the folder, real source path, expected size and sha256 (undefined for the manifest file). */
  readonly files: readonly { readonly path: string; readonly from: string; readonly bytes: number; readonly sha256?: string }[];
  readonly bytes: number;
}

const describeFound = (error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" ? "missing" : `unreadable (${code ?? String(error)})`;
};

/** The real path of `path`, refused unless it is a regular file inside `root` (a Hugging Face cache's links are followed inside it). */
async function confinedSource(root: string, path: string, shown: string): Promise<string> {
  const real = await realpath(path).catch((error: unknown) => {
    throw new BundleError("input", `${shown} is ${describeFound(error)}`);
  });
  if (!within(root, real)) throw new BundleError("input", `${shown} leads outside --models-dir (to ${shownPath(real)}); only symlinks that stay inside --models-dir are followed: copy the file in instead`);
  if (!(await stat(real)).isFile()) throw new BundleError("input", `${shown} is not a regular file`);
  return real;
}

/**
 * Reads the store folder of `entry` under `root` (a real, absolute path): its manifest must name the model's repo and
 * revision, and every file it lists must be a regular file inside `root`. Sizes are checked here; digests while copying.
 */
export async function readSourceFolder(root: string, entry: BundledModelFiles & { repo: string; revision: string }): Promise<SourceFolder> {
  const dir = join(root, ...entry.path.split("/"));
  const shown = `--models-dir/${entry.path}`;
  const manifestPath = join(dir, MANIFEST_FILE);
  const text = await readFile(manifestPath, "utf8").catch((error: unknown) => {
    throw new BundleError(
      "input",
      `model ${entry.name}: expected its store folder at ${dir} with ${MANIFEST_FILE} (${shown}/${MANIFEST_FILE}: ${describeFound(error)}); fill it as the download Job does (docs/offline-deployment.md, "Model files"), e.g. \`modelfleet models unpack\` or models/download-job.mjs with MODELFLEET_TARGET=<models-dir>`,
    );
  });
  await confinedSource(root, manifestPath, `model ${entry.name}: ${shown}/${MANIFEST_FILE}`);
  let manifest: ModelManifest;
  try {
    manifest = parseManifest(text, `${shown}/${MANIFEST_FILE}`);
  } catch (error) {
    throw new BundleError("integrity", `model ${entry.name}: ${(error as Error).message}`);
  }
  if (manifest.repo !== entry.repo || manifest.revision !== entry.revision) {
    throw new BundleError(
      "integrity",
      `model ${entry.name}: ${shown}/${MANIFEST_FILE} is a manifest of ${shownPath(manifest.repo)}@${manifest.revision}, but the stack pins ${entry.repo}@${entry.revision}; fill the folder with the pinned revision`,
    );
  }
  const files = await mapLimit(manifest.files, async (f) => {
    const from = await confinedSource(root, join(dir, ...f.path.split("/")), `model ${entry.name}: ${shown}/${f.path} (listed in ${MANIFEST_FILE})`);
    const size = (await stat(from)).size;
    if (size !== f.bytes) throw new BundleError("integrity", `model ${entry.name}: ${shown}/${f.path} does not match ${MANIFEST_FILE}: ${size} bytes, the manifest says ${f.bytes}; nothing was bundled. Re-download the model`);
    return { path: f.path, from, bytes: f.bytes, sha256: f.sha256 };
  });
  const manifestReal = await realpath(manifestPath);
  const all = [...files, { path: MANIFEST_FILE, from: manifestReal, bytes: Buffer.byteLength(text) }];
  return { name: entry.name, path: entry.path, repo: entry.repo, revision: entry.revision, manifest, files: all, bytes: all.reduce((s, f) => s + f.bytes, 0) };
}

/**
 * Copies a source folder to `to` (the bundle's `models/<path>`), hashing every copy and comparing it with the
 * manifest: a mismatch stops the create naming the model and the file. Returns each copied
 * file's sha256 and size by its path below `to`, so the bundle's checksums need not read them again.
 */
export async function copySourceFolder(folder: SourceFolder, to: string, onBytes: (n: number) => void = () => undefined): Promise<Map<string, { sha256: string; size: number }>> {
  const hashed = new Map<string, { sha256: string; size: number }>();
  await mapLimit(folder.files, async (f) => {
    const dest = join(to, ...f.path.split("/"));
    await mkdir(dirname(dest), { recursive: true });
    await rm(dest, { force: true });
    // The kernel's copy, then the copy hashed from the page cache: what is checked is what the bundle holds.
    await copyFile(f.from, dest, constants.COPYFILE_EXCL);
    const actual = await hashFile(dest);
    onBytes(actual.size);
    if (f.sha256 !== undefined && (actual.sha256 !== f.sha256 || actual.size !== f.bytes)) {
      const what = actual.size !== f.bytes ? `${actual.size} bytes, the manifest says ${f.bytes}` : `sha256 ${actual.sha256}, the manifest says ${f.sha256}`;
      throw new BundleError("integrity", `model ${folder.name}: --models-dir/${folder.path}/${f.path} does not match ${MANIFEST_FILE}: ${what}; nothing was bundled. Re-download the model (its folder is corrupted or was changed after the download)`);
    }
    hashed.set(f.path, actual);
  });
  return hashed;
}

/** The store folders bundle.json lists (models with repo and revision). */
export function storeFolders(manifest: BundleManifest): (BundleModel & { repo: string; revision: string })[] {
  return manifest.models.filter((m): m is BundleModel & { repo: string; revision: string } => m.repo !== undefined && m.revision !== undefined);
}

/** Whether a bundle path (`models/…`) is inside one of the store folders. */
export function inFolder(path: string, folders: readonly { path: string }[]): boolean {
  return folders.some((f) => path.startsWith(`${f.path}/`));
}

export interface InstalledFolder {
  readonly name: string;
  /** `<target>/<owner>--<name>/<revision>` */
  readonly folder: string;
  /** `written`: installed now; `present`: already there with this manifest, verified; `base`: left out of a differential bundle, checked at the site. */
  readonly action: "written" | "present" | "base";
}

const tempName = (dir: string, what: string) => join(dir, `.${what}.${process.pid}.${randomBytes(6).toString("hex")}.partial`);

async function readSiteManifest(folder: string): Promise<ModelManifest | string> {
  const text = await readFile(join(folder, MANIFEST_FILE), "utf8").catch(() => undefined);
  if (text === undefined) return `no ${MANIFEST_FILE}`;
  try {
    return parseManifest(text, join(folder, MANIFEST_FILE));
  } catch {
    return `an unreadable ${MANIFEST_FILE}`;
  }
}

/**
 * Installs one store folder of the bundle in `dir` at `<target>/<owner>--<name>/<revision>/`. The bundle's copy must
 * hold exactly its manifest's files; they are copied to a hidden sibling, each hashed and compared with the manifest,
 * and the sibling renamed into place only when all match. A folder already there with the same manifest is verified
 * (every file re-hashed) and left; one holding anything else is refused, naming it; nothing is overwritten.
 */
export async function installModelFolder(dir: string, manifest: BundleManifest, entry: BundleModel & { repo: string; revision: string }, target: string): Promise<InstalledFolder> {
  const what = `model ${entry.name}`;
  let dest: string;
  try {
    dest = modelDir(target, entry.repo, entry.revision);
    if (entry.path !== `models/${repoFolderName(entry.repo)}/${entry.revision}`) throw new Error(`its path ${shownPath(entry.path)} is not models/${repoFolderName(entry.repo)}/${entry.revision}`);
  } catch (error) {
    throw new BundleError("integrity", `${what}: bundle.json ${(error as Error).message}; nothing copied`);
  }
  const carried = manifest.files.filter((f) => f.path.startsWith(`${entry.path}/`));
  const atSite = (manifest.base?.modelFiles ?? []).filter((f) => f.path.startsWith(`${entry.path}/`));
  if (carried.length === 0 && atSite.length > 0) return { name: entry.name, folder: dest, action: "base" };
  if (atSite.length > 0) throw new BundleError("integrity", `${what}: the bundle carries part of ${entry.path} and expects the rest at the site; a folder is carried or left out as a whole. Create the bundle again`);
  const bundleFolder = join(dir, ...entry.path.split("/"));
  let model: ModelManifest;
  try {
    model = parseManifest(await readFile(join(bundleFolder, MANIFEST_FILE), "utf8"), `${entry.path}/${MANIFEST_FILE} in the bundle`);
  } catch (error) {
    throw new BundleError("integrity", `${what}: ${(error as NodeJS.ErrnoException).code ? `${entry.path}/${MANIFEST_FILE} is missing from the bundle` : (error as Error).message}; nothing copied`);
  }
  if (model.repo !== entry.repo || model.revision !== entry.revision) throw new BundleError("integrity", `${what}: ${entry.path}/${MANIFEST_FILE} in the bundle names ${shownPath(model.repo)}@${model.revision}, bundle.json says ${entry.repo}@${entry.revision}; nothing copied`);
  const expected = new Set([...model.files.map((f) => `${entry.path}/${f.path}`), `${entry.path}/${MANIFEST_FILE}`]);
  const extra = carried.filter((f) => !expected.has(f.path)).map((f) => f.path);
  const absent = [...expected].filter((p) => !carried.some((f) => f.path === p));
  if (extra.length > 0 || absent.length > 0) {
    throw new BundleError("integrity", `${what}: the bundle's ${entry.path} does not hold exactly the files its ${MANIFEST_FILE} lists (${[...extra.map((p) => `${p} not listed`), ...absent.map((p) => `${p} missing`)].slice(0, 5).join(", ")}); nothing copied`);
  }

  // The folder chain: <target>/<owner>--<name>, created here, never through a symlink.
  await mkdir(target, { recursive: true });
  const realTarget = await realpath(target);
  const parent = dirname(dest);
  const parentInfo = await lstat(parent).catch(() => undefined);
  if (!parentInfo) await mkdir(parent);
  else if (!parentInfo.isDirectory()) throw new BundleError("integrity", `${what}: ${parent} on the site is ${parentInfo.isSymbolicLink() ? "a symlink" : "not a folder"}; nothing is written through it. Remove it and load again`);
  if (!within(realTarget, await realpath(parent))) throw new BundleError("integrity", `${what}: ${parent} resolves outside ${target}; nothing written there`);

  const existing = await lstat(dest).catch(() => undefined);
  if (existing) {
    if (!existing.isDirectory()) throw new BundleError("integrity", `${what}: ${dest} on the site is ${existing.isSymbolicLink() ? "a symlink" : "not a folder"}; nothing was written there. Move it away and load again`);
    const present = await readSiteManifest(dest);
    if (typeof present === "string" || serializeManifest(present) !== serializeManifest(model)) {
      const held = typeof present === "string" ? present : `a manifest of ${shownPath(present.repo)}@${present.revision} with other files (${present.files.length} files)`;
      throw new BundleError("input", `${what}: ${dest} already exists and holds ${held}, not this model's manifest (${model.files.length} files); nothing was written there. Move the folder away (or load into another --models-target) and run load again`);
    }
    const mismatches = await verifyAgainstManifest(dest, model);
    if (mismatches.length > 0) {
      throw new BundleError("integrity", `${what}: ${dest} holds this model's manifest but ${mismatches.slice(0, 5).map((m) => `${m.path}: ${m.problem}`).join("; ")}; remove the folder and load again`);
    }
    return { name: entry.name, folder: dest, action: "present" };
  }

  const staging = tempName(parent, entry.revision);
  await mkdir(staging);
  try {
    const sums = new Map(model.files.map((f) => [f.path, f]));
    const listed = new Map(carried.map((f) => [f.path, f]));
    await mapLimit([...model.files.map((f) => f.path), MANIFEST_FILE], async (path) => {
      const to = await confinedDestination(staging, path, "model file");
      const from = join(bundleFolder, ...path.split("/"));
      const source = await lstat(from).catch(() => undefined);
      if (!source?.isFile()) throw new BundleError("integrity", `${what}: ${entry.path}/${path} is not a regular file in the bundle; nothing copied`);
      await copyFile(from, to, constants.COPYFILE_EXCL);
      const actual = await hashFile(to);
      const want = sums.get(path);
      const record = listed.get(`${entry.path}/${path}`);
      const ok = want ? actual.sha256 === want.sha256 && actual.size === want.bytes : actual.sha256 === record?.sha256;
      if (!ok || (record && actual.sha256 !== record.sha256)) {
        throw new BundleError("integrity", `${what}: ${entry.path}/${path} does not match its ${want ? MANIFEST_FILE : "bundle.json entry"} after copying (${actual.size} bytes, sha256 ${actual.sha256}); nothing was installed`);
      }
    });
    await rename(staging, dest).catch((error: NodeJS.ErrnoException) => {
      throw new BundleError("integrity", `${what}: ${dest} appeared while it was being loaded (${error.code ?? error.message}); nothing was replaced. Run load again`);
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { name: entry.name, folder: dest, action: "written" };
}

/** For the dry run: what loading a store folder would do, by the manifest's sha256 in bundle.json (no bundle file is read). */
export async function planModelFolder(manifest: BundleManifest, entry: BundleModel & { repo: string; revision: string }, target: string): Promise<{ name: string; path: string; folder: string; action: "write" | "present" | "base" | "conflict"; detail?: string }> {
  const dest = join(target, ...entry.path.split("/").slice(1));
  const manifestPath = `${entry.path}/${MANIFEST_FILE}`;
  const carried = manifest.files.find((f) => f.path === manifestPath);
  if (!carried) return { name: entry.name, path: entry.path, folder: dest, action: "base" };
  const existing = await lstat(dest).catch(() => undefined);
  if (!existing) return { name: entry.name, path: entry.path, folder: dest, action: "write" };
  if (!existing.isDirectory()) return { name: entry.name, path: entry.path, folder: dest, action: "conflict", detail: `${existing.isSymbolicLink() ? "a symlink" : "not a folder"} on the site; the load would refuse it` };
  const present = await hashFile(join(dest, MANIFEST_FILE)).catch(() => undefined);
  if (present?.sha256 === carried.sha256) return { name: entry.name, path: entry.path, folder: dest, action: "present", detail: "same manifest; the load verifies its files and leaves it" };
  return { name: entry.name, path: entry.path, folder: dest, action: "conflict", detail: `holds ${present ? "another" : `no`} ${MANIFEST_FILE}; the load would refuse it` };
}
