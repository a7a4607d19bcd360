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

/** One-line JSON (generated files, e.g. a Grafana dashboard): every setting is on line 1, so JSON.parse serves. */
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
  const walk = (node: unknown, keyPath: string[]): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, [...keyPath.slice(0, -1), `${keyPath[keyPath.length - 1] ?? ""}[${index}]`]));
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      const path = [...keyPath, key];
      if (typeof value === "string" || typeof value === "number") out.push({ key: path.join("."), name: key, value, literal: true, line: 1 });
      else if (Array.isArray(value) && value.every(isScalarValue)) out.push({ key: path.join("."), name: key, value: value.map((v) => String(v)), literal: true, line: 1 });
      else walk(value, path);
    }
  };
  walk(root, []);
  return out;
}

function structuredSettings(text: string): EmbeddedSetting[] | undefined {
  if (!text.trimEnd().includes("\n")) {
    const json = oneLineJsonSettings(text);
    if (json) return json;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  const out: EmbeddedSetting[] = [];
  const lineOf = (node: Node | null | undefined): number => (node?.range ? lineCounter.linePos(node.range[0]).line : 1);
  const walk = (node: unknown, keyPath: string[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const path = [...keyPath, key];
        const value = pair.value;
        if (isScalar(value) && (typeof value.value === "string" || typeof value.value === "number")) {
          out.push({ key: path.join("."), name: key, value: value.value, literal: true, line: lineOf(value) });
        } else if (isSeq(value) && value.items.every((item) => isScalar(item))) {
          const list = value.items.map((item) => (isScalar(item) ? String(item.value) : ""));
          out.push({ key: path.join("."), name: key, value: list, literal: true, line: lineOf(value) });
        } else {
          walk(value, path);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => walk(item, [...keyPath.slice(0, -1), `${keyPath[keyPath.length - 1] ?? ""}[${index}]`]));
    }
  };
  walk(doc.contents, []);
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
