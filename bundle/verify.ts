import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BundleError } from "./errors.js";
import { hashFile, mapLimit } from "./hash.js";
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

/** `<hex>  <path>` lines, as `sha256sum` writes and `sha256sum -c` reads them. */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (match) out.set(match[2] as string, match[1] as string);
  }
  return out;
}

export function formatSha256Sums(entries: readonly { path: string; sha256: string }[]): string {
  return entries.map((e) => `${e.sha256}  ${e.path}\n`).join("");
}

async function readManifest(dir: string): Promise<{ manifest?: BundleManifest; problem?: VerifyProblem }> {
  let text: string;
  try {
    text = await readFile(join(dir, BUNDLE_JSON), "utf8");
  } catch {
    return { problem: { path: BUNDLE_JSON, problem: "missing", detail: "no bundle.json: this is not a complete bundle (an interrupted create leaves none)" } };
  }
  try {
    return { manifest: bundleManifestSchema.parse(JSON.parse(text)) };
  } catch (error) {
    return { problem: { path: BUNDLE_JSON, problem: "manifest", detail: `not a valid bundle.json: ${(error as Error).message.split("\n")[0]}` } };
  }
}

/**
 * Re-hashes every file of a bundle folder and checks it against bundle.json and SHA256SUMS: each missing, extra,
 * truncated or altered file is reported by path, as is any path that escapes the bundle, any OCI blob whose content
 * does not hash to its name, and any image of bundle.json absent from the OCI layout's index.
 */
export async function verifyBundle(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const { manifest, problem } = await readManifest(dir);
  if (!manifest) return { ok: false, problems: [problem as VerifyProblem], files: 0, bytes: 0 };

  const listed = new Map<string, { sha256: string; size: number }>();
  for (const file of manifest.files) {
    const reason = unsafePathReason(file.path);
    if (reason || !insideDir(dir, file.path)) problems.push({ path: file.path, problem: "unsafe-path", detail: `path ${reason ?? "escapes the bundle"}` });
    else listed.set(file.path, file);
  }
  const { files, odd } = await walkFiles(dir);
  for (const path of odd) problems.push({ path, problem: "extra", detail: "not a regular file (symlink or special file)" });
  const present = new Map(files.map((f) => [f.path, f.size]));
  for (const path of listed.keys()) if (!present.has(path)) problems.push({ path, problem: "missing", detail: "listed in bundle.json, not in the bundle" });
  for (const { path } of files) {
    if (path !== BUNDLE_JSON && path !== SHA256SUMS && !listed.has(path)) problems.push({ path, problem: "extra", detail: "in the bundle, not listed in bundle.json" });
  }

  // SHA256SUMS must agree with bundle.json and cover it, so an edited bundle.json is caught too.
  let sums = new Map<string, string>();
  try {
    sums = parseSha256Sums(await readFile(join(dir, SHA256SUMS), "utf8"));
  } catch {
    problems.push({ path: SHA256SUMS, problem: "missing", detail: "no SHA256SUMS" });
  }
  const toHash = [...listed.entries()].filter(([path]) => present.has(path));
  options.onTotal?.(toHash.reduce((sum, [path]) => sum + (present.get(path) ?? 0), 0));
  const hashed = await mapLimit([...toHash.map(([path]) => path), BUNDLE_JSON], async (path) => ({ path, ...(await hashFile(join(dir, path), options.onBytes)) }));
  let bytes = 0;
  for (const { path, sha256, size } of hashed) {
    bytes += size;
    if (path === BUNDLE_JSON) {
      if (sums.size > 0 && sums.get(BUNDLE_JSON) !== sha256) problems.push({ path, problem: "altered", detail: "bundle.json does not match its SHA256SUMS line (edited after create)" });
      continue;
    }
    const expected = listed.get(path) as { sha256: string; size: number };
    if (size < expected.size) problems.push({ path, problem: "truncated", detail: `${size} of ${expected.size} bytes` });
    else if (size !== expected.size || sha256 !== expected.sha256) problems.push({ path, problem: "altered", detail: `sha256 ${sha256}, expected ${expected.sha256}` });
    if (sums.size > 0 && sums.get(path) !== expected.sha256) problems.push({ path, problem: "checksums", detail: "SHA256SUMS disagrees with bundle.json" });
    const blob = BLOB.exec(path);
    if (blob && blob[1] !== sha256) problems.push({ path, problem: "blob-mismatch", detail: `OCI blob content hashes to ${sha256}, not to its name` });
  }
  problems.push(...(await checkImages(dir, manifest)));
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.problem < b.problem ? -1 : 1));
  return { ok: problems.length === 0, problems, files: toHash.length, bytes, manifest };
}

async function checkImages(dir: string, manifest: BundleManifest): Promise<VerifyProblem[]> {
  let index: { manifests?: { digest?: string; annotations?: Record<string, string> }[] };
  try {
    index = JSON.parse(await readFile(join(dir, IMAGES_DIR, "index.json"), "utf8"));
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
