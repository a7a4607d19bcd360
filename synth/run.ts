import { join, resolve } from "node:path";
import { checkObjects, isBlocking } from "../policies/check.js";
import type { Violation } from "../policies/types.js";
import { loadStackFile, stackFileName } from "../stacks/config/load.js";
import { ConfigError } from "../stacks/config/problems.js";
import type { StackConfig } from "../stacks/config/types.js";
import { SynthError } from "./errors.js";
import { extraGroups } from "./groups.js";
import { synthesizeStack, type SynthResult } from "./synthesize.js";
import { writeFolder } from "./write.js";

export interface SynthOptions {
  /** Stack name: reads `Pulumi.<stack>.yaml` in `cwd` unless `configFile` is given. */
  readonly stack: string;
  /** @default `<cwd>/Pulumi.<stack>.yaml` */
  readonly configFile?: string;
  /** Output root; files go to `<outDir>/<stack>/`. @default `<cwd>/dist` */
  readonly outDir?: string;
  /** @default process.cwd() */
  readonly cwd?: string;
}

export interface SynthSummary {
  readonly config: StackConfig;
  readonly result: SynthResult;
  /** Absolute paths of the files written. */
  readonly written: readonly string[];
  readonly outDir: string;
  /** Advisory (non-blocking) policy findings, for the summary. */
  readonly advisories: readonly Violation[];
}

/**
 * Config → objects → schema validation → policies → files, in that order: any failure throws a SynthError before
 * anything is written, and a success replaces `<outDir>/<stack>/` as a whole.
 */
export async function runSynth(options: SynthOptions): Promise<SynthSummary> {
  const cwd = options.cwd ?? process.cwd();
  const configFile = resolve(cwd, options.configFile ?? stackFileName(options.stack));
  let config: StackConfig;
  try {
    config = loadStackFile(configFile, options.stack);
  } catch (error) {
    if (error instanceof ConfigError) throw new SynthError("config", error.message);
    throw error;
  }
  const outRoot = resolve(cwd, options.outDir ?? "dist");
  const outDir = join(outRoot, config.stack);
  const result = synthesizeStack(config, extraGroups(config));
  const violations = checkObjects(result.objects, config.environment);
  const blocking = violations.filter((v) => isBlocking({ enforcement: v.enforcement, waived: v.waiver !== undefined }));
  if (blocking.length > 0) {
    const lines = blocking.map((v) => `  - [${v.ruleId}] ${v.objectRef} ${v.fieldPath}: ${v.message}`);
    throw new SynthError("policy", `${config.file}: ${blocking.length} mandatory policy violation(s); nothing was written:\n${lines.join("\n")}`);
  }
  const written = await writeFolder(outDir, result.files);
  return { config, result, written, outDir, advisories: violations.filter((v) => !blocking.includes(v)) };
}
