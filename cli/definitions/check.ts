import { Command, Option } from "commander";
import { ENVIRONMENTS } from "../../config/environments.js";
import { processIo, type CliIo } from "../io.js";
import { CHECK_HELP_LIMITS } from "./constants.js";

export interface CheckCliOptions {
  readonly env?: string;
  readonly json?: boolean;
}

const MIB = 1024 * 1024;

/**
 * `modelfleet check <paths...> [--env <env>] [--json]`: runs the policy rules (docs/policies.md) over Kubernetes
 * YAML files and folders and over `Pulumi.<stack>.yaml` files. The rules load only when the command runs.
 */
export function checkCommand(io: CliIo = processIo()): Command {
  return new Command("check")
    .description("Check Kubernetes YAML and Pulumi.<stack>.yaml files against the modelfleet policies")
    .argument("<paths...>", "YAML files or folders (searched recursively for .yaml/.yml), Pulumi.<stack>.yaml stack files")
    .addOption(new Option("--env <env>", `environment to judge Kubernetes YAML in: ${ENVIRONMENTS.join(" | ")} (default: production; stack files use their own modelfleet:environment)`))
    .option("--json", "print the report as JSON on stdout")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", `\nOnly regular files are read (symlinks to them are followed): at most ${CHECK_HELP_LIMITS.fileMaxBytes / MIB} MiB each, ${CHECK_HELP_LIMITS.totalMaxBytes / MIB} MiB and ${CHECK_HELP_LIMITS.maxFiles} files per run, ${CHECK_HELP_LIMITS.maxDocumentsPerFile} documents per file.\nExit codes: 0 no mandatory violation, 1 a mandatory violation, 2 unreadable path, malformed YAML or input over a limit. See docs/policies.md.`)
    .action(async (paths: string[], options: CheckCliOptions) => (await import("../commands/check.js")).runCheckCommand(paths, options, io));
}
