import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { confinedPathReason } from "./confine.js";
import { BundleError } from "./errors.js";
import { isAbsolute, join, relative, resolve, sep } from "node:path";

export function insideDir(dir: string, path: string): boolean {
  const full = resolve(dir, path);
  const rel = relative(resolve(dir), full);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

export interface WalkedFile {
  readonly path: string;
  readonly size: number;
}

/** Every regular file under `dir` (relative, `/`-separated), and every symlink or special file as a problem. */
export async function walkFiles(dir: string): Promise<{ files: WalkedFile[]; odd: string[] }> {
  const files: WalkedFile[] = [];
  const odd: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await visit(path);
      else if (entry.isFile()) files.push({ path, size: (await lstat(join(dir, path))).size });
      else odd.push(path);
    }
  };
  await visit("");
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, odd };
}

/** Whether `path` is `root` or inside it (both absolute). */
export function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** One file found by `confinedFiles`. */
export interface ConfinedFile {
  /** Its real path, inside the root. */
  readonly from: string;
  /** Where it is below `rel`, `/`-separated; "" when `rel` is the file itself. */
  readonly to: string;
  readonly size: number;
}

/**
 * The regular files at `rel` under `root` (a real, absolute path; `label` names it in messages, e.g. `--models-dir`),
 * read only from inside it: `rel` must be a plain relative path (no `..`, not absolute), and every symlink on the way,
 * including any in `rel` itself, is followed only when its real path stays inside `root` (a Hugging Face cache links
 * snapshot files to its blobs: the content is taken, never the link). A link leading out, a dangling link, a link
 * loop or a special file (FIFO, device, socket) is a BundleError naming the path. Undefined when nothing is at `rel`.
 */
export async function confinedFiles(root: string, rel: string, label: string): Promise<ConfinedFile[] | undefined> {
  const reason = confinedPathReason(rel);
  if (reason) throw new BundleError("input", `its path "${rel.slice(0, 120)}" ${reason}; it must be a plain relative path inside ${label}`);
  const shown = (real: string) => `${label}/${relative(root, real).split(sep).join("/")}`;
  const top = join(root, rel);
  const out: ConfinedFile[] = [];
  const visit = async (path: string, to: string, seen: ReadonlySet<string>): Promise<void> => {
    const real = await realpath(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" && path !== top) throw new BundleError("input", `${label}/${rel}/${to} is a symlink to nothing (dangling)`);
      throw error;
    });
    const at = to ? `${label}/${rel}/${to}` : `${label}/${rel}`;
    if (!within(root, real)) throw new BundleError("input", `${at} leads outside ${label} (to ${real.slice(0, 120)}); only symlinks that stay inside ${label} are followed: copy the file in instead`);
    const info = await stat(real);
    if (info.isFile()) return void out.push({ from: real, to, size: info.size });
    if (!info.isDirectory()) throw new BundleError("input", `${at} is neither a regular file nor a folder (a FIFO, device or socket)`);
    if (seen.has(real)) throw new BundleError("input", `${at}: symlink loop (back to ${shown(real)})`);
    for (const entry of (await readdir(real)).sort()) await visit(join(real, entry), to ? `${to}/${entry}` : entry, new Set([...seen, real]));
  };
  try {
    await visit(top, "", new Set());
  } catch (error) {
    if (!(error instanceof BundleError) && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return out;
}
