import { resolve } from "node:path";
import { Command } from "commander";
import { resolvePins } from "../../bundle/pins.js";
import { stackFileName } from "../../config/load.js";
import { bundleIo, reportBundleErrors, type BundleCliIo } from "./bundle.js";

export function pinsCommand(io: BundleCliIo = bundleIo()): Command {
  const pins = new Command("pins").description("Image pins of a stack").configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  pins
    .command("resolve")
    .description("Resolve each image tag to its current digest in the registry and write repo:tag@sha256:… into the stack file")
    .requiredOption("--stack <name>", "stack (Pulumi.<name>.yaml)")
    .option("--stack-file <path>", "stack file to edit instead of Pulumi.<stack>.yaml")
    .option("--dry-run", "print the changes without writing")
    .option("--insecure", "plain HTTP / no TLS verification (lab registries)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: { stack: string; stackFile?: string; dryRun?: boolean; insecure?: boolean }) =>
      reportBundleErrors(io, async () => {
        const file = o.stackFile ?? resolve(stackFileName(o.stack));
        const changes = await resolvePins(file, { write: o.dryRun !== true, insecure: o.insecure === true });
        if (changes.length === 0) io.stdout("Every pin already matches its tag's current digest.\n");
        for (const c of changes) io.stdout(`~ images.${c.name}: ${c.from} → ${c.to}\n`);
        if (changes.length > 0) io.stdout(o.dryRun ? "Nothing written (--dry-run).\n" : `Wrote ${file}; review with git diff.\n`);
      }),
    );
  return pins;
}
