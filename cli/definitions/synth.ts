import { Command, Option } from "commander";
import { processIo, type CliIo } from "../io.js";
import { addAlias } from "./alias.js";
import { OWNERSHIP_MARKER } from "./constants.js";

export const START_STACK = "development";

export interface SynthCliOptions {
  readonly stack: string;
  readonly stackFile?: string;
  readonly out?: string;
  readonly prune?: boolean;
}

/** The implementation, loaded only when synth or start runs (it loads cdk8s, the schema validators, the policies). */
const implementation = () => import("../commands/synth.js");

/** What both commands' help says about the output folder. */
const OWNERSHIP_HELP = [
  "Nothing is written unless every object is schema-valid and no mandatory policy fails.",
  `Synth owns <dir>/<stack>/: it lists the files it wrote, with their sha256, in ${OWNERSHIP_MARKER} there,`,
  "replaces only those (atomically: the whole new set, or the old one), and refuses, naming them and writing",
  "nothing, while the folder holds anything else or a listed file was changed by hand. Keep SealedSecrets and",
  "notes in a folder of their own, or pass --prune to delete them. --out may not be the working directory, a",
  "parent of it, a project root, /, your home folder, /proc, /sys, /dev, a file, or a symlink out of the project.",
].join("\n");

export function synthCommand(io: CliIo = processIo()): Command {
  const command = new Command("synth")
    .description("Write a stack's Kubernetes objects as plain YAML (validated against the Kubernetes schema and the policies)")
    .requiredOption("--stack <name>", "stack to synthesize: reads Pulumi.<name>.yaml")
    .option("--stack-file <path>", "stack file to read instead of Pulumi.<stack>.yaml (alias: --config-file)")
    .option("--out <dir>", "output root; files go to <dir>/<stack>/", "dist")
    .option("--prune", "delete files in <dir>/<stack>/ that synth did not write, and overwrite ones changed by hand, instead of refusing")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", `\n${OWNERSHIP_HELP}\nExit codes: 0 written; 1 schema or policy rejection, files synth did not write, or a file system error;\n2 invalid --stack, --out or stack config.`)
    .action(async (options: SynthCliOptions) => (await implementation()).runSynthCommand(options, io));
  return addAlias(command, "--stack-file", new Option("--config-file <path>", "old spelling of --stack-file"));
}

/** `npm start`: the main job. Synthesizes and checks the development stack; needs no cluster and no Pulumi CLI. */
export function startCommand(io: CliIo = processIo()): Command {
  return new Command("start")
    .description(`Synthesize and check the ${START_STACK} stack into dist/${START_STACK}/ (no cluster needed)`)
    .option("--out <dir>", `output root; files go to <dir>/${START_STACK}/`, "dist")
    .option("--prune", `delete files in <dir>/${START_STACK}/ that synth did not write, and overwrite ones changed by hand, instead of refusing`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", `\n${OWNERSHIP_HELP}\nExit codes as for synth.`)
    .action(async (options: { out: string; prune?: boolean }) => (await implementation()).runStartCommand(options, io));
}
