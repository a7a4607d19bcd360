/**
 * A fast reader for the plain block YAML that generators write (`helm template`, `kubectl get -o yaml`, cdk8s,
 * `modelfleet synth`, the `yaml` library's stringify) and most hand-written manifests: block maps and sequences,
 * plain, single- and double-quoted one-line scalars, one-line flow collections, anchors and aliases, comments, `---`. It gives the same values as the
 * `yaml` library's `parseAllDocuments(text).map((d) => d.toJS())` (YAML 1.2 core schema) at a fraction of the cost,
 * and no source positions: the checker locates a finding by re-parsing that one document with the `yaml` library.
 *
 * Anything else makes it give up, and the `yaml` library reads the text as before, so every value, error message
 * and limit is the library's own; it never reports an error itself. Block scalars (`|`, `>`), flow collections over
 * several lines, multi-line scalars, tags, merge keys, keys that are not strings, duplicate keys, deep nesting, many
 * aliases or anything malformed make one document `fallback`; directives, `...`, tabs, CR line ends and control
 * characters make the whole text `undefined`.
 */

/** One `---`-separated document: its value, and where its text sits in the file (to locate findings later). */
export interface FastDocument {
  /** `toJS()` of the document; `null` for a document with no content. */
  readonly value: unknown;
  /**
   * True when this document is outside the fast subset (a block scalar, say): `value` is then undefined, and the
   * caller parses the document's text with the `yaml` library.
   */
  readonly fallback: boolean;
  /** Offset of the document's first line in the file (just after its `---` line). */
  readonly start: number;
  /** Offset just past the document's last line (the start of the next `---` line, or the end of the file). */
  readonly end: number;
  /** 1-based line of `start` in the file. */
  readonly firstLine: number;
}

/** Nesting the fast path takes on; deeper documents go to the `yaml` library (and its depth limit). */
const MAX_FAST_DEPTH = 40;
/**
 * Alias expansion per document the fast path takes on: the sum, over every alias, of the nodes it stands for
 * (1 for a node without aliases, more for an anchored node holding aliases). Far below the library's limits, which
 * documents over it meet on the library path (alias bombs included).
 */
const MAX_FAST_ALIAS_WEIGHT = 200;

/** Characters the fast path never handles: tabs, CR, control characters, BOM, NEL and the Unicode line breaks. */
// eslint-disable-next-line no-control-regex
const UNHANDLED_CHARS = /[\u0000-\u0009\u000b-\u001f\u007f\u0085\u2028\u2029\ufeff]/;

class GiveUp extends Error {}
const giveUp = (): never => {
  throw new GiveUp();
};

interface Line {
  /** Column of the first non-space character. */
  indent: number;
  /** The line from `indent` on (comment-only and blank lines are dropped before parsing). */
  text: string;
}

/** The documents of a multi-document YAML text, or `undefined` when the text is not in the fast subset. */
export function fastParseDocuments(text: string): FastDocument[] | undefined {
  if (UNHANDLED_CHARS.test(text)) return undefined;
  const documents: FastDocument[] = [];
  try {
    let segmentStart = 0;
    let segmentLine = 1;
    let lines: Line[] = [];
    let first = true;
    let lineNumber = 1;
    const close = (end: number): void => {
      // The text before the first `---` is a document only when it holds something besides comments.
      if (!first || lines.length > 0) {
        const value = lines.length === 0 ? null : parseDocumentLines(lines);
        documents.push({ value: value === FALLBACK ? undefined : value, fallback: value === FALLBACK, start: segmentStart, end, firstLine: segmentLine });
      }
      first = false;
    };
    let offset = 0;
    while (offset < text.length) {
      const newline = text.indexOf("\n", offset);
      const lineEnd = newline === -1 ? text.length : newline;
      const next = newline === -1 ? text.length : newline + 1;
      const raw = text.slice(offset, lineEnd);
      if (raw.startsWith("---")) {
        if (raw.trimEnd() !== "---") giveUp(); // `--- value`, `--- !tag`, `----`
        close(offset);
        lines = [];
        segmentStart = next;
        segmentLine = lineNumber + 1;
      } else if (raw.startsWith("...") || raw.startsWith("%")) {
        giveUp(); // document end markers and directives
      } else {
        let indent = 0;
        while (raw.charCodeAt(indent) === 32) indent++;
        if (indent < raw.length && raw[indent] !== "#") lines.push({ indent, text: raw.slice(indent).trimEnd() });
      }
      offset = next;
      lineNumber++;
    }
    close(text.length);
  } catch (error) {
    if (error instanceof GiveUp) return undefined;
    throw error;
  }
  return documents;
}

const FALLBACK = Symbol("fallback");

/** One document's value, or FALLBACK when it is outside the fast subset (the other documents still are read here). */
function parseDocumentLines(lines: Line[]): unknown {
  try {
    const parser = new BlockParser(lines);
    const first = lines[0]!;
    if (!isSeqItem(first.text) && !looksLikeMapEntry(first.text)) giveUp(); // a top-level scalar or flow collection
    const value = parser.block(first.indent, 0);
    if (parser.index !== lines.length) giveUp();
    return value;
  } catch (error) {
    if (error instanceof GiveUp) return FALLBACK;
    throw error;
  }
}

const isSeqItem = (text: string): boolean => text === "-" || text.startsWith("- ");

/** Where the `:` of `key: value` is, for a plain or quoted key; -1 when the text is not a map entry. */
function mapColon(text: string): number {
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const close = quotedEnd(text, 0);
    if (close === -1) return -1;
    let i = close + 1;
    while (text[i] === " ") i++;
    return text[i] === ":" && (i + 1 === text.length || text[i + 1] === " ") ? i : -1;
  }
  for (let i = text.indexOf(":"); i !== -1; i = text.indexOf(":", i + 1)) {
    if (i + 1 === text.length || text[i + 1] === " ") return i;
  }
  return -1;
}

const looksLikeMapEntry = (text: string): boolean => mapColon(text) !== -1;

/** Index of the closing quote of the quoted scalar opening at `start`, or -1. */
function quotedEnd(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i];
    if (quote === '"' && ch === "\\") i++;
    else if (ch === quote) {
      if (quote === "'" && text[i + 1] === "'") i++;
      else return i;
    }
  }
  return -1;
}

/** The rest of a line after a value: nothing, or a comment. */
function onlyComment(text: string, from: number): boolean {
  let i = from;
  while (text[i] === " ") i++;
  return i === text.length || (text[i] === "#" && i > from);
}

/** Characters a plain scalar may not start with (YAML indicators); `-`, `?`, `:` only when followed by a space. */
const INDICATOR_START = /^(?:[,[\]{}#&*!|>'"%@`]|[-?:](?: |$))/;
const NOT_IN_PLAIN = /[[\]{}]| #|: |:$/;

/** A plain scalar as the YAML 1.2 core schema (the `yaml` library's default) resolves it. */
function resolvePlain(text: string): unknown {
  const c = text.charCodeAt(0);
  // Only these first characters can start a null, bool, int or float: `~ n N t T f F . + -` and digits.
  if (!(c === 126 || c === 110 || c === 78 || c === 116 || c === 84 || c === 102 || c === 70 || c === 46 || c === 43 || c === 45 || (c >= 48 && c <= 57))) return text;
  if (/^(?:~|[Nn]ull|NULL)$/.test(text)) return null;
  if (/^(?:[Tt]rue|TRUE)$/.test(text)) return true;
  if (/^(?:[Ff]alse|FALSE)$/.test(text)) return false;
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.substring(2), 8);
  if (/^[-+]?[0-9]+$/.test(text)) return parseInt(text, 10);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.substring(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(text)) return text.slice(-3).toLowerCase() === "nan" ? NaN : text[0] === "-" ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(text)) return parseFloat(text);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(text)) return parseFloat(text);
  return text;
}

/** JSON-compatible escapes only; YAML's others (`\x`, `\e`, `\N`, `\ `, line folding…) go to the library. */
const JSON_ESCAPES = /\\(?:[^"\\/bfnrtu]|u(?![0-9a-fA-F]{4}))/;

function doubleQuoted(body: string): string {
  if (body.includes("\\") && JSON_ESCAPES.test(body)) giveUp();
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return giveUp();
  }
}

const singleQuoted = (body: string): string => body.replaceAll("''", "'");

class BlockParser {
  index = 0;
  private readonly anchors = new Map<string, { value: unknown; weight: number }>();
  /** Alias weight so far in the document (see MAX_FAST_ALIAS_WEIGHT). */
  private aliasWeight = 0;

  constructor(private readonly lines: Line[]) {}

  /** The node whose first line is the current one, at `indent`. */
  block(indent: number, depth: number): unknown {
    if (depth > MAX_FAST_DEPTH) giveUp();
    const line = this.lines[this.index]!;
    if (line.indent !== indent) giveUp();
    return isSeqItem(line.text) ? this.seq(indent, depth) : this.map(indent, depth);
  }

  private map(indent: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let line = this.lines[this.index]; line !== undefined && line.indent >= indent; line = this.lines[this.index]) {
      if (line.indent !== indent || isSeqItem(line.text)) giveUp();
      const { text } = line;
      const colon = mapColon(text);
      if (colon === -1) giveUp();
      const key = this.key(text.slice(0, colon).trimEnd());
      this.index++;
      const value = this.value(text.slice(colon + 1), indent, depth, true);
      if (!(key in out)) out[key] = value;
      else if (Object.prototype.hasOwnProperty.call(out, key)) giveUp(); // the library reports duplicate keys as an error
      // `constructor`, `toString`…: set as an own property, as the library does, never through the prototype.
      else Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
    }
    return out;
  }

  private seq(indent: number, depth: number): unknown[] {
    const out: unknown[] = [];
    for (let line = this.lines[this.index]; line !== undefined && line.indent >= indent; line = this.lines[this.index]) {
      if (line.indent !== indent || !isSeqItem(line.text)) giveUp();
      const rest = line.text.slice(1);
      let skip = 0;
      while (rest[skip] === " ") skip++;
      const content = rest.slice(skip);
      const flow = content[0] === "[" || content[0] === "{";
      if (content !== "" && content[0] !== "#" && !flow && (isSeqItem(content) || looksLikeMapEntry(content))) {
        // `- key: value` / `- - x`: a nested block node that starts on this line, at the column of its content.
        this.lines[this.index] = { indent: indent + 1 + skip, text: content };
        out.push(this.block(indent + 1 + skip, depth + 1));
      } else {
        this.index++;
        out.push(this.value(rest, indent, depth, false));
      }
    }
    return out;
  }

  private key(text: string): string {
    // The library refuses implicit keys over 1024 characters; leave long keys to it.
    if (text === "" || text.length > 1000) giveUp();
    const quote = text[0];
    if (quote === '"' || quote === "'") {
      if (quotedEnd(text, 0) !== text.length - 1) giveUp();
      const body = text.slice(1, -1);
      return quote === '"' ? doubleQuoted(body) : singleQuoted(body);
    }
    return this.plainKey(text);
  }

  plainKey(text: string): string {
    if (text === "" || text.length > 1000 || INDICATOR_START.test(text) || NOT_IN_PLAIN.test(text) || text.includes(" #")) giveUp();
    // `<<` (a merge key in YAML 1.1), `__proto__`, and keys the core schema reads as null, bool or number.
    if (text === "<<" || text === "__proto__" || typeof resolvePlain(text) !== "string") giveUp();
    return text;
  }

  /**
   * The value after `key:` or `-` (`after`, still with its leading spaces), for a node owned by a line at `indent`.
   * Its content is either on this line or, when the line ends here, the block on the following lines.
   */
  private value(after: string, indent: number, depth: number, inMap: boolean): unknown {
    if (after !== "" && after[0] !== " ") giveUp();
    let text = after.trimStart();
    let anchor: string | undefined;
    if (text[0] === "&") {
      const match = /^&([^\s,[\]{}]+)(?: +|$)/.exec(text);
      if (!match) return giveUp();
      anchor = match[1]!;
      text = text.slice(match[0].length);
      if (looksLikeMapEntry(text) || isSeqItem(text)) giveUp();
    }
    const weightBefore = this.aliasWeight;
    let value: unknown;
    if (text === "" || text[0] === "#") {
      value = this.nested(indent, depth, inMap);
    } else {
      value = this.inline(text);
      // A more-indented line after an inline value would continue it (a multi-line scalar) or be an error.
      const next = this.lines[this.index];
      if (next !== undefined && next.indent > indent) giveUp();
    }
    if (anchor !== undefined) this.anchors.set(anchor, { value, weight: Math.max(1, this.aliasWeight - weightBefore) });
    return value;
  }

  /** The block below a line that ended after `key:` or `-`: more indented, or (for a map value) `- ` at the same indent. */
  private nested(indent: number, depth: number, inMap: boolean): unknown {
    const next = this.lines[this.index];
    if (next === undefined) return null;
    if (next.indent > indent) return this.block(next.indent, depth + 1);
    if (inMap && next.indent === indent && isSeqItem(next.text)) return this.seq(indent, depth + 1);
    return null;
  }

  /** A one-line value: a quoted or plain scalar, an alias, `[]` or `{}`. */
  private inline(text: string): unknown {
    const first = text[0];
    if (first === '"' || first === "'") {
      const close = quotedEnd(text, 0);
      if (close === -1 || !onlyComment(text, close + 1)) giveUp();
      const body = text.slice(1, close);
      return first === '"' ? doubleQuoted(body) : singleQuoted(body);
    }
    if (first === "*") {
      const match = /^\*([^\s,[\]{}]+)$/.exec(text.replace(/ +#.*$/, ""));
      const target = match ? this.anchors.get(match[1]!) : undefined;
      // Unknown anchors are an error (the library's message); heavy expansion is the library's to judge.
      if (!target) return giveUp();
      this.aliasWeight += target.weight;
      if (this.aliasWeight > MAX_FAST_ALIAS_WEIGHT) giveUp();
      return target.value;
    }
    if (first === "[" || first === "{") {
      const flow = new FlowParser(text, (key) => this.plainKey(key));
      const value = flow.node(0);
      if (!onlyComment(text, flow.at)) giveUp();
      return value;
    }
    const hash = text.indexOf(" #");
    const plain = hash === -1 ? text : text.slice(0, hash).trimEnd();
    // Brackets are plain characters inside a block scalar (`${VAR}`); `: ` would start a nested map (an error).
    if (INDICATOR_START.test(plain) || /: |:$/.test(plain)) giveUp();
    return resolvePlain(plain);
  }
}

/**
 * A flow collection written on one line (`{app: qwen}`, `["--model", "x"]`), as hand-written manifests have them.
 * Empty entries, keys without values, single-pair maps in lists, anchors, aliases, tags, comments and collections
 * that go on to the next line are the library's.
 */
class FlowParser {
  at = 0;

  constructor(
    private readonly text: string,
    private readonly plainKey: (text: string) => string,
  ) {}

  node(depth: number): unknown {
    if (depth > MAX_FAST_DEPTH) giveUp();
    this.skip();
    const ch = this.text[this.at];
    if (ch === "[") return this.seq(depth);
    if (ch === "{") return this.map(depth);
    if (ch === '"' || ch === "'") return this.quoted();
    return resolvePlain(this.plain());
  }

  private skip(): void {
    while (this.text[this.at] === " ") this.at++;
  }

  /** After an entry: `,` then more (a trailing comma is the library's), or the closing bracket. */
  private separator(close: string): boolean {
    this.skip();
    const ch = this.text[this.at];
    if (ch === close) {
      this.at++;
      return false;
    }
    if (ch !== ",") giveUp();
    this.at++;
    this.skip();
    if (this.text[this.at] === close || this.text[this.at] === ",") giveUp();
    return true;
  }

  private seq(depth: number): unknown[] {
    this.at++;
    this.skip();
    const out: unknown[] = [];
    if (this.text[this.at] === "]") {
      this.at++;
      return out;
    }
    do {
      out.push(this.node(depth + 1));
      this.skip();
      if (this.text[this.at] === ":") giveUp(); // `[a: b]`, a single-pair map
    } while (this.separator("]"));
    return out;
  }

  private map(depth: number): Record<string, unknown> {
    this.at++;
    this.skip();
    const out: Record<string, unknown> = {};
    if (this.text[this.at] === "}") {
      this.at++;
      return out;
    }
    do {
      this.skip();
      const ch = this.text[this.at];
      const key = ch === '"' || ch === "'" ? this.quoted() : this.plainKey(this.plain());
      this.skip();
      if (this.text[this.at] !== ":") giveUp(); // a key without a value
      this.at++;
      const next = this.text[this.at];
      if (next !== " " && !(ch === '"' || ch === "'")) giveUp();
      this.skip();
      if (this.text[this.at] === "," || this.text[this.at] === "}" || this.at >= this.text.length) giveUp();
      const value = this.node(depth + 1);
      if (!(key in out)) out[key] = value;
      else if (Object.prototype.hasOwnProperty.call(out, key)) giveUp();
      else Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
    } while (this.separator("}"));
    return out;
  }

  private quoted(): string {
    const close = quotedEnd(this.text, this.at);
    if (close === -1) giveUp();
    const body = this.text.slice(this.at + 1, close);
    const quote = this.text[this.at];
    this.at = close + 1;
    return quote === '"' ? doubleQuoted(body) : singleQuoted(body);
  }

  /** A plain scalar in flow context: up to `,`, a bracket or `: `; `#`, `:` before a bracket or comma are the library's. */
  private plain(): string {
    const start = this.at;
    const { text } = this;
    for (; this.at < text.length; this.at++) {
      const ch = text[this.at]!;
      if (ch === "," || ch === "[" || ch === "]" || ch === "{" || ch === "}") break;
      if (ch === "#" && text[this.at - 1] === " ") giveUp();
      if (ch === ":") {
        const next = text[this.at + 1];
        if (next === " ") break;
        if (next === undefined || next === "," || next === "]" || next === "}" || next === "[" || next === "{") giveUp();
      }
    }
    const value = text.slice(start, this.at).trimEnd();
    if (value === "" || INDICATOR_START.test(value) || value.includes(" #")) giveUp();
    return value;
  }
}
