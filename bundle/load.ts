import { copyFile, lstat, mkdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { openBundle } from "./archive.js";
import { assertBasePresent, checkBasePresent, describeBase } from "./base.js";
import { confinedDestination, confinedPathReason, shownPath } from "./confine.js";
import { restoreDatabase, serverVersion, type RestoreMode, type RestoreResult } from "./db.js";
import { BundleError } from "./errors.js";
import { hashFile, mapLimit } from "../files/hash.js";
import { digestOf, lastLine, layoutRef, rawManifest, type RegistryAccess } from "./images.js";
import { BUNDLE_JSON, IMAGES_DIR, parseBundleManifest, type BundleImage, type BundleManifest } from "./manifest.js";
import { inFolder, installModelFolder, planModelFolder, storeFolders, type InstalledFolder } from "./model-folders.js";
import { silentProgress, type Progress } from "./progress.js";
import { run } from "./tools.js";
import { assertVerified, formatProblems, verifyArchive, verifyBundle, type SignatureStatus, type TrustPolicy } from "./verify.js";

export interface LoadOptions extends RegistryAccess {
  /** A bundle folder, `<bundle>.tar`, or `<bundle>.tar.parts`. */
  readonly source: string;
  /** Target registry `host:port`. */
  readonly registry: string;
  /** Load without verifying first (signature, checksums, layout). Said loudly; never the default. */
  readonly skipVerify?: boolean;
  /**
   * Signature rules for the verification (the CLI always passes them: `--trust-key`, `--allow-unsigned`).
   * @default - the signature is not checked, only the bundle's integrity
   */
  readonly trust?: TrustPolicy;
  /**
   * The site's model store (the mounted claim `<serviceName>-models` or `modelfleet-models-<environment>`): store
   * folders are installed at `<dir>/<owner>--<name>/<revision>/` (staged, verified, renamed; one already there with
   * the same manifest is verified and left), a `pvc` model's files copied to their path and re-checked. Every
   * destination stays inside this folder.
   */
  readonly modelsTarget?: string;
  /**
   * Only these models' files go to `modelsTarget` (bundle.json `models[].name`): with per-model store claims, each
   * claim is loaded with its own model. Images and model artifacts are pushed regardless. @default every model
   */
  readonly modelNames?: readonly string[];
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
  readonly signature?: SignatureStatus;
  readonly images: readonly ImageLoadReport[];
  /** oci-pinned models, pushed to the site registry like images. */
  readonly modelArtifacts: readonly ImageLoadReport[];
  /** Files copied for `pvc` models and written into store folders (their site paths). */
  readonly models: readonly string[];
  /** Store folders: installed now, already present (verified), or left out of a differential bundle. */
  readonly modelFolders: readonly InstalledFolder[];
  readonly database?: RestoreResult;
  /** Guidance for the operator (Hugging Face tokens), one line each. */
  readonly notes: readonly string[];
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

const SKIP_WARNING = "WARNING: --skip-verify: the bundle's signature, checksums, OCI blobs and image list were NOT verified; corrupted or tampered content may be loaded.";

/** How to provide a Hugging Face token at the site, for each model that needed one at the source. */
export function hfTokenNotes(manifest: BundleManifest, modelsTarget: string | undefined): string[] {
  return manifest.models
    .filter((m) => m.hfTokenAtSource)
    .map(
      (m) =>
        `model ${m.name} needed a Hugging Face token at the source; the site needs none to serve it: its files are in this bundle${modelsTarget ? ` (copied to ${modelsTarget})` : " (copy them with --models-target)"}. Only if this site downloads from Hugging Face itself, set the token there: pulumi config set --secret modelfleet:hfToken <token> (GitOps: key hf-token of the Secret <model>-<environment>-credentials).`,
    );
}

/**
 * Verifies the bundle (unless told not to) under the given trust rules, pushes every image to the site registry
 * preserving digests (skipping what is already there), then checks each digest is really served; copies model
 * files and restores the database when asked. Throws, after pushing what it could, if any image is missing at the end.
 */
export async function loadBundle(options: LoadOptions, warn: (text: string) => void = () => undefined): Promise<LoadResult> {
  const progress = options.progress ?? silentProgress;
  const opened = await openBundle(options.source);
  try {
    const dir = opened.dir;
    let manifest: BundleManifest;
    let signature: SignatureStatus | undefined;
    if (options.skipVerify) {
      warn(SKIP_WARNING);
      const parsed = parseBundleManifest(await readFile(join(dir, BUNDLE_JSON), "utf8").catch(() => ""));
      if (!("manifest" in parsed)) throw new BundleError("integrity", `cannot read ${BUNDLE_JSON} of ${options.source}: ${parsed.problems.join("; ")}`);
      manifest = parsed.manifest;
    } else {
      const report = await assertVerified(dir, { onTotal: (bytes) => progress.phase("verify", bytes), onBytes: (n) => progress.advance(n), ...(options.trust ? { trust: options.trust } : {}) });
      progress.done();
      for (const line of report.warnings) warn(line);
      manifest = report.manifest;
      signature = report.signature;
    }
    // A differential bundle: what it left out must already be at the site, or nothing is pushed or copied.
    await assertBasePresent(options.modelsTarget ? selectModels(manifest, options.modelNames) : manifest, dir, { registry: options.registry, insecure: options.insecure === true, ...(options.modelsTarget ? { modelsTarget: options.modelsTarget } : {}) });
    if (options.dbUrl && !manifest.database) throw new BundleError("input", `the bundle has no database dump (it was created without --db-url); drop --db-url or bring a bundle with one`);
    const push = async (image: BundleImage, kind: "image" | "model"): Promise<ImageLoadReport> => {
      const target = `${options.registry}/${image.repository}`;
      let action: ImageLoadReport["action"] = "present";
      if (!(await hasDigest(options.registry, image, options))) {
        action = "pushed";
        progress.message(`pushing ${kind === "model" ? "model " : ""}${image.name} → ${target}@${image.digest}`);
        const result = await run(
          "skopeo",
          ["copy", "--all", "--preserve-digests", ...(options.insecure ? ["--dest-tls-verify=false"] : []), layoutRef(dir, image), `docker://${target}:${image.tag}`],
          { reject: false },
        );
        if (result.exitCode !== 0) warn(`${kind} ${image.name}: skopeo copy to ${target} failed: ${lastLine(result.stderr)}`);
      }
      return { name: image.name, target: `${target}@${image.digest}`, digest: image.digest, action, verified: await hasDigest(options.registry, image, options) };
    };
    const images: ImageLoadReport[] = [];
    for (const image of manifest.images) images.push(await push(image, "image"));
    const modelArtifacts: ImageLoadReport[] = [];
    for (const artifact of manifest.modelArtifacts ?? []) modelArtifacts.push(await push(artifact, "model"));
    const missing = [...images.map((i) => ({ ...i, kind: "image" })), ...modelArtifacts.map((i) => ({ ...i, kind: "model" }))].filter((i) => !i.verified);
    if (missing.length > 0) {
      throw new BundleError("image", `${missing.length} image(s) or model artifact(s) are not in ${options.registry} after loading: ${missing.map((m) => `${m.kind} ${m.name} (${m.target})`).join(", ")}`);
    }
    const modelFolders: InstalledFolder[] = [];
    const models: string[] = [];
    if (options.modelsTarget) {
      const chosen = selectModels(manifest, options.modelNames);
      models.push(...(await copyModels(dir, chosen, options.modelsTarget)));
      for (const folder of storeFolders(chosen)) {
        progress.message(`installing model ${folder.name} into ${options.modelsTarget}`);
        const installed = await installModelFolder(dir, manifest, folder, options.modelsTarget);
        modelFolders.push(installed);
        if (installed.action === "written") models.push(...manifest.files.filter((f) => f.path.startsWith(`${folder.path}/`)).map((f) => join(installed.folder, f.path.slice(folder.path.length + 1))));
      }
    }
    const database = options.dbUrl ? await restoreDatabase({ source: dir, url: options.dbUrl, mode: options.dbMode ?? "merge", ...(options.backupDir ? { backupDir: options.backupDir } : {}) }) : undefined;
    return { verified: !options.skipVerify, ...(signature ? { signature } : {}), images, modelArtifacts, models, modelFolders, ...(database ? { database } : {}), notes: hfTokenNotes(manifest, options.modelsTarget) };
  } finally {
    await opened.cleanup();
  }
}

/**
 * bundle.json narrowed to the named models' files (`--model`): other models' entries and their files under `models/`
 * are dropped (a file two models share stays). Unknown names are refused, listing the bundle's models.
 */
export function selectModels(manifest: BundleManifest, names: readonly string[] | undefined): BundleManifest {
  if (!names || names.length === 0) return manifest;
  const unknown = names.filter((n) => !manifest.models.some((m) => m.name === n));
  if (unknown.length > 0) throw new BundleError("input", `--model ${unknown.join(", ")}: not a model of this bundle; it carries files for: ${manifest.models.map((m) => m.name).join(", ") || "(none)"}`);
  const kept = manifest.models.filter((m) => names.includes(m.name));
  const under = (path: string, m: { path: string }) => path === m.path || path.startsWith(`${m.path}/`);
  const keep = (path: string) => !path.startsWith("models/") || kept.some((m) => under(path, m));
  return {
    ...manifest,
    models: kept,
    files: manifest.files.filter((f) => keep(f.path)),
    ...(manifest.base ? { base: { ...manifest.base, modelFiles: manifest.base.modelFiles.filter((f) => keep(f.path)) } } : {}),
  };
}

/**
 * The `pvc` model files of bundle.json to copy: every one under `models/` outside the store folders (installed whole
 * by installModelFolder), each path confined (checked even with --skip-verify); a differential bundle's
 * `base.modelFiles` are at the site already (checked by sha256), never copied.
 */
function modelFiles(manifest: BundleManifest): BundleManifest["files"] {
  const atSite = new Set((manifest.base?.modelFiles ?? []).map((f) => f.path));
  const folders = storeFolders(manifest);
  const files = manifest.files.filter((f) => f.path.startsWith("models/") && !atSite.has(f.path) && !inFolder(f.path, folders));
  const unsafe = files.filter((f) => confinedPathReason(f.path) !== undefined);
  if (unsafe.length > 0) throw new BundleError("integrity", `bundle.json lists model files outside the bundle's models/ folder, nothing copied: ${unsafe.map((f) => shownPath(f.path)).join(", ")}`);
  return files;
}

/**
 * Copies `models/…` to the target folder and re-hashes every copied file against bundle.json. Every destination is
 * confined to the target (no `..`, no absolute path, no symlink on the site leading out), every source must be a
 * regular file of the bundle.
 */
async function copyModels(dir: string, manifest: BundleManifest, target: string): Promise<string[]> {
  const files = modelFiles(manifest);
  await mkdir(target, { recursive: true });
  return mapLimit(files, async (f) => {
    const rel = relative("models", f.path).split("\\").join("/");
    const to = await confinedDestination(target, rel, "model file");
    const source = await lstat(join(dir, f.path)).catch(() => undefined);
    if (!source?.isFile()) throw new BundleError("integrity", `model file ${f.path} is not a regular file in the bundle; nothing copied from it`);
    await copyFile(join(dir, f.path), to);
    const { sha256 } = await hashFile(to);
    if (sha256 !== f.sha256) throw new BundleError("integrity", `model file ${to} does not match the bundle after copying (sha256 ${sha256}, expected ${f.sha256})`);
    return to;
  });
}

export interface LoadPlan {
  readonly source: string;
  readonly signature: SignatureStatus;
  readonly warnings: readonly string[];
  readonly registry: { readonly host: string; readonly reachable: boolean; readonly detail: string };
  /** `push`: not on the site yet; `present`: already served with this digest; `unknown`: registry unreachable. */
  readonly images: readonly { readonly name: string; readonly target: string; readonly action: "push" | "present" | "unknown" }[];
  /** oci-pinned models, as images. */
  readonly modelArtifacts: readonly { readonly name: string; readonly target: string; readonly action: "push" | "present" | "unknown" }[];
  readonly models?: {
    readonly target: string;
    readonly targetExists: boolean;
    readonly files: number;
    readonly bytes: number;
    /** Files already there with the same content (nothing to do). */
    readonly same: number;
    /** Files already there with other content: the load would overwrite them. */
    readonly conflicts: readonly string[];
    /** Store folders: `write` new, `present` with the same manifest, `base` left out (the site has it), `conflict` refused. */
    readonly folders: readonly { readonly name: string; readonly path: string; readonly folder: string; readonly action: "write" | "present" | "base" | "conflict"; readonly detail?: string }[];
  };
  readonly database?: { readonly reachable: boolean; readonly detail: string; readonly mode: RestoreMode; readonly dumpServerVersion: string };
  /** Site prerequisites that are missing: the real load would fail on each. */
  readonly missing: readonly string[];
  readonly notes: readonly string[];
}

/** OCI manifests and indexes are small JSON documents (the same bound verify uses). */
const MAX_DOC_BYTES = 4 * 1024 ** 2;

/**
 * For the dry run: what a differential bundle expects at the site and the site lacks, as `missing` lines (the real
 * load stops on each). An archive's images/index.json and small blobs (the manifests) are unpacked to a temporary
 * folder to learn which image uses which layer; nothing on the site is changed.
 */
async function baseGaps(options: Omit<LoadOptions, "skipVerify" | "progress">, manifest: BundleManifest, reachable: boolean): Promise<string[]> {
  const base = manifest.base;
  if (!base) return [];
  const lines: string[] = [];
  let checked = manifest;
  if (!reachable && base.blobs.length > 0) {
    lines.push(`${base.blobs.length} image layer(s) this differential bundle expects in ${options.registry} could not be looked up (the registry is not reachable)`);
    checked = { ...manifest, base: { ...base, blobs: [] } };
  }
  const docs = new Set(manifest.files.filter((f) => f.path.startsWith(`${IMAGES_DIR}/blobs/`) && f.size <= MAX_DOC_BYTES).map((f) => f.path));
  const opened = checked.base?.blobs.length ? await openBundle(options.source, (name) => name === `${IMAGES_DIR}/index.json` || docs.has(name)) : undefined;
  try {
    const site = { registry: options.registry, insecure: options.insecure === true, ...(options.modelsTarget ? { modelsTarget: options.modelsTarget } : {}) };
    lines.push(...(await checkBasePresent(checked, opened?.dir ?? options.source, site)));
  } finally {
    await opened?.cleanup();
  }
  if (lines.length === 0) return [];
  return [`this differential bundle was made against ${describeBase(base)}; the site lacks what it expects: load that base first, or bring a full bundle (bundle create without --base)`, ...lines];
}

async function registryReachable(host: string, insecure: boolean | undefined): Promise<{ reachable: boolean; detail: string }> {
  const url = `${insecure ? "http" : "https"}://${host}/v2/`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    // 401: reachable, wants credentials (skopeo uses the site's auth file).
    if (response.status === 200 || response.status === 401) return { reachable: true, detail: `${url} answers ${response.status}` };
    return { reachable: false, detail: `${url} answers ${response.status}, not an OCI registry` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { reachable: false, detail: `${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}` };
  }
}

/**
 * What `loadBundle` would do, changing nothing: the bundle is verified under the same trust rules (an archive is
 * read as it streams, not unpacked), then the site is asked, read-only, which images it already serves
 * (`skopeo inspect`), which model files already exist and whether they differ, and whether the database answers.
 * Throws like `loadBundle` when the bundle does not verify.
 */
export async function planLoad(options: Omit<LoadOptions, "skipVerify" | "progress">): Promise<LoadPlan> {
  const info = await stat(options.source).catch(() => undefined);
  if (!info) throw new BundleError("input", `no bundle at ${options.source}`);
  const hooks = options.trust ? { trust: options.trust } : {};
  const report = info.isDirectory() ? await verifyBundle(options.source, hooks) : await verifyArchive(options.source, hooks);
  if (!report.ok || !report.manifest) throw new BundleError("integrity", `bundle ${options.source} does not verify:\n${formatProblems(report.problems)}`);
  const manifest = options.modelsTarget ? selectModels(report.manifest, options.modelNames) : report.manifest;
  const missing: string[] = [];
  const registry = { host: options.registry, ...(await registryReachable(options.registry, options.insecure)) };
  if (!registry.reachable) missing.push(`registry ${options.registry} is not reachable (${registry.detail}); start it or fix --registry${options.insecure ? "" : " (add --insecure for a plain-HTTP registry)"}`);
  const planImage = async (image: BundleImage) => ({
    name: image.name,
    target: targetRef(options.registry, image),
    action: !registry.reachable ? ("unknown" as const) : (await hasDigest(options.registry, image, options)) ? ("present" as const) : ("push" as const),
  });
  const modelArtifacts = await Promise.all((manifest.modelArtifacts ?? []).map(planImage));
  const images = await Promise.all(
    manifest.images.map(async (image) => ({
      name: image.name,
      target: targetRef(options.registry, image),
      action: !registry.reachable ? ("unknown" as const) : (await hasDigest(options.registry, image, options)) ? ("present" as const) : ("push" as const),
    })),
  );
  let models: LoadPlan["models"];
  if (options.modelsTarget) {
    const target = options.modelsTarget;
    const files = modelFiles(manifest);
    const targetInfo = await stat(target).catch(() => undefined);
    if (targetInfo && !targetInfo.isDirectory()) missing.push(`--models-target ${target} is not a folder`);
    else if (!targetInfo) missing.push(`--models-target ${target} does not exist; mount the model volume there (the load would create an empty folder)`);
    const conflicts: string[] = [];
    let same = 0;
    if (targetInfo?.isDirectory()) {
      await mapLimit(files, async (f) => {
        const at = join(target, relative("models", f.path));
        const existing = await lstat(at).catch(() => undefined);
        if (!existing) return;
        if (!existing.isFile()) conflicts.push(`${relative("models", f.path)} (not a regular file on the site)`);
        else if (existing.size === f.size && (await hashFile(at)).sha256 === f.sha256) same += 1;
        else conflicts.push(relative("models", f.path));
      });
    }
    const folders = targetInfo?.isDirectory() ? await Promise.all(storeFolders(manifest).map((folder) => planModelFolder(manifest, folder, target))) : [];
    for (const f of folders) if (f.action === "present") same += manifest.files.filter((file) => file.path.startsWith(`${f.path}/`)).length;
    for (const f of folders) if (f.action === "conflict") missing.push(`model ${f.name}: ${f.folder} ${f.detail ?? "conflicts"}: move it away first`);
    const folderFiles = manifest.files.filter((f) => inFolder(f.path, storeFolders(manifest)));
    models = {
      target,
      targetExists: targetInfo?.isDirectory() === true,
      files: files.length + folderFiles.length,
      bytes: [...files, ...folderFiles].reduce((s, f) => s + f.size, 0),
      same,
      conflicts: conflicts.sort(),
      folders,
    };
  }
  missing.push(...(await baseGaps(options, manifest, registry.reachable)));
  let database: LoadPlan["database"];
  if (options.dbUrl) {
    if (!manifest.database) throw new BundleError("input", `the bundle has no database dump (it was created without --db-url); drop --db-url or bring a bundle with one`);
    const mode = options.dbMode ?? "merge";
    const dumpMajor = Number(manifest.database.serverVersion.split(".")[0]);
    try {
      const version = await serverVersion(options.dbUrl);
      database = { reachable: true, detail: `PostgreSQL ${version.text}`, mode, dumpServerVersion: manifest.database.serverVersion };
      if (version.major < dumpMajor) missing.push(`the site database is PostgreSQL ${version.text}, older than the dump's ${manifest.database.serverVersion}; restore would refuse it: upgrade the site server`);
    } catch (error) {
      if (!(error instanceof BundleError)) throw error;
      database = { reachable: false, detail: error.message, mode, dumpServerVersion: manifest.database.serverVersion };
      missing.push(`database not reachable: ${error.message}`);
    }
  }
  return {
    source: options.source,
    signature: report.signature,
    warnings: report.warnings,
    registry,
    images,
    modelArtifacts,
    ...(models ? { models } : {}),
    ...(database ? { database } : {}),
    missing,
    notes: hfTokenNotes(manifest, options.modelsTarget),
  };
}
