import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, open, readFile, rename, rm, stat, statfs, writeFile, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { BundleError } from "./errors.js";
import { formatSha256Sums, hashFile, parseSha256Sums } from "./hash.js";
import { unsafePathReason, walkFiles } from "./paths.js";
import { human } from "./progress.js";

/** `<bundle>.tar`, or parts `<bundle>.tar.000`, `.001`, … listed with their sha256 in `<bundle>.tar.parts`. */
export const PARTS_SUFFIX = ".parts";
const PENDING = ".partial";

/** Splits a byte stream into numbered part files of at most `splitBytes`, hashing each as it is written. */
class PartWriter extends Writable {
  readonly parts: { path: string; sha256: string }[] = [];
  private handle: FileHandle | undefined;
  private hash = createHash("sha256");
  private written = 0;

  constructor(
    private readonly base: string,
    private readonly splitBytes: number,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.append(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.close().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    void this.handle?.close().catch(() => undefined);
    callback(error);
  }

  private async append(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.handle || this.written === this.splitBytes) await this.next();
      const slice = chunk.subarray(offset, offset + Math.min(chunk.length - offset, this.splitBytes - this.written));
      for (let done = 0; done < slice.length; ) done += (await (this.handle as FileHandle).write(slice, done)).bytesWritten;
      this.hash.update(slice);
      this.written += slice.length;
      offset += slice.length;
    }
  }

  private async next(): Promise<void> {
    await this.close();
    this.handle = await open(`${this.base}.${String(this.parts.length).padStart(3, "0")}${PENDING}`, "w");
    this.hash = createHash("sha256");
    this.written = 0;
  }

  private async close(): Promise<void> {
    if (!this.handle) return;
    await this.handle.close();
    this.handle = undefined;
    this.parts.push({ path: `${this.base}.${String(this.parts.length).padStart(3, "0")}`, sha256: this.hash.digest("hex") });
  }
}

/**
 * Writes the folder `dir` as the tar `file` (deterministic order, no mtimes), streaming, or straight into parts of
 * `splitBytes` (no whole tar on disk first). Everything is written under a `.partial` name and renamed at the end,
 * the parts list last: an interrupted write never leaves an archive that opens.
 */
export async function writeArchive(dir: string, file: string, splitBytes?: number, onBytes?: (n: number) => void): Promise<string[]> {
  const { files } = await walkFiles(dir);
  await rm(`${file}${PARTS_SUFFIX}`, { force: true });
  await rm(file, { force: true });
  const tarred = tar.create({ cwd: dir, portable: true, noMtime: true }, files.map((f) => f.path));
  const pack = async function* () {
    for await (const chunk of tarred) {
      onBytes?.((chunk as Buffer).length);
      yield chunk as Buffer;
    }
  };
  if (!splitBytes) {
    await pipeline(pack, createWriteStream(`${file}${PENDING}`));
    await rename(`${file}${PENDING}`, file);
    return [file];
  }
  const writer = new PartWriter(file, splitBytes);
  await pipeline(pack, writer);
  for (const part of writer.parts) await rename(`${part.path}${PENDING}`, part.path);
  await writeFile(`${file}${PARTS_SUFFIX}${PENDING}`, formatSha256Sums(writer.parts.map((p) => ({ path: basename(p.path), sha256: p.sha256 }))));
  await rename(`${file}${PARTS_SUFFIX}${PENDING}`, `${file}${PARTS_SUFFIX}`);
  return [...writer.parts.map((p) => p.path), `${file}${PARTS_SUFFIX}`];
}

/** Bytes at most that a tar of `files` files holding `bytes` in all takes: a header and a pax header per file, data padded to 512-byte blocks, the end blocks. */
export function tarBytes(files: number, bytes: number): number {
  return bytes + files * (1024 + 511) + 10240;
}

export interface ArchivePart {
  readonly file: string;
  readonly size: number;
  /** As listed in `.parts`; none for a single `.tar`. */
  readonly sha256?: string;
}

/** The files an archive is made of: the `.tar` itself, or the parts a `.parts` list names, in order. */
export async function archiveParts(path: string): Promise<ArchivePart[]> {
  const entries = path.endsWith(PARTS_SUFFIX)
    ? [...parseSha256Sums(await readFile(path, "utf8"))].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, sha256]) => ({ file: join(dirname(path), name), sha256 }))
    : [{ file: path }];
  if (entries.length === 0) throw new BundleError("integrity", `${path} lists no archive parts`);
  return Promise.all(
    entries.map(async (entry) => {
      const info = await stat(entry.file).catch(() => undefined);
      if (!info?.isFile()) throw new BundleError("integrity", `archive part ${basename(entry.file)} is missing`);
      return { ...entry, size: info.size };
    }),
  );
}

/**
 * Writes chunks into a node-tar reader (list or extract) and waits for its `close`: those readers are not Node
 * streams, and `stream.pipeline` does not see a list parser finish.
 */
async function feed(chunks: AsyncIterable<Buffer>, sink: NodeJS.WritableStream): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => {
    sink.once("close", resolve);
    sink.on("error", reject);
  });
  closed.catch(() => undefined);
  for await (const chunk of chunks) {
    if (!sink.write(chunk)) await Promise.race([once(sink, "drain"), closed]);
  }
  sink.end();
  await closed;
}

/**
 * Streams an archive's tar bytes into `sink` in one pass, hashing each part on the way: an altered part is named
 * (even when the tar reader stops on its damage first), and nothing read from an altered part is trusted.
 */
export async function streamArchive(path: string, parts: readonly ArchivePart[], sink: NodeJS.WritableStream, onBytes?: (n: number) => void): Promise<void> {
  const altered: string[] = [];
  const checked = new Set<string>();
  const check = (part: ArchivePart, sha256: string) => {
    checked.add(part.file);
    if (part.sha256 && sha256 !== part.sha256) altered.push(`archive part ${basename(part.file)} is altered: sha256 ${sha256}, expected ${part.sha256}`);
  };
  const bytes = async function* () {
    for (const part of parts) {
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(part.file, { highWaterMark: 1 << 20 })) {
        hash.update(chunk as Buffer);
        onBytes?.((chunk as Buffer).length);
        yield chunk as Buffer;
      }
      check(part, hash.digest("hex"));
    }
  };
  let failure: Error | undefined;
  await feed(bytes(), sink).catch((error: Error) => {
    failure = error;
  });
  if (failure) for (const part of parts) if (part.sha256 && !checked.has(part.file)) check(part, (await hashFile(part.file)).sha256);
  if (altered.length > 0) throw new BundleError("integrity", altered.join("\n"));
  if (failure) throw new BundleError("integrity", `cannot read ${path} as a tar: ${failure.message}`);
}

/** tar entry types that hold a regular file's bytes. */
export const FILE_TYPES: ReadonlySet<string> = new Set(["File", "OldFile", "ContiguousFile"]);

/** An archive entry's path as a bundle path: `./` prefixes (GNU `tar -C dir .`) and a folder's trailing `/` dropped. */
export function archiveEntryName(entryPath: string): string {
  return entryPath.replace(/^(?:\.\/)+/, "").replace(/\/$/, "").replace(/^\.$/, "");
}

export interface OpenedBundle {
  readonly dir: string;
  cleanup(): Promise<void>;
}

/**
 * A bundle to read: a folder as it is, or a tar (or its `.parts` list) unpacked into a temp folder after checking
 * every part's sha256 and every entry's path (nothing may land outside the folder). `include` picks the files to
 * unpack (@default all).
 */
export async function openBundle(path: string, include: (name: string) => boolean = () => true): Promise<OpenedBundle> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new BundleError("input", `no bundle at ${path}`);
  if (info.isDirectory()) return { dir: path, cleanup: async () => undefined };
  const parts = await archiveParts(path);
  const needed = parts.reduce((sum, p) => sum + p.size, 0);
  const free = await statfs(dirname(path)).then((f) => f.bavail * f.bsize);
  if (needed > free) throw new BundleError("space", `not enough disk space in ${dirname(path)} to unpack ${basename(path)}: needs up to ${human(needed)}, ${human(free)} available; unpack it on a larger disk and pass the folder`);
  const dir = await mkdtemp(join(dirname(path), ".modelfleet-unpack-"));
  const cleanup = () => rm(dir, { recursive: true, force: true, maxRetries: 3 });
  try {
    const unsafe: string[] = [];
    const extract = tar.x({
      cwd: dir,
      strict: true,
      filter: (entryPath, entry) => {
        const name = archiveEntryName(entryPath);
        if (name === "") return false;
        const type = "type" in entry ? entry.type : "File";
        const reason = unsafePathReason(name) ?? (FILE_TYPES.has(type) || type === "Directory" ? undefined : `a ${type}, not a regular file`);
        if (reason) unsafe.push(`${entryPath} (${reason})`);
        return !reason && (type === "Directory" || include(name));
      },
    });
    // Every part is checked before any byte is unpacked.
    for (const part of parts) {
      const actual = part.sha256 ? (await hashFile(part.file)).sha256 : undefined;
      if (actual !== part.sha256) throw new BundleError("integrity", `archive part ${basename(part.file)} is altered: sha256 ${actual}, expected ${part.sha256}`);
    }
    await streamArchive(path, parts, extract);
    if (unsafe.length > 0) throw new BundleError("integrity", `archive ${path} has entries that escape the bundle or are not regular files, not extracted:\n${unsafe.map((u) => `  - ${u}`).join("\n")}`);
    return { dir, cleanup };
  } catch (error) {
    await cleanup();
    if (error instanceof BundleError) throw error;
    throw new BundleError("integrity", `cannot unpack ${path}: ${(error as Error).message}`);
  }
}
