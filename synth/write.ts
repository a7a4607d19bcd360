import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { SynthFile } from "./synthesize.js";

/**
 * Replaces `<dir>` with exactly `files`: written to a sibling temp folder first, then swapped in, so a failure
 * leaves the previous output untouched and no stale file from an older synth survives.
 */
export async function writeFolder(dir: string, files: readonly Pick<SynthFile, "path" | "content">[]): Promise<string[]> {
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  const staging = `${dir}.tmp-${process.pid}`;
  const previous = `${dir}.old-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    const folders = new Set(files.map((f) => dirname(join(staging, f.path))));
    await Promise.all([...folders].map((folder) => mkdir(folder, { recursive: true })));
    await Promise.all(files.map((f) => writeFile(join(staging, f.path), f.content)));
    await rm(previous, { recursive: true, force: true });
    try {
      await rename(dir, previous);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    await rename(staging, dir);
    await rm(previous, { recursive: true, force: true });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return files.map((f) => join(dir, f.path));
}
