import { readFile, rename, writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { isScalar, parseDocument } from "yaml";
import { parseImageRef } from "../stacks/config/image-ref.js";
import { BundleError } from "./errors.js";
import { digestOf, IMAGE_PINS, rawManifest, type RegistryAccess } from "./images.js";

export interface PinChange {
  readonly name: string;
  readonly from: string;
  readonly to: string;
}

/**
 * `modelfleet pins resolve`: asks each image's registry which digest its tag points at now, and writes
 * `repo:tag@sha256:…` back into the stack file (comments and formatting kept). With `write: false`, only reports.
 */
export async function resolvePins(stackFile: string, options: RegistryAccess & { write?: boolean } = {}): Promise<PinChange[]> {
  const text = await readFile(stackFile, "utf8");
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new BundleError("input", `${basename(stackFile)}: not valid YAML: ${doc.errors[0]?.message.split("\n")[0] ?? ""}`);
  const changes: PinChange[] = [];
  for (const name of IMAGE_PINS) {
    const node = doc.getIn(["config", "modelfleet:images", name], true);
    if (!isScalar(node) || typeof node.value !== "string") continue;
    const ref = parseImageRef(node.value);
    if ("error" in ref) throw new BundleError("input", `${basename(stackFile)}: images.${name}: ${ref.error}`);
    if (!ref.tag) continue;
    const raw = await rawManifest(`docker://${ref.repository}:${ref.tag}`, options);
    if (!raw) throw new BundleError("image", `images.${name}: ${ref.repository}:${ref.tag} not found (registry unreachable or tag missing)`);
    const to = `${ref.repository}:${ref.tag}@${digestOf(raw)}`;
    if (to !== node.value) {
      changes.push({ name, from: node.value, to });
      node.value = to;
    }
  }
  if (options.write && changes.length > 0) {
    const staging = `${stackFile}.pins-${process.pid}`;
    await writeFile(staging, doc.toString({ lineWidth: 0 }));
    await rename(staging, stackFile);
  }
  return changes;
}
