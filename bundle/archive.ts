import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { BundleError } from "./errors.js";
import { hashFile } from "./hash.js";
import { unsafePathReason, walkFiles } from "./paths.js";
import { formatSha256Sums, parseSha256Sums } from "./verify.js";

/** `<bundle>.tar`, or parts `<bundle>.tar.000`, `.001`, … listed with their sha256 in `<bundle>.tar.parts`. */
export const PARTS_SUFFIX = ".parts";

/** Writes the bundle folder as one tar (deterministic order), optionally split into parts of `splitBytes`. */
export async function writeArchive(dir: string, splitBytes?: number): Promise<string[]> {
  const file = `${dir}.tar`;
  const { files } = await walkFiles(dir);
  await tar.create({ cwd: dir, file, portable: true, noMtime: true }, files.map((f) => f.path));
  if (!splitBytes) return [file];
  const parts: string[] = [];
  const size = (await stat(file)).size;
  for (let offset = 0, n = 0; offset < size; offset += splitBytes, n++) {
    const part = `${file}.${String(n).padStart(3, "0")}`;
    await pipeline(createReadStream(file, { start: offset, end: Math.min(size, offset + splitBytes) - 1 }), createWriteStream(part));
    parts.push(part);
  }
  await rm(file);
  const sums = await Promise.all(parts.map(async (p) => ({ path: basename(p), sha256: (await hashFile(p)).sha256 })));
  await writeFile(`${file}${PARTS_SUFFIX}`, formatSha256Sums(sums));
  return [...parts, `${file}${PARTS_SUFFIX}`];
}

export interface OpenedBundle {
  readonly dir: string;
  cleanup(): Promise<void>;
}

/**
 * A bundle to read: a folder as it is, or a tar (or its `.parts` list) unpacked into a temp folder after checking
 * every part's sha256 and every entry's path (nothing may land outside the folder).
 */
export async function openBundle(path: string): Promise<OpenedBundle> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new BundleError("input", `no bundle at ${path}`);
  if (info.isDirectory()) return { dir: path, cleanup: async () => undefined };
  const dir = await mkdtemp(join(dirname(path), ".modelfleet-unpack-"));
  const cleanup = () => rm(dir, { recursive: true, force: true, maxRetries: 3 });
  try {
    const unsafe: string[] = [];
    const extract = tar.x({
      cwd: dir,
      strict: true,
      filter: (entryPath) => {
        const reason = unsafePathReason(entryPath.replace(/\/$/, ""));
        if (reason) unsafe.push(`${entryPath} (${reason})`);
        return !reason;
      },
    });
    if (path.endsWith(PARTS_SUFFIX)) {
      // Every part is checked before any byte is unpacked.
      const parts = [...parseSha256Sums(await readFile(path, "utf8"))].sort(([a], [b]) => (a < b ? -1 : 1));
      for (const [part, sha256] of parts) {
        const actual = await hashFile(join(dirname(path), part)).catch(() => undefined);
        if (!actual) throw new BundleError("integrity", `archive part ${part} is missing`);
        if (actual.sha256 !== sha256) throw new BundleError("integrity", `archive part ${part} is altered: sha256 ${actual.sha256}, expected ${sha256}`);
      }
      const joined = new PassThrough();
      const writing = pipeline(joined, extract);
      for (const [part] of parts) {
        for await (const chunk of createReadStream(join(dirname(path), part))) if (!joined.write(chunk)) await new Promise((r) => joined.once("drain", r));
      }
      joined.end();
      await writing;
    } else {
      await pipeline(createReadStream(path), extract);
    }
    if (unsafe.length > 0) throw new BundleError("integrity", `archive ${path} has entries outside the bundle, not extracted:\n${unsafe.map((u) => `  - ${u}`).join("\n")}`);
    return { dir, cleanup };
  } catch (error) {
    await cleanup();
    if (error instanceof BundleError) throw error;
    throw new BundleError("integrity", `cannot unpack ${path}: ${(error as Error).message}`);
  }
}
