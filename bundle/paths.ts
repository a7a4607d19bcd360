import { lstat, readdir } from "node:fs/promises";
import { isAbsolute, join, normalize, relative, resolve, sep } from "node:path";

/** A path recorded in a bundle must stay inside it: relative, normalized, no `..`, forward slashes. */
export function unsafePathReason(path: string): string | undefined {
  if (path === "" || isAbsolute(path) || /^[A-Za-z]:/.test(path)) return "is absolute or empty";
  if (path.includes("\\")) return "contains a backslash";
  if (path.split("/").some((part) => part === ".." || part === "." || part === "")) return "escapes or is not normalized (.., ., //)";
  if (normalize(path) !== path.split("/").join(sep)) return "is not normalized";
  return undefined;
}

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
