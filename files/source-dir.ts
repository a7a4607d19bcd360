import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: this file is `files/source-dir.ts`, or `build/files/source-dir.js` once compiled. */
const here = dirname(fileURLToPath(import.meta.url));
const BUILD_DIR = "build";
const compiled = here.split(sep).at(-2) === BUILD_DIR;
export const PACKAGE_ROOT = compiled ? join(here, "..", "..") : join(here, "..");

/**
 * The source-tree folder of a module, given its `import.meta.url`. tsc compiles `.ts` into `build/` but copies no
 * other file, so data that lives beside the code (SQL migrations) is read from the source tree in both cases.
 */
export function sourceDirOf(moduleUrl: string): string {
  const dir = dirname(fileURLToPath(moduleUrl));
  if (!compiled) return dir;
  return join(PACKAGE_ROOT, relative(join(PACKAGE_ROOT, BUILD_DIR), dir));
}
