// A stand-in for cli/main.ts in tests: `node --import tsx test/policies/cli-entry.ts check …` runs the check command
// as a real process (exit code, stdout, stderr).
import { Command } from "commander";
import { checkCommand } from "../../cli/commands/check.js";

const program = new Command("modelfleet").addCommand(checkCommand());
await program.parseAsync(process.argv);
