import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { checkPaths, isBlocking } from "../../policies/check.js";
import { loadStackFile, parseStackConfig, readStackValues, stackFileName } from "../config/load.js";
import { ConfigError } from "../config/problems.js";
import { PROFILES } from "../profiles.js";
import type { StackConfig } from "../config/types.js";
import { parseImageRef } from "../config/image-ref.js";
import { applyChanges } from "./apply.js";
import { changePath, diffStacks, type Change } from "./diff.js";

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
  /** Checked after validation, before writing; returns reasons to refuse (the registry gate). */
  readonly gate?: (source: StackConfig, models: readonly string[]) => Promise<readonly string[]>;
}

export interface PromoteResult {
  readonly from: string;
  readonly to: string;
  readonly changes: readonly Change[];
  readonly written: boolean;
  /** The models whose promotable keys change (added, changed or removed). */
  readonly models: readonly string[];
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
 * Promotes the promotable keys of one stack file into another. The source must validate; the result must validate
 * (schema, rules and policies) before anything is written; the write replaces the file atomically. With no
 * `write`, nothing is touched.
 */
export async function promote(options: PromoteOptions): Promise<PromoteResult> {
  const dir = resolve(options.dir ?? process.cwd());
  const source = await readStack(dir, options.from);
  const target = await readStack(dir, options.to);
  let sourceConfig: StackConfig;
  try {
    sourceConfig = loadStackFile(source.path);
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("refused", `the source stack does not validate, so it cannot be promoted:\n${error.message}`);
    throw error;
  }
  const targetDoc = parseDocument(target.text, { keepSourceTokens: false });
  if (targetDoc.errors.length > 0) {
    const first = targetDoc.errors[0];
    throw new PromoteError("input", `${basename(target.path)}: not valid YAML${first?.linePos ? ` at line ${first.linePos[0].line}` : ""}: ${first?.message.split("\n")[0] ?? ""}`);
  }
  const sourceValues = readStackValues(source.text, basename(source.path));
  let targetValues: Record<string, unknown>;
  try {
    targetValues = readStackValues(target.text, basename(target.path));
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("input", error.message);
    throw error;
  }
  const targetNames = Array.isArray(targetValues["models"]) ? targetValues["models"].map((m) => (m as { name?: unknown })?.name) : [];
  const unknownModels = (options.only ?? []).filter((name) => !sourceConfig.models.some((m) => m.name === name) && !targetNames.includes(name));
  if (unknownModels.length > 0) throw new PromoteError("input", `--only names models in neither stack: ${unknownModels.join(", ")}`);
  const changes = diffStacks(sourceValues, targetValues, options.only ? { only: options.only } : {});
  const models = [...new Set(changes.flatMap((c) => (c.kind === "set" ? (c.model ? [c.model] : []) : [c.model])))].sort();
  const result = { from: options.from, to: options.to, changes, models };

  const targetEnvironment = targetValues["environment"];
  if (typeof targetEnvironment === "string" && targetEnvironment in PROFILES && PROFILES[targetEnvironment as keyof typeof PROFILES].requirePins) {
    const tagOnly = tagOnlyImages(changes);
    if (tagOnly.length > 0) {
      throw new PromoteError("refused", `${targetEnvironment} needs digest-pinned images, and the source pins by tag only: ${tagOnly.join("; ")}. Pin them by digest in ${basename(source.path)} first.`);
    }
  }
  if (changes.length === 0) return { ...result, written: false };

  applyChanges(targetDoc, changes);
  const updated = targetDoc.toString({ lineWidth: 0 });
  try {
    parseStackConfig(readStackValues(updated, basename(target.path)), basename(target.path), options.to);
  } catch (error) {
    if (error instanceof ConfigError) throw new PromoteError("refused", `the promoted ${basename(target.path)} would not validate, so nothing was written:\n${error.message}`);
    throw error;
  }
  await checkPolicies(basename(target.path), updated);
  if (options.gate) {
    const reasons = await options.gate(sourceConfig, models);
    if (reasons.length > 0) throw new PromoteError("refused", `not proven in ${sourceConfig.environment}, so nothing was written:\n${reasons.map((r) => `  - ${r}`).join("\n")}`);
  }
  if (!options.write) return { ...result, written: false };
  const staging = `${target.path}.promote-${process.pid}`;
  await writeFile(staging, updated);
  await rename(staging, target.path);
  return { ...result, written: true };
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
