import { resolve } from "node:path";
import { BundleError } from "../../bundle/errors.js";
import { resolvePins } from "../../bundle/pins.js";
import { stackFileName } from "../../config/load.js";
import type { PinsResolveCliOptions } from "../definitions/pins.js";
import type { BundleCliIo } from "../io.js";
import { reportBundleErrors } from "./bundle.js";
import { credentialShapedArgument } from "./credential-args.js";

export { pinsCommand } from "../definitions/pins.js";

/** `pins resolve`: the action behind cli/definitions/pins.ts. */
export async function runPinsResolve(o: PinsResolveCliOptions, io: BundleCliIo): Promise<void> {
  return reportBundleErrors(io, async () => {
    const refused = credentialShapedArgument({ "--stack": o.stack });
    if (refused) throw new BundleError("input", refused);
    const file = o.stackFile ?? resolve(stackFileName(o.stack));
    const changes = await resolvePins(file, { write: o.dryRun !== true, insecure: o.insecure === true });
    if (changes.length === 0) io.stdout("Every pin already matches its tag's current digest.\n");
    for (const c of changes) io.stdout(`~ images.${c.name}: ${c.from} → ${c.to}\n`);
    if (changes.length > 0) io.stdout(o.dryRun ? "Nothing written (--dry-run).\n" : `Wrote ${file}; review with git diff.\n`);
  });
}
