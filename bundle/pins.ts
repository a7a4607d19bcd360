import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { isScalar, parseDocument } from "yaml";
import { rewriteFileLocked, StackFileWriteError } from "../files/stack-file-write.js";
import { IMAGE_KEYS, parseImageRef } from "../config/image-ref.js";
import { spliceDocument } from "../promote/splice.js";
import { BundleError } from "./errors.js";
import { digestOf, rawManifest, type RegistryAccess } from "./images.js";

export interface PinChange {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

export interface ResolvePinsOptions extends RegistryAccess {
  /** Write the pins into the stack file; otherwise only report them. @default false */
  readonly write?: boolean;
  /** How long to wait for another writer's lock on the stack file. @default 30 */
  readonly lockTimeoutSeconds?: number;
}

/**
 * `modelfleet pins resolve`: asks each image's registry which digest its tag points at now, and writes
 * `repo:tag@sha256:…` back into the stack file. Only the changed values move (the promote splice keeps every other
 * line byte-identical). The write goes through `rewriteFileLocked`: the real file behind a symlink is updated, its
 * mode, owner and line endings kept, and the file is re-read under the lock so a concurrent edit is not lost.
 * With `write: false`, only reports.
 */
export async function resolvePins(stackFile: string, options: ResolvePinsOptions = {}): Promise<PinChange[]> {
  let text: string;
  try {
    text = await readFile(stackFile, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BundleError("input", code === "ENOENT" ? `${stackFile} does not exist; name an existing stack file (--stack or --stack-file)` : `cannot read ${stackFile}: ${code ?? String(error)}`);
  }
  // Digests are looked up once, before the lock, so the lock is held only for the edit itself.
  const digests = new Map<string, string>();
  const planned = await pinText(stackFile, text, options, digests);
  if (!options.write || planned.changes.length === 0) return planned.changes;
  let changes: PinChange[] = [];
  try {
    await rewriteFileLocked(
      stackFile,
      async (current) => {
        const again = await pinText(stackFile, current, options, digests);
        changes = again.changes;
        return again.text;
      },
      options.lockTimeoutSeconds === undefined ? {} : { lockTimeoutSeconds: options.lockTimeoutSeconds },
    );
  } catch (error) {
    if (error instanceof StackFileWriteError) throw new BundleError(error.kind === "input" ? "input" : "tool", error.message);
    throw error;
  }
  return changes;
}

/** The pins of one reading of the file, and its text with them written (undefined when nothing changes). */
async function pinText(stackFile: string, text: string, access: RegistryAccess, digests: Map<string, string>): Promise<{ changes: PinChange[]; text?: string }> {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new BundleError("input", `${basename(stackFile)}: not valid YAML: ${doc.errors[0]?.message.split("\n")[0] ?? ""}`);
  const changes: PinChange[] = [];
  // Every image key the stack file names (the ones with defaults in code only when written there).
  for (const name of IMAGE_KEYS) {
    const node = doc.getIn(["config", "modelfleet:images", name], true);
    if (!isScalar(node) || typeof node.value !== "string") continue;
    const ref = parseImageRef(node.value);
    if ("error" in ref) throw new BundleError("input", `${basename(stackFile)}: images.${name}: ${ref.error}`);
    if (!ref.tag) continue;
    const tagged = `${ref.repository}:${ref.tag}`;
    let to = digests.get(tagged);
    if (to === undefined) {
      const raw = await rawManifest(`docker://${tagged}`, access);
      if (!raw) throw new BundleError("image", `images.${name}: ${tagged} not found (registry unreachable or tag missing)`);
      to = `${tagged}@${digestOf(raw)}`;
      digests.set(tagged, to);
    }
    if (to !== node.value) {
      changes.push({ name, from: node.value, to });
      node.value = to;
    }
  }
  if (changes.length === 0) return { changes };
  return { changes, text: spliceDocument(text, doc) ?? doc.toString({ lineWidth: 0 }) };
}
