import { relative } from "node:path";
import { Command } from "commander";
import { SynthError } from "../../synth/errors.js";
import { runSynth, type SynthSummary } from "../../synth/run.js";
import { OWNERSHIP_MARKER } from "../../synth/write.js";
import { processIo, type CliIo } from "../io.js";

/**
 * Exit codes shared by synth and start: 2 = a --stack/--out value or the stack config is wrong; 1 = what it produces
 * is rejected, the output folder holds files synth did not write, or the file system failed.
 */
export const EXIT = { ok: 0, rejected: 1, badConfig: 2 } as const;

interface SynthCliOptions {
  stack: string;
  configFile?: string;
  out?: string;
  prune?: boolean;
}

async function synthOrReport(options: SynthCliOptions, io: CliIo): Promise<SynthSummary | undefined> {
  try {
    return await runSynth({
      stack: options.stack,
      ...(options.configFile ? { configFile: options.configFile } : {}),
      ...(options.out !== undefined ? { outDir: options.out } : {}),
      ...(options.prune ? { prune: true } : {}),
    });
  } catch (error) {
    if (!(error instanceof SynthError)) throw error;
    io.stderr(`error: ${error.message}\n`);
    io.setExitCode(error.kind === "config" || error.kind === "usage" ? EXIT.badConfig : EXIT.rejected);
    return undefined;
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The short report both commands print: what was written where, and the advisories worth a look. */
export function formatSummary(summary: SynthSummary, cwd = process.cwd()): string {
  const { config, result, written, advisories } = summary;
  const lines = [
    `Synthesized stack ${config.stack} (${config.environment}, namespace ${config.namespace}) from ${config.file}`,
    `  ${plural(config.models.length, "model")}:`,
    ...config.models.map((m) => `    ${m.name.padEnd(24)} ${m.engine.padEnd(8)} ${String(m.replicas)}× ${m.gpus} GPU  ${m.endpoint}`),
    `  ${plural(result.objects.length, "object")} in ${plural(written.length, "file")} under ${relative(cwd, summary.outDir) || "."}/, schema-valid`,
    `  policies: no mandatory violations${advisories.length > 0 ? `, ${plural(advisories.length, "advisory finding")}:` : ""}`,
    ...advisories.map((v) => `    [${v.ruleId}] ${v.objectRef} ${v.fieldPath}: ${v.message}`),
    ...(summary.restored ? ["  restored the folder an interrupted earlier synth had moved aside, then replaced it"] : []),
    ...(summary.pruned.length > 0 ? [`  --prune deleted ${plural(summary.pruned.length, "entry")} synth did not write: ${summary.pruned.join(", ")}`] : []),
    ...(summary.edited.length > 0 ? [`  --prune replaced ${plural(summary.edited.length, "file")} changed by hand: ${summary.edited.join(", ")}`] : []),
  ];
  return `${lines.join("\n")}\n`;
}

export function synthCommand(io: CliIo = processIo()): Command {
  return new Command("synth")
    .description("Write a stack's Kubernetes objects as plain YAML (validated against the Kubernetes schema and the policies)")
    .requiredOption("--stack <name>", "stack to synthesize: reads Pulumi.<name>.yaml")
    .option("--config-file <path>", "stack file to read instead of Pulumi.<stack>.yaml")
    .option("--out <dir>", "output root; files go to <dir>/<stack>/", "dist")
    .option("--prune", "delete files in <dir>/<stack>/ that synth did not write, and overwrite ones changed by hand, instead of refusing")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", `\n${OWNERSHIP_HELP}\nExit codes: 0 written; 1 schema or policy rejection, files synth did not write, or a file system error;\n2 invalid --stack, --out or stack config.`)
    .action(async (options: SynthCliOptions) => {
      const summary = await synthOrReport(options, io);
      if (summary) io.stdout(formatSummary(summary));
    });
}

/** What both commands' help says about the output folder. */
const OWNERSHIP_HELP = [
  "Nothing is written unless every object is schema-valid and no mandatory policy fails.",
  `Synth owns <dir>/<stack>/: it lists the files it wrote, with their sha256, in ${OWNERSHIP_MARKER} there,`,
  "replaces only those (atomically: the whole new set, or the old one), and refuses, naming them and writing",
  "nothing, while the folder holds anything else or a listed file was changed by hand. Keep SealedSecrets and",
  "notes in a folder of their own, or pass --prune to delete them. --out may not be the working directory, a",
  "parent of it, a project root, /, your home folder, /proc, /sys, /dev, a file, or a symlink out of the project.",
].join("\n");

export const START_STACK = "development";

/** `npm start`: the main job. Synthesizes and checks the development stack; needs no cluster and no Pulumi CLI. */
export function startCommand(io: CliIo = processIo()): Command {
  return new Command("start")
    .description(`Synthesize and check the ${START_STACK} stack into dist/${START_STACK}/ (no cluster needed)`)
    .option("--out <dir>", `output root; files go to <dir>/${START_STACK}/`, "dist")
    .option("--prune", `delete files in <dir>/${START_STACK}/ that synth did not write, and overwrite ones changed by hand, instead of refusing`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText("after", `\n${OWNERSHIP_HELP}\nExit codes as for synth.`)
    .action(async (options: { out: string; prune?: boolean }) => {
      const summary = await synthOrReport({ stack: START_STACK, out: options.out, ...(options.prune ? { prune: true } : {}) }, io);
      if (!summary) return;
      io.stdout(formatSummary(summary));
      io.stdout(`\nNext: \`pulumi preview --stack ${START_STACK} --policy-pack policies\` with a cluster, or apply dist/${START_STACK}/ with GitOps (see README).\n`);
    });
}
