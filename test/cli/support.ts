import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type Result } from "execa";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The shipped entry: runs the compiled build/ (test/setup/build.ts keeps it current). */
export const BIN = fileURLToPath(new URL("../../bin/modelfleet.js", import.meta.url));
const TRACE_HOOK = fileURLToPath(new URL("./module-trace.mjs", import.meta.url));

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

const done = (result: Result): CliRun => ({ exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) });

/** `modelfleet <args>` as a user runs it, with no database URL from the caller's environment. */
export async function modelfleet(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  return done(await execa("node", [BIN, ...args], { reject: false, stripFinalNewline: false, cwd: options.cwd ?? ROOT, env: { MODELFLEET_DB_URL: "", ...options.env } }));
}

/** The same, also recording every module the process loads (module-trace.mjs) into `traceFile`. */
export async function tracedModelfleet(args: readonly string[], traceFile: string, options: { cwd?: string } = {}): Promise<CliRun> {
  return done(
    await execa("node", ["--import", TRACE_HOOK, BIN, ...args], { reject: false, stripFinalNewline: false, cwd: options.cwd ?? ROOT, env: { MODELFLEET_DB_URL: "", MODELFLEET_MODULE_TRACE: traceFile } }),
  );
}

let traces = 0;
/**
 * Runs the bin with the module trace (trace file in `dir`) and returns what it loaded, as repository-relative paths
 * (`node:` ids kept), sorted.
 */
export async function loadedModules(args: readonly string[], dir: string): Promise<{ run: CliRun; modules: string[] }> {
  const file = join(dir, `trace-${process.pid}-${traces++}.txt`);
  writeFileSync(file, "");
  const run = await tracedModelfleet(args, file);
  const modules = new Set<string>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line === "") continue;
    const path = line.startsWith("file:") ? fileURLToPath(line) : line;
    modules.add(path.startsWith("/") ? relative(ROOT, path) : path);
  }
  return { run, modules: [...modules].sort() };
}

/** What `--help` may load: the bin, commander, the CLI's entry and command definitions, and two constant-only modules. */
export const HELP_MODULES: readonly RegExp[] = [
  /^node:/,
  /^bin\/modelfleet\.js$/,
  /^node_modules\/commander\//,
  /^build\/cli\/(main|io)\.js$/,
  /^build\/cli\/definitions\/[a-z-]+\.js$/,
  /^build\/config\/(environments|limits)\.js$/,
];

/** Runs `fn` over `items`, at most `limit` at a time (the CI machine has two cores). */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
