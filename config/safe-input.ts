import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { open } from "node:fs/promises";
import { isAlias, isCollection, isPair, type Document } from "yaml";

/**
 * Reading untrusted YAML without being made to block, exhaust memory or spin: only regular files (a FIFO, device,
 * socket or directory is refused; a symlink is followed only to a regular file), size checked on the open file
 * before a byte is read, text refused when it is binary (NUL bytes, invalid UTF-8), and parsed documents checked for
 * nesting depth, alias count and document count before they are converted. Every check is linear in the input.
 * The limits themselves are the callers' (config/limits.ts, policies/check.ts).
 */

export type InputProblem = "not-regular-file" | "too-large" | "binary" | "too-deep" | "too-many-aliases" | "too-many-documents" | "unreadable";

/** Input refused by a limit or because it is not a readable regular text file; the message is one line. */
export class InputLimitError extends Error {
  override readonly name = "InputLimitError";
  constructor(
    readonly problem: InputProblem,
    message: string,
  ) {
    super(message);
  }
}

/** `a FIFO`, `a directory`…: what a path is when it is not a regular file. */
export function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  return "not a regular file";
}

export function mebibytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
}

// O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting; harmless for regular files.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function notRegular(path: string, stats: Stats): InputLimitError {
  return new InputLimitError("not-regular-file", `${path}: ${fileKind(stats)}, not a regular file; only regular files are read (a symlink must point to one)`);
}

function tooLarge(path: string, size: number, maxBytes: number, hint: string): InputLimitError {
  return new InputLimitError("too-large", `${path}: ${size} bytes (${mebibytes(size)}), more than the ${mebibytes(maxBytes)} allowed; ${hint}`);
}

function unreadable(path: string, error: unknown): InputLimitError {
  const code = (error as NodeJS.ErrnoException).code;
  return new InputLimitError("unreadable", `${path}: cannot read: ${code === "ENOENT" ? "no such file or directory" : (code ?? String(error))}`);
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes as text; refused when they hold a NUL byte or are not valid UTF-8 (a binary file, not YAML). */
export function decodeText(path: string, bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  if (nul !== -1) throw new InputLimitError("binary", `${path}: binary content (a NUL byte at offset ${nul}); YAML is UTF-8 text`);
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new InputLimitError("binary", `${path}: not valid UTF-8 text; YAML is UTF-8 text (convert the file or remove it)`);
  }
}

/**
 * Reads a regular text file of at most `maxBytes` bytes. The size comes from fstat of the opened file, so nothing is
 * read when it is too large; a file that grows while being read is refused too. `hint` says what to do instead.
 * @throws InputLimitError
 */
export async function readRegularTextFile(path: string, maxBytes: number, hint: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(path, stats);
    if (stats.size > maxBytes) throw tooLarge(path, stats.size, maxBytes, hint);
    const buffer = Buffer.allocUnsafe(stats.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > stats.size) throw tooLarge(path, length, maxBytes, "the file changed while being read; run again");
    }
    return decodeText(path, buffer.subarray(0, length));
  } catch (error) {
    if (error instanceof InputLimitError) throw error;
    throw unreadable(path, error);
  } finally {
    await handle.close();
  }
}

/** readRegularTextFile, synchronously (the stack config loader is synchronous). */
export function readRegularTextFileSync(path: string, maxBytes: number, hint: string): string {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw unreadable(path, error);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegular(path, stats);
    if (stats.size > maxBytes) throw tooLarge(path, stats.size, maxBytes, hint);
    const buffer = Buffer.allocUnsafe(stats.size + 1);
    let length = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > stats.size) throw tooLarge(path, length, maxBytes, "the file changed while being read; run again");
    }
    return decodeText(path, buffer.subarray(0, length));
  } catch (error) {
    if (error instanceof InputLimitError) throw error;
    throw unreadable(path, error);
  } finally {
    closeSync(fd);
  }
}

/**
 * An upper bound on the documents in a YAML text: every `---` or `...` marker at the start of a line, plus one.
 * Counted before parsing, so a file of a million empty documents is refused without building a million ASTs.
 */
export function countDocumentMarkers(text: string): number {
  let count = 1;
  const marker = /^(?:---|\.\.\.)(?=[ \t\r\n]|$)/gm;
  while (marker.exec(text) !== null) count++;
  return count;
}

export interface YamlShapeLimits {
  /** Deepest nesting of maps and sequences. */
  readonly maxDepth: number;
  /** Alias nodes (`*name`) in one document; expansion is bounded separately by toJS's `maxAliasCount`. */
  readonly maxAliases: number;
}

/** Undefined when the parsed document is within the limits; otherwise what is wrong, in words. Iterative, O(nodes). */
export function yamlShapeProblem(doc: Document, limits: YamlShapeLimits): { problem: InputProblem; message: string } | undefined {
  const stack: Array<[unknown, number]> = [[doc.contents, 1]];
  let aliases = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (isAlias(node)) {
      if (++aliases > limits.maxAliases) return { problem: "too-many-aliases", message: `more than ${limits.maxAliases} YAML aliases (*name); write the values out` };
    } else if (isCollection(node)) {
      if (depth > limits.maxDepth) return { problem: "too-deep", message: `nested deeper than ${limits.maxDepth} levels` };
      for (const item of node.items) {
        if (isPair(item)) {
          stack.push([item.key, depth + 1], [item.value, depth + 1]);
        } else stack.push([item, depth + 1]);
      }
    }
  }
  return undefined;
}

/** The yaml parser reports a stack overflow (from very deep flow nesting) as an ordinary parse error. */
export function isStackOverflowMessage(message: string): boolean {
  return message.includes("Maximum call stack size exceeded");
}
