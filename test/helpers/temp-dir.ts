/**
 * Temp directories that remove themselves. Call `useTempDirs()` once at a test file's top level (or inside a
 * `describe`): it registers an `afterAll` hook in that scope and returns a `tempDir(prefix)` that creates
 * `<os tmpdir>/<prefix>XXXXXX` synchronously and records it, so a test, a helper or a `beforeAll` may call it anywhere
 * in the scope. Every recorded directory is removed (recursively, forced) after the scope's last test, whether the
 * tests passed or failed, so a run of the suite leaves nothing in /tmp. Create directories in tests or hooks, not
 * in a `describe` body: a run that filters out every test of the scope (`-t`) collects the file but skips its hooks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** Creates a fresh directory named `<prefix>XXXXXX` under the OS temp dir; removed after the scope's last test. */
export type TempDir = (prefix: string) => string;

export function useTempDirs(): TempDir {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
