import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, open, readdir, readFile, realpath, rename, rm, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

/**
 * Safe read-modify-write of a file people edit by hand and keep in git (a `Pulumi.<stack>.yaml`): every writer
 * (`modelfleet promote --write`, `modelfleet pins resolve`) goes through `rewriteFileLocked`, which
 *
 * - follows symlinks: the REAL file is rewritten, the link stays a link;
 * - serializes writers with a lock file next to the real file (`<file>.lock`, created with O_EXCL, holding pid,
 *   hostname and time). A lock left by a dead process on this host is taken over; any other lock is waited for,
 *   then the write fails naming the lock file;
 * - hands the edit the text as read UNDER the lock, so a concurrent writer's change is never lost;
 * - writes a temp file in the same folder, fsyncs it, renames it over the real file and fsyncs the folder, so a
 *   crash leaves the old or the new content, never half; temp files a crashed writer left are removed by the next
 *   writer of the same file (it holds the lock, so nobody else can be writing them);
 * - keeps the file's mode, its owner where permitted, its line endings (CRLF stays CRLF) and its final newline or
 *   the absence of one.
 */

/** Why a rewrite did not happen. `input`: the file is missing or not a regular file; `locked`: another writer holds it. */
export class StackFileWriteError extends Error {
  override readonly name = "StackFileWriteError";
  constructor(
    readonly kind: "input" | "locked" | "io",
    message: string,
  ) {
    super(message);
  }
}

export interface RewriteOptions {
  /** How long to wait for a lock held by a live writer (or by another host) before failing. @default 30 */
  readonly lockTimeoutSeconds?: number;
}

export interface RewriteResult {
  /** The real file rewritten (symlinks resolved). */
  readonly path: string;
  /** False when the edit returned `undefined` or the same text: the file was left alone. */
  readonly written: boolean;
}

/** What an edit returns: the new text, or `undefined` to leave the file untouched. */
export type Edit = (text: string) => string | undefined | Promise<string | undefined>;

const DEFAULT_LOCK_TIMEOUT_SECONDS = 30;
const POLL_MS = 50;
const TEMP_MARK = ".modelfleet-tmp-";

/** The lock file guarding `realFile`. */
export function lockPathFor(realFile: string): string {
  return `${realFile}.lock`;
}

/**
 * Reads `path` (following symlinks) under an exclusive lock, passes its text to `edit`, and writes what `edit`
 * returns atomically, keeping mode, owner, line endings and final newline. Errors thrown by `edit` propagate
 * unchanged, with the file untouched and the lock released.
 */
export async function rewriteFileLocked(path: string, edit: Edit, options: RewriteOptions = {}): Promise<RewriteResult> {
  const real = await realFile(path);
  const release = await acquireLock(real, (options.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS) * 1000);
  try {
    await removeStrayTemps(real);
    const before = await readFile(real, "utf8");
    const edited = await edit(before);
    if (edited === undefined) return { path: real, written: false };
    const text = keepLayout(before, edited);
    if (text === before) return { path: real, written: false };
    await replaceAtomically(real, text);
    return { path: real, written: true };
  } finally {
    await release();
  }
}

async function realFile(path: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StackFileWriteError("input", code === "ENOENT" ? `${path} does not exist (or is a symlink to a missing file)` : `cannot resolve ${path}: ${code ?? String(error)}`);
  }
  const info = await stat(real);
  if (!info.isFile()) throw new StackFileWriteError("input", `${path} is not a regular file; give the path of a stack file`);
  return real;
}

/** The edited text with the original's line endings (when it used one kind throughout) and final newline. */
export function keepLayout(original: string, edited: string): string {
  const crlf = (original.match(/\r\n/g) ?? []).length;
  const lf = (original.match(/(?<!\r)\n/g) ?? []).length;
  let text = edited;
  // A file mixing both is left as the edit made it: there is no single style to keep.
  if (crlf > 0 && lf === 0) text = text.replace(/\r?\n/g, "\r\n");
  else if (lf > 0 && crlf === 0) text = text.replace(/\r\n/g, "\n");
  const newline = crlf > 0 && lf === 0 ? "\r\n" : "\n";
  const endsWithNewline = /\n$/.test(original);
  if (original.length > 0 && !endsWithNewline) text = text.replace(/\r?\n$/, "");
  else if (endsWithNewline && text.length > 0 && !text.endsWith("\n")) text += newline;
  return text;
}

interface LockOwner {
  readonly pid: number;
  readonly hostname: string;
  readonly createdAt: string;
  readonly token: string;
}

async function readLock(lock: string): Promise<{ raw: string; owner?: LockOwner } | undefined> {
  let raw: string;
  try {
    raw = await readFile(lock, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<LockOwner>;
    if (typeof parsed.pid === "number" && typeof parsed.hostname === "string") return { raw, owner: parsed as LockOwner };
  } catch {
    // Empty or half-written: its creator is between open and write, or died there (judged by age below).
  }
  return { raw };
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A lock whose owner is known to be gone: a dead pid on this host, or an unreadable lock older than a few seconds. */
async function isStale(lock: string, seen: { raw: string; owner?: LockOwner }): Promise<boolean> {
  if (seen.owner) return seen.owner.hostname === hostname() && !processIsAlive(seen.owner.pid);
  const info = await stat(lock).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > 5_000;
}

/**
 * Takes over a stale lock: moves it aside, and checks that what was moved is the stale lock that was judged (not a
 * fresh one another writer created in between); a fresh one is put back with link(), which fails rather than
 * overwrite if yet another writer got there first.
 */
async function takeOver(lock: string, staleRaw: string): Promise<void> {
  const aside = `${lock}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(lock, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const moved = await readFile(aside, "utf8").catch(() => undefined);
  if (moved !== staleRaw) await link(aside, lock).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function describeOwner(seen: { owner?: LockOwner } | undefined): string {
  if (!seen?.owner) return "an unknown writer";
  return `pid ${seen.owner.pid} on ${seen.owner.hostname} since ${seen.owner.createdAt}`;
}

async function acquireLock(real: string, timeoutMs: number): Promise<() => Promise<void>> {
  const lock = lockPathFor(real);
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), createdAt: new Date().toISOString(), token: randomBytes(8).toString("hex") };
  const content = `${JSON.stringify(owner)}\n`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lock, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return async () => {
        // Only our own lock is removed, never one that replaced it.
        if ((await readLock(lock))?.raw === content) await unlink(lock).catch(() => undefined);
      };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") throw new StackFileWriteError("io", `cannot create the lock file ${lock}: ${code ?? String(error)}`);
    }
    const seen = await readLock(lock);
    if (seen === undefined) continue;
    if (await isStale(lock, seen)) {
      await takeOver(lock, seen.raw);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StackFileWriteError(
        "locked",
        `${basename(real)} is being written by another modelfleet (${describeOwner(seen)}): lock file ${lock} still held after ${Math.round(timeoutMs / 1000)}s. Wait and retry; if no modelfleet is running there, delete the lock file.`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Temp files of writers of this file that died before their rename. Called under the lock. */
async function removeStrayTemps(real: string): Promise<void> {
  const prefix = `.${basename(real)}${TEMP_MARK}`;
  const entries = await readdir(dirname(real));
  await Promise.all(entries.filter((name) => name.startsWith(prefix)).map((name) => rm(join(dirname(real), name), { force: true })));
}

async function replaceAtomically(real: string, text: string): Promise<void> {
  const info = await stat(real);
  const temp = join(dirname(real), `.${basename(real)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    const handle = await open(temp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      // Owner first (chown may clear set-id bits), then the exact mode, which the umask would otherwise narrow.
      await handle.chown(info.uid, info.gid).catch(() => undefined);
      await handle.chmod(info.mode & 0o7777);
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, real);
  } catch (error) {
    await rm(temp, { force: true });
    const code = (error as NodeJS.ErrnoException).code;
    throw new StackFileWriteError("io", `cannot write ${real}: ${code ?? String(error)}; the file is unchanged`);
  }
  // The rename is durable once the folder is synced; some file systems refuse to sync a folder, which is harmless.
  const folder = await open(dirname(real), constants.O_RDONLY).catch(() => undefined);
  if (folder) {
    await folder.sync().catch(() => undefined);
    await folder.close();
  }
}
