import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, rmSync, type Stats } from "node:fs";
import { lstat, mkdtemp, open, readFile, rename, rm, stat, statfs, writeFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as tar from "tar";
import { z } from "zod";
import { BundleError } from "./errors.js";
import { formatSha256Sums, hashFile } from "../files/hash.js";
import { confinedPathReason } from "./confine.js";
import { BUNDLE_JSON, BUNDLE_SIG, SHA256SUMS } from "./manifest.js";
import { walkFiles } from "./paths.js";
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

/** The files an archive starts with, in this order, so a reader knows the sizes of everything after them. */
const LEADING = [BUNDLE_JSON, BUNDLE_SIG, SHA256SUMS];

/**
 * Writes the folder `dir` as the tar `file` (deterministic order, no mtimes), streaming, or straight into parts of
 * `splitBytes` (no whole tar on disk first). bundle.json comes first (then its signature and SHA256SUMS), so a reader
 * learns every entry's size before it unpacks any. Only regular files and folders are archived: a symlink, device,
 * FIFO or socket anywhere under `dir` is an error naming it (a link would be dropped or stored as a link, and the
 * archive would no longer hold what the folder holds). Everything is written under a `.partial` name and renamed at
 * the end, the parts list last: an interrupted write never leaves an archive that opens.
 */
export async function writeArchive(dir: string, file: string, splitBytes?: number, onBytes?: (n: number) => void): Promise<string[]> {
  const { files, odd } = await walkFiles(dir);
  const refuse = (paths: readonly string[]) =>
    new BundleError("input", `cannot archive ${dir}: ${paths.slice(0, 5).map((p) => shown(p)).join(", ")}${paths.length > 5 ? ` and ${paths.length - 5} more` : ""} ${paths.length === 1 ? "is" : "are"} not a regular file or folder (symlink, device, FIFO or socket); a bundle holds regular files only: replace links by the files' content`);
  if (odd.length > 0) throw refuse(odd);
  const names = files.map((f) => f.path);
  const ordered = [...LEADING.filter((name) => names.includes(name)), ...names.filter((name) => !LEADING.includes(name))];
  await rm(`${file}${PARTS_SUFFIX}`, { force: true });
  await rm(file, { force: true });
  // Checked again as tar reads each file's lstat: a file swapped for a link after the walk is refused, not stored.
  const swapped: string[] = [];
  const tarred = tar.create(
    {
      cwd: dir,
      portable: true,
      noMtime: true,
      filter: (path, info) => {
        const ok = "isFile" in info && (info.isFile() || info.isDirectory());
        if (!ok) swapped.push(path);
        return ok;
      },
    },
    ordered,
  );
  const pack = async function* () {
    for await (const chunk of tarred) {
      onBytes?.((chunk as Buffer).length);
      yield chunk as Buffer;
    }
    if (swapped.length > 0) throw refuse(swapped);
  };
  if (!splitBytes) {
    try {
      await pipeline(pack, createWriteStream(`${file}${PENDING}`));
    } catch (error) {
      await rm(`${file}${PENDING}`, { force: true });
      throw error;
    }
    await rename(`${file}${PENDING}`, file);
    return [file];
  }
  const writer = new PartWriter(file, splitBytes);
  try {
    await pipeline(pack, writer);
  } catch (error) {
    for (let i = 0; i <= writer.parts.length; i++) await rm(`${file}.${String(i).padStart(3, "0")}${PENDING}`, { force: true });
    throw error;
  }
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

/** A value for a one-line message: control characters shown as `?`, at most 100 characters. */
function shown(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > 100 ? `${clean.slice(0, 97)}...` : clean;
}

function fileKind(info: Stats): string {
  if (info.isSymbolicLink()) return "a symlink";
  if (info.isDirectory()) return "a folder";
  if (info.isFIFO()) return "a FIFO";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "a device";
  return "not a regular file";
}

/** A one-line message, or a header and a short list of problems. */
function listed(header: string, problems: readonly string[], limit = 20): string {
  if (problems.length === 1) return `${header}: ${problems[0]}`;
  const lines = problems.slice(0, limit).map((p) => `  - ${p}`);
  if (problems.length > limit) lines.push(`  - ... and ${problems.length - limit} more`);
  return `${header}:\n${lines.join("\n")}`;
}

/** The number of part `name` of `<tarName>`: a plain file name `<tarName>.NNN` (3 digits, more only past 999). */
function partNumber(tarName: string, name: string): number | undefined {
  if (!name.startsWith(`${tarName}.`)) return undefined;
  const digits = name.slice(tarName.length + 1);
  if (!/^\d{3,}$/.test(digits) || (digits.length > 3 && digits.startsWith("0"))) return undefined;
  return Number(digits);
}

/** A `.parts` list is a few lines per part; anything much larger is not one. */
const MAX_PARTS_LIST_BYTES = 1024 ** 2;

/**
 * The files an archive is made of: the `.tar` itself, or the parts a `.parts` list names, in order. Every line of a
 * list must name a plain file `<bundle>.tar.NNN` in the list's own folder (no path, no `..`), numbered from 000
 * without gaps, and each part must be a regular file (lstat: a symlink, device or FIFO is refused, so a list cannot
 * make a reader open `/etc/passwd` or hash `/dev/zero` forever). Throws a BundleError naming each bad line.
 */
export async function archiveParts(path: string): Promise<ArchivePart[]> {
  const own = await stat(path).catch(() => undefined);
  if (!own) throw new BundleError("input", `no archive at ${path}`);
  if (!own.isFile()) throw new BundleError("input", `${path} is ${fileKind(own)}, not a regular file; pass a bundle folder, <bundle>.tar or <bundle>.tar.parts`);
  if (!path.endsWith(PARTS_SUFFIX)) return [{ file: path, size: own.size }];
  const list = basename(path);
  if (own.size > MAX_PARTS_LIST_BYTES) throw new BundleError("integrity", `${list} is ${human(own.size)}, not a parts list (at most ${human(MAX_PARTS_LIST_BYTES)}); pass the .tar.parts file bundle create wrote`);
  const tarName = list.slice(0, -PARTS_SUFFIX.length);
  const problems: string[] = [];
  const byNumber = new Map<number, { name: string; sha256: string; line: number }>();
  (await readFile(path, "utf8")).split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "") return;
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!match) return void problems.push(`line ${i + 1} "${shown(line)}" is not "<sha256>  <part file name>"`);
    const [, sha256 = "", name = ""] = match;
    const number = partNumber(tarName, name);
    if (number === undefined) return void problems.push(`line ${i + 1} names "${shown(name)}"; a part must be a file in the same folder named ${tarName}.NNN`);
    if (byNumber.has(number)) return void problems.push(`line ${i + 1} lists ${name} a second time`);
    byNumber.set(number, { name, sha256, line: i + 1 });
  });
  if (problems.length === 0 && byNumber.size === 0) problems.push("it lists no parts");
  const last = Math.max(-1, ...byNumber.keys());
  const gaps = problems.length > 0 ? [] : Array.from({ length: last + 1 }, (_, i) => i).filter((i) => !byNumber.has(i));
  if (gaps.length > 0) problems.push(`part${gaps.length > 1 ? "s" : ""} ${gaps.slice(0, 5).map((i) => `${tarName}.${String(i).padStart(3, "0")}`).join(", ")}${gaps.length > 5 ? ", ..." : ""} not listed (parts are numbered from 000 without gaps)`);
  const parts: ArchivePart[] = [];
  if (problems.length === 0) {
    for (const [, entry] of [...byNumber].sort(([a], [b]) => a - b)) {
      const file = join(dirname(path), entry.name);
      const info = await lstat(file).catch(() => undefined);
      if (!info) problems.push(`archive part ${entry.name} (line ${entry.line}) is missing`);
      else if (!info.isFile()) problems.push(`archive part ${entry.name} (line ${entry.line}) is ${fileKind(info)}, not a regular file`);
      else parts.push({ file, sha256: entry.sha256, size: info.size });
    }
  }
  const fix = "bring the parts bundle create wrote, or write the archive again (bundle create --split-size)";
  if (problems.length > 0) throw new BundleError("integrity", problems.length === 1 ? `${list}: ${problems[0]}; ${fix}` : `${listed(list, problems)}\n${fix}`);
  return parts;
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

/** The compression a file starts with, if any: bundles are plain tar, and a compressed one could expand without bound. */
function compressionOf(head: Buffer): string | undefined {
  const starts = (bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts([0x1f, 0x8b])) return "gzip";
  if (starts([0x42, 0x5a, 0x68])) return "bzip2";
  if (starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return "xz";
  if (starts([0x28, 0xb5, 0x2f, 0xfd])) return "zstd";
  if (starts([0x04, 0x22, 0x4d, 0x18])) return "lz4";
  return undefined;
}

/**
 * Streams an archive's tar bytes into `sink` in one pass, hashing each part on the way: an altered part is named
 * (even when the tar reader stops on its damage first), and nothing read from an altered part is trusted. A
 * compressed archive is refused before any byte reaches the reader. `signal` stops reading early (what was not
 * read is not checked).
 */
export async function streamArchive(path: string, parts: readonly ArchivePart[], sink: NodeJS.WritableStream, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<void> {
  const altered: string[] = [];
  const checked = new Set<string>();
  const check = (part: ArchivePart, sha256: string) => {
    checked.add(part.file);
    if (part.sha256 && sha256 !== part.sha256) altered.push(`archive part ${basename(part.file)} is altered: sha256 ${sha256}, expected ${part.sha256}`);
  };
  let first = true;
  const bytes = async function* () {
    for (const part of parts) {
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(part.file, { highWaterMark: 1 << 20 })) {
        if (signal?.aborted) return;
        const buffer = chunk as Buffer;
        if (first) {
          first = false;
          const compression = compressionOf(buffer);
          if (compression) throw new BundleError("input", `${path} is ${compression}-compressed; bundle archives are plain tar (as bundle create --archive writes them) and compressed ones are refused, since they can expand without bound before any check`);
        }
        hash.update(buffer);
        onBytes?.(buffer.length);
        yield buffer;
      }
      check(part, hash.digest("hex"));
    }
  };
  let failure: Error | undefined;
  await feed(bytes(), sink).catch((error: Error) => {
    failure = error;
  });
  if (failure instanceof BundleError) throw failure;
  if (signal?.aborted) return;
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

/** Temporary folders being unpacked into: removed on SIGINT/SIGTERM and at exit if their owner could not. */
const unpacking = new Set<string>();
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function removeUnpacking(): void {
  for (const dir of unpacking) rmSync(dir, { recursive: true, force: true });
  unpacking.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removeUnpacking();
  untrackAll();
  // Only this handler kept the process alive through the signal: end it the way the signal would have.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function untrackAll(): void {
  for (const signal of SIGNALS) process.off(signal, onSignal);
  process.off("exit", removeUnpacking);
}

function track(dir: string): void {
  if (unpacking.size === 0) {
    for (const signal of SIGNALS) process.on(signal, onSignal);
    process.on("exit", removeUnpacking);
  }
  unpacking.add(dir);
}

function untrack(dir: string): void {
  unpacking.delete(dir);
  if (unpacking.size === 0) untrackAll();
}

/** Where archives are unpacked: the system's temporary folder ($TMPDIR), never next to the archive (read-only media). */
export function unpackBase(): string {
  return tmpdir();
}

/** bundle.json is read into memory before anything is unpacked; a real one is far smaller. */
const MAX_MANIFEST_BYTES = 256 * 1024 ** 2;
/** bundle.json.sig: an Ed25519 signature is 64 bytes; room for other formats. */
const MAX_SIGNATURE_BYTES = 64 * 1024;

/** What bundle.json must hold for unpacking: each file's path and size (verify checks the rest). */
const sizesSchema = z.object({ files: z.array(z.object({ path: z.string(), size: z.int().min(0) })) });

interface ArchivedManifest {
  readonly text: Buffer;
  readonly sha256: string;
  readonly files: readonly { path: string; size: number }[];
}

/**
 * Reads bundle.json out of an archive without unpacking anything. For a parts list every part is read (and its
 * sha256 checked) on the way; a single `.tar` is read only up to bundle.json, which `writeArchive` puts first.
 */
async function archivedManifest(path: string, parts: readonly ArchivePart[]): Promise<ArchivedManifest> {
  const stop = new AbortController();
  let found: { chunks: Buffer[]; done: boolean } | undefined;
  let tooLarge: number | undefined;
  const parser = tar.t({
    onReadEntry: (entry) => {
      if (found || archiveEntryName(entry.path) !== BUNDLE_JSON || !FILE_TYPES.has(entry.type)) return;
      if (entry.size > MAX_MANIFEST_BYTES) return void (tooLarge = entry.size);
      const current = { chunks: [] as Buffer[], done: false };
      found = current;
      entry.on("data", (chunk: Buffer) => current.chunks.push(chunk));
      entry.on("end", () => {
        current.done = true;
        if (parts.every((p) => !p.sha256)) stop.abort();
      });
    },
  });
  await streamArchive(path, parts, parser, undefined, stop.signal);
  if (tooLarge !== undefined) throw new BundleError("integrity", `${path}: its bundle.json is ${human(tooLarge)}, more than a bundle.json can be (${human(MAX_MANIFEST_BYTES)}); nothing unpacked`);
  if (!found?.done) throw new BundleError("integrity", `${path} holds no complete bundle.json: not a bundle, or cut short; nothing unpacked`);
  const text = Buffer.concat(found.chunks);
  let parsed;
  try {
    parsed = sizesSchema.safeParse(JSON.parse(text.toString("utf8")));
  } catch (error) {
    throw new BundleError("integrity", `${path}: its bundle.json is not JSON (${shown((error as Error).message)}); nothing unpacked`);
  }
  if (!parsed.success) throw new BundleError("integrity", `${path}: its bundle.json has no valid file list (files[].path, files[].size); nothing unpacked`);
  return { text, sha256: createHash("sha256").update(text).digest("hex"), files: parsed.data.files };
}

/**
 * A bundle to read: a folder as it is, or a tar (or its `.parts` list) unpacked into a new folder under the system's
 * temporary folder ($TMPDIR; never next to the archive, which may be on read-only media). Before any byte is
 * unpacked: every part's sha256 is checked, and bundle.json is read from the archive; its file list then bounds the
 * unpacking: an entry not listed, stored twice, larger than listed, escaping the folder or not a regular file or
 * folder is not written and fails the open, so the disk used is at most what bundle.json declares (checked against
 * the free space there first). Compressed archives are refused. The temp folder is removed on any failure, and on
 * SIGINT/SIGTERM while open; `cleanup()` removes it. `include` picks the files to unpack (@default all).
 */
export async function openBundle(path: string, include: (name: string) => boolean = () => true): Promise<OpenedBundle> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new BundleError("input", `no bundle at ${path}`);
  if (info.isDirectory()) return { dir: path, cleanup: async () => undefined };
  const parts = await archiveParts(path);
  const manifest = await archivedManifest(path, parts);

  // The size every file may have: as listed, bundle.json as read, SHA256SUMS as long as its lines can be.
  const allowed = new Map<string, { max: number; source: string }>();
  for (const file of manifest.files) if (!confinedPathReason(file.path) && !allowed.has(file.path)) allowed.set(file.path, { max: file.size, source: "bundle.json lists" });
  const sumsMax = [...manifest.files, { path: BUNDLE_JSON }].reduce((sum, f) => sum + 64 + 2 + Buffer.byteLength(f.path) + 1, 0);
  allowed.set(BUNDLE_JSON, { max: manifest.text.length, source: "read first:" });
  allowed.set(SHA256SUMS, { max: sumsMax, source: "its lines allow" });
  allowed.set(BUNDLE_SIG, { max: MAX_SIGNATURE_BYTES, source: "a signature may have" });
  const folders = new Set<string>();
  for (const name of allowed.keys()) for (let at = name.lastIndexOf("/"); at > 0; at = name.lastIndexOf("/", at - 1)) folders.add(name.slice(0, at));
  const needed = [...allowed].filter(([name]) => include(name)).reduce((sum, [, a]) => sum + a.max, 0);

  const base = unpackBase();
  const free = await statfs(base)
    .then((f) => f.bavail * f.bsize)
    .catch((error: Error) => {
      throw new BundleError("input", `cannot use the temporary folder ${base} to unpack ${basename(path)}: ${shown(error.message)}; set TMPDIR to a writable folder`);
    });
  if (needed > free) throw new BundleError("space", `not enough disk space in ${base} to unpack ${basename(path)}: needs ${human(needed)}, ${human(free)} available; set TMPDIR to a folder on a larger disk, or unpack it yourself and pass the folder`);
  const dir = await mkdtemp(join(base, "modelfleet-unpack-")).catch((error: Error) => {
    throw new BundleError("input", `cannot create a temporary folder in ${base} to unpack ${basename(path)}: ${shown(error.message)}; set TMPDIR to a writable folder`);
  });
  track(dir);
  const cleanup = async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    untrack(dir);
  };
  try {
    const unsafe: string[] = [];
    const refused: string[] = [];
    const seen = new Set<string>();
    const stop = new AbortController();
    let written = 0;
    const extract = tar.x({
      cwd: dir,
      strict: true,
      preserveOwner: false,
      filter: (entryPath, entry) => {
        const name = archiveEntryName(entryPath);
        if (name === "") return false;
        const type = "type" in entry ? entry.type : "File";
        const reason = confinedPathReason(name) ?? (FILE_TYPES.has(type) || type === "Directory" ? undefined : `a ${type}, not a regular file`);
        if (reason) {
          unsafe.push(`${shown(entryPath)} (${reason})`);
          return false;
        }
        if ("mode" in entry) entry.mode = type === "Directory" ? 0o755 : 0o644;
        if (type === "Directory") {
          if (!folders.has(name)) refused.push(`${shown(name)}/ (a folder no file of bundle.json is in)`);
          return folders.has(name);
        }
        const size = entry.size;
        if (seen.has(name)) {
          refused.push(`${shown(name)} (stored twice)`);
          return false;
        }
        seen.add(name);
        const limit = allowed.get(name);
        if (!limit) {
          refused.push(`${shown(name)} (not listed in bundle.json)`);
          return false;
        }
        if (size > limit.max) {
          refused.push(`${shown(name)} (${size} bytes; ${limit.source} ${limit.max}); stopped reading`);
          stop.abort();
          return false;
        }
        if (!include(name)) return false;
        written += size;
        if (written > needed) {
          refused.push(`${shown(name)} (the archive holds more than bundle.json's ${needed} bytes); stopped reading`);
          stop.abort();
          return false;
        }
        return true;
      },
    });
    await streamArchive(path, parts, extract, undefined, stop.signal).catch((error: unknown) => {
      if (!stop.signal.aborted) throw error;
    });
    if (unsafe.length > 0) throw new BundleError("integrity", `archive ${path} has entries that escape the bundle or are not regular files, not extracted:\n${[...unsafe, ...refused].map((u) => `  - ${u}`).join("\n")}`);
    if (refused.length > 0) throw new BundleError("integrity", listed(`archive ${path} does not match its bundle.json, nothing unpacked`, refused));
    if (include(BUNDLE_JSON)) {
      const again = await hashFile(join(dir, BUNDLE_JSON)).catch(() => undefined);
      if (again?.sha256 !== manifest.sha256) throw new BundleError("integrity", `archive ${path} changed while it was read (its bundle.json differs between two reads); nothing unpacked`);
    }
    return { dir, cleanup };
  } catch (error) {
    await cleanup();
    if (error instanceof BundleError) throw error;
    throw new BundleError("integrity", `cannot unpack ${path}: ${shown((error as Error).message)}`);
  }
}
