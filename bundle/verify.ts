import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as tar from "tar";
import { archiveEntryName, archiveParts, FILE_TYPES, streamArchive } from "./archive.js";
import { BundleError } from "./errors.js";
import { hashFile, mapLimit, parseSha256Sums } from "./hash.js";
import { BUNDLE_JSON, bundleManifestSchema, IMAGES_DIR, SHA256SUMS, type BundleManifest } from "./manifest.js";
import { insideDir, unsafePathReason, walkFiles } from "./paths.js";

export interface VerifyProblem {
  readonly path: string;
  readonly problem: "missing" | "extra" | "truncated" | "altered" | "unsafe-path" | "blob-mismatch" | "image-missing" | "manifest" | "checksums";
  readonly detail: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly problems: readonly VerifyProblem[];
  readonly files: number;
  readonly bytes: number;
  readonly manifest?: BundleManifest;
}

export interface VerifyOptions {
  /** Called with bytes hashed so far, for progress. */
  readonly onBytes?: (n: number) => void;
  /** Called once bundle.json is read, with the bytes about to be hashed. */
  readonly onTotal?: (bytes: number) => void;
}

const BLOB = /^images\/blobs\/sha256\/([0-9a-f]{64})$/;

export { formatSha256Sums, parseSha256Sums } from "./hash.js";

function parseManifest(text: string | undefined): { manifest?: BundleManifest; problem?: VerifyProblem } {
  if (text === undefined) return { problem: { path: BUNDLE_JSON, problem: "missing", detail: "no bundle.json: this is not a complete bundle (an interrupted create leaves none)" } };
  try {
    return { manifest: bundleManifestSchema.parse(JSON.parse(text)) };
  } catch (error) {
    return { problem: { path: BUNDLE_JSON, problem: "manifest", detail: `not a valid bundle.json: ${(error as Error).message.split("\n")[0]}` } };
  }
}

/** What was found in a bundle, from a folder or read straight from a tar: the judgement below is the same. */
interface Observed {
  /** Every regular file's size. */
  readonly sizes: ReadonlyMap<string, number>;
  /** sha256 and size of the files that were hashed (at least every listed one present, and bundle.json). */
  readonly hashed: ReadonlyMap<string, { sha256: string; size: number }>;
  /** Symlinks, special files, duplicate or unsafe archive entries: `[path, why]`. */
  readonly odd: readonly (readonly [string, VerifyProblem["problem"], string])[];
  readonly sums: string | undefined;
  readonly index: string | undefined;
}

function judge(manifest: BundleManifest, seen: Observed): VerifyProblem[] {
  const problems: VerifyProblem[] = seen.odd.map(([path, problem, detail]) => ({ path, problem, detail }));
  const listed = new Map<string, { sha256: string; size: number }>();
  for (const file of manifest.files) {
    const reason = unsafePathReason(file.path);
    if (reason || !insideDir("/bundle", file.path)) problems.push({ path: file.path, problem: "unsafe-path", detail: `path ${reason ?? "escapes the bundle"}` });
    else listed.set(file.path, file);
  }
  for (const path of listed.keys()) if (!seen.sizes.has(path)) problems.push({ path, problem: "missing", detail: "listed in bundle.json, not in the bundle" });
  for (const path of seen.sizes.keys()) {
    if (path !== BUNDLE_JSON && path !== SHA256SUMS && !listed.has(path)) problems.push({ path, problem: "extra", detail: "in the bundle, not listed in bundle.json" });
  }
  // SHA256SUMS must agree with bundle.json and cover it, so an edited bundle.json is caught too.
  const sums = seen.sums === undefined ? new Map<string, string>() : parseSha256Sums(seen.sums);
  if (seen.sums === undefined) problems.push({ path: SHA256SUMS, problem: "missing", detail: "no SHA256SUMS" });
  const own = seen.hashed.get(BUNDLE_JSON);
  if (own && sums.size > 0 && sums.get(BUNDLE_JSON) !== own.sha256) problems.push({ path: BUNDLE_JSON, problem: "altered", detail: "bundle.json does not match its SHA256SUMS line (edited after create)" });
  for (const [path, expected] of listed) {
    const actual = seen.hashed.get(path);
    if (!actual) continue;
    if (actual.size < expected.size) problems.push({ path, problem: "truncated", detail: `${actual.size} of ${expected.size} bytes` });
    else if (actual.size !== expected.size || actual.sha256 !== expected.sha256) problems.push({ path, problem: "altered", detail: `sha256 ${actual.sha256}, expected ${expected.sha256}` });
    if (sums.size > 0 && sums.get(path) !== expected.sha256) problems.push({ path, problem: "checksums", detail: "SHA256SUMS disagrees with bundle.json" });
    const blob = BLOB.exec(path);
    if (blob && blob[1] !== actual.sha256) problems.push({ path, problem: "blob-mismatch", detail: `OCI blob content hashes to ${actual.sha256}, not to its name` });
  }
  problems.push(...checkImages(seen.index, manifest));
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.problem < b.problem ? -1 : 1));
  return problems;
}

function report(manifest: BundleManifest, seen: Observed): VerifyReport {
  const problems = judge(manifest, seen);
  const listed = manifest.files.filter((f) => seen.hashed.has(f.path));
  const bytes = sumOf([...seen.hashed.values()].map((h) => h.size));
  return { ok: problems.length === 0, problems, files: listed.length, bytes, manifest };
}

const sumOf = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

/**
 * Re-hashes every file of a bundle folder and checks it against bundle.json and SHA256SUMS: each missing, extra,
 * truncated or altered file is reported by path, as is any path that escapes the bundle, any OCI blob whose content
 * does not hash to its name, and any image of bundle.json absent from the OCI layout's index. Files are hashed in
 * parallel, one stream per core.
 */
export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const { manifest, problem } = parseManifest(await readFile(join(dir, BUNDLE_JSON), "utf8").catch(() => undefined));
  if (!manifest) return { ok: false, problems: [problem as VerifyProblem], files: 0, bytes: 0 };
  const { files, odd } = await walkFiles(dir);
  const sizes = new Map(files.map((f) => [f.path, f.size]));
  const toHash = [...new Set(manifest.files.map((f) => f.path))].filter((path) => sizes.has(path) && !unsafePathReason(path));
  options.onTotal?.(sumOf(toHash.map((path) => sizes.get(path) ?? 0)));
  const hashed = await mapLimit([...toHash, BUNDLE_JSON], async (path) => [path, await hashFile(join(dir, path), path === BUNDLE_JSON ? undefined : options.onBytes)] as const);
  return report(manifest, {
    sizes,
    hashed: new Map(hashed),
    odd: odd.map((path) => [path, "extra", "not a regular file (symlink or special file)"] as const),
    sums: await readFile(join(dir, SHA256SUMS), "utf8").catch(() => undefined),
    index: await readFile(join(dir, IMAGES_DIR, "index.json"), "utf8").catch(() => undefined),
  });
}

const KEPT_TEXT = new Set([BUNDLE_JSON, SHA256SUMS, `${IMAGES_DIR}/index.json`]);

/**
 * Verifies a bundle archive (`<bundle>.tar`, or `<bundle>.tar.parts` after checking every part's sha256) as it
 * streams, without unpacking it: no disk space needed beyond the archive. Besides what `verifyBundle` reports, an
 * entry that is not a regular file or folder, an entry whose path escapes the bundle, and a path stored twice are
 * each named.
 */
export async function verifyArchive(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const sizes = new Map<string, number>();
  const hashed = new Map<string, { sha256: string; size: number }>();
  const odd: [string, VerifyProblem["problem"], string][] = [];
  const text = new Map<string, string>();
  const open = new Set<() => void>();
  const parts = await archiveParts(path);
  options.onTotal?.(sumOf(parts.map((p) => p.size)));
  const parser = tar.t({
    onReadEntry: (entry) => {
      const name = archiveEntryName(entry.path);
      if (name === "") return;
      const reason = unsafePathReason(name);
      if (reason) return void odd.push([name, "unsafe-path", `archive entry ${reason}`]);
      if (entry.type === "Directory") return;
      if (!FILE_TYPES.has(entry.type)) return void odd.push([name, "extra", `archive entry of type ${entry.type}, not a regular file`]);
      if (sizes.has(name)) return void odd.push([name, "extra", "stored twice in the archive"]);
      sizes.set(name, -1);
      const hash = createHash("sha256");
      const chunks: Buffer[] = [];
      let size = 0;
      entry.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        size += chunk.length;
        if (KEPT_TEXT.has(name)) chunks.push(chunk);
      });
      const finish = () => {
        open.delete(finish);
        sizes.set(name, size);
        hashed.set(name, { sha256: hash.digest("hex"), size });
        if (KEPT_TEXT.has(name)) text.set(name, Buffer.concat(chunks).toString("utf8"));
      };
      open.add(finish);
      entry.on("end", finish);
    },
  });
  await streamArchive(path, parts, parser, options.onBytes);
  // An entry cut short by the archive's end never ends: judge it by what was read (it shows as truncated).
  for (const finish of [...open]) finish();
  const { manifest, problem } = parseManifest(text.get(BUNDLE_JSON));
  if (!manifest) return { ok: false, problems: [problem as VerifyProblem, ...odd.map(([p, kind, detail]) => ({ path: p, problem: kind, detail }))], files: 0, bytes: 0 };
  return report(manifest, { sizes, hashed, odd, sums: text.get(SHA256SUMS), index: text.get(`${IMAGES_DIR}/index.json`) });
}

function checkImages(indexText: string | undefined, manifest: BundleManifest): VerifyProblem[] {
  let index: { manifests?: { digest?: string; annotations?: Record<string, string> }[] };
  try {
    index = JSON.parse(indexText ?? "");
  } catch {
    return manifest.images.length === 0 ? [] : [{ path: `${IMAGES_DIR}/index.json`, problem: "image-missing", detail: "no readable OCI index; no image can be loaded" }];
  }
  return manifest.images.flatMap((image): VerifyProblem[] => {
    const entry = index.manifests?.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === image.layoutRef);
    if (!entry) return [{ path: `${IMAGES_DIR}/index.json`, problem: "image-missing", detail: `image ${image.name} (${image.reference}) is not in the OCI layout` }];
    if (entry.digest !== image.digest) return [{ path: `${IMAGES_DIR}/index.json`, problem: "image-missing", detail: `image ${image.name} has digest ${entry.digest ?? "none"} in the layout, bundle.json says ${image.digest}` }];
    return [];
  });
}

/** Throws unless the bundle verifies, listing every problem. */
export async function assertVerified(dir: string, options: VerifyOptions = {}): Promise<BundleManifest> {
  const report = await verifyBundle(dir, options);
  if (!report.ok || !report.manifest) throw new BundleError("integrity", `bundle ${dir} does not verify:\n${formatProblems(report.problems)}`);
  return report.manifest;
}

export function formatProblems(problems: readonly VerifyProblem[]): string {
  return problems.map((p) => `  - ${p.path}: ${p.problem}: ${p.detail}`).join("\n");
}
