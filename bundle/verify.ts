import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as tar from "tar";
import { archiveEntryName, archiveParts, FILE_TYPES, streamArchive } from "./archive.js";
import { confinedPathReason, shownPath, walkBundleFiles } from "./confine.js";
import { BundleError } from "./errors.js";
import { hashFile, mapLimit } from "../files/hash.js";
import { BUNDLE_JSON, BUNDLE_SIG, IMAGES_DIR, parseBundleManifest, SHA256SUMS, type BundleManifest } from "./manifest.js";
import { checkSignature, type TrustedKey } from "./sign.js";
import { repoFolderName } from "../models/layout.js";
import { MANIFEST_FILE } from "../models/manifest.js";

export interface VerifyProblem {
  readonly path: string;
  readonly problem:
    | "missing"
    | "extra"
    | "truncated"
    | "altered"
    | "unsafe-path"
    | "blob-mismatch"
    | "image-missing"
    | "manifest"
    | "checksums"
    | "duplicate"
    | "unreferenced"
    | "descriptor"
    | "signature"
    | "unsigned";
  readonly detail: string;
}

/** Who vouches for bundle.json: a trusted key, nobody (allowed, with a warning), or nobody asked (library default). */
export type SignatureStatus =
  | { readonly state: "valid"; readonly keyId: string; readonly keyPath: string }
  | { readonly state: "unchecked"; readonly reason: "unsigned-allowed" | "no-trusted-key" | "no-trust-policy" }
  | { readonly state: "invalid" | "unsigned" };

export interface VerifyReport {
  readonly ok: boolean;
  readonly problems: readonly VerifyProblem[];
  /** Loud lines for stderr: what was accepted without proof. */
  readonly warnings: readonly string[];
  readonly signature: SignatureStatus;
  readonly files: number;
  readonly bytes: number;
  readonly manifest?: BundleManifest;
}

/** Which signatures a caller accepts. */
export interface TrustPolicy {
  /** Public keys whose signature over bundle.json is accepted. */
  readonly keys: readonly TrustedKey[];
  /**
   * Accept a bundle without a signature, or with one that no key here can check, with a warning. A signature that
   * does not verify against a given key is refused even so. @default false
   */
  readonly allowUnsigned?: boolean;
}

export interface VerifyOptions {
  /** Called with bytes hashed so far, for progress. */
  readonly onBytes?: (n: number) => void;
  /** Called once bundle.json is read, with the bytes about to be hashed. */
  readonly onTotal?: (bytes: number) => void;
  /**
   * Signature rules. The CLI always passes them (`--trust-key`, `--allow-unsigned`).
   * @default - the signature is not checked (integrity only); the report says so in `signature`
   */
  readonly trust?: TrustPolicy;
}

const BLOB_DIR = `${IMAGES_DIR}/blobs/`;
const BLOB = /^images\/blobs\/sha256\/([0-9a-f]{64})$/;
const INDEX = `${IMAGES_DIR}/index.json`;
const CONTROL = new Set([BUNDLE_JSON, SHA256SUMS, BUNDLE_SIG]);
/** OCI manifests and indexes are small JSON documents; a blob larger than this is never read as one. */
const MAX_DOC_BYTES = 4 * 1024 ** 2;
const SUMS_LINE = /^([0-9a-f]{64}) [ *](.+)$/;

export { formatSha256Sums, parseSha256Sums } from "../files/hash.js";

/** What was found in a bundle, from a folder or read straight from a tar: the judgement below is the same. */
interface Observed {
  /** Every regular file's size. */
  readonly sizes: ReadonlyMap<string, number>;
  /** sha256 and size of the files that were hashed (every listed one present, every SHA256SUMS one, bundle.json). */
  readonly hashed: ReadonlyMap<string, { sha256: string; size: number }>;
  /** Symlinks, special files, duplicate or unsafe entries. */
  readonly odd: readonly VerifyProblem[];
  readonly bundleJson: Buffer | undefined;
  readonly signature: Buffer | undefined;
  readonly sums: string | undefined;
  readonly index: Buffer | undefined;
  /** A blob's bytes when it may be an OCI manifest or index (JSON, at most 4 MiB). */
  readonly readDoc: (hex: string) => Promise<Buffer | undefined>;
}

const sha256Of = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const sumOf = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const short = (digest: string) => `${digest.replace(/^sha256:/, "").slice(0, 12)}…`;

function parseManifest(bytes: Buffer | undefined): { manifest: BundleManifest } | { problems: VerifyProblem[] } {
  if (bytes === undefined) return { problems: [{ path: BUNDLE_JSON, problem: "missing", detail: "no bundle.json: this is not a complete bundle (an interrupted create leaves none)" }] };
  const parsed = parseBundleManifest(bytes.toString("utf8"));
  if ("manifest" in parsed) return parsed;
  return { problems: parsed.problems.map((detail) => ({ path: BUNDLE_JSON, problem: "manifest", detail: `not a valid bundle.json: ${detail}` })) };
}

function judgeSignature(seen: Observed, trust: TrustPolicy | undefined): { status: SignatureStatus; problems: VerifyProblem[]; warnings: string[] } {
  if (!trust) return { status: { state: "unchecked", reason: "no-trust-policy" }, problems: [], warnings: [] };
  if (seen.signature === undefined) {
    if (trust.allowUnsigned) {
      return { status: { state: "unchecked", reason: "unsigned-allowed" }, problems: [], warnings: ["WARNING: --allow-unsigned: this bundle is NOT signed; nothing proves who made it. Its checksums only show it is intact as written, not that it is authentic."] };
    }
    return { status: { state: "unsigned" }, problems: [{ path: BUNDLE_SIG, problem: "unsigned", detail: "the bundle is not signed; sign it where it is made (bundle create --sign-key <key>), or pass --allow-unsigned to accept it without proof of origin" }], warnings: [] };
  }
  if (trust.keys.length === 0) {
    if (trust.allowUnsigned) {
      return { status: { state: "unchecked", reason: "no-trusted-key" }, problems: [], warnings: ["WARNING: --allow-unsigned without --trust-key: the bundle is signed but its signature was NOT checked; nothing proves who made it."] };
    }
    return { status: { state: "invalid" }, problems: [{ path: BUNDLE_SIG, problem: "signature", detail: "signed, but no trusted key was given to check it; pass --trust-key <public.pem>" }], warnings: [] };
  }
  const result = checkSignature(seen.bundleJson ?? Buffer.alloc(0), seen.signature, trust.keys);
  if ("signer" in result) return { status: { state: "valid", keyId: result.signer.id, keyPath: result.signer.path }, problems: [], warnings: [] };
  return { status: { state: "invalid" }, problems: [{ path: BUNDLE_SIG, problem: "signature", detail: result.problem }], warnings: [] };
}

/** SHA256SUMS as sha256sum -c reads it, strictly: every line well formed, every path confined, each path once. */
function judgeSums(text: string | undefined, listed: ReadonlyMap<string, { sha256: string }>, seen: Observed): VerifyProblem[] {
  if (text === undefined) return [{ path: SHA256SUMS, problem: "missing", detail: "no SHA256SUMS" }];
  const problems: VerifyProblem[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const first = new Map<string, number>();
  for (const [i, line] of lines.entries()) {
    const match = SUMS_LINE.exec(line);
    if (!match) {
      problems.push({ path: SHA256SUMS, problem: "checksums", detail: `line ${i + 1} is not "<64 lower-case hex>  <path>": ${JSON.stringify(shownPath(line))}` });
      continue;
    }
    const [, sha256, path] = match as unknown as [string, string, string];
    const reason = confinedPathReason(path);
    if (reason) {
      problems.push({ path: shownPath(path), problem: "unsafe-path", detail: `SHA256SUMS line ${i + 1}: path ${reason}` });
      continue;
    }
    const earlier = first.get(path);
    if (earlier !== undefined) problems.push({ path, problem: "duplicate", detail: `listed twice in SHA256SUMS (lines ${earlier} and ${i + 1}); each file once` });
    else first.set(path, i + 1);
    if (path === SHA256SUMS) {
      problems.push({ path, problem: "checksums", detail: `SHA256SUMS line ${i + 1} lists SHA256SUMS itself` });
    } else if (path === BUNDLE_JSON) {
      const own = seen.hashed.get(BUNDLE_JSON);
      if (own && own.sha256 !== sha256) problems.push({ path, problem: "altered", detail: "bundle.json does not match its SHA256SUMS line (edited after create)" });
    } else if (listed.has(path)) {
      const expected = listed.get(path)?.sha256;
      if (expected !== sha256) problems.push({ path, problem: "checksums", detail: `SHA256SUMS line ${i + 1} says ${sha256}, bundle.json says ${expected}` });
    } else if (path === BUNDLE_SIG) {
      // Not written by create; a line for it added by hand is still checked, as sha256sum -c would.
      const actual = seen.hashed.get(path);
      if (!actual) problems.push({ path, problem: "missing", detail: `listed in SHA256SUMS (line ${i + 1}), not in the bundle` });
      else if (actual.sha256 !== sha256) problems.push({ path, problem: "checksums", detail: `SHA256SUMS line ${i + 1} says ${sha256}, the file hashes to ${actual.sha256}` });
    } else {
      problems.push({ path, problem: "checksums", detail: `listed in SHA256SUMS (line ${i + 1}), not in bundle.json` });
    }
  }
  if (!first.has(BUNDLE_JSON)) problems.push({ path: BUNDLE_JSON, problem: "checksums", detail: "SHA256SUMS has no line for bundle.json" });
  for (const path of listed.keys()) if (!first.has(path)) problems.push({ path, problem: "checksums", detail: "listed in bundle.json, not in SHA256SUMS" });
  return problems;
}

async function judge(manifest: BundleManifest, seen: Observed, trust: TrustPolicy | undefined): Promise<{ problems: VerifyProblem[]; warnings: string[]; signature: SignatureStatus }> {
  const signature = judgeSignature(seen, trust);
  const problems: VerifyProblem[] = [...seen.odd, ...signature.problems];
  const listed = new Map<string, { sha256: string; size: number }>();
  for (const file of manifest.files) {
    const reason = confinedPathReason(file.path);
    if (reason) problems.push({ path: shownPath(file.path), problem: "unsafe-path", detail: `bundle.json files[]: path ${reason}` });
    else if (CONTROL.has(file.path)) problems.push({ path: file.path, problem: "manifest", detail: `bundle.json lists ${file.path}, which it cannot cover; remove that entry` });
    else if (listed.has(file.path)) problems.push({ path: file.path, problem: "duplicate", detail: `listed twice in bundle.json (sha256 ${short(listed.get(file.path)?.sha256 ?? "")} and ${short(file.sha256)}); each file once` });
    else listed.set(file.path, file);
  }
  for (const path of listed.keys()) if (!seen.sizes.has(path)) problems.push({ path, problem: "missing", detail: "listed in bundle.json, not in the bundle" });
  for (const path of seen.sizes.keys()) {
    if (!CONTROL.has(path) && !listed.has(path)) problems.push({ path, problem: "extra", detail: "in the bundle, not listed in bundle.json" });
  }
  problems.push(...judgeSums(seen.sums, listed, seen));
  for (const [path, expected] of listed) {
    const actual = seen.hashed.get(path);
    if (!actual) continue;
    if (actual.size < expected.size) problems.push({ path, problem: "truncated", detail: `${actual.size} of ${expected.size} bytes` });
    else if (actual.size !== expected.size || actual.sha256 !== expected.sha256) problems.push({ path, problem: "altered", detail: `sha256 ${actual.sha256}, expected ${expected.sha256}` });
    const blob = BLOB.exec(path);
    if (blob && blob[1] !== actual.sha256) problems.push({ path, problem: "blob-mismatch", detail: `OCI blob content hashes to ${actual.sha256}, not to its name` });
  }
  for (const path of new Set([...seen.sizes.keys(), ...listed.keys()])) {
    if (path.startsWith(BLOB_DIR) && !BLOB.test(path)) problems.push({ path, problem: "blob-mismatch", detail: "not an OCI blob name (images/blobs/sha256/<64 lower-case hex>)" });
  }
  const indexEntry = listed.get(INDEX);
  const indexIntact = indexEntry !== undefined && seen.hashed.get(INDEX)?.sha256 === indexEntry.sha256;
  problems.push(...(await judgeLayout(seen, manifest, indexIntact)));
  problems.push(...judgeContents(manifest, listed));
  // One line per path and kind: the first (most specific) reason is kept.
  const unique = new Map<string, VerifyProblem>();
  for (const p of problems) if (!unique.has(`${p.path}\0${p.problem}`)) unique.set(`${p.path}\0${p.problem}`, p);
  const sorted = [...unique.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.problem < b.problem ? -1 : 1));
  return { problems: sorted, warnings: signature.warnings, signature: signature.status };
}

interface OciDescriptor {
  readonly digest?: unknown;
  readonly size?: unknown;
  readonly annotations?: Record<string, string>;
}
interface OciDocument {
  readonly manifests?: readonly OciDescriptor[];
  readonly config?: OciDescriptor;
  readonly layers?: readonly OciDescriptor[];
  readonly blobs?: readonly OciDescriptor[];
}

function parseJson(bytes: Buffer | undefined): OciDocument | undefined {
  try {
    const value: unknown = JSON.parse(bytes?.toString("utf8") ?? "");
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as OciDocument) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The OCI layout: every descriptor reachable from images/index.json (indexes → manifests → config and layers) is
 * present with its size; every blob is reached by something (when index.json itself is intact: a tampered index
 * is the one cause, named once); every image of bundle.json is in the index with its digest. In a differential
 * bundle a layer listed in bundle.json's `base.blobs` is expected to be absent (the site has it; load checks that),
 * with the size recorded there; every other descriptor must be present.
 */
async function judgeLayout(seen: Observed, manifest: BundleManifest, indexIntact: boolean): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  const index = parseJson(seen.index);
  if (!index) {
    if (manifest.images.length > 0 || [...seen.sizes.keys()].some((p) => p.startsWith(BLOB_DIR))) {
      problems.push({ path: INDEX, problem: "image-missing", detail: "no readable OCI index; no image can be loaded" });
    }
    return problems;
  }
  const reached = new Set<string>();
  const atSite = new Map((manifest.base?.blobs ?? []).map((b) => [b.sha256, b.size]));
  const visit = async (descriptor: OciDescriptor, what: string, isDocument: boolean): Promise<void> => {
    const digest = descriptor.digest;
    if (typeof digest !== "string" || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      problems.push({ path: INDEX, problem: "descriptor", detail: `${what}: digest ${JSON.stringify(shownPath(String(digest)))} is not sha256:<64 hex>` });
      return;
    }
    const hex = digest.slice(7);
    if (reached.has(hex)) return;
    reached.add(hex);
    const path = `${BLOB_DIR}sha256/${hex}`;
    const size = seen.sizes.get(path);
    if (size === undefined) {
      const baseSize = isDocument ? undefined : atSite.get(hex);
      if (baseSize === undefined) problems.push({ path, problem: "missing", detail: `${what}, not in the bundle${atSite.size > 0 ? ` nor in bundle.json's base.blobs` : ""}` });
      else if (descriptor.size !== baseSize) problems.push({ path, problem: "descriptor", detail: `${what} says ${String(descriptor.size)} bytes; bundle.json's base.blobs says ${baseSize}` });
      return;
    }
    if (descriptor.size !== size) problems.push({ path, problem: "descriptor", detail: `${what} says ${String(descriptor.size)} bytes; the blob has ${size}` });
    if (!isDocument) return;
    const doc = parseJson(await seen.readDoc(hex));
    if (!doc) {
      problems.push({ path, problem: "descriptor", detail: `${what} is not a readable OCI manifest or index (JSON)` });
      return;
    }
    for (const child of doc.manifests ?? []) await visit(child, `manifest ${short(String(child.digest))} of ${what}`, true);
    if (doc.config) await visit(doc.config, `config of ${what}`, false);
    for (const [i, layer] of (doc.layers ?? []).entries()) await visit(layer, `layer ${i} of ${what}`, false);
    for (const blob of doc.blobs ?? []) await visit(blob, `blob of ${what}`, false);
  };
  for (const entry of index.manifests ?? []) {
    const name = entry.annotations?.["org.opencontainers.image.ref.name"];
    await visit(entry, `image ${name ?? short(String(entry.digest))} (images/index.json)`, true);
  }
  if (indexIntact) {
    for (const path of seen.sizes.keys()) {
      const blob = BLOB.exec(path);
      if (blob && !reached.has(blob[1] as string)) problems.push({ path, problem: "unreferenced", detail: "no image reachable from images/index.json uses this blob" });
    }
  }
  const entries = [...manifest.images.map((image) => ({ image, kind: "image" })), ...(manifest.modelArtifacts ?? []).map((image) => ({ image, kind: "model artifact" }))];
  for (const { image, kind } of entries) {
    const entry = index.manifests?.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === image.layoutRef);
    if (!entry) problems.push({ path: INDEX, problem: "image-missing", detail: `${kind} ${image.name} (${image.reference}) is not in the OCI layout` });
    else if (entry.digest !== image.digest) problems.push({ path: INDEX, problem: "image-missing", detail: `${kind} ${image.name} has digest ${String(entry.digest ?? "none")} in the layout, bundle.json says ${image.digest}` });
  }
  return problems;
}

/**
 * database.path and every models[].path name files bundle.json lists (so their bytes are checked), and agree with
 * them; in a differential bundle a model's files may instead be in `base.modelFiles` (at the site, checked by load),
 * whose paths must be plain paths under models/ and not also carried.
 */
function judgeContents(manifest: BundleManifest, carried: ReadonlyMap<string, { size: number }>): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const listed = new Map(carried);
  for (const [i, file] of (manifest.base?.modelFiles ?? []).entries()) {
    const reason = file.path.startsWith("models/") ? confinedPathReason(file.path) : "is not under models/";
    if (reason) problems.push({ path: shownPath(file.path), problem: "unsafe-path", detail: `bundle.json base.modelFiles[${i}].path ${reason}` });
    else if (listed.has(file.path)) problems.push({ path: file.path, problem: "duplicate", detail: `in bundle.json's files and base.modelFiles[${i}]; a file is carried or expected at the site, not both` });
    else listed.set(file.path, file);
  }
  if (manifest.database) {
    const path = manifest.database.path;
    const reason = confinedPathReason(path);
    if (reason) problems.push({ path: shownPath(path), problem: "unsafe-path", detail: `bundle.json database.path ${reason}` });
    else if (!listed.has(path)) problems.push({ path, problem: "manifest", detail: "bundle.json database.path is not a file bundle.json lists (its bytes would be unchecked)" });
  }
  for (const [i, model] of manifest.models.entries()) {
    const reason = confinedPathReason(model.path);
    if (reason) {
      problems.push({ path: shownPath(model.path), problem: "unsafe-path", detail: `bundle.json models[${i}].path ${reason}` });
      continue;
    }
    if (!model.path.startsWith("models/")) {
      problems.push({ path: model.path, problem: "manifest", detail: `bundle.json models[${i}].path must be under models/` });
      continue;
    }
    const files = [...listed].filter(([path]) => path === model.path || path.startsWith(`${model.path}/`));
    if (model.repo !== undefined || model.revision !== undefined) {
      // A model store folder: models/<owner>--<name>/<revision>, its manifest file listed, carried or left out whole.
      let folder: string | undefined;
      try {
        folder = `models/${repoFolderName(model.repo ?? "")}/${model.revision ?? ""}`;
      } catch {
        folder = undefined;
      }
      if (folder !== model.path) problems.push({ path: model.path, problem: "manifest", detail: `bundle.json models[${i}] (${model.name}): a store folder of ${shownPath(model.repo ?? "?")}@${model.revision ?? "?"} must be at ${folder ?? "models/<owner>--<name>/<revision>"}` });
      else if (!listed.has(`${model.path}/${MANIFEST_FILE}`)) problems.push({ path: model.path, problem: "manifest", detail: `bundle.json models[${i}] (${model.name}): the store folder has no ${MANIFEST_FILE} listed` });
      else {
        const left = files.filter(([path]) => !carried.has(path)).length;
        if (left > 0 && left < files.length) problems.push({ path: model.path, problem: "manifest", detail: `bundle.json models[${i}] (${model.name}): ${left} of the folder's ${files.length} files are in base.modelFiles; a store folder is carried or left out as a whole` });
      }
    }
    const bytes = sumOf(files.map(([, f]) => f.size));
    if (files.length === 0) problems.push({ path: model.path, problem: "manifest", detail: `bundle.json models[${i}] (${model.name}): no file bundle.json lists is at or under this path` });
    else if (files.length !== model.files || bytes !== model.bytes) problems.push({ path: model.path, problem: "manifest", detail: `bundle.json models[${i}] (${model.name}) says ${model.files} files, ${model.bytes} bytes; the listed files there are ${files.length}, ${bytes} bytes` });
  }
  return problems;
}

async function report(manifest: BundleManifest, seen: Observed, trust: TrustPolicy | undefined): Promise<VerifyReport> {
  const { problems, warnings, signature } = await judge(manifest, seen, trust);
  const listed = new Set(manifest.files.map((f) => f.path));
  const counted = [...listed].filter((path) => seen.hashed.has(path));
  const bytes = sumOf(counted.map((path) => seen.hashed.get(path)?.size ?? 0));
  return { ok: problems.length === 0, problems, warnings, signature, files: counted.length, bytes, manifest };
}

function failed(problems: VerifyProblem[]): VerifyReport {
  return { ok: false, problems, warnings: [], signature: { state: "unchecked", reason: "no-trust-policy" }, files: 0, bytes: 0 };
}

/**
 * Re-hashes every file of a bundle folder and checks the chain signature → bundle.json → each file's sha256 and
 * size (and SHA256SUMS, line by line, as `sha256sum -c` would) → each OCI blob re-hashing to its name and every
 * descriptor reachable from images/index.json being present. Missing, extra, duplicate, truncated, altered,
 * unreferenced and unsafe entries (paths that leave the bundle, symlinks, hard links, special files) are each
 * named. Files are hashed in parallel, one stream per core.
 */
export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { files, odd } = await walkBundleFiles(dir);
  const sizes = new Map(files.map((f) => [f.path, f.size]));
  const read = async (path: string) => (sizes.has(path) ? await readFile(join(dir, path)).catch(() => undefined) : undefined);
  const bundleJson = await read(BUNDLE_JSON);
  const oddProblems = odd.map((o): VerifyProblem => ({ path: shownPath(o.path), problem: "extra", detail: o.why }));
  const parsed = parseManifest(bundleJson);
  if (!("manifest" in parsed)) return failed([...parsed.problems, ...oddProblems]);
  const { manifest } = parsed;
  const sums = (await read(SHA256SUMS))?.toString("utf8");
  const sumPaths = (sums ?? "").split("\n").flatMap((line) => {
    const match = SUMS_LINE.exec(line);
    return match ? [match[2] as string] : [];
  });
  const toHash = [...new Set([...manifest.files.map((f) => f.path), ...sumPaths, BUNDLE_SIG])].filter((path) => path !== BUNDLE_JSON && sizes.has(path) && !confinedPathReason(path));
  options.onTotal?.(sumOf(toHash.map((path) => sizes.get(path) ?? 0)));
  const hashed = new Map(await mapLimit(toHash, async (path) => [path, await hashFile(join(dir, path), options.onBytes)] as const));
  if (bundleJson) hashed.set(BUNDLE_JSON, { sha256: sha256Of(bundleJson), size: bundleJson.length });
  return report(
    manifest,
    {
      sizes,
      hashed,
      odd: oddProblems,
      bundleJson,
      signature: await read(BUNDLE_SIG),
      sums,
      index: await read(INDEX),
      readDoc: async (hex) => {
        const path = `${BLOB_DIR}sha256/${hex}`;
        return (sizes.get(path) ?? Infinity) <= MAX_DOC_BYTES ? read(path) : undefined;
      },
    },
    options.trust,
  );
}

const KEPT = new Set([BUNDLE_JSON, SHA256SUMS, BUNDLE_SIG, INDEX]);

/**
 * Verifies a bundle archive (`<bundle>.tar`, or `<bundle>.tar.parts` after checking every part's sha256) as it
 * streams, without unpacking it: no disk space needed beyond the archive. Judged exactly as `verifyBundle`; also an
 * entry that is not a regular file or folder (symlink, hard link, device), an entry whose path escapes the bundle,
 * and a path stored twice are each named.
 */
export async function verifyArchive(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const sizes = new Map<string, number>();
  const hashed = new Map<string, { sha256: string; size: number }>();
  const odd: VerifyProblem[] = [];
  const kept = new Map<string, Buffer>();
  const open = new Set<() => void>();
  const parts = await archiveParts(path);
  options.onTotal?.(sumOf(parts.map((p) => p.size)));
  const parser = tar.t({
    onReadEntry: (entry) => {
      const name = archiveEntryName(entry.path);
      if (name === "") return;
      const reason = confinedPathReason(name);
      if (reason) return void odd.push({ path: shownPath(name), problem: "unsafe-path", detail: `archive entry ${reason}` });
      if (entry.type === "Directory") return;
      if (!FILE_TYPES.has(entry.type)) return void odd.push({ path: name, problem: "extra", detail: `archive entry of type ${entry.type}, not a regular file` });
      if (sizes.has(name)) return void odd.push({ path: name, problem: "extra", detail: "stored twice in the archive" });
      sizes.set(name, -1);
      const hash = createHash("sha256");
      const chunks: Buffer[] = [];
      // Control files, and blobs that may be manifests (JSON, small): kept to read after the stream.
      let keep = KEPT.has(name) || (BLOB.test(name) && (entry.size ?? Infinity) <= MAX_DOC_BYTES);
      let size = 0;
      entry.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        if (keep && size === 0 && BLOB.test(name) && chunk[0] !== 0x7b) keep = false;
        size += chunk.length;
        if (keep) chunks.push(chunk);
      });
      const finish = () => {
        open.delete(finish);
        sizes.set(name, size);
        hashed.set(name, { sha256: hash.digest("hex"), size });
        if (keep) kept.set(name, Buffer.concat(chunks));
      };
      open.add(finish);
      entry.on("end", finish);
    },
  });
  await streamArchive(path, parts, parser, options.onBytes);
  // An entry cut short by the archive's end never ends: judge it by what was read (it shows as truncated).
  for (const finish of [...open]) finish();
  const parsed = parseManifest(kept.get(BUNDLE_JSON));
  if (!("manifest" in parsed)) return failed([...parsed.problems, ...odd]);
  return report(
    parsed.manifest,
    {
      sizes,
      hashed,
      odd,
      bundleJson: kept.get(BUNDLE_JSON),
      signature: kept.get(BUNDLE_SIG),
      sums: kept.get(SHA256SUMS)?.toString("utf8"),
      index: kept.get(INDEX),
      readDoc: async (hex) => kept.get(`${BLOB_DIR}sha256/${hex}`),
    },
    options.trust,
  );
}

/** Throws unless the bundle folder verifies under `options.trust`, listing every problem. */
export async function assertVerified(dir: string, options: VerifyOptions = {}): Promise<VerifyReport & { manifest: BundleManifest }> {
  const report = await verifyBundle(dir, options);
  if (!report.ok || !report.manifest) throw new BundleError("integrity", `bundle ${dir} does not verify:\n${formatProblems(report.problems)}`);
  return { ...report, manifest: report.manifest };
}

export function formatProblems(problems: readonly VerifyProblem[]): string {
  return problems.map((p) => `  - ${p.path}: ${p.problem}: ${p.detail}`).join("\n");
}
