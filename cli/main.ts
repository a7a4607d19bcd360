// The CLI's entry: commander and the command definitions (names, options, help) only. Each command's
// implementation, with the libraries it needs, is imported by its action when that command runs
// (cli/definitions/*.ts → cli/commands/*.ts), so `--help` and a typo cost little more than starting Node.
import { Command, CommanderError } from "commander";
import { bundleCommand } from "./definitions/bundle.js";
import { checkCommand } from "./definitions/check.js";
import { dbCommand } from "./definitions/db.js";
import { keysCommand } from "./definitions/keys.js";
import { modelsCommand } from "./definitions/models.js";
import { statusCommand, verifyCommand } from "./definitions/ops.js";
import { pinsCommand } from "./definitions/pins.js";
import { promoteCommand } from "./definitions/promote.js";
import { registryCommand } from "./definitions/registry.js";
import { startCommand, synthCommand } from "./definitions/synth.js";

/** Every command, in the order `modelfleet --help` lists them. */
export function buildProgram(): Command {
  return new Command("modelfleet")
    .description("Typed infrastructure-as-code for self-hosted LLM inference (vLLM, llama.cpp) on Kubernetes GPU nodes")
    .addCommand(startCommand())
    .addCommand(synthCommand())
    .addCommand(checkCommand())
    .addCommand(statusCommand())
    .addCommand(verifyCommand())
    .addCommand(registryCommand())
    .addCommand(promoteCommand())
    .addCommand(bundleCommand())
    .addCommand(dbCommand())
    .addCommand(modelsCommand())
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
      // --help, `help` and --version are not failures; help shown because no command was given is a usage error.
      const shown = error.code === "commander.helpDisplayed" || error.code === "commander.help" || error.code === "commander.version";
      return shown && error.exitCode === 0 ? 0 : 2;
    }
    // Loaded only on this path: the redactor knows every secret the failed command registered.
    const { redact } = await import("../secrets/redact.js");
    process.stderr.write(`error: ${redact(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
  return typeof process.exitCode === "number" ? process.exitCode : 0;
}
