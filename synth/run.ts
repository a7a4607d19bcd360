import { join, resolve } from "node:path";
import { outDirProblem } from "../files/out-dir.js";
import { checkObjects, isBlocking } from "../policies/check.js";
import type { Violation } from "../policies/types.js";
import { loadStackFile, stackFileName } from "../config/load.js";
import { checkModelObjects } from "../policies/engine-contracts.js";
import { ConfigError } from "../config/problems.js";
import { stackNameProblem } from "../config/stack-name.js";
import type { StackConfig } from "../config/types.js";
import { SynthError } from "./errors.js";
import { extraGroups } from "./groups.js";
import { synthesizeStack, type SynthResult } from "./synthesize.js";
import { writeSynthFolder } from "./write.js";

export interface SynthOptions {
  /** Stack name: reads `Pulumi.<stack>.yaml` in `cwd` unless `configFile` is given. */
  readonly stack: string;
  /** @default `<cwd>/Pulumi.<stack>.yaml` */
  readonly configFile?: string;
  /** Output root; files go to `<outDir>/<stack>/`. @default `<cwd>/dist` */
  readonly outDir?: string;
  /** @default process.cwd() */
  readonly cwd?: string;
  /**
   * Delete what `<outDir>/<stack>/` holds that synth did not write, and overwrite files changed by hand, instead of
   * refusing (synth/write.ts). @default false - refuse, name the files and write nothing
   */
  readonly prune?: boolean;
}

export interface SynthSummary {
  readonly config: StackConfig;
  readonly result: SynthResult;
  /** Absolute paths of the files written. */
  readonly written: readonly string[];
  readonly outDir: string;
  /** Advisory (non-blocking) policy findings, for the summary. */
  readonly advisories: readonly Violation[];
  /** What `prune` deleted (entries synth did not write) and overwrote or removed (files changed by hand), relative. */
  readonly pruned: readonly string[];
  readonly edited: readonly string[];
  /** An interrupted earlier synth had left the folder moved aside; it was put back before this run. */
  readonly restored: boolean;
}

/**
 * Stack name and output folder → config → objects → schema validation → policies → files, in that order: any
 * failure throws a SynthError before anything is written. A success replaces the files synth owns in
 * `<outDir>/<stack>/` (listed in its `.modelfleet-synth.json`); a folder holding anything else is refused unless
 * `prune` (synth/write.ts).
 */
export async function runSynth(options: SynthOptions): Promise<SynthSummary> {
  const cwd = options.cwd ?? process.cwd();
  const stackProblem = stackNameProblem(options.stack);
  if (stackProblem !== undefined) throw new SynthError("usage", `--stack: ${stackProblem}`);
  const outProblem = outDirProblem(options.outDir ?? "dist", { cwd, flag: "--out", ownSubfolderOnly: true });
  if (outProblem !== undefined) throw new SynthError("usage", outProblem);
  const configFile = resolve(cwd, options.configFile ?? stackFileName(options.stack));
  let config: StackConfig;
  try {
    config = loadStackFile(configFile, options.stack);
  } catch (error) {
    if (error instanceof ConfigError) throw new SynthError("config", error.message);
    throw error;
  }
  // The name the output folder is named after, whichever way the config came (a --config-file path included).
  const configStackProblem = stackNameProblem(config.stack);
  if (configStackProblem !== undefined) throw new SynthError("usage", `${config.file}: ${configStackProblem}`);
  const outRoot = resolve(cwd, options.outDir ?? "dist");
  const outDir = join(outRoot, config.stack);
  const result = synthesizeStack(config, extraGroups(config));
  // The engine command lines, parsed back against the contract of the pinned engine version (config/engines/): a
  // flag the engine does not have would pass every schema and fail only when the pod starts.
  const contractProblems = checkModelObjects(result.objects, config.pins);
  if (contractProblems.length > 0) {
    const lines = contractProblems.map((p) => `  - ${p.object} ${p.subject}: ${p.message}`);
    throw new SynthError("policy", `${config.file}: ${contractProblems.length} engine command problem(s) against the pinned engine versions' contracts; nothing was written:\n${lines.join("\n")}`);
  }
  const violations = checkObjects(result.objects, config.environment);
  const blocking = violations.filter((v) => isBlocking({ enforcement: v.enforcement, waived: v.waiver !== undefined }));
  if (blocking.length > 0) {
    const lines = blocking.map((v) => `  - [${v.ruleId}] ${v.objectRef} ${v.fieldPath}: ${v.message}`);
    throw new SynthError("policy", `${config.file}: ${blocking.length} mandatory policy violation(s); nothing was written:\n${lines.join("\n")}`);
  }
  const write = await writeSynthFolder(outDir, result.files, { prune: options.prune ?? false });
  return {
    config,
    result,
    written: write.written,
    outDir,
    advisories: violations.filter((v) => !blocking.includes(v)),
    pruned: write.pruned,
    edited: write.edited,
    restored: write.restored,
  };
}
