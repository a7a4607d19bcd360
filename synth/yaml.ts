/**
 * A small YAML emitter for the plain JSON-like objects synth writes (maps, arrays, strings, finite numbers,
 * booleans, null). It replaces the `yaml` library on this path: building that library's document tree for every
 * object was ~40% of synth's time. One fixed style, so the same value always gives the same bytes:
 *
 * - block maps and sequences, two spaces per level, sequences indented under their key (`key:\n  - item`); keys
 *   in the order given (callers sort them); `{}` / `[]` for empty ones; an `undefined` map value is left out;
 * - a string is written plain when no YAML 1.1 or 1.2 reader (kubectl's included) could take it for anything else
 *   (a number, a boolean such as `yes`/`on`, null, a date, an indicator); a multi-line string as a literal block
 *   (`|`, `|-` or `|+` by its trailing newlines); anything else single-quoted when it holds `"` and no `'`,
 *   otherwise double-quoted with JSON escapes (which YAML reads the same way);
 * - no line folding, no anchors, no tags, no comments.
 *
 * What it writes parses back to the same value (test/synth/yaml.test.ts checks this for arbitrary values).
 * @throws TypeError for values JSON cannot carry (non-finite numbers, functions, class instances).
 */
export function emitYaml(value: unknown): string {
  const out: string[] = [];
  if (isCollection(value) && !isEmpty(value)) block(value, 0, out);
  else scalarLine("", value, 0, out);
  return `${out.join("\n")}\n`;
}

type Collection = readonly unknown[] | Readonly<Record<string, unknown>>;

function isCollection(value: unknown): value is Collection {
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) throw new TypeError(`cannot write ${Object.prototype.toString.call(value)} as YAML: only plain objects, arrays and scalars`);
  return true;
}

function isEmpty(value: Collection): boolean {
  if (Array.isArray(value)) return value.length === 0;
  for (const key in value) if ((value as Record<string, unknown>)[key] !== undefined) return false;
  return true;
}

const PADS: string[] = [""];
function pad(n: number): string {
  while (PADS.length <= n) PADS.push(" ".repeat(PADS.length));
  return PADS[n] as string;
}

/** A non-empty collection as lines at `indent`. */
function block(value: Collection, indent: number, out: string[]): void {
  const p = pad(indent);
  if (Array.isArray(value)) {
    for (const item of value as readonly unknown[]) {
      if (isCollection(item) && !isEmpty(item)) {
        // The item's own lines at indent + 2, its first line taking the "- " marker.
        const start = out.length;
        block(item, indent + 2, out);
        out[start] = `${p}- ${(out[start] as string).slice(indent + 2)}`;
      } else scalarLine(`${p}- `, item === undefined ? null : item, indent, out);
    }
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    if (item === undefined) continue;
    const k = scalarKey(key);
    if (isCollection(item) && !isEmpty(item)) {
      out.push(`${p}${k}:`);
      block(item, indent + 2, out);
    } else scalarLine(`${p}${k}: `, item, indent, out);
  }
}

/** `prefix` (`key: ` or `- `) and a scalar or empty collection; a literal block's content lines follow at `indent + 2`. */
function scalarLine(prefix: string, value: unknown, indent: number, out: string[]): void {
  if (typeof value === "string") {
    if (isPlain(value)) {
      out.push(prefix + value);
      return;
    }
    const literal = literalBlock(value, indent);
    if (literal) {
      out.push(prefix + literal.header);
      for (const line of literal.lines) out.push(line);
      return;
    }
    out.push(prefix + quoted(value));
    return;
  }
  out.push(prefix + inline(value));
}

/** A non-string scalar, or an empty collection, on one line. */
function inline(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} as YAML: JSON has no non-finite numbers`);
      return String(value); // as JSON writes it: -0 becomes 0
    case "string":
      if (isPlain(value)) return value;
      return quoted(value);
    case "object":
      if (Array.isArray(value)) return "[]";
      isCollection(value);
      return "{}";
    default:
      throw new TypeError(`cannot write a ${typeof value} as YAML`);
  }
}

// Strings YAML 1.1 or 1.2 resolves to something else: booleans, null, the merge and value keys.
const SPECIAL_WORDS = new Set([
  "", "~", "<<", "=",
  ..."y yes n no true false on off null".split(" ").flatMap((w) => [w, w[0]!.toUpperCase() + w.slice(1), w.toUpperCase()]),
]);
// Numbers in either version: ints and floats (with `_`, a bare `.` or exponent-only as YAML 1.1 reads them),
// binary/octal/hex, sexagesimal (1.1), .inf/.nan.
const NUMBER = /^[-+]?(?:(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|\.(?:inf|Inf|INF))$|^\.(?:nan|NaN|NAN)$/;
// YAML 1.1 timestamps begin with a date.
const DATE = /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/;
// Printable ASCII only, and none of what ends or comments a plain scalar.
const PLAIN = /^[\x20-\x7e]*$/;
const PLAIN_FIRST = /^(?:-(?=\S)|[A-Za-z0-9_./(\\$^=+~<;])/;

// Most strings (names, labels, paths, images): a letter, `_` or `/` first, then no space and nothing special.
const SIMPLE = /^[A-Za-z_/][A-Za-z0-9_./@-]*$/;

function isPlain(s: string): boolean {
  if (SPECIAL_WORDS.has(s)) return false;
  // YAML 1.1 reads an exponent with no digits before it (`e0`) as a float.
  if (SIMPLE.test(s)) return !((s[0] === "e" || s[0] === "E") && NUMBER.test(s));
  if (NUMBER.test(s) || DATE.test(s)) return false;
  if (!PLAIN.test(s) || !PLAIN_FIRST.test(s)) return false;
  if (s.endsWith(" ") || s.endsWith(":") || s.includes(": ") || s.includes(" #") || s.startsWith("---") || s.startsWith("...")) return false;
  return true;
}

// Characters a literal block or a single-quoted string cannot hold as they are.
const NEEDS_ESCAPE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff]/;

/** A multi-line string as a literal block: its header (`|`, `|-`, `|+`) and content lines, or undefined when it cannot be one. */
function literalBlock(s: string, indent: number): { header: string; lines: string[] } | undefined {
  if (!s.includes("\n") || !canBeLiteral(s)) return undefined;
  const trailing = s.length - s.replace(/\n+$/, "").length;
  const body = trailing === 0 ? s : s.slice(0, -1);
  const p = pad(indent + 2);
  return { header: trailing === 0 ? "|-" : trailing === 1 ? "|" : "|+", lines: body.split("\n").map((line) => (line === "" ? "" : p + line)) };
}

/** Single quotes when the string holds `"` and no `'` (and fits on one line as it is), else JSON-style double quotes. */
function quoted(s: string): string {
  if (s.includes('"') && !s.includes("'") && !s.includes("\n") && !NEEDS_ESCAPE.test(s)) return `'${s}'`;
  return doubleQuoted(s);
}

/** A literal block keeps every character as is; its indentation is taken from the first line, so that must not start with white space. */
function canBeLiteral(s: string): boolean {
  return !NEEDS_ESCAPE.test(s) && !/^[ \t\n]/.test(s) && !/[ \t]\n|[ \t]$/.test(s) && !s.includes("\r");
}

function doubleQuoted(s: string): string {
  return JSON.stringify(s).replace(/[\x7f-\x9f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function scalarKey(key: string): string {
  // YAML limits an implicit key to 1024 characters; Kubernetes keys are at most 253 (a ConfigMap data key).
  if (key.length > 1000) throw new TypeError(`cannot write a map key of ${key.length} characters as YAML: at most 1000`);
  if (isPlain(key)) return key;
  return doubleQuoted(key);
}
