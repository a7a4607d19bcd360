import { mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { checkPaths, isBlocking } from "../../policies/check.js";
import { parseStackConfig, readStackValues, stackFileName } from "../config/load.js";
import { ConfigError } from "../config/problems.js";
import { PROFILES } from "../profiles.js";
import type { StackConfig } from "../config/types.js";
import { parseImageRef } from "../config/image-ref.js";
import { applyChanges } from "./apply.js";
import { changePath, diffStacks, type Change } from "./diff.js";
import { detectStyle, spliceDocument } from "./splice.js";

/** Why promote stopped. `input`: a stack file is missing or unreadable; `refused`: a rule says no. Nothing written. */
export class PromoteError extends Error {
  override readonly name = "PromoteError";
  constructor(
    readonly kind: "input" | "refused",
    message: string,
  ) {
    super(message);
  }
}

export interface PromoteOptions {
  readonly from: string;
  readonly to: string;
  /** Folder holding the stack files. @default process.cwd() */
  readonly dir?: string;
  /** Write the target file; otherwise only compute the diff. @default false */
  readonly write?: boolean;
  /** Limit to these models (image pins are then left alone). @default all */
  readonly only?: readonly string[];
  /**
   * Checked after validation, before writing, with the models the promotion affects (see `affectedModels`);
   * returns reasons to refuse (the registry gate). @default - no gate
   */
  readonly gate?: (source: StackConfig, models: readonly string[]) => Promise<readonly string[]>;
}

export interface PromoteResult {
  readonly from: string;
  readonly to: string;
  readonly changes: readonly Change[];
  readonly written: boolean;
  /** The models whose promotable keys change (added, changed or removed). */
  readonly models: readonly string[];
  /** The models that will run something new in the target: `models` without removed ones, plus every model on a re-pinned engine image. */
  readonly affected: readonly string[];
  /**
   * `kept`: untouched lines of the target are byte-identical; `reprinted`: an edit needed the whole file printed
   * again by the YAML writer (comments and key order still kept, spacing may differ).
   */
  readonly formatting: "kept" | "reprinted";
}

async function readStack(dir: string, stack: string): Promise<{ path: string; text: string }> {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new PromoteError("input", `"${stack}" is not a stack name; use the <name> of a Pulumi.<name>.yaml file`);
  const path = join(dir, stackFileName(stack));
  try {
    return { path, text: await readFile(path, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PromoteError("input", code === "ENOENT" ? `unknown stack "${stack}": ${path} does not exist` : `cannot read ${path}: ${code ?? String(error)}`);
  }
}

function tagOnlyImages(changes: readonly Change[]): string[] {
  return changes.flatMap((c) => {
    if (c.kind !== "set" || !c.key.startsWith("images.") || typeof c.to !== "string") return [];
    const ref = parseImageRef(c.to);
    return "error" in ref || ref.digest ? [] : [`${c.key} = ${c.to}`];
  });
}

/**
 * The models a promotion changes what runs for: those whose own promotable keys change (added ones included), and
 * every model of the result whose engine's image pin changes. Removed models are not among them.
 */
export function affectedModels(changes: readonly Change[], source: StackConfig): string[] {
  const names = new Set<string>();
  const removed = new Set(changes.flatMap((c) => (c.kind === "remove-model" ? [c.model] : [])));
  for (const change of changes) {
    if (change.kind === "add-model" || (change.kind === "set" && change.model !== undefined)) names.add(change.model as string);
    if (change.kind === "set" && change.model === undefined && change.key.startsWith("images.")) {
      const engine = change.key.slice("images.".length);
      for (const model of source.models) if (model.engine === engine) names.add(model.name);
    }
  }
  return [...names].filter((name) => !removed.has(name) && source.models.some((m) => m.name === name)).sort();
}

/**
 * Promotes the promotable keys of one stack file into another. The source must validate; the result must validate
 * (schema, rules and policies) and pass the gate before anything is written; the write replaces the file
 * atomically. With no `write`, nothing is touched. Every refusal leaves the target byte-identical.
 */
export async function promote(options: PromoteOptions): Promise<PromoteResult> {
  const dir = resolve(options.dir ?? process.cwd());
  const source = await readStack(dir, options.from);
  const target = await readStack(dir, options.to);
  if (source.path === target.path) throw new PromoteError("input", `--from and --to both name ${basename(source.path)}; promote from one stack to another`);
  const sourceFile = basename(source.path);
  const targetFile = basename(target.path);
  let sourceValues: Record<string, unknown>;
  let sourceConfig: StackConfig;
  try {
    sourceValues = readStackValues(source.text, sourceFile);
    sourceConfig = parseStackConfig(sourceValues, sourceFile, options.from);
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("refused", `the source stack does not validate, so it cannot be promoted:\n${error.message}`);
    throw error;
  }
  const targetDoc = parseDocument(target.text);
  if (targetDoc.errors.length > 0) {
    const first = targetDoc.errors[0];
    throw new PromoteError("input", `${targetFile}: not valid YAML${first?.linePos ? ` at line ${first.linePos[0].line}` : ""}: ${first?.message.split("\n")[0] ?? ""}`);
  }
  let targetValues: Record<string, unknown>;
  try {
    targetValues = readStackValues(target.text, targetFile);
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("input", error.message);
    throw error;
  }
  const targetNames = Array.isArray(targetValues["models"]) ? targetValues["models"].map((m) => (m as { name?: unknown })?.name) : [];
  const unknownModels = (options.only ?? []).filter((name) => !sourceConfig.models.some((m) => m.name === name) && !targetNames.includes(name));
  if (unknownModels.length > 0) throw new PromoteError("input", `--only names models in neither stack: ${unknownModels.join(", ")}`);
  const changes = diffStacks(sourceValues, targetValues, options.only ? { only: options.only } : {});
  const models = [...new Set(changes.flatMap((c) => (c.kind === "set" ? (c.model ? [c.model] : []) : [c.model])))].sort();
  const result = { from: options.from, to: options.to, changes, models, affected: affectedModels(changes, sourceConfig) };

  const targetEnvironment = targetValues["environment"];
  if (typeof targetEnvironment === "string" && targetEnvironment in PROFILES && PROFILES[targetEnvironment as keyof typeof PROFILES].requirePins) {
    const tagOnly = tagOnlyImages(changes);
    if (tagOnly.length > 0) {
      throw new PromoteError("refused", `${targetEnvironment} needs digest-pinned images, and the source pins by tag only: ${tagOnly.join("; ")}. Pin them by digest in ${sourceFile} first (modelfleet pins resolve).`);
    }
  }
  if (changes.length === 0) return { ...result, written: false, formatting: "kept" };

  applyChanges(targetDoc, changes);
  const spliced = spliceDocument(target.text, targetDoc);
  const style = detectStyle(target.text);
  const updated = spliced ?? targetDoc.toString({ indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0 });
  try {
    parseStackConfig(readStackValues(updated, targetFile), targetFile, options.to);
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("refused", `the promoted ${targetFile} would not validate, so nothing was written:\n${error.message}`);
    throw error;
  }
  await checkPolicies(targetFile, updated);
  if (options.gate) {
    const reasons = await options.gate(sourceConfig, result.affected);
    if (reasons.length > 0) throw new PromoteError("refused", `not proven in ${sourceConfig.environment}, so nothing was written:\n${reasons.map((r) => `  - ${r}`).join("\n")}`);
  }
  const formatting = spliced === undefined ? "reprinted" : "kept";
  if (!options.write) return { ...result, written: false, formatting };
  await replaceFile(target.path, updated);
  return { ...result, written: true, formatting };
}

/** Write beside the file, keep its mode, then rename over it: readers see the old file or the new one, never half. */
async function replaceFile(path: string, text: string): Promise<void> {
  const { mode } = await stat(path);
  const staging = join(dirname(path), `.${basename(path)}.promote-${process.pid}`);
  try {
    await writeFile(staging, text, { mode: mode & 0o777, flag: "wx" });
    await rename(staging, path);
  } catch (error) {
    await rm(staging, { force: true });
    throw error;
  }
}

/** The policies over the promoted file (plaintext secrets and the like), judged as the real file would be. */
async function checkPolicies(fileName: string, text: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "modelfleet-promote-"));
  try {
    const file = join(dir, fileName);
    await writeFile(file, text);
    const report = await checkPaths([file]);
    const blocking = report.violations.filter(isBlocking);
    if (blocking.length > 0) {
      throw new PromoteError("refused", `the promoted ${fileName} fails the policies, so nothing was written:\n${blocking.map((v) => `  - [${v.ruleId}] ${v.fieldPath}: ${v.message}`).join("\n")}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The review text: one line per change. */
export function formatChanges(result: Pick<PromoteResult, "from" | "to" | "changes">): string {
  if (result.changes.length === 0) return `${result.from} → ${result.to}: nothing to promote; the promotable keys already match.\n`;
  const show = (value: unknown) => (value === undefined ? "(unset)" : JSON.stringify(value));
  const lines = result.changes.map((c) => {
    if (c.kind === "add-model") return `+ ${changePath(c)}: ${JSON.stringify(c.value)}`;
    if (c.kind === "remove-model") return `- ${changePath(c)}`;
    return `~ ${changePath(c)}: ${show(c.from)} → ${show(c.to)}`;
  });
  return `${result.from} → ${result.to}: ${result.changes.length} change(s) to promotable keys:\n${lines.map((l) => `  ${l}`).join("\n")}\n`;
}
