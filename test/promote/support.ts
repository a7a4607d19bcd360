import { Command, CommanderError } from "commander";
import { promoteCommand } from "../../cli/commands/promote.js";

/** Runs `modelfleet promote <args>` through commander with captured output and exit code. */
export async function promoteCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { code: 0, stdout: "", stderr: "" };
  const command = promoteCommand({ stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t), setExitCode: (c) => void (out.code = c), env });
  const program = new Command("modelfleet").exitOverride().addCommand(command.exitOverride());
  try {
    await program.parseAsync(["promote", ...args], { from: "user" });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    out.code = error.exitCode;
  }
  return out;
}
