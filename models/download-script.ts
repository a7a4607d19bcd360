import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sourceDirOf } from "../files/source-dir.js";

/**
 * The download Job's script. It is plain JavaScript for a bare node image, so tsc does not compile or copy it; it is
 * read from the source tree whether this module runs from there or from build/.
 */
export const DOWNLOAD_SCRIPT = join(sourceDirOf(import.meta.url), "download-job.mjs");

let cached: string | undefined;
let cachedSha256: string | undefined;

/** The script's text, as the download Job's ConfigMap carries it (read once per process). */
export function downloadScriptText(): string {
  cached ??= readFileSync(DOWNLOAD_SCRIPT, "utf8");
  return cached;
}

/** sha256 (hex) of the script, which every download Job's name covers (hashed once per process, not per Job). */
export function downloadScriptSha256(): string {
  cachedSha256 ??= createHash("sha256").update(downloadScriptText()).digest("hex");
  return cachedSha256;
}
