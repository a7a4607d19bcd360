import { relative } from "node:path";
import { redact } from "../../secrets/redact.js";
import { SynthError } from "../../synth/errors.js";
import { runSynth, type SynthSummary } from "../../synth/run.js";
import { START_STACK, type SynthCliOptions } from "../definitions/synth.js";
import type { CliIo } from "../io.js";
import { credentialShapedArgument } from "./credential-args.js";

export { START_STACK, startCommand, synthCommand } from "../definitions/synth.js";

/**
 * Exit codes shared by synth and start: 2 = a --stack/--out value or the stack config is wrong; 1 = what it produces
 * is rejected, the output folder holds files synth did not write, or the file system failed.
 */
export const EXIT = { ok: 0, rejected: 1, badConfig: 2 } as const;

async function synthOrReport(options: SynthCliOptions, io: CliIo): Promise<SynthSummary | undefined> {
  const refused = credentialShapedArgument({ "--stack": options.stack });
  if (refused) {
    io.stderr(`error: ${refused}\n`);
    io.setExitCode(EXIT.badConfig);
    return undefined;
  }
  try {
    return await runSynth({
      stack: options.stack,
      ...(options.stackFile ? { configFile: options.stackFile } : {}),
      ...(options.out !== undefined ? { outDir: options.out } : {}),
      ...(options.prune ? { prune: true } : {}),
    });
  } catch (error) {
    if (!(error instanceof SynthError)) throw error;
    // A message may quote a value the user gave (a stack name, a path): one that looks like a secret is not echoed.
    io.stderr(`error: ${redact(error.message)}\n`);
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

/** `modelfleet synth`: the action behind cli/definitions/synth.ts. */
export async function runSynthCommand(options: SynthCliOptions, io: CliIo): Promise<void> {
  const summary = await synthOrReport(options, io);
  if (summary) io.stdout(formatSummary(summary));
}

/** `modelfleet start`: synth of the development stack, then what to do next. */
export async function runStartCommand(options: { out: string; prune?: boolean }, io: CliIo): Promise<void> {
  const summary = await synthOrReport({ stack: START_STACK, out: options.out, ...(options.prune ? { prune: true } : {}) }, io);
  if (!summary) return;
  io.stdout(formatSummary(summary));
  io.stdout(`\nNext: \`pulumi preview --stack ${START_STACK} --policy-pack policies\` with a cluster, or apply dist/${START_STACK}/ with GitOps (see README).\n`);
}
