/**
 * A model folder as the download Job or `bundle load` leaves it: the files, plus a `modelfleet-manifest.json`
 * (models/manifest.ts) listing each file's size and sha256. Real files and a real manifest, not a stand-in.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { MANIFEST_FILE, MANIFEST_SCHEMA, serializeManifest } from "../../models/manifest.js";

export interface ModelFolderOptions {
  readonly repo: string;
  readonly revision: string;
  /**
   * What the manifest lists, when it should differ from what is written (a folder missing files or holding
   * damaged ones).
   * @default - the files written
   */
  readonly listed?: Readonly<Record<string, Buffer | string>>;
}

/** Writes `files` (relative paths, parents created) and the manifest into `dir`; returns `dir`. */
export function writeModelFolder(dir: string, files: Readonly<Record<string, Buffer | string>>, options: ModelFolderOptions): string {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const entries = Object.entries(options.listed ?? files).map(([path, content]) => ({ path, bytes: Buffer.byteLength(content), sha256: createHash("sha256").update(content).digest("hex") }));
  writeFileSync(join(dir, MANIFEST_FILE), serializeManifest({ schema: MANIFEST_SCHEMA, repo: options.repo, revision: options.revision, files: entries }));
  return dir;
}
