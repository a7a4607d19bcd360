import { Command, CommanderError } from "commander";
import { redact } from "../secrets/redact.js";
import { bundleCommand } from "./commands/bundle.js";
import { checkCommand } from "./commands/check.js";
import { dbCommand } from "./commands/db.js";
import { keysCommand } from "./commands/keys.js";
import { pinsCommand } from "./commands/pins.js";
import { promoteCommand } from "./commands/promote.js";
import { registryCommand } from "./commands/registry.js";
import { startCommand, synthCommand } from "./commands/synth.js";

/** Every command, in the order `modelfleet --help` lists them. */
export function buildProgram(): Command {
  return new Command("modelfleet")
    .description("Typed infrastructure-as-code for self-hosted LLM inference (vLLM, llama.cpp) on Kubernetes GPU nodes")
    .addCommand(startCommand())
    .addCommand(synthCommand())
    .addCommand(checkCommand())
    .addCommand(registryCommand())
    .addCommand(promoteCommand())
    .addCommand(bundleCommand())
    .addCommand(dbCommand())
    .addCommand(keysCommand())
    .addCommand(pinsCommand())
    .showHelpAfterError()
    .exitOverride();
}

/**
 * Runs the CLI and returns the exit code; commands set `process.exitCode` for their own failures, and usage errors
 * (unknown option, missing argument) exit 2 after commander printed them.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are not failures.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.help" || error.code === "commander.version") return 0;
      return 2;
    }
    process.stderr.write(`error: ${redact(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
  return typeof process.exitCode === "number" ? process.exitCode : 0;
}
