import { mkdtemp, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseDocument } from "yaml";
import { checkPaths, isBlocking } from "../policies/check.js";
import { parseStackConfig, readStackValues, stackFileName } from "../config/load.js";
import { ConfigError } from "../config/problems.js";
import { STACK_FILE_MAX_BYTES } from "../config/limits.js";
import { InputLimitError, readRegularTextFile } from "../config/safe-input.js";
import { stackNameProblem } from "../config/stack-name.js";
import { PROFILES } from "../config/profiles.js";
import type { StackConfig } from "../config/types.js";
import { parseImageRef } from "../config/image-ref.js";
import { rewriteFileLocked, StackFileWriteError } from "../files/stack-file-write.js";
import { expandSharedAnchors, type Expansion } from "./anchors.js";
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
  /** With `write`: how long to wait for another writer's lock on the target. @default 30 */
  readonly lockTimeoutSeconds?: number;
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
   * Aliases of shared YAML anchors written out in full so that only the promoted values change (see anchors.ts):
   * their lines move in the file though their values stay.
   */
  readonly expanded: readonly Expansion[];
  /**
   * `kept`: untouched lines of the target are byte-identical; `reprinted`: an edit needed the whole file printed
   * again by the YAML writer (comments and key order still kept, spacing may differ).
   */
  readonly formatting: "kept" | "reprinted";
}

interface StackText {
  /** The path as named (`<dir>/Pulumi.<stack>.yaml`), maybe a symlink. */
  readonly path: string;
  /** The file it resolves to, for "same file" checks. */
  readonly real: string;
  readonly text: string;
}

async function readStack(dir: string, stack: string): Promise<StackText> {
  const problem = stackNameProblem(stack);
  if (problem !== undefined) throw new PromoteError("input", problem);
  const path = join(dir, stackFileName(stack));
  try {
    return { path, real: await realpath(path), text: await readRegularTextFile(path, STACK_FILE_MAX_BYTES, "a stack file holds config, not data") };
  } catch (error) {
    if (error instanceof InputLimitError) throw new PromoteError("input", error.message);
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
 * The image pins a stack-wide change moves: `images.vllm` one entry; `images` whole (a target without an `images`
 * map, or one that is not a map) every entry that differs.
 */
function repinnedImages(change: Extract<Change, { kind: "set" }>): string[] {
  if (change.key.startsWith("images.")) return [change.key.slice("images.".length)];
  if (change.key !== "images") return [];
  const entries = (value: unknown): Record<string, unknown> => (value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
  const from = entries(change.from);
  const to = entries(change.to);
  return [...new Set([...Object.keys(from), ...Object.keys(to)])].filter((name) => !isDeepStrictEqual(from[name], to[name]));
}

/**
 * The models a promotion changes what runs for (models pick their image by engine: `images[model.engine]`): those whose own promotable keys change (added ones included), and
 * every model of the result whose engine's image pin changes. Removed models are not among them.
 */
export function affectedModels(changes: readonly Change[], source: StackConfig): string[] {
  const names = new Set<string>();
  const removed = new Set(changes.flatMap((c) => (c.kind === "remove-model" ? [c.model] : [])));
  for (const change of changes) {
    if (change.kind === "add-model" || (change.kind === "set" && change.model !== undefined)) names.add(change.model as string);
    if (change.kind === "set" && change.model === undefined) {
      for (const engine of repinnedImages(change)) for (const model of source.models) if (model.engine === engine) names.add(model.name);
    }
  }
  return [...names].filter((name) => !removed.has(name) && source.models.some((m) => m.name === name)).sort();
}

/**
 * Promotes the promotable keys of one stack file into another. The source must validate; the result must validate
 * (schema, rules and policies) and pass the gate before anything is written. With `write`, the whole
 * read-diff-check-write runs under the target's lock (files/stack-file-write.ts): the target is re-read under the
 * lock, so two promotes at once both land, and the real file behind a symlink is replaced atomically, keeping its
 * mode, owner and line endings. With no `write`, nothing is touched. Every refusal leaves the target byte-identical.
 */
export async function promote(options: PromoteOptions): Promise<PromoteResult> {
  const dir = resolve(options.dir ?? process.cwd());
  const source = await readStack(dir, options.from);
  const target = await readStack(dir, options.to);
  if (source.real === target.real) {
    const same = source.path === target.path ? basename(source.path) : `${basename(source.path)} and ${basename(target.path)} (the same file through a symlink)`;
    throw new PromoteError("input", `--from and --to both name ${same}; promote from one stack to another`);
  }
  const sourceFile = basename(source.path);
  let sourceValues: Record<string, unknown>;
  let sourceConfig: StackConfig;
  try {
    sourceValues = readStackValues(source.text, sourceFile);
    sourceConfig = parseStackConfig(sourceValues, sourceFile, options.from);
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("refused", `the source stack does not validate, so it cannot be promoted:\n${error.message}`);
    throw error;
  }
  const input: PlanInput = { options, sourceFile, sourceValues, sourceConfig, targetFile: basename(target.path) };
  if (!options.write) {
    const planned = await plan(input, target.text);
    return { ...planned.result, written: false };
  }
  let planned: Planned | undefined;
  try {
    const outcome = await rewriteFileLocked(
      target.path,
      async (text) => {
        planned = await plan(input, text);
        return planned.updated;
      },
      options.lockTimeoutSeconds === undefined ? {} : { lockTimeoutSeconds: options.lockTimeoutSeconds },
    );
    return { ...(planned as Planned).result, written: outcome.written };
  } catch (error) {
    if (error instanceof StackFileWriteError) throw new PromoteError(error.kind === "input" ? "input" : "refused", `${error.message}`);
    throw error;
  }
}

interface PlanInput {
  readonly options: PromoteOptions;
  readonly sourceFile: string;
  readonly sourceValues: Record<string, unknown>;
  readonly sourceConfig: StackConfig;
  readonly targetFile: string;
}

interface Planned {
  readonly result: Omit<PromoteResult, "written">;
  /** The new target text, when there is something to write and every check passed. */
  readonly updated?: string;
}

/** Everything but the write: diff, edit, validation, policies and gate, over one reading of the target's text. */
async function plan(input: PlanInput, targetText: string): Promise<Planned> {
  const { options, sourceFile, sourceValues, sourceConfig, targetFile } = input;
  const targetDoc = parseDocument(targetText);
  if (targetDoc.errors.length > 0) {
    const first = targetDoc.errors[0];
    throw new PromoteError("input", `${targetFile}: not valid YAML${first?.linePos ? ` at line ${first.linePos[0].line}` : ""}: ${first?.message.split("\n")[0] ?? ""}`);
  }
  let targetValues: Record<string, unknown>;
  try {
    targetValues = readStackValues(targetText, targetFile);
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("input", error.message);
    throw error;
  }
  const targetNames = Array.isArray(targetValues["models"]) ? targetValues["models"].map((m) => (m as { name?: unknown })?.name) : [];
  const unknownModels = (options.only ?? []).filter((name) => !sourceConfig.models.some((m) => m.name === name) && !targetNames.includes(name));
  if (unknownModels.length > 0) throw new PromoteError("input", `--only names models in neither stack: ${unknownModels.join(", ")}`);
  const changes = diffStacks(sourceValues, targetValues, options.only ? { only: options.only } : {});
  const models = [...new Set(changes.flatMap((c) => (c.kind === "set" ? (c.model ? [c.model] : []) : [c.model])))].sort();
  const base = { from: options.from, to: options.to, changes, models, affected: affectedModels(changes, sourceConfig), expanded: [] as Expansion[] };

  const targetEnvironment = targetValues["environment"];
  if (typeof targetEnvironment === "string" && targetEnvironment in PROFILES && PROFILES[targetEnvironment as keyof typeof PROFILES].requirePins) {
    const tagOnly = tagOnlyImages(changes);
    if (tagOnly.length > 0) {
      throw new PromoteError("refused", `${targetEnvironment} needs digest-pinned images, and the source pins by tag only: ${tagOnly.join("; ")}. Pin them by digest in ${sourceFile} first (modelfleet pins resolve).`);
    }
  }
  if (changes.length === 0) return { result: { ...base, formatting: "kept" } };

  const expected = expectedDocument(targetDoc.toJS() as Record<string, unknown>, changes);
  const expanded = expandSharedAnchors(targetDoc, changes);
  applyChanges(targetDoc, changes);
  const spliced = spliceDocument(targetText, targetDoc);
  const style = detectStyle(targetText);
  const updated = spliced ?? targetDoc.toString({ indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0 });
  // The edit must change exactly what the diff says, nothing else (an alias, a duplicate, a reprint quirk).
  const written = parseDocument(updated).toJS() as unknown;
  if (!isDeepStrictEqual(written, expected)) {
    throw new PromoteError("refused", `editing ${targetFile} would change values the diff does not show (shared YAML anchors or aliases?), so nothing was written; write the affected entries out in full and retry`);
  }
  try {
    parseStackConfig(readStackValues(updated, targetFile), targetFile, options.to);
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("refused", `the promoted ${targetFile} would not validate, so nothing was written:\n${error.message}`);
    throw error;
  }
  await checkPolicies(targetFile, updated);
  if (options.gate) {
    const reasons = await options.gate(sourceConfig, base.affected);
    if (reasons.length > 0) throw new PromoteError("refused", `not proven in ${sourceConfig.environment}, so nothing was written:\n${reasons.map((r) => `  - ${r}`).join("\n")}`);
  }
  return { result: { ...base, expanded, formatting: spliced === undefined ? "reprinted" : "kept" }, updated };
}

/** The target file's values as they must read after `changes`: the diff applied to plain data. */
function expectedDocument(root: Record<string, unknown>, changes: readonly Change[]): unknown {
  const copy = structuredClone(root);
  const config = copy["config"] as Record<string, unknown>;
  for (const change of changes) {
    if (change.kind === "set") {
      let node = config as Record<string | number, unknown>;
      for (const key of change.path.slice(0, -1)) {
        if (node[key] === null || typeof node[key] !== "object") node[key] = {};
        node = node[key] as Record<string | number, unknown>;
      }
      const last = change.path[change.path.length - 1] as string | number;
      if (change.to === undefined) delete node[last];
      else node[last] = structuredClone(change.to);
    } else if (change.kind === "add-model") {
      const list = config["modelfleet:models"];
      if (Array.isArray(list)) list.push(structuredClone(change.value));
      else config["modelfleet:models"] = [structuredClone(change.value)];
    }
  }
  const removed = new Set(changes.flatMap((c) => (c.kind === "remove-model" ? [c.model] : [])));
  const list = config["modelfleet:models"];
  if (removed.size > 0 && Array.isArray(list)) config["modelfleet:models"] = list.filter((m) => !(m !== null && typeof m === "object" && removed.has(String((m as { name?: unknown }).name))));
  return copy;
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
