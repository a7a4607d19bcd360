// A stand-in for cli/main.ts in tests: `node --import tsx test/synth/cli-entry.ts synth …` runs the synth and start
// commands as a real process (exit code, stdout, stderr) without loading every other command. Usage errors exit 2,
// as in cli/main.ts.
import { Command, CommanderError } from "commander";
import { startCommand, synthCommand } from "../../cli/commands/synth.js";

const program = new Command("modelfleet").addCommand(startCommand()).addCommand(synthCommand());
for (const command of [program, ...program.commands]) command.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = error instanceof CommanderError && error.code !== "commander.helpDisplayed" ? 2 : 0;
}
