import { accessSync, constants, existsSync, lstatSync, realpathSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

/**
 * Guards for a folder a command is about to write into (`synth --out`, `bundle create --out`, `db --backup-dir`,
 * `promote`/`pins` output…). A command that creates, replaces or deletes files under a user-given folder calls
 * {@link assertWritableOutDir} (or {@link outDirProblem} to collect the problem with others) before it touches the
 * disk. Refused, with a one-line message naming the flag, the value and the fix:
 *
 * - an empty value, or one holding a NUL character;
 * - `/`, the home folder or any folder holding it (`/home`), and anything under `/proc`, `/sys` or `/dev`;
 * - the working directory or any of its parents (`.`, `..`): output would land among, or replace, the project;
 * - a project or repository root elsewhere: a folder holding `.git` or `Pulumi.yaml`, and anything inside `.git`;
 * - a path inside the working tree that leads, through a symlink, out of it (the working tree is the nearest
 *   folder at or above `cwd` holding `.git` or `Pulumi.yaml`, else `cwd`);
 * - an existing file (or a path below one), and a folder the process cannot write to.
 *
 * Each rule is checked on the path as given (resolved against `cwd`) and on the path with symlinks resolved, so a
 * symlink cannot lead to a refused place. A folder that does not exist yet is fine: its nearest existing parent is
 * checked instead. These checks do not look at what the folder holds; commands that replace files check
 * ownership themselves (synth: `.modelfleet-synth.json`).
 */

export interface OutDirOptions {
  /** Folder a relative path is resolved against. @default process.cwd() */
  readonly cwd?: string;
  /** The option the value came from, named in messages. @default "--out" */
  readonly flag?: string;
  /**
   * The command writes only into its own sub-folder of `path` (synth: `<out>/<stack>/`, which it owns by marker), so
   * the root of ANOTHER project or repository — a GitOps repository checked out beside this one — is a fine `path`.
   * The working tree's own root and its parents are refused either way.
   * @default false
   */
  readonly ownSubfolderOnly?: boolean;
}

/** A refused output folder; `message` is one line naming the flag, the value and the fix. */
export class OutDirError extends Error {
  override readonly name = "OutDirError";
  constructor(
    readonly flag: string,
    readonly value: string,
    message: string,
  ) {
    super(message);
  }
}

/** How much of a refused value a message shows. */
const VALUE_MAX_CHARS = 80;
const KERNEL_FOLDERS = ["/proc", "/sys", "/dev"] as const;
const PROJECT_MARKERS = [".git", "Pulumi.yaml"] as const;

function show(value: string): string {
  return value.length <= VALUE_MAX_CHARS ? JSON.stringify(value) : `${JSON.stringify(value.slice(0, VALUE_MAX_CHARS))}…(${value.length} chars)`;
}

/** `inner` is `outer` or lies below it (both absolute and normalized). */
function isWithin(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The path with every symlink in its existing part resolved; the part that does not exist yet is kept as is. */
function realPath(path: string): string {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(existing), ...rest.reverse());
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return path;
      rest.push(basename(existing));
      existing = parent;
    }
  }
}

function holdsProjectMarker(dir: string): string | undefined {
  return PROJECT_MARKERS.find((name) => existsSync(join(dir, name)));
}

/** The nearest folder at or above `cwd` holding `.git` or `Pulumi.yaml`; `cwd` itself when there is none. */
function workingTree(cwd: string): string {
  for (let dir = cwd; ; dir = dirname(dir)) {
    if (holdsProjectMarker(dir) !== undefined) return dir;
    if (dirname(dir) === dir) return cwd;
  }
}

/** Why `path` (absolute) is no place to write, or undefined; the same rules for the given and the real path. */
function placeProblem(path: string, cwd: string, home: string, projectRootsAllowed = false): string | undefined {
  if (dirname(path) === path) return "is the file system root";
  const kernel = KERNEL_FOLDERS.find((k) => isWithin(path, k));
  if (kernel !== undefined) return `is under ${kernel}, a kernel file system`;
  if (path === home) return "is your home folder";
  if (isWithin(home, path)) return `holds your home folder ${home}`;
  if (path === cwd) return "is the working directory itself";
  if (isWithin(cwd, path)) return `is a parent of the working directory ${cwd}`;
  if (path.split(sep).includes(".git")) return "is inside a .git folder";
  const marker = projectRootsAllowed ? undefined : holdsProjectMarker(path);
  if (marker !== undefined) return `is a project root (it holds ${marker})`;
  return undefined;
}

/**
 * Why `path` must not be used as an output folder, as a one-line message (`--out "..": is a parent of the working
 * directory /work/app; …`), or undefined when it may be. Reads the file system (stat, realpath) but never writes.
 */
export function outDirProblem(path: string, options: OutDirOptions = {}): string | undefined {
  const flag = options.flag ?? "--out";
  const fix = `pass a folder of its own, e.g. ${flag} ./dist or a new folder outside the project`;
  const refuse = (why: string): string => `${flag} ${show(path)}: ${why}; ${fix}`;
  if (path.trim() === "") return refuse("is empty");
  if (path.includes("\0")) return refuse("holds a NUL character");
  const cwd = resolve(options.cwd ?? process.cwd());
  const realCwd = realPath(cwd);
  const home = resolve(homedir());
  const given = resolve(cwd, path);
  const real = realPath(given);
  const own = options.ownSubfolderOnly === true;
  const why = placeProblem(given, cwd, home, own) ?? (real === given ? undefined : placeProblem(real, realCwd, realPath(home), own));
  if (why !== undefined) return refuse(real === given ? why : `${why} (through a symlink, it is ${real})`);
  const tree = workingTree(cwd);
  if (isWithin(given, tree) && !isWithin(real, realPath(tree))) {
    return refuse(`leads through a symlink to ${real}, outside the working tree ${tree}`);
  }
  let existing = real;
  while (!existsSync(existing)) existing = dirname(existing);
  let stats;
  try {
    stats = statSync(existing);
  } catch (error) {
    return refuse(`cannot be inspected (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (!stats.isDirectory()) {
    return existing === real ? refuse("is a file, not a folder") : refuse(`lies below ${existing}, which is a file, not a folder`);
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    return refuse(existing === real ? "is not writable by this user" : `cannot be created: ${existing} is not writable by this user`);
  }
  return undefined;
}

/**
 * The absolute output folder for `path` (resolved against `cwd`; symlinks are kept as given).
 * @throws OutDirError with the message of {@link outDirProblem} when the folder is refused.
 */
export function assertWritableOutDir(path: string, options: OutDirOptions = {}): string {
  const problem = outDirProblem(path, options);
  if (problem !== undefined) throw new OutDirError(options.flag ?? "--out", path, problem);
  return resolve(options.cwd ?? process.cwd(), path);
}


/**
 * A new file a command is about to create (`db dump --out`): refused when anything already exists at `path` (we
 * never overwrite a file we did not create), when its folder does not exist, or when that folder is a kernel file
 * system. Unlike an output folder, a file may go into the working directory.
 * @throws OutDirError with a one-line message naming the flag, the value and the fix.
 * @returns the absolute path.
 */
export function assertNewFile(path: string, options: OutDirOptions = {}): string {
  const flag = options.flag ?? "--out";
  const refuse = (why: string, fix: string): never => {
    throw new OutDirError(flag, path, `${flag} ${show(path)}: ${why}; ${fix}`);
  };
  if (path.trim() === "" || path.includes("\0")) refuse("is not a file name", "give a new file's path, e.g. registry.dump");
  const given = resolve(options.cwd ?? process.cwd(), path);
  let exists = true;
  try {
    lstatSync(given);
  } catch {
    exists = false;
  }
  if (exists) refuse("already exists", "nothing is overwritten: remove it first or choose another name");
  const folder = realPath(dirname(given));
  if (!existsSync(folder) || !statSync(folder).isDirectory()) refuse(`folder ${dirname(given)} does not exist`, `create it first (mkdir -p ${dirname(given)})`);
  const kernel = KERNEL_FOLDERS.find((k) => isWithin(folder, k));
  if (kernel !== undefined) refuse(`is under ${kernel}, a kernel file system`, "write it to a folder of your own");
  return given;
}
