import { cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export const ROOT = join(import.meta.dirname, "..", "..");

/**
 * A throwaway project like the reproducers of #16 ran in: a repository root (`.git`) with the development stack
 * file, `src/main.ts` and `README.md`. Returns its folder (the parent folder is temporary too).
 */
export function makeProject(root: string): string {
  const proj = join(mkdtempSync(join(root, "case-")), "proj");
  mkdirSync(join(proj, "src"), { recursive: true });
  mkdirSync(join(proj, ".git"));
  cpSync(join(ROOT, "Pulumi.development.yaml"), join(proj, "Pulumi.development.yaml"));
  writeFileSync(join(proj, "src", "main.ts"), "export {};\n");
  writeFileSync(join(proj, "README.md"), "# my project\n");
  return proj;
}

export function tempRoot(): string {
  return mkdtempSync(join(tmpdir(), "modelfleet-synth-own-"));
}

/** Every entry below `dir`: files with their content, symlinks with their target, folders as "<dir>". */
export function snapshot(dir: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stats = lstatSync(path);
    if (stats.isSymbolicLink()) out[prefix + name] = `-> ${readlinkSync(path)}`;
    else if (stats.isDirectory()) {
      out[`${prefix}${name}/`] = "<dir>";
      Object.assign(out, snapshot(path, `${prefix}${name}/`));
    } else out[prefix + name] = readFileSync(path, "utf8");
  }
  return out;
}

interface RunOptions {
  readonly cwd?: string;
  readonly timeout?: number;
}

/** The real CLI as users run it: bin/modelfleet.js on the compiled build/ (test/setup/build.ts keeps it current). */
export function cli(args: readonly string[], options: RunOptions = {}) {
  return execa("node", [join(ROOT, "bin", "modelfleet.js"), ...args], { reject: false, ...options });
}
