import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";

/** One `key = value` / `key: value` setting found in a config file held as a string (a ConfigMap value). */
export interface EmbeddedSetting {
  /** Dotted path of the key inside the file (`auth.postgresPassword`); the bare key for line-based files. */
  readonly key: string;
  /** The last key segment, which decides whether the setting looks secret or CORS-related. */
  readonly name: string;
  /** A string, a number, or a list of strings (a YAML/JSON sequence, or a `[...]` literal left as a string). */
  readonly value: unknown;
  /** Whether the value is a literal (quoted or plain data), as opposed to code such as `os.environ["X"]`. */
  readonly literal: boolean;
  /** 1-based line in the embedded file. */
  readonly line: number;
}

const STRUCTURED = /\.(ya?ml|json)$/i;
const PYTHON = /\.py$/i;

/**
 * The settings in an embedded config file. YAML and JSON (by file name, or any multi-line value that parses as a YAML
 * mapping) are walked as trees; anything else (.env, .py, .toml, .ini, .properties) is read line by line.
 */
export function embeddedSettings(fileName: string, text: string): EmbeddedSetting[] {
  if (!cache) return parseSettings(fileName, text);
  const key = `${fileName}\u0000${text}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const settings = parseSettings(fileName, text);
  cache.set(key, settings);
  return settings;
}

let cache: Map<string, EmbeddedSetting[]> | undefined;

/**
 * Runs one check with parsed embedded files shared between rules: several rules read the same ConfigMap values,
 * and a large one (a Grafana dashboard) is worth parsing once. The cache lives only as long as `fn`.
 */
export function withEmbeddedCache<T>(fn: () => T): T {
  const outer = cache;
  cache = outer ?? new Map();
  try {
    return fn();
  } finally {
    cache = outer;
  }
}

function parseSettings(fileName: string, text: string): EmbeddedSetting[] {
  if (STRUCTURED.test(fileName) || (!/\.\w+$/.test(fileName) && /^\s*[\w"'-]+\s*:(\s|$)/m.test(text) && !/^\s*[\w.-]+\s*=/m.test(text))) {
    const tree = structuredSettings(text);
    if (tree) return tree;
  }
  return lineSettings(text, PYTHON.test(fileName));
}

/**
 * Where a setting sits in an embedded file: map keys, and list indexes that `keyOf` appends to the key before them
 * (`servers[0].password`). Parent-linked, so walking a file nested 20,000 deep costs no more than its size.
 */
interface KeyLink {
  readonly segment: string | number;
  readonly parent: KeyLink | undefined;
}

/** Segments of a setting's dotted key shown at most; deeper keys keep their last segments, after `…`. */
const MAX_KEY_SEGMENTS = 12;

function keyOf(link: KeyLink | undefined): string {
  const parts: string[] = [];
  let names = 0;
  let cut = false;
  for (let l = link; l !== undefined; l = l.parent) {
    if (names >= MAX_KEY_SEGMENTS) {
      cut = true;
      break;
    }
    if (typeof l.segment === "number") parts.push(`[${l.segment}]`);
    else {
      parts.push(l.segment);
      names++;
    }
  }
  let out = cut ? "…" : "";
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i]!;
    out += part.startsWith("[") || out === "" || out === "…" ? part : `.${part}`;
  }
  return out;
}

/**
 * One-line JSON (generated files, e.g. a Grafana dashboard): every setting is on line 1, so JSON.parse serves.
 * Walked with an explicit stack, not recursion.
 */
function oneLineJsonSettings(text: string): EmbeddedSetting[] | undefined {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (root === null || typeof root !== "object" || Array.isArray(root)) return undefined;
  const out: EmbeddedSetting[] = [];
  const isScalarValue = (v: unknown) => v === null || typeof v !== "object";
  // Each entry is judged when popped, so settings come out in document order (a pre-order walk).
  const stack: { key: string | undefined; value: unknown; link: KeyLink | undefined }[] = [{ key: undefined, value: root, link: undefined }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    const { key, value, link } = step;
    if (key !== undefined && link !== undefined) {
      if (typeof value === "string" || typeof value === "number") {
        out.push({ key: keyOf(link), name: key, value, literal: true, line: 1 });
        continue;
      }
      if (Array.isArray(value) && value.every(isScalarValue)) {
        out.push({ key: keyOf(link), name: key, value: value.map((v) => String(v)), literal: true, line: 1 });
        continue;
      }
    }
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) stack.push({ key: undefined, value: value[index], link: { segment: index, parent: link } });
    } else if (value !== null && typeof value === "object") {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [childKey, child] = entries[i]!;
        stack.push({ key: childKey, value: child, link: { segment: childKey, parent: link } });
      }
    }
  }
  return out;
}

/** A YAML/JSON mapping, walked with an explicit stack; undefined when the text is not one (or the parser gives up on it). */
function structuredSettings(text: string): EmbeddedSetting[] | undefined {
  if (!text.trimEnd().includes("\n")) {
    const json = oneLineJsonSettings(text);
    if (json) return json;
  }
  const lineCounter = new LineCounter();
  let doc;
  try {
    doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  } catch (error) {
    // The parser recurses; on text nested deeper than it can follow, read the file line by line instead.
    if (error instanceof RangeError) return undefined;
    throw error;
  }
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const out: EmbeddedSetting[] = [];
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lineCounter.linePos(node.range[0]).line : 1);
  // Each pair is judged when popped, so settings come out in document order (a pre-order walk).
  const stack: { key: string | undefined; node: unknown; link: KeyLink | undefined }[] = [{ key: undefined, node: doc.contents, link: undefined }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    const { key, node, link } = step;
    if (key !== undefined && link !== undefined) {
      if (isScalar(node) && (typeof node.value === "string" || typeof node.value === "number")) {
        out.push({ key: keyOf(link), name: key, value: node.value, literal: true, line: lineOf(node) });
        continue;
      }
      if (isSeq(node) && node.items.every((item) => isScalar(item))) {
        const list = node.items.map((item) => (isScalar(item) ? String(item.value) : ""));
        out.push({ key: keyOf(link), name: key, value: list, literal: true, line: lineOf(node) });
        continue;
      }
    }
    if (isMap(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const pair = node.items[i];
        if (!isPair(pair)) continue;
        const childKey = isScalar(pair.key) ? String(pair.key.value) : "<complex key>";
        stack.push({ key: childKey, node: pair.value, link: { segment: childKey, parent: link } });
      }
    } else if (isSeq(node)) {
      for (let index = node.items.length - 1; index >= 0; index--) stack.push({ key: undefined, node: node.items[index], link: { segment: index, parent: link } });
    }
  }
  return out;
}

const ASSIGNMENT = /^\s*(?:export\s+)?["']?([A-Za-z_][\w.-]*)["']?\s*(?:=|:(?=\s|$))\s*(.*?)\s*$/;

function lineSettings(text: string, python: boolean): EmbeddedSetting[] {
  const out: EmbeddedSetting[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";") || line.startsWith("[")) return;
    const match = ASSIGNMENT.exec(raw);
    if (!match) return;
    const key = match[1]!;
    let value = match[2]!;
    let literal: boolean;
    const quoted = /^(["'])(.*)\1,?$/.exec(value);
    if (quoted) {
      value = quoted[2]!;
      literal = true;
    } else if (value.startsWith("[")) {
      literal = true;
    } else {
      value = value.replace(/\s+#.*$/, "").replace(/,$/, "");
      // In Python an unquoted right-hand side is code (os.environ["X"], settings.X), not data.
      literal = !python && !/[([]/.test(value);
    }
    const name = key.includes(".") ? key.slice(key.lastIndexOf(".") + 1) : key;
    out.push({ key, name, value, literal, line: index + 1 });
  });
  return out;
}
