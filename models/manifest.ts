/**
 * `modelfleet-manifest.json`: what a model folder holds, written next to the files by whatever delivered them (the
 * download Job, `bundle load`, `models pack`'s source) and checked before an engine may use them. One format for
 * every delivery path, so an offline site's claim looks exactly like an online one (docs/models.md).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { hashFile } from "../files/hash.js";

export const MANIFEST_FILE = "modelfleet-manifest.json";
export const MANIFEST_SCHEMA = "modelfleet.dev/model-manifest/v1";

const SHA256 = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}$/;
/** A relative POSIX path inside the model folder: no `..`, no absolute path, no empty segment, not the manifest. */
const RELATIVE = /^(?!\/)(?!.*(^|\/)\.\.?(\/|$))(?!.*\/\/)[^\0\\]+$/;

const manifestFile = z.strictObject({
  path: z.string().min(1).max(1024).regex(RELATIVE, "must be a relative path inside the model folder (no .., no leading /)"),
  bytes: z.int().min(0),
  sha256: z.string().regex(SHA256, "must be 64 lower-case hex digits"),
});

export const manifestSchema = z.strictObject({
  schema: z.literal(MANIFEST_SCHEMA),
  /** Hugging Face repository (`owner/name`) the files came from. */
  repo: z.string().min(1).max(200),
  /** The commit SHA of the revision the files are. */
  revision: z.string().regex(COMMIT, "must be a 40-hex commit SHA"),
  files: z.array(manifestFile).min(1).max(100_000),
});

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ManifestFile = ModelManifest["files"][number];

/** Sorted by path (byte order), two-space JSON, final newline: the same files give the same bytes. */
export function serializeManifest(manifest: ModelManifest): string {
  const files = [...manifest.files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => ({ path: f.path, bytes: f.bytes, sha256: f.sha256 }));
  return `${JSON.stringify({ schema: manifest.schema, repo: manifest.repo, revision: manifest.revision, files }, null, 2)}\n`;
}

/** Parses a manifest's text; throws one Error listing every problem with its path. */
export function parseManifest(text: string, where: string): ModelManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${where}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = manifestSchema.safeParse(value, { reportInput: false });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(top level)"}: ${i.message}`);
    throw new Error(`${where}: not a ${MANIFEST_SCHEMA} manifest: ${problems.join("; ")}`);
  }
  const seen = new Set<string>();
  for (const f of parsed.data.files) {
    if (f.path === MANIFEST_FILE) throw new Error(`${where}: files lists ${MANIFEST_FILE} itself`);
    if (seen.has(f.path)) throw new Error(`${where}: files lists ${f.path} twice`);
    seen.add(f.path);
  }
  return parsed.data;
}

export async function readManifest(dir: string): Promise<ModelManifest> {
  const where = join(dir, MANIFEST_FILE);
  return parseManifest(await readFile(where, "utf8"), where);
}

/** One file of a folder that does not match its manifest. */
export interface ManifestMismatch {
  readonly path: string;
  readonly problem: string;
}

/** Streams every listed file through sha256 and compares size and digest; an empty list means the folder is intact. */
export async function verifyAgainstManifest(dir: string, manifest: ModelManifest): Promise<ManifestMismatch[]> {
  const mismatches: ManifestMismatch[] = [];
  for (const f of manifest.files) {
    let actual: { sha256: string; size: number };
    try {
      actual = await hashFile(join(dir, f.path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      mismatches.push({ path: f.path, problem: code === "ENOENT" ? "missing" : `unreadable (${code ?? "error"})` });
      continue;
    }
    if (actual.size !== f.bytes) mismatches.push({ path: f.path, problem: `${actual.size} bytes, the manifest says ${f.bytes}` });
    else if (actual.sha256 !== f.sha256) mismatches.push({ path: f.path, problem: `sha256 ${actual.sha256}, the manifest says ${f.sha256}` });
  }
  return mismatches;
}
