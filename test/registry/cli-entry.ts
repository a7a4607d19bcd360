// A stand-in for cli/main.ts in tests: `node --import tsx test/registry/cli-entry.ts registry …` runs the registry
// command as a real process (exit code, stderr, no stack trace).
import { Command } from "commander";
import { registryCommand } from "../../cli/commands/registry.js";

const program = new Command("modelfleet").addCommand(registryCommand());
await program.parseAsync(process.argv);
