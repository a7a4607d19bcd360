import { lstat, mkdir, readdir, realpath } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { BundleError } from "./errors.js";

/**
 * Why a path recorded in a bundle (bundle.json, SHA256SUMS, an archive entry) is not a plain path inside it, or
 * undefined when it is: relative, `/`-separated, every segment a real name (no `..`, `.`, empty segment, absolute
 * or drive-letter start, backslash, NUL or other control character).
 */
export function confinedPathReason(path: string): string | undefined {
  if (path === "") return "is empty";
  if (path.startsWith("/") || isAbsolute(path) || /^[A-Za-z]:/.test(path)) return "is absolute";
  if (path.includes("\\")) return "contains a backslash";
  if (/[\u0000-\u001f\u007f]/.test(path)) return "contains a control character";
  const parts = path.split("/");
  if (parts.includes("..")) return "contains a .. segment";
  if (parts.includes(".")) return "contains a . segment";
  if (parts.includes("")) return "has an empty segment (// or a trailing /)";
  return undefined;
}

/** A path for messages: at most 120 characters, control characters shown as `?`. */
export function shownPath(path: string): string {
  const clean = path.replace(/[\u0000-\u001f\u007f]/g, "?");
  return clean.length > 120 ? `${clean.slice(0, 117)}...` : clean;
}

export interface BundleFile {
  readonly path: string;
  readonly size: number;
}

export interface OddEntry {
  readonly path: string;
  readonly why: string;
}

/**
 * Every regular file under `dir` (relative, `/`-separated, sorted), and as odd entries everything a bundle must not
 * hold on disk: symlinks, hard-linked files (nlink > 1: the same bytes reachable from outside the bundle), devices,
 * FIFOs, sockets, names that are not plain paths.
 */
export async function walkBundleFiles(dir: string): Promise<{ files: BundleFile[]; odd: OddEntry[] }> {
  const files: BundleFile[] = [];
  const odd: OddEntry[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const info = await lstat(join(dir, path));
      const reason = confinedPathReason(path);
      if (reason) odd.push({ path, why: `file name ${reason}` });
      else if (info.isDirectory()) await visit(path);
      else if (info.isSymbolicLink()) odd.push({ path, why: "a symlink, not a regular file" });
      else if (!info.isFile()) odd.push({ path, why: `a ${info.isFIFO() ? "FIFO" : info.isSocket() ? "socket" : "device"}, not a regular file` });
      else if (info.nlink > 1) odd.push({ path, why: `a hard link (${info.nlink} names share its bytes), not a file of its own` });
      else files.push({ path, size: info.size });
    }
  };
  await visit("");
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  odd.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, odd };
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel);
}

/**
 * The destination for `rel` under `root`, created as a folder chain, proven to stay inside `root` even through
 * existing symlinks on the site (the real path of its parent is checked after the folders exist). Throws a
 * BundleError naming the path otherwise; nothing is written by this function except folders inside `root`.
 */
export async function confinedDestination(root: string, rel: string, what: string): Promise<string> {
  const reason = confinedPathReason(rel);
  if (reason) throw new BundleError("integrity", `${what} ${shownPath(rel)} ${reason}; nothing is written outside ${root}`);
  const base = resolve(root);
  const to = resolve(base, rel);
  if (!inside(base, to)) throw new BundleError("integrity", `${what} ${shownPath(rel)} leaves ${root}; nothing written there`);
  const realBase = await realpath(base);
  // Create the chain one folder at a time, checking each does not lead out through a symlink.
  const chain = relative(base, dirname(to)).split(sep).filter(Boolean);
  let at = base;
  for (const part of chain) {
    at = join(at, part);
    const info = await lstat(at).catch(() => undefined);
    if (!info) await mkdir(at);
    else if (!info.isDirectory()) throw new BundleError("integrity", `${what} ${shownPath(rel)}: ${at} on the site is ${info.isSymbolicLink() ? "a symlink" : "not a folder"}; nothing is written through it`);
  }
  const realParent = await realpath(dirname(to));
  if (realParent !== realBase && !inside(realBase, realParent)) throw new BundleError("integrity", `${what} ${shownPath(rel)} resolves outside ${root}; nothing written there`);
  const existing = await lstat(to).catch(() => undefined);
  if (existing && !existing.isFile()) throw new BundleError("integrity", `${what} ${shownPath(rel)}: ${to} on the site is ${existing.isSymbolicLink() ? "a symlink" : "not a regular file"}; remove it first`);
  return to;
}
