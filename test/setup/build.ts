/**
 * Vitest global setup: tests that run the CLI or the Pulumi program as a user would run the compiled JavaScript in
 * build/ (bin/modelfleet.js, Pulumi.yaml `main`), so build/ must match the sources. Recompiles (incrementally) when
 * any source file is newer than the last build. tsc still emits when a file has type errors; those are reported here
 * and fail `npm test` in its type-check step, so a test run while one file is half-edited still runs the others.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

const ROOT = join(import.meta.dirname, "..", "..");
/** The folders tsconfig.build.json compiles (its `include`, read as tsc reads it: the file has comments). */
function sourceDirs(): string[] {
  const read = ts.readConfigFile(join(ROOT, "tsconfig.build.json"), ts.sys.readFile);
  return (read.config as { include: string[] }).include;
}
const STAMP = join(ROOT, "build", ".tsbuildinfo");

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(STAMP).mtimeMs;
  } catch {
    return 0;
  }
}

export default function setup(): void {
  const sources = Math.max(...sourceDirs().map((dir) => newestSource(join(ROOT, dir))), statSync(join(ROOT, "tsconfig.build.json")).mtimeMs);
  if (sources <= builtAt()) return;
  try {
    execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  } catch {
    process.stderr.write("build/: tsc reported type errors (above); the tests run the JavaScript it emitted anyway.\n");
  }
}
