/**
 * Models as OCI artifacts (issue #14, point 3): a model folder with its `modelfleet-manifest.json` packed into an OCI
 * image layout as a CNCF ModelPack artifact, one uncompressed layer per file, addressed by digest; read back into the
 * shared model layout `<root>/<owner>--<name>/<revision>/` with every blob verified; pushed to and pulled from a
 * registry with skopeo. docs/models.md, "Models as OCI artifacts".
 *
 * Facts used, with their sources:
 * - ModelPack (github.com/modelpack/model-spec@d78bf3231b4f26196c4a955e1007ccc47e19a77c): docs/spec.md — the manifest
 *   is an OCI image manifest whose `artifactType` MUST be `application/vnd.cncf.model.manifest.v1+json` and whose
 *   config MUST have media type `application/vnd.cncf.model.config.v1+json`; `…weight.v1.raw`, `…weight.config.v1.raw`,
 *   `…doc.v1.raw`, `…code.v1.raw` are unarchived, uncompressed single-file layers (specs-go/v1/mediatype.go), and
 *   weights are recommended uncompressed. docs/annotations.md — layer annotation `org.cncf.model.filepath` (the file's
 *   path), `org.cncf.model.file.metadata+json` (name, mode, uid, gid, size, mtime, typeflag),
 *   `org.cncf.model.file.mediatype.untested` ("true" when the layer's type was guessed). docs/config.md and
 *   schema/config-schema.json — the config has `descriptor` (name, revision, sourceURL, … all optional; createdAt
 *   omitted here so the same folder gives the same bytes), `config` (format, …) and `modelfs` {type: "layers",
 *   diffIds}; a raw layer's DiffID is its own digest.
 * - OCI image-spec 1.1 (github.com/opencontainers/image-spec@13cff54902ec9ad6320cbc487a685b66fcd67171): manifest.md —
 *   `artifactType` is the type of an artifact, and copying tools MUST NOT error on an unknown one; `subject` is a
 *   weak link to another manifest for the referrers API (not used here: a model is not an attachment of an image).
 *   image-layout.md — `oci-layout`, `index.json`, `blobs/sha256/<hex>`; `org.opencontainers.image.ref.name` is the
 *   tag within a layout.
 * - CRI-O mounts an artifact as an image volume by placing each layer's blob under the name in
 *   `org.opencontainers.image.title`, else `org.cncf.model.filepath` (cri-o/cri-o internal/ociartifact/store.go
 *   @1a9acebffea1c473816299aba1c56748f527945c, `artifactName`): both are set to the path, so the mounted volume
 *   looks like the folder, `modelfleet-manifest.json` included.
 * - skopeo 1.9.3 (Debian bookworm) copies this artifact form between `oci:` layouts and a registry (distribution
 *   2.8.2) unchanged, manifest digest preserved; `--preserve-digests` makes it fail rather than convert
 *   (test/models/model-artifact.test.ts proves the round trip).
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { constants } from "node:fs";
import { copyFile, lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve, sep, isAbsolute } from "node:path";
import { pipeline } from "node:stream/promises";
import { assertWritableOutDir } from "../files/out-dir.js";
import { hashFile, mapLimit } from "../files/hash.js";
import { MANIFEST_FILE, MANIFEST_SCHEMA, parseManifest, readManifest, serializeManifest, verifyAgainstManifest, type ModelManifest } from "../models/manifest.js";
import { confinedDestination, confinedPathReason, shownPath } from "./confine.js";
import { BundleError } from "./errors.js";
import { digestOf, rawManifest, type RegistryAccess } from "./images.js";
import { modelDir } from "../models/layout.js";
import { run } from "./tools.js";

export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
export const MODEL_ARTIFACT_TYPE = "application/vnd.cncf.model.manifest.v1+json";
export const MODEL_CONFIG_MEDIA_TYPE = "application/vnd.cncf.model.config.v1+json";

/** The raw (single file, uncompressed) ModelPack layer types this packer writes and the unpacker accepts. */
export const MODEL_LAYER_MEDIA_TYPES = {
  weight: "application/vnd.cncf.model.weight.v1.raw",
  weightConfig: "application/vnd.cncf.model.weight.config.v1.raw",
  doc: "application/vnd.cncf.model.doc.v1.raw",
  code: "application/vnd.cncf.model.code.v1.raw",
} as const;
export type ModelLayerKind = keyof typeof MODEL_LAYER_MEDIA_TYPES;

export const ANNOTATION_FILEPATH = "org.cncf.model.filepath";
export const ANNOTATION_FILE_METADATA = "org.cncf.model.file.metadata+json";
export const ANNOTATION_UNTESTED = "org.cncf.model.file.mediatype.untested";
export const ANNOTATION_TITLE = "org.opencontainers.image.title";
export const ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
export const ANNOTATION_SOURCE = "org.opencontainers.image.source";
export const ANNOTATION_REVISION = "org.opencontainers.image.revision";
/** Our own keys (reverse DNS of modelfleet.dev): exact Hugging Face repository and commit the files are. */
export const ANNOTATION_REPO = "dev.modelfleet.model.repo";
export const ANNOTATION_MODEL_REVISION = "dev.modelfleet.model.revision";

const SHA256_DIGEST = /^sha256:([0-9a-f]{64})$/;
/** Hugging Face repository ids: `owner/name`, letters, digits, `.`, `_`, `-`; no `--` or `..` (the Hub refuses those too). */
const HF_REPO = /^(?!.*(--|\.\.))[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
/** A tag as registries accept it (distribution's reference grammar). */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

const WEIGHT_EXTENSIONS = new Set(["safetensors", "gguf", "bin", "pt", "pth", "onnx", "h5", "msgpack", "ckpt", "npz", "tflite", "mlmodel", "pb"]);
const CODE_EXTENSIONS = new Set(["py", "sh", "ipynb", "js", "ts", "rs", "go", "c", "cc", "cpp", "cu", "h"]);
const DOC_NAME = /^(readme|license|licence|notice|copying|use_policy|model_card)(\.[A-Za-z0-9]+)?$/i;
const DOC_EXTENSIONS = new Set(["md", "pdf", "rst"]);

/**
 * The ModelPack layer type of a file, by name. Known weight, code and documentation forms are typed as such; anything
 * else (config.json, tokenizer files, chat templates) is weight configuration, marked `untested` because the type is
 * a guess by name, as the spec asks (docs/annotations.md).
 */
export function layerKind(path: string): { kind: ModelLayerKind; guessed: boolean } {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  if (name === MANIFEST_FILE) return { kind: "doc", guessed: false };
  if (WEIGHT_EXTENSIONS.has(ext)) return { kind: "weight", guessed: false };
  if (DOC_NAME.test(name) || DOC_EXTENSIONS.has(ext)) return { kind: "doc", guessed: false };
  if (CODE_EXTENSIONS.has(ext)) return { kind: "code", guessed: false };
  const known = ext === "json" || ext === "jinja" || name === "tokenizer.model" || name === "merges.txt" || name === "vocab.txt";
  return { kind: "weightConfig", guessed: !known };
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Record<string, string>;
  readonly artifactType?: string;
}

interface ImageManifest {
  readonly schemaVersion: number;
  readonly mediaType?: string;
  readonly artifactType?: string;
  readonly config?: Descriptor;
  readonly layers?: readonly Descriptor[];
  readonly annotations?: Record<string, string>;
}

interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface PackModelOptions {
  /**
   * The name the layout's index.json gives the artifact (`org.opencontainers.image.ref.name`), used as
   * `oci:<layout>:<tag>` by skopeo. An existing entry of that name is replaced.
   * @default - `<owner>--<name>--<revision>`
   */
  readonly tag?: string;
}

export interface PackedModel {
  /** `sha256:<hex>` of the artifact's manifest: what a stack pins. */
  readonly digest: string;
  readonly tag: string;
  readonly repo: string;
  readonly revision: string;
  /** Layers (files, the manifest file included) in the artifact. */
  readonly layers: number;
  /** Bytes of the blobs this call added to the layout (blobs already present, e.g. shared files, are not counted). */
  readonly bytesAdded: number;
}

const sortByPath = <T extends { path: string }>(items: T[]) => items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
const sha256Hex = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");
const blobPath = (layout: string, hex: string) => join(layout, "blobs", "sha256", hex);
const tempName = (dir: string, what: string) => join(dir, `.${what}.${process.pid}.${randomBytes(6).toString("hex")}.partial`);

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Writes `bytes` as a blob unless present; returns how many bytes were added. */
async function putBlob(layout: string, bytes: Buffer): Promise<{ digest: string; size: number; added: number }> {
  const hex = sha256Hex(bytes);
  const to = blobPath(layout, hex);
  if (await exists(to)) return { digest: `sha256:${hex}`, size: bytes.length, added: 0 };
  const tmp = tempName(join(layout, "blobs", "sha256"), hex);
  await writeFile(tmp, bytes, { mode: 0o644, flag: "wx" });
  await rename(tmp, to);
  return { digest: `sha256:${hex}`, size: bytes.length, added: bytes.length };
}

/** Streams `from` into `to` (a new file), hashing on the way: one read, one write, flat memory. */
export async function copyHashing(from: string, to: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  await pipeline(
    createReadStream(from, { highWaterMark: 1 << 20 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(to, { flags: "wx", mode: 0o644 }),
  );
  return { sha256: hash.digest("hex"), size };
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/** Creates the layout's skeleton, or checks an existing folder is an OCI layout (never writes into anything else). */
async function openLayout(layoutDir: string): Promise<void> {
  const info = await lstat(layoutDir).catch(() => undefined);
  if (info && !info.isDirectory()) throw new BundleError("input", `OCI layout ${layoutDir} is ${info.isSymbolicLink() ? "a symlink" : "a file"}, not a folder; give a folder (new or an OCI layout)`);
  const marker = join(layoutDir, "oci-layout");
  if (info && !(await exists(marker))) {
    if ((await readdir(layoutDir)).length > 0) throw new BundleError("input", `${layoutDir} is a non-empty folder without an oci-layout file; give a new folder or an existing OCI layout`);
  }
  await mkdir(join(layoutDir, "blobs", "sha256"), { recursive: true });
  if (!(await exists(marker))) await writeFile(marker, `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
}

async function readIndex(layoutDir: string): Promise<ImageIndex> {
  const where = join(layoutDir, "index.json");
  const text = await readFile(where, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (text === undefined) return { schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests: [] };
  let index: ImageIndex;
  try {
    index = JSON.parse(text) as ImageIndex;
  } catch (error) {
    throw new BundleError("integrity", `${where}: not JSON (${(error as Error).message}); the layout is damaged`);
  }
  if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) throw new BundleError("integrity", `${where}: not an OCI image index (schemaVersion 2 with manifests[]); the layout is damaged`);
  return index;
}

/** Runs `fn` holding `<layout>/index.json.lock` (created exclusively), so packs into one layout never lose a tag. */
async function withIndexLock<T>(layoutDir: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(layoutDir, "index.json.lock");
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (Date.now() > deadline) throw new BundleError("input", `${lock} has existed for 60 s: another pack is writing ${layoutDir}, or one was killed; remove the lock file if no pack is running`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Adds or replaces the entry named `tag`; entries sorted by name then digest so the file is stable. */
async function tagInIndex(layoutDir: string, entry: Descriptor & { annotations: Record<string, string> }): Promise<void> {
  await withIndexLock(layoutDir, () => writeTag(layoutDir, entry));
}

async function writeTag(layoutDir: string, entry: Descriptor & { annotations: Record<string, string> }): Promise<void> {
  const index = await readIndex(layoutDir);
  const tag = entry.annotations[ANNOTATION_REF_NAME];
  const manifests = index.manifests.filter((m) => m.annotations?.[ANNOTATION_REF_NAME] !== tag);
  manifests.push(entry);
  const key = (m: Descriptor) => `${m.annotations?.[ANNOTATION_REF_NAME] ?? ""}\u0000${m.digest}`;
  manifests.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const text = `${JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE, manifests }, null, 2)}\n`;
  const tmp = tempName(layoutDir, "index.json");
  await writeFile(tmp, text, { flag: "wx" });
  await rename(tmp, join(layoutDir, "index.json"));
}

function defaultTag(repo: string, revision: string): string {
  return `${repo.replace("/", "--")}--${revision}`;
}

/** The file's bytes in the folder, refusing anything that is not a regular file inside it (through symlinks too). */
async function sourceFile(dir: string, realDir: string, path: string): Promise<string> {
  const full = join(dir, path);
  const real = await realpath(full).catch((error: NodeJS.ErrnoException) => {
    throw new BundleError("integrity", `${join(dir, MANIFEST_FILE)} lists ${shownPath(path)}, but ${full} is ${error.code === "ENOENT" ? "missing" : `unreadable (${error.code ?? "error"})`}; restore the file or re-run the download`);
  });
  if (!inside(realDir, real)) throw new BundleError("integrity", `${full} leads outside ${dir} (to ${real}); a model folder must hold its own files`);
  const info = await stat(real);
  if (!info.isFile()) throw new BundleError("integrity", `${full} is not a regular file; a model folder holds only files`);
  return real;
}

/**
 * Packs the model folder `dir` (which holds `modelfleet-manifest.json`) into the OCI layout `layoutDir` (created if
 * new). Every file is streamed once: hashed and, unless its blob is already in the layout, copied into it; a file
 * whose size or sha256 differs from the manifest stops the pack naming it, and nothing is tagged. The same folder
 * always gives the same manifest digest: layers sorted by path, fixed file metadata, no timestamps.
 */
export async function packModel(dir: string, layoutDir: string, options: PackModelOptions = {}): Promise<PackedModel> {
  const manifest = await readManifest(dir).catch((error: Error) => {
    throw new BundleError((error as NodeJS.ErrnoException).code === "ENOENT" ? "input" : "integrity", (error as NodeJS.ErrnoException).code === "ENOENT" ? `${dir} has no ${MANIFEST_FILE}; only a model folder with its manifest can be packed (the download Job and bundle load write one)` : error.message);
  });
  if (!HF_REPO.test(manifest.repo)) throw new BundleError("input", `${join(dir, MANIFEST_FILE)}: repo "${shownPath(manifest.repo)}" is not a Hugging Face repository id (owner/name: letters, digits, . _ -); fix the manifest`);
  const tag = options.tag ?? defaultTag(manifest.repo, manifest.revision);
  if (!TAG.test(tag)) throw new BundleError("input", `tag "${shownPath(tag)}" is not a valid tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -); pass a shorter or plainer one`);
  assertWritableOutDir(layoutDir, { flag: "--layout" });
  await openLayout(layoutDir);
  const realDir = await realpath(dir);
  const blobs = join(layoutDir, "blobs", "sha256");

  // Files are copied in parallel (one per core): each with the kernel's copy, then its copy hashed from the page
  // cache, so what is checked is what the layout holds. A blob two files share is written once.
  const claimed = new Set<string>();
  const packed = await mapLimit(sortByPath([...manifest.files]), async (file) => {
    const from = await sourceFile(dir, realDir, file.path);
    const to = blobPath(layoutDir, file.sha256);
    let actual: { sha256: string; size: number };
    let added = 0;
    if (claimed.has(file.sha256) || (await exists(to))) {
      claimed.add(file.sha256);
      actual = await hashFile(from);
    } else {
      claimed.add(file.sha256);
      const tmp = tempName(blobs, file.sha256);
      try {
        await copyFile(from, tmp, constants.COPYFILE_EXCL);
        actual = await hashFile(tmp);
        if (actual.sha256 === file.sha256 && actual.size === file.bytes) {
          await rename(tmp, to);
          added = actual.size;
        }
      } finally {
        await rm(tmp, { force: true });
      }
    }
    if (actual.size !== file.bytes || actual.sha256 !== file.sha256) {
      const what = actual.size !== file.bytes ? `${actual.size} bytes, the manifest says ${file.bytes}` : `sha256 ${actual.sha256}, the manifest says ${file.sha256}`;
      throw new BundleError("integrity", `${join(dir, file.path)} does not match ${MANIFEST_FILE}: ${what}; nothing was tagged. Re-download the model (or fix the manifest if the file is the one you mean)`);
    }
    return { layer: { path: file.path, ...layerDescriptor(file.path, `sha256:${file.sha256}`, file.bytes) }, added };
  });
  let bytesAdded = packed.reduce((sum, p) => sum + p.added, 0);
  const layers: (Descriptor & { path: string })[] = packed.map((p) => p.layer);
  const manifestText = Buffer.from(serializeManifest(manifest));
  const manifestBlob = await putBlob(layoutDir, manifestText);
  bytesAdded += manifestBlob.added;
  layers.push({ path: MANIFEST_FILE, ...layerDescriptor(MANIFEST_FILE, manifestBlob.digest, manifestBlob.size) });
  sortByPath(layers);

  const config = Buffer.from(modelConfigJson(manifest, layers.map((l) => l.digest)));
  const configBlob = await putBlob(layoutDir, config);
  bytesAdded += configBlob.added;
  const document = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    artifactType: MODEL_ARTIFACT_TYPE,
    config: { mediaType: MODEL_CONFIG_MEDIA_TYPE, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map(({ mediaType, digest, size, annotations }) => ({ mediaType, digest, size, annotations })),
    annotations: {
      [ANNOTATION_REPO]: manifest.repo,
      [ANNOTATION_MODEL_REVISION]: manifest.revision,
      [ANNOTATION_REVISION]: manifest.revision,
      [ANNOTATION_SOURCE]: `https://huggingface.co/${manifest.repo}`,
    },
  };
  const manifestDoc = await putBlob(layoutDir, Buffer.from(JSON.stringify(document)));
  bytesAdded += manifestDoc.added;
  await tagInIndex(layoutDir, {
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    digest: manifestDoc.digest,
    size: manifestDoc.size,
    artifactType: MODEL_ARTIFACT_TYPE,
    annotations: { [ANNOTATION_REF_NAME]: tag },
  });
  return { digest: manifestDoc.digest, tag, repo: manifest.repo, revision: manifest.revision, layers: layers.length, bytesAdded };
}

function layerDescriptor(path: string, digest: string, size: number): Descriptor & { annotations: Record<string, string> } {
  const { kind, guessed } = layerKind(path);
  // Fixed metadata (mode 0644, owner 0:0, mtime at the epoch, typeflag '0' = regular file): the same bytes give the same manifest.
  const metadata = { name: path.slice(path.lastIndexOf("/") + 1), mode: 0o644, uid: 0, gid: 0, size, mtime: "1970-01-01T00:00:00Z", typeflag: 48 };
  return {
    mediaType: MODEL_LAYER_MEDIA_TYPES[kind],
    digest,
    size,
    annotations: {
      [ANNOTATION_FILEPATH]: path,
      [ANNOTATION_FILE_METADATA]: JSON.stringify(metadata),
      [ANNOTATION_UNTESTED]: guessed ? "true" : "false",
      [ANNOTATION_TITLE]: path,
    },
  };
}

/** The ModelPack config (docs/config.md): no createdAt, so it is a pure function of the manifest. */
function modelConfigJson(manifest: ModelManifest, diffIds: string[]): string {
  const formats = new Set(manifest.files.map((f) => f.path.slice(f.path.lastIndexOf(".") + 1).toLowerCase()).filter((ext) => ext === "safetensors" || ext === "gguf" || ext === "onnx"));
  const format = formats.size === 1 ? [...formats][0] : undefined;
  return JSON.stringify({
    descriptor: { name: manifest.repo, revision: manifest.revision, sourceURL: `https://huggingface.co/${manifest.repo}` },
    config: format ? { format } : {},
    modelfs: { type: "layers", diffIds },
  });
}

/** Where to read a model artifact from: a layout and, unless it holds exactly one, a tag or `sha256:` digest. */
export interface ModelSource {
  readonly layoutDir: string;
  /** @default - the layout's only entry */
  readonly ref?: string;
}

export interface UnpackedModel {
  readonly digest: string;
  readonly repo: string;
  readonly revision: string;
  /** `<root>/<owner>--<name>/<revision>` */
  readonly folder: string;
  /** True when the folder already held this model (verified, nothing written). */
  readonly alreadyPresent: boolean;
}

/** Reads a blob, checking its sha256 and size against its descriptor. For small JSON documents only. */
async function readSmallBlob(layoutDir: string, descriptor: Descriptor, what: string): Promise<Buffer> {
  const hex = SHA256_DIGEST.exec(descriptor.digest)?.[1];
  if (!hex) throw new BundleError("integrity", `${what}: digest "${shownPath(String(descriptor.digest))}" is not sha256:<64 hex>`);
  if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0 || descriptor.size > 16 << 20) throw new BundleError("integrity", `${what}: size ${descriptor.size} is not a JSON document size (0..16 MiB)`);
  const bytes = await readFile(blobPath(layoutDir, hex)).catch(() => {
    throw new BundleError("integrity", `${what}: blob ${descriptor.digest} is missing from ${layoutDir}; copy the artifact again`);
  });
  if (sha256Hex(bytes) !== hex || bytes.length !== descriptor.size) throw new BundleError("integrity", `${what}: blob ${descriptor.digest} in ${layoutDir} is corrupted (sha256 ${sha256Hex(bytes)}, ${bytes.length} bytes); copy the artifact again`);
  return bytes;
}

function parseJson<T>(bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString("utf8")) as T;
  } catch (error) {
    throw new BundleError("integrity", `${what}: not JSON (${(error as Error).message})`);
  }
}

/** The manifest descriptor `ref` (tag or digest) names in the layout's index.json. */
async function resolveRef(source: ModelSource): Promise<Descriptor> {
  const index = await readIndex(source.layoutDir);
  const entries = index.manifests;
  if (source.ref === undefined) {
    if (entries.length === 1) return entries[0] as Descriptor;
    const tags = entries.map((m) => m.annotations?.[ANNOTATION_REF_NAME] ?? m.digest).join(", ");
    throw new BundleError("input", `${source.layoutDir} holds ${entries.length} artifacts (${tags || "none"}); name one by tag or sha256: digest`);
  }
  const byDigest = SHA256_DIGEST.test(source.ref);
  const found = entries.find((m) => (byDigest ? m.digest === source.ref : m.annotations?.[ANNOTATION_REF_NAME] === source.ref));
  if (found) return found;
  if (byDigest) {
    // A digest need not be tagged: any manifest blob of the layout can be read by its digest.
    const hex = source.ref.slice(7);
    const info = await stat(blobPath(source.layoutDir, hex)).catch(() => undefined);
    if (info?.isFile()) return { mediaType: OCI_MANIFEST_MEDIA_TYPE, digest: source.ref, size: info.size };
  }
  const known = entries.map((m) => m.annotations?.[ANNOTATION_REF_NAME]).filter(Boolean).join(", ");
  throw new BundleError("input", `${source.layoutDir} has no artifact ${byDigest ? "with digest" : "tagged"} ${shownPath(source.ref)}; it holds: ${known || "(no tags)"}`);
}

interface CheckedLayer {
  readonly path: string;
  readonly hex: string;
  readonly size: number;
}

/** Checks a manifest is a model artifact this code can unpack and returns its files; every problem is named. */
function checkArtifact(doc: ImageManifest, what: string): { repo: string; revision: string; layers: CheckedLayer[]; config: Descriptor } {
  if (doc.schemaVersion !== 2 || doc.mediaType !== OCI_MANIFEST_MEDIA_TYPE) throw new BundleError("integrity", `${what}: not an OCI image manifest (mediaType ${String(doc.mediaType)}); expected ${OCI_MANIFEST_MEDIA_TYPE}`);
  if (doc.artifactType !== MODEL_ARTIFACT_TYPE) throw new BundleError("input", `${what}: artifactType ${String(doc.artifactType)} is not a model (${MODEL_ARTIFACT_TYPE}); is this an image rather than a packed model?`);
  if (!doc.config || doc.config.mediaType !== MODEL_CONFIG_MEDIA_TYPE) throw new BundleError("integrity", `${what}: config media type ${String(doc.config?.mediaType)}; a model artifact has ${MODEL_CONFIG_MEDIA_TYPE}`);
  const repo = doc.annotations?.[ANNOTATION_REPO] ?? "";
  const revision = doc.annotations?.[ANNOTATION_MODEL_REVISION] ?? "";
  if (!HF_REPO.test(repo)) throw new BundleError("integrity", `${what}: annotation ${ANNOTATION_REPO} "${shownPath(repo)}" is not a Hugging Face repository id (owner/name)`);
  if (!/^[0-9a-f]{40}$/.test(revision)) throw new BundleError("integrity", `${what}: annotation ${ANNOTATION_MODEL_REVISION} "${shownPath(revision)}" is not a 40-hex commit SHA`);
  const allowed = new Set<string>(Object.values(MODEL_LAYER_MEDIA_TYPES));
  const seen = new Set<string>();
  const layers: CheckedLayer[] = [];
  for (const [i, layer] of (doc.layers ?? []).entries()) {
    const path = layer.annotations?.[ANNOTATION_FILEPATH];
    if (path === undefined) throw new BundleError("integrity", `${what}: layers[${i}] has no ${ANNOTATION_FILEPATH} annotation; every layer of a model artifact is one file`);
    const reason = confinedPathReason(path);
    if (reason) throw new BundleError("integrity", `${what}: layers[${i}] path ${shownPath(path)} ${reason}; nothing is written outside the model folder`);
    if (!allowed.has(layer.mediaType)) throw new BundleError("input", `${what}: layers[${i}] (${shownPath(path)}) has media type ${shownPath(String(layer.mediaType))}; only raw ModelPack layers are supported (${[...allowed].join(", ")})`);
    const hex = SHA256_DIGEST.exec(layer.digest)?.[1];
    if (!hex || !Number.isSafeInteger(layer.size) || layer.size < 0) throw new BundleError("integrity", `${what}: layers[${i}] (${shownPath(path)}) has digest ${shownPath(String(layer.digest))} / size ${layer.size}; expected sha256:<64 hex> and a byte count`);
    if (seen.has(path)) throw new BundleError("integrity", `${what}: ${shownPath(path)} appears in two layers`);
    seen.add(path);
    layers.push({ path, hex, size: layer.size });
  }
  if (!seen.has(MANIFEST_FILE)) throw new BundleError("integrity", `${what}: has no ${MANIFEST_FILE} layer; pack it with modelfleet models pack`);
  return { repo, revision, layers, config: doc.config };
}

/**
 * Reads the model artifact `source` names and writes its files into the shared model layout under `targetRoot`
 * (`<root>/<owner>--<name>/<revision>/`). Every blob is streamed through sha256 on the way and compared with its
 * digest; the first corrupted or missing blob stops the unpack naming the file, and nothing is left behind: files
 * are written to a hidden sibling folder renamed into place only when all verified. The packed
 * `modelfleet-manifest.json` must list exactly the other layers (paths, sizes, digests) and the repo and revision of
 * the artifact's annotations. A folder already holding the same manifest is verified and left as it is.
 */
export async function unpackModel(source: ModelSource, targetRoot: string): Promise<UnpackedModel> {
  const descriptor = await resolveRef(source);
  const what = `model artifact ${descriptor.digest} in ${source.layoutDir}`;
  const doc = parseJson<ImageManifest>(await readSmallBlob(source.layoutDir, descriptor, what), what);
  const { repo, revision, layers, config } = checkArtifact(doc, what);
  await readSmallBlob(source.layoutDir, config, `${what}, config`);
  const manifestLayer = layers.find((l) => l.path === MANIFEST_FILE) as CheckedLayer;
  const manifestText = await readSmallBlob(source.layoutDir, { mediaType: "", digest: `sha256:${manifestLayer.hex}`, size: manifestLayer.size }, `${what}, ${MANIFEST_FILE}`);
  const manifest = parseManifest(manifestText.toString("utf8"), `${what}, ${MANIFEST_FILE}`);
  const expected = serializeManifest({
    schema: MANIFEST_SCHEMA,
    repo,
    revision,
    files: layers.filter((l) => l.path !== MANIFEST_FILE).map((l) => ({ path: l.path, bytes: l.size, sha256: l.hex })),
  });
  if (serializeManifest(manifest) !== expected) throw new BundleError("integrity", `${what}: its ${MANIFEST_FILE} does not list exactly the artifact's layers, repo and revision; the artifact was altered after packing`);

  assertWritableOutDir(targetRoot, { flag: "--target", ownSubfolderOnly: true });
  let folder: string;
  try {
    folder = modelDir(targetRoot, repo, revision);
  } catch (error) {
    throw new BundleError("input", `${what}: ${(error as Error).message}`);
  }
  const parent = resolve(folder, "..");
  await mkdir(parent, { recursive: true });
  if (await exists(folder)) {
    const present = await readFile(join(folder, MANIFEST_FILE), "utf8").catch(() => undefined);
    if (present !== expected) throw new BundleError("input", `${folder} already exists and does not hold this model's manifest; remove it (or unpack into another --target) first`);
    const mismatches = await verifyAgainstManifest(folder, manifest);
    if (mismatches.length > 0) throw new BundleError("integrity", `${folder} holds this model's manifest but ${mismatches.map((m) => `${m.path}: ${m.problem}`).join("; ")}; remove the folder and unpack again`);
    return { digest: descriptor.digest, repo, revision, folder, alreadyPresent: true };
  }

  const staging = tempName(parent, revision);
  await mkdir(staging);
  try {
    for (const layer of layers) {
      const from = blobPath(source.layoutDir, layer.hex);
      const to = await confinedDestination(staging, layer.path, "model file");
      let actual: { sha256: string; size: number };
      try {
        actual = await copyHashing(from, to);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new BundleError("integrity", `${shownPath(layer.path)}: blob sha256:${layer.hex} is ${code === "ENOENT" ? "missing from" : `unreadable (${code ?? "error"}) in`} ${source.layoutDir}; nothing was unpacked. Copy the artifact again`);
      }
      if (actual.sha256 !== layer.hex || actual.size !== layer.size) {
        throw new BundleError("integrity", `${shownPath(layer.path)}: blob sha256:${layer.hex} in ${source.layoutDir} is corrupted (${actual.size} bytes with sha256 ${actual.sha256}, expected ${layer.size} bytes); nothing was unpacked. Copy the artifact again`);
      }
    }
    await rename(staging, folder);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { digest: descriptor.digest, repo, revision, folder, alreadyPresent: false };
}

const insecureFlags = (access: RegistryAccess, which: "src" | "dest") => (access.insecure ? [`--${which}-tls-verify=false`] : []);

/**
 * Copies the layout's artifact `tag` to `destination` (`registry/repository:tag`) with skopeo, digests preserved,
 * and checks the registry serves the same manifest digest. Returns `registry/repository@sha256:…` to pin.
 */
export async function pushModel(layoutDir: string, tag: string, destination: string, access: RegistryAccess = {}): Promise<{ pinned: string; digest: string }> {
  const local = await resolveRef({ layoutDir, ref: tag });
  const result = await run("skopeo", ["copy", "--preserve-digests", ...insecureFlags(access, "dest"), `oci:${layoutDir}:${tag}`, `docker://${destination}`], { reject: false });
  if (result.exitCode !== 0) throw new BundleError("tool", `skopeo could not push ${tag} from ${layoutDir} to ${destination}: ${String(result.stderr).trim().split("\n").at(-1)}`);
  const repository = destination.replace(/(@sha256:[0-9a-f]{64}|:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/, "");
  const served = await rawManifest(`docker://${repository}@${local.digest}`, access);
  if (!served || digestOf(served) !== local.digest) throw new BundleError("integrity", `${repository} does not serve ${local.digest} after the push; the registry changed the manifest (it must store OCI artifacts unchanged)`);
  return { pinned: `${repository}@${local.digest}`, digest: local.digest };
}

/**
 * Copies `registry/repository@sha256:…` into the layout under `tag`, digests preserved, and checks the copied manifest
 * has that digest. Only digest references are accepted: a model is pulled by what was tested, never by a moving tag.
 */
export async function pullModel(reference: string, layoutDir: string, tag: string, access: RegistryAccess = {}): Promise<{ digest: string }> {
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(reference)?.[1];
  if (!digest) throw new BundleError("input", `model reference "${shownPath(reference)}" is not pinned by digest; use registry/repository@sha256:<64 hex> (modelfleet models pack prints it)`);
  if (!TAG.test(tag)) throw new BundleError("input", `tag "${shownPath(tag)}" is not a valid tag (1-128 of A-Z a-z 0-9 _ . -)`);
  assertWritableOutDir(layoutDir, { flag: "--layout" });
  await openLayout(layoutDir);
  const result = await run("skopeo", ["copy", "--preserve-digests", ...insecureFlags(access, "src"), `docker://${reference}`, `oci:${layoutDir}:${tag}`], { reject: false });
  if (result.exitCode !== 0) throw new BundleError("tool", `skopeo could not pull ${reference}: ${String(result.stderr).trim().split("\n").at(-1)}`);
  const local = await resolveRef({ layoutDir, ref: tag });
  if (local.digest !== digest) throw new BundleError("integrity", `pulled ${reference} but the layout holds ${local.digest}; the artifact was changed in transit`);
  return { digest };
}
