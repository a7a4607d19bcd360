import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import { z } from "zod";
import { SynthError } from "./errors.js";
import type { SynthFile } from "./synthesize.js";

/**
 * How synth writes `<out>/<stack>/` without ever deleting what it did not write.
 *
 * Ownership. The folder holds `.modelfleet-synth.json`, the ownership marker: the files synth wrote there and the
 * sha256 of each. A re-synth replaces exactly those files (and drops those no longer produced). It refuses, naming
 * them and writing nothing, when the folder holds anything else: a file not in the marker (a SealedSecret, notes),
 * a folder, a symlink, or a listed file whose content no longer matches its sha256. A hand-edited file is refused
 * rather than overwritten because the edit is somebody's work (a hotfix made in the GitOps repository, say) and
 * the generated header's "Do not edit" does not make losing it harmless; `--prune` (`prune: true`) is the explicit
 * "I know, replace it". A folder with files but no marker is refused too: synth cannot tell its files from yours
 * (output of a modelfleet older than the marker needs `--prune` once). An empty folder is fine.
 *
 * Atomicity. The new set (files, then the marker) is written to `<out>/.modelfleet-tmp-<stack>-<pid>/`; then the
 * current folder is renamed to `<out>/.modelfleet-old-<stack>-<pid>/`, the new one renamed into place and the old
 * one removed. A crash before the first rename leaves the old set in place; after the second, the new set. A crash
 * between the two renames (consecutive system calls) leaves both complete sets under those names; the next synth of
 * the folder first puts the old set back, then removes every leftover with exactly those names, and nothing else.
 * A leftover whose pid is a running process belongs to a synth still writing: the run stops and says so. Files are
 * not fsynced: a SIGKILL is covered, a power cut may lose the last write.
 */

/** The ownership marker's file name, inside the stack's output folder. */
export const OWNERSHIP_MARKER = ".modelfleet-synth.json";
const TEMP_PREFIX = ".modelfleet-tmp-";
const ASIDE_PREFIX = ".modelfleet-old-";
/** How many file names a refusal lists before "… and N more". */
const LISTED_NAMES = 10;

/** Points between the steps of a write, in order; `file-written` once per file. For tests that kill the writer. */
export type WriteStep = "staging-created" | "file-written" | "staged" | "moved-aside" | "swapped" | "cleaned";

export interface WriteOptions {
  /**
   * Delete what the folder holds that synth did not write, and overwrite files changed by hand, instead of
   * refusing. @default false - refuse, name the files and write nothing
   */
  readonly prune?: boolean;
  /** Test seam: called synchronously after each step. @default - nothing */
  readonly onStep?: (step: WriteStep) => void;
}

export interface WriteResult {
  /** Absolute paths of the files written. */
  readonly written: readonly string[];
  /** Entries synth did not write that `prune` deleted, relative to the folder (folders end in `/`). */
  readonly pruned: readonly string[];
  /** Files synth wrote that were changed by hand and that `prune` overwrote or removed, relative. */
  readonly edited: readonly string[];
  /** True when an interrupted earlier synth had left the folder moved aside and it was put back first. */
  readonly restored: boolean;
}

const markerSchema = z.strictObject({
  note: z.string(),
  version: z.literal(1),
  files: z.record(z.string(), z.string().regex(/^sha256:[0-9a-f]{64}$/)),
});

function sha256(content: string | Buffer): string {
  return `sha256:${createHash("sha256").update(content).digest("hex")}`;
}

/** The marker's bytes: fixed key order and sorted file names, so the same files give the same marker. */
export function markerText(files: readonly Pick<SynthFile, "path" | "content">[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const marker = {
    note: "Written by modelfleet synth: the files it owns in this folder. It replaces only these and refuses to run while the folder holds anything else (see --prune). Do not edit.",
    version: 1,
    files: Object.fromEntries(sorted.map((f) => [f.path, sha256(f.content)])),
  };
  return `${JSON.stringify(marker, null, 2)}\n`;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, LISTED_NAMES).map((n) => (/^[\x20-\x7e]+$/.test(n) ? n : JSON.stringify(n)));
  return names.length > LISTED_NAMES ? `${shown.join(", ")} … and ${names.length - LISTED_NAMES} more` : shown.join(", ");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Every entry below `dir` except the marker: regular files, and other entries (symlinks, empty folders…). */
async function listEntries(dir: string, prefix = ""): Promise<{ files: string[]; others: string[] }> {
  const files: string[] = [];
  const others: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name;
    if (rel === OWNERSHIP_MARKER) continue;
    if (entry.isDirectory()) {
      const inner = await listEntries(join(dir, entry.name), `${rel}/`);
      if (inner.files.length + inner.others.length === 0) others.push(`${rel}/`);
      files.push(...inner.files);
      others.push(...inner.others);
    } else if (entry.isFile()) files.push(rel);
    else others.push(rel);
  }
  return { files: files.sort(), others: others.sort() };
}

async function readMarker(dir: string): Promise<z.infer<typeof markerSchema> | "absent" | "invalid"> {
  let text: string;
  try {
    text = await readFile(join(dir, OWNERSHIP_MARKER), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "absent";
    return "invalid";
  }
  try {
    const parsed = markerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : "invalid";
  } catch {
    return "invalid";
  }
}

/** What in `dir` synth may not replace without `prune`: foreign entries and hand-edited files. Throws when refused. */
async function checkOwnership(dir: string, prune: boolean): Promise<{ foreign: string[]; edited: string[] }> {
  let stats;
  try {
    stats = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { foreign: [], edited: [] };
    throw error;
  }
  if (stats.isSymbolicLink()) throw new SynthError("ownership", `${dir} is a symlink; synth writes a real folder there and will not replace a link: remove the link or choose another --out`);
  if (!stats.isDirectory()) throw new SynthError("ownership", `${dir} is a file, not a folder; synth writes the stack's files into a folder there: move the file away or choose another --out`);
  const { files, others } = await listEntries(dir);
  const marker = await readMarker(dir);
  if (typeof marker === "string") {
    const foreign = [...files, ...others];
    if (foreign.length > 0 && !prune) {
      const why = marker === "absent" ? `has no ${OWNERSHIP_MARKER}` : `has a ${OWNERSHIP_MARKER} synth did not write (unreadable or changed)`;
      throw new SynthError(
        "ownership",
        `${dir} is not empty and ${why}, so synth cannot tell its files from yours (${listNames(foreign)}); nothing was written. Choose another --out, move those files away, or pass --prune to delete them (e.g. once, for output of a modelfleet older than the marker)`,
      );
    }
    return { foreign, edited: [] };
  }
  const foreign = [...others];
  const edited: string[] = [];
  for (const file of files) {
    const expected = marker.files[file];
    if (expected === undefined) foreign.push(file);
    else if (sha256(readFileSync(join(dir, file))) !== expected) edited.push(file);
  }
  foreign.sort();
  if ((foreign.length > 0 || edited.length > 0) && !prune) {
    const parts = [
      ...(foreign.length > 0 ? [`${plural(foreign.length, "file")} synth did not write (${listNames(foreign)})`] : []),
      ...(edited.length > 0 ? [`${plural(edited.length, "file")} changed by hand since synth wrote ${edited.length === 1 ? "it" : "them"} (${listNames(edited)})`] : []),
    ];
    throw new SynthError(
      "ownership",
      `${dir} holds ${parts.join(" and ")}; nothing was written. Synth owns this folder (its files are listed in ${OWNERSHIP_MARKER}): keep your own files in a folder of their own, or pass --prune to delete them${edited.length > 0 ? " and overwrite the changed ones" : ""}`,
    );
  }
  return { foreign, edited };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Cleans up after an interrupted synth of `dir`: puts a moved-aside folder back when `dir` is missing, then removes
 * the leftover folders named `.modelfleet-tmp-<name>-<pid>` / `.modelfleet-old-<name>-<pid>` beside it (nothing
 * else). Returns whether a folder was put back. @throws SynthError when a leftover's writer is still running.
 */
async function recoverLeftovers(dir: string): Promise<boolean> {
  const parent = dirname(dir);
  const name = basename(dir).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^\\.modelfleet-(tmp|old)-${name}-(\\d+)$`);
  const leftovers: { path: string; kind: string; pid: number }[] = [];
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    const match = pattern.exec(entry.name);
    if (match && entry.isDirectory()) leftovers.push({ path: join(parent, entry.name), kind: match[1] ?? "", pid: Number(match[2]) });
  }
  for (const leftover of leftovers) {
    if (leftover.pid !== process.pid && isRunning(leftover.pid)) {
      throw new SynthError("io", `another modelfleet synth (pid ${leftover.pid}) is writing ${dir}; wait for it to finish, or, if no such synth runs, delete ${leftover.path} and run again`);
    }
  }
  let restored = false;
  const aside = leftovers.find((l) => l.kind === "old");
  if (aside && !existsSync(dir)) {
    await rename(aside.path, dir);
    restored = true;
  }
  await Promise.all(leftovers.filter((l) => !(restored && l === aside)).map((l) => rm(l.path, { recursive: true, force: true })));
  return restored;
}

function checkPaths(files: readonly Pick<SynthFile, "path">[]): void {
  for (const { path } of files) {
    const clean = normalize(path);
    if (isAbsolute(path) || clean !== path || clean.startsWith("..") || path === OWNERSHIP_MARKER) {
      throw new Error(`synth file path ${JSON.stringify(path)} is not a plain relative path inside the output folder`);
    }
  }
}

/** A file system failure as one line: what failed, on which path, the error code, what to do. */
function ioError(dir: string, error: unknown): SynthError {
  const e = error as NodeJS.ErrnoException;
  const what = e.syscall && e.path ? `${e.syscall} ${e.path}` : dir;
  return new SynthError("io", `could not write ${dir}: ${what}: ${e.code ?? e.message.split("\n")[0]}; check the folder's permissions and free space, then synthesize again`);
}

/**
 * Writes exactly `files` (and the ownership marker) as the folder `dir`, after checking that `dir` holds nothing
 * synth did not write (see the top of this module). Nothing is written when the check fails.
 * @throws SynthError("ownership") naming the files that stop it; SynthError("io") for file system failures.
 */
export async function writeSynthFolder(dir: string, files: readonly Pick<SynthFile, "path" | "content">[], options: WriteOptions = {}): Promise<WriteResult> {
  checkPaths(files);
  const step = options.onStep ?? ((): void => undefined);
  const parent = dirname(dir);
  const staging = join(parent, `${TEMP_PREFIX}${basename(dir)}-${process.pid}`);
  const aside = join(parent, `${ASIDE_PREFIX}${basename(dir)}-${process.pid}`);
  try {
    await mkdir(parent, { recursive: true });
    const restored = await recoverLeftovers(dir);
    const { foreign, edited } = await checkOwnership(dir, options.prune ?? false);
    await mkdir(staging);
    step("staging-created");
    // Synchronous calls: for a few hundred small files they cost a fraction of queuing each on the thread pool.
    for (const folder of new Set(files.map((f) => dirname(join(staging, f.path))))) mkdirSync(folder, { recursive: true });
    for (const f of files) {
      writeFileSync(join(staging, f.path), f.content);
      step("file-written");
    }
    // The marker last: a staging folder with a marker is complete.
    await writeFile(join(staging, OWNERSHIP_MARKER), markerText(files));
    step("staged");
    let movedAside = false;
    try {
      if (existsSync(dir)) {
        renameSync(dir, aside);
        movedAside = true;
        step("moved-aside");
      }
      renameSync(staging, dir);
      step("swapped");
    } catch (error) {
      if (movedAside && !existsSync(dir)) renameSync(aside, dir);
      throw error;
    }
    rmSync(aside, { recursive: true, force: true });
    step("cleaned");
    return { written: files.map((f) => join(dir, f.path)), pruned: foreign, edited, restored };
  } catch (error) {
    if (error instanceof SynthError) throw error;
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw ioError(dir, error);
  }
}

/**
 * {@link writeSynthFolder} without `prune`, returning the absolute paths written. Kept for callers of the earlier
 * API; it no longer replaces a folder holding files synth did not write.
 */
export async function writeFolder(dir: string, files: readonly Pick<SynthFile, "path" | "content">[]): Promise<string[]> {
  return [...(await writeSynthFolder(dir, files)).written];
}
