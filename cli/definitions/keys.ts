import { Command } from "commander";
import { processIo, type CliIo } from "../io.js";
import { PRIVATE_SUFFIX, PUBLIC_SUFFIX } from "./constants.js";

/** `modelfleet keys`: the Ed25519 keys that sign bundles (`bundle create --sign-key`) and that sites trust (`--trust-key`). */
export function keysCommand(io: CliIo = processIo()): Command {
  const keys = new Command("keys").description("Signing keys for bundles: generate an Ed25519 pair (docs/offline-deployment.md, \"Trust model and keys\")").configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  keys
    .command("generate")
    .description(`Write a new Ed25519 key pair: <prefix>${PRIVATE_SUFFIX} (mode 0600, keep it where bundles are made) and <prefix>${PUBLIC_SUFFIX} (give it to sites); never overwrites`)
    .requiredOption("--out <prefix>", `path prefix of the two files, e.g. keys/release-2026 → keys/release-2026${PRIVATE_SUFFIX}`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action(async (o: { out: string }) => (await import("../commands/keys.js")).runKeysGenerate(o, io));
  return keys;
}
