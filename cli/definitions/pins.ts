import { Command } from "commander";
import { bundleIo, type BundleCliIo } from "../io.js";

export interface PinsResolveCliOptions {
  readonly stack: string;
  readonly stackFile?: string;
  readonly dryRun?: boolean;
  readonly insecure?: boolean;
}

export function pinsCommand(io: BundleCliIo = bundleIo()): Command {
  const pins = new Command("pins").description("Image pins of a stack").configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  pins
    .command("resolve")
    .description("Resolve each image tag to its current digest in the registry and write repo:tag@sha256:… into the stack file")
    .requiredOption("--stack <name>", "stack (Pulumi.<name>.yaml)")
    .option("--stack-file <path>", "stack file to edit instead of Pulumi.<stack>.yaml")
    .option("--dry-run", "print the changes without writing")
    .option("--insecure", "talk plain HTTP / skip TLS verification to the registry (lab and loopback registries)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: PinsResolveCliOptions) => (await import("../commands/pins.js")).runPinsResolve(o, io));
  return pins;
}
