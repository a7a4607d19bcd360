import { basename } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { joinPath, namesSecret, renderValue, ConfigError, type ConfigProblem } from "./problems.js";
import { STACK_FILE_MAX_ALIASES, STACK_FILE_MAX_BYTES, STACK_FILE_MAX_DEPTH, STACK_VALUES_MAX_NODES } from "./limits.js";
import { resolveStack } from "./resolve.js";
import { countDocumentMarkers, InputLimitError, isStackOverflowMessage, mebibytes, readRegularTextFileSync, yamlShapeProblem } from "./safe-input.js";
import { stackNameProblem } from "./stack-name.js";
import { checkCapacity } from "./capacity.js";
import { checkApiKey, checkCors, checkImages, checkLlamaCppCors, checkModels, checkModelStore, checkOffline, checkRegistry } from "./rules.js";
import { SECRET_KEYS, stackConfigSchema, type RawStackConfig } from "./schema.js";
import type { StackConfig } from "./types.js";

/**
 * The one way a stack config is read: file or Pulumi runtime → raw `modelfleet:` map → schema → defaults →
 * cross-field rules. Every problem is collected with its dot path and thrown once as a ConfigError.
 */

export const CONFIG_NAMESPACE = "modelfleet";

/** Stands in for a secret's value: parsing sees that a secret is there, never what it is. */
const SECRET_MARKER = { secure: "<pulumi secret>" } as const;

/**
 * A `--stack` value that is not a stack name. A ConfigError, so every command that already reports config errors
 * reports this one too; its message is one line (no file was read).
 */
export class StackNameError extends ConfigError {
  constructor(
    readonly stackName: string,
    problem: string,
  ) {
    super("--stack", [{ path: "", message: problem }]);
    this.name = "StackNameError";
    this.message = `--stack: ${problem}`;
  }
}

/**
 * `Pulumi.<stack>.yaml`. @throws StackNameError when `stack` is not a DNS label (`..`, `../../x`, `a/b`…), before
 * any disk access, so no command can be pointed outside the stack folder by its --stack value.
 */
export function stackFileName(stack: string): string {
  const problem = stackNameProblem(stack);
  if (problem !== undefined) throw new StackNameError(stack, problem);
  return `Pulumi.${stack}.yaml`;
}

/** `production` from `.../Pulumi.production.yaml`; undefined when the name does not follow Pulumi's pattern. */
export function stackNameOf(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(basename(file))?.[1];
}

function getPath(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function isSecretPath(path: readonly PropertyKey[]): boolean {
  const dotted = path.filter((p) => typeof p === "string").join(".");
  return SECRET_KEYS.some((key) => dotted === key || dotted.startsWith(`${key}.`));
}

/** Secret keys hold `{ secure: ... }`; anything else is a plaintext secret, reported without its value. */
function checkSecrets(values: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of SECRET_KEYS) {
    const parts = key.split(".");
    const value = getPath(values, parts);
    if (value === undefined) continue;
    const ok = value !== null && typeof value === "object" && typeof (value as { secure?: unknown }).secure === "string";
    if (!ok) {
      const flag = parts.length > 1 ? "--secret --path" : "--secret";
      problems.push({
        path: key,
        message: `must be a Pulumi secret, not plaintext (value not shown); remove it from the file and run \`pulumi config set ${flag} ${CONFIG_NAMESPACE}:${key} <value>\``,
      });
    }
  }
  return problems;
}

/** Replaces every secret key's value with the marker, so no later message can echo it. */
function redactSecrets(values: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(values);
  for (const key of SECRET_KEYS) {
    const parts = key.split(".");
    const parent = getPath(copy, parts.slice(0, -1));
    const leaf = parts[parts.length - 1] as string;
    if (parent !== null && typeof parent === "object" && leaf in parent) {
      (parent as Record<string, unknown>)[leaf] = { ...SECRET_MARKER };
    }
  }
  return copy;
}

function allowedKeysAt(path: readonly PropertyKey[]): string[] {
  let node: z.ZodType = stackConfigSchema;
  for (const part of path) {
    node = unwrap(node);
    const def = node.def as { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType };
    if (def.type === "object" && def.shape && typeof part === "string" && def.shape[part]) node = def.shape[part];
    else if (def.type === "array" && def.element && typeof part === "number") node = def.element;
    else return [];
  }
  const def = unwrap(node).def as { type: string; shape?: Record<string, unknown> };
  return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(node: z.ZodType): z.ZodType {
  let current = node;
  for (;;) {
    const def = current.def as { type: string; innerType?: z.ZodType };
    if ((def.type === "optional" || def.type === "default" || def.type === "nullable") && def.innerType) current = def.innerType;
    else return current;
  }
}

/** zod issues in our words: dot path, what was received, what is allowed. */
function schemaProblems(error: z.ZodError, input: Record<string, unknown>): ConfigProblem[] {
  return error.issues.flatMap((issue): ConfigProblem[] => {
    const path = issue.path;
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeysAt(path);
      return issue.keys.map((key) => ({
        path: joinPath([...path, key]),
        message: `unknown key (misspelt?); allowed here: ${allowed.join(", ")}`,
      }));
    }
    const value = getPath(input, path);
    let message = issue.message;
    if (issue.code === "invalid_key") message = issue.issues.map((i) => i.message).join("; ");
    else if (issue.code === "invalid_value") message = `must be one of ${issue.values.map((v) => String(v)).join(", ")}`;
    else if (issue.code === "invalid_type" && value === undefined) message = `missing; expected ${issue.expected}`;
    else if (issue.code === "invalid_type") message = `expected ${issue.expected}`;
    const last = [...path].reverse().find((p) => typeof p === "string");
    const received = value === undefined || isSecretPath(path) || (typeof last === "string" && namesSecret(last)) ? undefined : renderValue(value);
    return [{ path: joinPath(path), message, ...(received === undefined ? {} : { received }) }];
  });
}

/**
 * When the whole config does not parse, the rules whose sections did parse still run, so one pass reports a
 * wildcard origin next to a misspelt key. Model rules need every model resolved and wait for a valid shape.
 */
function sectionRules(input: Record<string, unknown>): ConfigProblem[] {
  const shape = stackConfigSchema.shape;
  const environment = shape.environment.safeParse(input["environment"]);
  const cors = shape.cors.safeParse(input["cors"]);
  const images = shape.images.safeParse(input["images"]);
  const out: ConfigProblem[] = [];
  if (cors.success) out.push(...checkCors({ cors: cors.data } as RawStackConfig));
  if (images.success && environment.success) {
    const offline = shape.offline.safeParse(input["offline"]);
    out.push(...checkImages({ environment: environment.data, images: images.data, ...(offline.success && offline.data ? { offline: offline.data } : {}) } as RawStackConfig).problems);
  }
  return out;
}

/**
 * Parses the `modelfleet:` keys of one stack (without the namespace prefix) into a StackConfig.
 * @throws ConfigError listing every problem, with `file` in each line.
 */
export function parseStackConfig(values: Record<string, unknown>, file: string, stack: string): StackConfig {
  const tooDeep = valuesShapeProblem(values);
  if (tooDeep) throw inputProblem(file, tooDeep);
  const secretProblems = checkSecrets(values);
  const input = redactSecrets(values);
  const parsed = stackConfigSchema.safeParse(input, { reportInput: false });
  if (!parsed.success) {
    throw new ConfigError(file, [...secretProblems, ...schemaProblems(parsed.error, input), ...sectionRules(input)]);
  }
  const raw: RawStackConfig = parsed.data;
  const images = checkImages(raw);
  const problems = [...secretProblems, ...images.problems, ...checkCors(raw), ...checkLlamaCppCors(raw), ...checkApiKey(raw), ...checkRegistry(raw), ...checkOffline(raw), ...checkModelStore(raw)];
  if (!images.images) throw new ConfigError(file, problems);
  const config = resolveStack(raw, stack, file, images.images);
  problems.push(...checkModels(raw, config.models));
  problems.push(...checkCapacity(config.models, config.gpu.pool, (name) => raw.models.findIndex((m) => m.name === name)));
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}

/**
 * Undefined when the values nest at most STACK_FILE_MAX_DEPTH levels and hold at most STACK_VALUES_MAX_NODES
 * values; otherwise why not. Iterative, so a value nested 100,000 deep (from JSON on the Pulumi path) is refused
 * instead of overflowing the stack of every later step.
 */
function valuesShapeProblem(values: Record<string, unknown>): string | undefined {
  const stack: Array<[unknown, number]> = [[values, 0]];
  let nodes = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (++nodes > STACK_VALUES_MAX_NODES) return `more than ${STACK_VALUES_MAX_NODES} values; a stack config holds settings, not data`;
    if (node === null || typeof node !== "object") continue;
    if (depth >= STACK_FILE_MAX_DEPTH) return `nested deeper than ${STACK_FILE_MAX_DEPTH} levels; a stack file's settings are a few levels deep`;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return undefined;
}

/** The stack file's problem as a ConfigError: one line, no value shown. */
function inputProblem(file: string, message: string): ConfigError {
  return new ConfigError(file, [{ path: "", message }]);
}

/**
 * The `modelfleet:` keys of a stack file's `config:` map, namespace stripped; other namespaces are left out. The text
 * is checked against the limits of config/limits.ts (size, binary content, one document, nesting depth,
 * aliases) before it is converted, so a hostile file is refused in linear time.
 */
export function readStackValues(text: string, file: string): Record<string, unknown> {
  if (text.length > STACK_FILE_MAX_BYTES || Buffer.byteLength(text, "utf8") > STACK_FILE_MAX_BYTES) {
    throw inputProblem(file, `larger than ${mebibytes(STACK_FILE_MAX_BYTES)}; a stack file holds settings, not data: move large content elsewhere`);
  }
  if (text.includes("\u0000")) throw inputProblem(file, "binary content (a NUL byte); a stack file is UTF-8 YAML text");
  if (countDocumentMarkers(text) > 2) throw inputProblem(file, "holds several YAML documents (---); a stack file is one document");
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const line = first?.linePos?.[0].line;
    if (first && isStackOverflowMessage(first.message)) throw inputProblem(file, `nested deeper than ${STACK_FILE_MAX_DEPTH} levels; a stack file's settings are a few levels deep`);
    throw new ConfigError(file, [{ path: "", message: `not valid YAML${line ? ` at line ${line}` : ""}: ${first?.message.split("\n")[0] ?? "parse error"}` }]);
  }
  const shape = yamlShapeProblem(doc, { maxDepth: STACK_FILE_MAX_DEPTH, maxAliases: STACK_FILE_MAX_ALIASES });
  if (shape) throw inputProblem(file, `${shape.message}; a stack file's settings are a few levels deep and need no more`);
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: STACK_FILE_MAX_ALIASES });
  } catch (error) {
    if (error instanceof ReferenceError) throw inputProblem(file, `YAML aliases expand to more than ${STACK_FILE_MAX_ALIASES} nodes (an alias bomb?); write the values out`);
    throw error;
  }
  const config = root !== null && typeof root === "object" ? (root as { config?: unknown }).config : undefined;
  if (config === undefined || config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new ConfigError(file, [{ path: "config", message: `missing; a stack file holds its settings under config:, as ${CONFIG_NAMESPACE}:<key> entries` }]);
  }
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    const prefix = `${CONFIG_NAMESPACE}:`;
    if (key.startsWith(prefix)) values[key.slice(prefix.length)] = value;
  }
  return values;
}

/**
 * Reads and parses a stack file. The stack's name comes from `Pulumi.<stack>.yaml`, or from `stackName` for a file
 * named otherwise. Only a regular file of at most STACK_FILE_MAX_BYTES is read (size checked before reading).
 * @throws ConfigError for bad content; a missing file says which.
 */
export function loadStackFile(path: string, stackName?: string): StackConfig {
  const file = basename(path);
  const stack = stackName ?? stackNameOf(path);
  if (stack === undefined) {
    throw new ConfigError(file, [{ path: "", message: "cannot tell the stack's name: name the file Pulumi.<stack>.yaml or pass --stack" }]);
  }
  let text: string;
  try {
    text = readRegularTextFileSync(path, STACK_FILE_MAX_BYTES, "a stack file holds settings, not data: move large content elsewhere");
  } catch (error) {
    if (!(error instanceof InputLimitError)) throw error;
    if (error.problem === "unreadable" && error.message.endsWith("no such file or directory")) {
      throw inputProblem(file, `no such file: ${path}; create it or pick an existing stack`);
    }
    throw inputProblem(file, error.message);
  }
  return parseStackConfig(readStackValues(text, file), file, stack);
}

/**
 * The `modelfleet:` map as the Pulumi language host hands it over: every value a string, structured values as
 * JSON, secrets already decrypted. Secret keys become the marker again so parsing treats both paths alike.
 */
export function valuesFromPulumiConfig(all: Readonly<Record<string, string>>, isSecret: (key: string) => boolean): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, text] of Object.entries(all)) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    let value: unknown = text;
    // Strings stay strings (a namespace "123" is not a number); objects, arrays and scalars come as JSON.
    if (!["environment", "namespace", "kubernetesVersion"].includes(name)) {
      try {
        value = JSON.parse(text);
      } catch {
        value = text;
      }
    }
    if (isSecret(key)) value = markSecrets(name, value);
    values[name] = value;
  }
  return values;
}

/** A secret top-level key, or secret keys inside a secret object, become markers; other values stay. */
function markSecrets(name: string, value: unknown): unknown {
  if ((SECRET_KEYS as readonly string[]).includes(name)) return { ...SECRET_MARKER };
  if (value === null || typeof value !== "object") return value;
  // Only a key holding nested secret keys is copied: a deeply nested value elsewhere would overflow structuredClone
  // before valuesShapeProblem refuses it.
  if (!SECRET_KEYS.some((key) => key.startsWith(`${name}.`))) return value;
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const key of SECRET_KEYS) {
    const [head, ...rest] = key.split(".");
    if (head !== name || rest.length === 0) continue;
    const parent = getPath(copy, rest.slice(0, -1));
    const leaf = rest[rest.length - 1] as string;
    if (parent !== null && typeof parent === "object" && leaf in parent) (parent as Record<string, unknown>)[leaf] = { ...SECRET_MARKER };
  }
  return copy;
}
