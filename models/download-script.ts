import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sourceDirOf } from "../files/source-dir.js";

/**
 * The download Job's script. It is plain JavaScript for a bare node image, so tsc does not compile or copy it; it is
 * read from the source tree whether this module runs from there or from build/.
 */
export const DOWNLOAD_SCRIPT = join(sourceDirOf(import.meta.url), "download-job.mjs");

let cached: string | undefined;

/** The script's text, as the download Job's ConfigMap carries it (read once per process). */
export function downloadScriptText(): string {
  cached ??= readFileSync(DOWNLOAD_SCRIPT, "utf8");
  return cached;
}
