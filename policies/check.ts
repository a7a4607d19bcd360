import { readdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, parseDocument, Scalar, type Document } from "yaml";
import type { K8sObject } from "../components/shared/k8s-object.js";
import { isEnvironment, type Environment } from "../config/environments.js";
import { countDocumentMarkers, InputLimitError, isStackOverflowMessage, mebibytes, readRegularTextFile, yamlShapeProblem } from "../config/safe-input.js";
import { stackConfigObject, yamlDocumentObject } from "./documents.js";
import { withEmbeddedCache } from "./embedded-config.js";
import { fastParseDocuments, type FastDocument } from "./fast-yaml.js";
import type { PathSegment } from "./field-path.js";
import { isRecord } from "./k8s.js";
import { RULES } from "./rules/index.js";
import { DEFAULT_RULE_OPTIONS, type ReportedEnforcement, type RuleContext, type RuleId, type RuleOptions, type Source, type Violation } from "./types.js";

/** Kubernetes YAML is judged as production unless told otherwise: the strictest profile, so nothing passes by default. */
export const DEFAULT_ENVIRONMENT: Environment = "production";

/**
 * What `modelfleet check` reads at most, so hostile or accidental input (a 136 MB file, an alias bomb, a FIFO named
 * *.yaml) is refused in about the time it takes to look at it, not by running out of memory. Parsing takes about
 * 35 bytes of memory per byte of YAML, so the total bounds the peak at roughly 2.3 GB.
 */
export const CHECK_LIMITS = {
  /** One file; the size is checked (fstat) before the file is read. */
  fileMaxBytes: 16 * 1024 * 1024,
  /** All files of one run together, checked from their sizes before any is read. */
  totalMaxBytes: 64 * 1024 * 1024,
  /** Files in one run (paths given plus files found under folders). */
  maxFiles: 10_000,
  /** YAML documents in one file (`---` separated), counted before parsing. */
  maxDocumentsPerFile: 10_000,
  /** Nesting of maps and sequences in one document. */
  maxDepth: 100,
  /** Alias nodes (`*name`) in one document, and the nodes aliases may expand to (yaml's maxAliasCount). */
  maxAliases: 1_000,
} as const;

const SPLIT_HINT = "split it or check its parts separately";

/** `Pulumi.<stack>.yaml`, a stack config file (not `Pulumi.yaml`, the project file). */
const STACK_FILE = /^Pulumi\.([^.]+)\.ya?ml$/;

export interface CheckObjectsOptions {
  /** @default "yaml" — what synth produces and GitOps commits. */
  readonly source?: Source;
  /** @default DEFAULT_RULE_OPTIONS (everything strict) */
  readonly options?: Partial<RuleOptions>;
}

/**
 * Runs every rule over in-memory objects (what `modelfleet synth` builds) in one environment. Violations are sorted
 * by rule, object and field path, so the same objects give the same report.
 */
export function checkObjects(objects: readonly K8sObject[], environment: Environment, opts: CheckObjectsOptions = {}): Violation[] {
  const context: RuleContext = {
    environment,
    source: opts.source ?? "yaml",
    options: { ...DEFAULT_RULE_OPTIONS, ...opts.options },
  };
  const violations = withEmbeddedCache(() => RULES.flatMap((rule) => rule.check(objects, context)));
  return violations.sort((a, b) => compare(a.ruleId, b.ruleId) || compare(a.objectRef, b.objectRef) || compare(a.fieldPath, b.fieldPath) || compare(a.message, b.message));
}

/** A violation as `modelfleet check` reports it: where in which file, and whether it blocks. */
export interface CheckedViolation {
  readonly ruleId: RuleId;
  readonly enforcement: ReportedEnforcement;
  readonly waived: boolean;
  readonly waiverReason?: string;
  /** The file as given or found under a given folder. */
  readonly file: string;
  /** 1-based line of the field (or of its nearest existing parent when the field is missing). */
  readonly line: number;
  readonly objectRef: string;
  readonly fieldPath: string;
  readonly message: string;
}

export interface CheckReport {
  /** The environment Kubernetes YAML was judged in (stack files use their own). */
  readonly environment: Environment;
  readonly files: readonly string[];
  /** Stack files and the environment each was judged in. */
  readonly stacks: readonly { readonly file: string; readonly stack: string; readonly environment: Environment }[];
  /** Kubernetes objects plus non-Kubernetes YAML documents checked. */
  readonly objectCount: number;
  readonly violations: readonly CheckedViolation[];
  readonly summary: { readonly mandatory: number; readonly advisory: number; readonly waived: number };
}

export interface CheckPathsOptions {
  /** Environment for Kubernetes YAML. @default "production" */
  readonly environment?: Environment;
  /** @default DEFAULT_RULE_OPTIONS */
  readonly options?: Partial<RuleOptions>;
}

/** Input `modelfleet check` cannot judge: a path it cannot read, or YAML it cannot parse. The CLI exits 2. */
export class PolicyInputError extends Error {
  override readonly name = "PolicyInputError";
  constructor(
    /** `input-limit`: over one of CHECK_LIMITS (size, files, documents, depth, aliases). */
    readonly code: "unreadable-path" | "malformed-yaml" | "input-limit",
    readonly file: string,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

export function isPolicyInputError(error: unknown): error is PolicyInputError {
  return error instanceof PolicyInputError;
}

/** True when a report has a mandatory violation that no valid waiver covers: `modelfleet check` exits 1. */
export function isBlocking(violation: Pick<CheckedViolation, "enforcement" | "waived">): boolean {
  return violation.enforcement === "mandatory" && !violation.waived;
}

/**
 * Loads YAML files and folders (recursively: `.yaml`/`.yml`, multi-document, `helm template` output, List kinds),
 * and `Pulumi.<stack>.yaml` stack files, and runs every rule over them. Kubernetes objects from all paths are judged
 * together, so stack-level rules (NetworkPolicy and PDB coverage) see objects across files.
 * Only regular files are read (a symlink is followed only to one) and every input is bounded by CHECK_LIMITS.
 * @throws PolicyInputError on an unreadable path, malformed YAML (naming the file and line) or input over a limit.
 */
export async function checkPaths(paths: readonly string[], opts: CheckPathsOptions = {}): Promise<CheckReport> {
  const environment = opts.environment ?? DEFAULT_ENVIRONMENT;
  const files = await expandPaths(paths);
  if (files.length > CHECK_LIMITS.maxFiles) {
    throw new PolicyInputError("input-limit", paths[0] ?? "", `${files.length} files to check, more than the ${CHECK_LIMITS.maxFiles} allowed in one run; check fewer folders at a time`);
  }
  await checkTotalSize(files);
  const manifests: Loaded[] = [];
  const stacks: { file: string; stack: string; environment: Environment; loaded: Loaded }[] = [];
  let total = 0;
  for (const file of files) {
    const text = await readInput(file);
    // The sizes were summed before reading; files that grew meanwhile are caught here.
    total += text.length;
    if (total > CHECK_LIMITS.totalMaxBytes) throw totalTooLarge(file);
    const stackName = STACK_FILE.exec(basename(file))?.[1];
    if (stackName !== undefined) {
      const loaded = loadStackFile(file, text, stackName);
      const configured = isRecord(loaded.object["content"]) ? (loaded.object["content"] as Record<string, unknown>)["config"] : undefined;
      const declared = isRecord(configured) ? configured["modelfleet:environment"] : undefined;
      const env = isEnvironment(declared) ? declared : isEnvironment(stackName) ? stackName : environment;
      stacks.push({ file, stack: stackName, environment: env, loaded });
    } else {
      manifests.push(...loadYaml(file, text));
    }
  }
  const violations: CheckedViolation[] = [];
  const locate = (loaded: readonly Loaded[], found: readonly Violation[]): void => {
    const byObject = new Map(loaded.map((l) => [l.object, l]));
    for (const v of found) {
      const where = byObject.get(v.object);
      if (!where) continue;
      violations.push({
        ruleId: v.ruleId,
        enforcement: v.enforcement,
        waived: v.waiver !== undefined,
        ...(v.waiver ? { waiverReason: v.waiver.reason } : {}),
        file: where.file,
        line: where.line(v.path, v.embeddedLine),
        objectRef: v.objectRef,
        fieldPath: v.fieldPath,
        message: v.message,
      });
    }
  };
  locate(manifests, checkObjects(manifests.map((l) => l.object), environment, opts));
  for (const stack of stacks) locate([stack.loaded], checkObjects([stack.loaded.object], stack.environment, opts));
  violations.sort((a, b) => compare(a.file, b.file) || a.line - b.line || compare(a.ruleId, b.ruleId) || compare(a.objectRef, b.objectRef) || compare(a.fieldPath, b.fieldPath) || compare(a.message, b.message));
  return {
    environment,
    files,
    stacks: stacks.map(({ file, stack, environment: env }) => ({ file, stack, environment: env })),
    objectCount: manifests.length + stacks.length,
    violations,
    summary: {
      mandatory: violations.filter(isBlocking).length,
      advisory: violations.filter((v) => v.enforcement === "advisory" && !v.waived).length,
      waived: violations.filter((v) => v.waived).length,
    },
  };
}

/** An object loaded from a file, with a way to find the line of any path inside it. */
export interface Loaded {
  readonly object: K8sObject;
  readonly file: string;
  readonly line: (path: readonly PathSegment[], embeddedLine?: number) => number;
}

/**
 * How `loadYaml` reads YAML. `fast`: the fast reader (policies/fast-yaml.ts) where the text is in its subset, the
 * yaml library otherwise. `library`: the yaml library only, which the fast reader must agree with (tests compare).
 */
export type YamlReader = "fast" | "library";

/** Parses Kubernetes YAML: every document, List items expanded; non-Kubernetes documents become YamlDocument pseudo-objects. */
export function loadYaml(file: string, text: string, reader: YamlReader = "fast"): Loaded[] {
  const documents = countDocumentMarkers(text);
  if (documents > CHECK_LIMITS.maxDocumentsPerFile) {
    throw new PolicyInputError("input-limit", file, `${file}: about ${documents} YAML documents, more than the ${CHECK_LIMITS.maxDocumentsPerFile} allowed in one file; ${SPLIT_HINT}`);
  }
  // Generated YAML (helm template, kubectl, synth) is read by the fast reader, without source positions; a finding's
  // line comes from re-parsing its one document with the yaml library. Anything else takes the library path.
  const docs = (reader === "fast" ? fastDocuments(text) : undefined) ?? parsedDocuments(file, text);
  const out: Loaded[] = [];
  docs.forEach(({ value, locate }, index) => {
    const locator = (base: readonly PathSegment[]) => (path: readonly PathSegment[], embeddedLine?: number) => locate([...base, ...path], embeddedLine);
    if (isKubernetesObject(value)) {
      const items = value["items"];
      if (value.kind.endsWith("List") && Array.isArray(items)) {
        items.forEach((item, i) => {
          if (isKubernetesObject(item)) out.push({ object: withName(item), file, line: locator(["items", i]) });
        });
      } else {
        out.push({ object: withName(value), file, line: locator([]) });
      }
    } else if (isRecord(value)) {
      const name = docs.length > 1 ? `${basename(file)}#${index + 1}` : basename(file);
      out.push({ object: yamlDocumentObject(name, value), file, line: locator([]) });
    }
  });
  return out;
}

type Locate = (path: readonly PathSegment[], embeddedLine?: number) => number;

/** The documents of a file by the yaml library, with positions: errors and limits reported as before. */
function parsedDocuments(file: string, text: string): { value: unknown; locate: Locate }[] {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter });
  const docs = Array.isArray(parsed) ? parsed : [];
  return docs.map((doc) => {
    failOnErrors(file, doc, lineCounter);
    // An empty document (`---` separators, comment-only `# Source:` blocks) holds nothing to judge.
    const value = doc.contents === null ? null : boundedToJS(file, doc, lineCounter);
    return { value, locate: (path: readonly PathSegment[], embeddedLine?: number) => lineOf(doc, lineCounter, path, embeddedLine) };
  });
}

/**
 * The documents of a file by the fast reader; a document outside its subset by the yaml library, alone. Undefined
 * (read the whole file with the library, which reports errors and limits as it always has) when the fast reader
 * gives up on the file, or a document it handed over has an error or is over a limit.
 */
function fastDocuments(text: string): { value: unknown; locate: Locate }[] | undefined {
  const fast = fastParseDocuments(text);
  // Nothing to gain when the one document of a file is handed over: the library reads the file once, as before.
  if (!fast || (fast.length === 1 && fast[0]!.fallback)) return undefined;
  const out: { value: unknown; locate: Locate }[] = [];
  for (const doc of fast) {
    if (!doc.fallback) {
      out.push({ value: doc.value, locate: lazyLocator(text, doc) });
      continue;
    }
    const lineCounter = new LineCounter();
    const parsed = parseDocument(text.slice(doc.start, doc.end), { lineCounter });
    if (parsed.errors.length > 0 || yamlShapeProblem(parsed, { maxDepth: CHECK_LIMITS.maxDepth, maxAliases: CHECK_LIMITS.maxAliases })) return undefined;
    let value: unknown;
    try {
      value = parsed.toJS({ maxAliasCount: CHECK_LIMITS.maxAliases });
    } catch (error) {
      if (error instanceof ReferenceError) return undefined;
      throw error;
    }
    out.push({ value, locate: (path, embeddedLine) => lineOf(parsed, lineCounter, path, embeddedLine) + doc.firstLine - 1 });
  }
  return out;
}

/**
 * Lines for a document the fast reader parsed: on the first finding, its text alone is parsed by the yaml library
 * with positions (the same nodes, since a document stands on its own), and lines are shifted to the file's.
 */
function lazyLocator(text: string, fast: FastDocument): Locate {
  let parsed: { doc: Document; lineCounter: LineCounter } | undefined;
  return (path, embeddedLine) => {
    if (!parsed) {
      const lineCounter = new LineCounter();
      parsed = { doc: parseDocument(text.slice(fast.start, fast.end), { lineCounter }), lineCounter };
    }
    return lineOf(parsed.doc, parsed.lineCounter, path, embeddedLine) + fast.firstLine - 1;
  };
}

function loadStackFile(file: string, text: string, stack: string): Loaded {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  failOnErrors(file, doc, lineCounter);
  return {
    object: stackConfigObject(stack, boundedToJS(file, doc, lineCounter) ?? {}),
    file,
    line: (path, embeddedLine) => lineOf(doc, lineCounter, path, embeddedLine),
  };
}

/** The document as plain data, once its depth and aliases are within CHECK_LIMITS. */
function boundedToJS(file: string, doc: Document, lineCounter: LineCounter): unknown {
  const shape = yamlShapeProblem(doc, { maxDepth: CHECK_LIMITS.maxDepth, maxAliases: CHECK_LIMITS.maxAliases });
  const line = (): number => lineCounter.linePos(doc.contents?.range?.[0] ?? 0).line;
  if (shape) throw new PolicyInputError("input-limit", file, `${file}:${line()}: ${shape.message}; ${SPLIT_HINT}`, line());
  try {
    return doc.toJS({ maxAliasCount: CHECK_LIMITS.maxAliases });
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    throw new PolicyInputError("input-limit", file, `${file}:${line()}: YAML aliases expand to more than ${CHECK_LIMITS.maxAliases} nodes (an alias bomb?); write the values out`, line());
  }
}

/** Reads one input file: regular files only, at most CHECK_LIMITS.fileMaxBytes, UTF-8 text. */
async function readInput(file: string): Promise<string> {
  try {
    return await readRegularTextFile(file, CHECK_LIMITS.fileMaxBytes, SPLIT_HINT);
  } catch (error) {
    if (!(error instanceof InputLimitError)) throw error;
    const code = error.problem === "too-large" ? "input-limit" : error.problem === "binary" ? "malformed-yaml" : "unreadable-path";
    throw new PolicyInputError(code, file, error.message);
  }
}

function totalTooLarge(file: string): PolicyInputError {
  return new PolicyInputError("input-limit", file, `the files to check add up to more than ${mebibytes(CHECK_LIMITS.totalMaxBytes)} (the limit of one run, reached at ${file}); check fewer folders at a time`);
}

/** Sums the sizes of every file (stat: no file is opened, so a FIFO cannot block) before any is read. */
async function checkTotalSize(files: readonly string[]): Promise<void> {
  let total = 0;
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    // Unreadable and non-regular files are reported by readInput, in path order.
    if (!info?.isFile()) continue;
    if (info.size > CHECK_LIMITS.fileMaxBytes) {
      throw new PolicyInputError("input-limit", file, `${file}: ${info.size} bytes (${mebibytes(info.size)}), more than the ${mebibytes(CHECK_LIMITS.fileMaxBytes)} allowed; ${SPLIT_HINT}`);
    }
    total += info.size;
    if (total > CHECK_LIMITS.totalMaxBytes) throw totalTooLarge(file);
  }
}

function failOnErrors(file: string, doc: Document, lineCounter: LineCounter): void {
  const error = doc.errors[0];
  if (!error) return;
  const line = error.linePos?.[0]?.line ?? lineCounter.linePos(error.pos[0]).line;
  if (isStackOverflowMessage(error.message)) {
    throw new PolicyInputError("input-limit", file, `${file}:${line}: nested deeper than ${CHECK_LIMITS.maxDepth} levels; ${SPLIT_HINT}`, line);
  }
  const reason = error.message.split("\n")[0];
  throw new PolicyInputError("malformed-yaml", file, `${file}:${line}: malformed YAML: ${reason}. Fix the file (or remove it from the paths) and run again.`, line);
}

function isKubernetesObject(value: unknown): value is K8sObject {
  return isRecord(value) && typeof value["apiVersion"] === "string" && typeof value["kind"] === "string" && isRecord(value["metadata"] ?? {});
}

/** Objects without metadata or a name (a Kustomization, a generateName template) are named `(unnamed)` in reports. */
function withName(object: K8sObject): K8sObject {
  if (typeof object.metadata?.name === "string") return object;
  return { ...object, metadata: { ...object.metadata, name: "(unnamed)" } };
}

/**
 * The line of `path` in the document: of the key when the path ends at a map entry, of the nearest existing parent
 * when part of the path is missing (a rule reporting an absent field). For a finding inside a block scalar
 * (`settings.py: |`), the embedded line is added.
 */
function lineOf(doc: Document, lineCounter: LineCounter, path: readonly PathSegment[], embeddedLine?: number): number {
  let node: unknown = doc.contents;
  let offset = isScalar(node) || isMap(node) || isSeq(node) ? (node.range?.[0] ?? 0) : 0;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? offset) : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number" && node.items[segment] !== undefined) {
      node = node.items[segment];
      offset = isScalar(node) || isMap(node) || isSeq(node) ? (node.range?.[0] ?? offset) : offset;
    } else {
      break;
    }
  }
  const line = lineCounter.linePos(offset).line;
  if (embeddedLine !== undefined && isScalar(node) && (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED)) {
    return lineCounter.linePos(node.range?.[0] ?? offset).line + embeddedLine;
  }
  return line;
}

async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    out.push(file);
  };
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw new PolicyInputError("unreadable-path", path, `${path}: cannot read: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file or directory" : (error as Error).message}`);
    }
    if (info.isDirectory()) for (const file of await yamlFilesUnder(path)) add(file);
    else add(path);
  }
  return out;
}

async function yamlFilesUnder(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new PolicyInputError("unreadable-path", dir, `${dir}: cannot read: ${(error as Error).message}`);
  }
  entries.sort((a, b) => compare(a.name, b.name));
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFilesUnder(full)));
    else if (/\.ya?ml$/i.test(entry.name)) out.push(full);
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
