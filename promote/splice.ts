import { isDeepStrictEqual } from "node:util";
import { Document, isMap, isNode, isScalar, isSeq, Pair, parseDocument, Scalar, YAMLMap, YAMLSeq, type Node, type ToStringOptions } from "yaml";

/**
 * Writes an edited stack file by splicing only what changed into the original text, so every untouched line stays
 * byte-identical: comment spacing, flow collections (`[a, b]`), block scalars, blank lines, quoting and sequence
 * indentation included. The yaml Document API alone keeps comments and order but re-prints the whole file in its
 * own style; this keeps the file the team wrote.
 *
 * `original` is the text both documents were parsed from; `edited` is a parse of it changed in place (surviving
 * nodes keep their source ranges, new nodes have none). Returns undefined when an edit falls outside what splicing
 * handles or the result does not read back as `edited`; the caller then prints the whole document instead.
 */
export function spliceDocument(original: string, edited: Document): string | undefined {
  const source = parseDocument(original);
  if (source.errors.length > 0 || !isNode(source.contents) || !isNode(edited.contents)) return undefined;
  const style = detectStyle(original);
  const edits: Edit[] = [];
  const splicer = new Splicer(original, style, edits);
  if (splicer.node(source.contents, edited.contents) !== "ok") return undefined;
  let text = original;
  // Back to front, so earlier offsets stay valid; at one offset, later edits go first so earlier text ends up first.
  const ordered = edits.map((edit, index) => ({ edit, index })).sort((a, b) => b.edit.start - a.edit.start || b.index - a.index);
  let limit = Number.POSITIVE_INFINITY;
  for (const { edit } of ordered) {
    if (edit.end > limit) return undefined; // overlapping edits: not something splicing should guess at
    text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
    limit = edit.start;
  }
  const check = parseDocument(text);
  if (check.errors.length > 0 || !isDeepStrictEqual(check.toJS(), edited.toJS())) return undefined;
  return text;
}

/** How a file is laid out, so added lines look like their neighbours. */
export interface YamlStyle {
  readonly indent: number;
  /** `key:\n  - item` (true) or `key:\n- item` (false). */
  readonly indentSeq: boolean;
  readonly newline: "\n" | "\r\n";
}

/** The first nested block's indentation, and whether block sequences sit deeper than their key. */
export function detectStyle(text: string): YamlStyle {
  const lines = text.split(/\r?\n/);
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const content = (line: string) => line.trim() !== "" && !line.trimStart().startsWith("#");
  let indent: number | undefined;
  let indentSeq: boolean | undefined;
  for (let i = 0; i < lines.length && (indent === undefined || indentSeq === undefined); i++) {
    const line = lines[i] as string;
    if (!content(line) || !/:\s*(#.*)?$/.test(line) || line.trimStart().startsWith("- ")) continue;
    const next = lines.slice(i + 1).find(content);
    if (next === undefined) continue;
    const depth = indentOf(next) - indentOf(line);
    if (next.trimStart().startsWith("- ")) indentSeq ??= depth > 0;
    else if (depth > 0) indent ??= depth;
  }
  return { indent: indent ?? 2, indentSeq: indentSeq ?? true, newline: text.includes("\r\n") ? "\r\n" : "\n" };
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** "ok": the node's changes are recorded as edits; "replace": the parent must re-print the node whole. */
type Outcome = "ok" | "replace";

const INLINE_SCALARS = new Set<string | undefined>([Scalar.PLAIN, Scalar.QUOTE_DOUBLE, Scalar.QUOTE_SINGLE]);

class Splicer {
  private readonly options: ToStringOptions;

  constructor(
    private readonly text: string,
    private readonly style: YamlStyle,
    private readonly edits: Edit[],
  ) {
    this.options = { indent: style.indent, indentSeq: style.indentSeq, lineWidth: 0 };
  }

  node(from: Node, to: Node): Outcome {
    if (isDeepStrictEqual(from.toJSON(), to.toJSON())) return "ok";
    if (isScalar(from) && isScalar(to)) return this.scalar(from, to);
    if (isMap(from) && isMap(to) && !from.flow && !to.flow) return this.map(from, to);
    if (isSeq(from) && isSeq(to) && !from.flow && !to.flow) return this.seq(from, to);
    return "replace";
  }

  /** A value changed in place keeps its quoting style and the comment after it. */
  private scalar(from: Scalar, to: Scalar): Outcome {
    if (!from.range || !INLINE_SCALARS.has(from.type)) return "replace";
    const copy = new Scalar(to.value);
    if (from.type) copy.type = from.type;
    const rendered = new Document(copy).toString(this.options).replace(/\n$/, "");
    if (rendered.includes("\n")) return "replace";
    this.edits.push({ start: from.range[0], end: from.range[1], text: rendered });
    return "ok";
  }

  private map(from: YAMLMap, to: YAMLMap): Outcome {
    const pairs = from.items as Pair<Node, Node | null>[];
    const first = pairs[0];
    if (!first || !isScalar(first.key) || !first.key.range) return "replace";
    const column = first.key.range[0] - lineStart(this.text, first.key.range[0]);
    const keyOf = (pair: Pair<unknown, unknown>) => (isScalar(pair.key) ? String(pair.key.value) : undefined);
    const targets = new Map((to.items as Pair<Node, Node | null>[]).map((pair) => [keyOf(pair), pair]));
    let end = 0;
    for (const pair of pairs) {
      const key = keyOf(pair);
      if (key === undefined || !pair.key.range) return "replace";
      const valueEnd = isNode(pair.value) && pair.value.range ? pair.value.range[1] : pair.key.range[1];
      end = Math.max(end, lineEnd(this.text, Math.max(valueEnd, pair.key.range[1]) - 1));
      const target = targets.get(key);
      const outcome = !target ? "remove" : isNode(pair.value) && isNode(target.value) ? this.node(pair.value, target.value) : isDeepStrictEqual(pair.value?.toJSON(), target.value?.toJSON()) ? "ok" : "replace";
      if (outcome === "ok") continue;
      // Removing or re-printing a pair needs its own lines; `- name: …` shares one with the item's dash.
      const span = this.pairSpan(pair);
      if (!span) return "replace";
      if (outcome === "remove") this.edits.push({ start: this.withCommentsAbove(span.start, column), end: span.end, text: "" });
      else if (target) this.edits.push({ start: span.start, end: span.end, text: this.render(new YAMLMap(), target, column) });
    }
    const known = new Set(pairs.map(keyOf));
    for (const pair of to.items as Pair<Node, Node | null>[]) {
      if (!known.has(keyOf(pair))) this.edits.push({ start: end, end, text: this.atEnd(end) + this.render(new YAMLMap(), pair, column) });
    }
    return "ok";
  }

  private seq(from: YAMLSeq, to: YAMLSeq): Outcome {
    const items = from.items as Node[];
    const first = items[0];
    if (!first?.range) return "replace";
    const dash = dashBefore(this.text, first.range[0]);
    if (dash === undefined) return "replace";
    const column = dash - lineStart(this.text, dash);
    const byStart = new Map(items.map((item) => [item.range?.[0], item]));
    const kept = new Set<Node>();
    let previous = -1;
    let end = 0;
    let appending = false;
    for (const target of to.items as Node[]) {
      const item = target.range ? byStart.get(target.range[0]) : undefined;
      if (!item) {
        appending = true;
        continue;
      }
      // Surviving items keep their order and come before any added one; anything else is re-printed whole.
      const index = items.indexOf(item);
      if (appending || index < previous) return "replace";
      previous = index;
      kept.add(item);
      const span = this.itemSpan(item);
      if (!span) return "replace";
      if (this.node(item, target) === "replace") this.edits.push({ start: span.start, end: span.end, text: this.render(new YAMLSeq(), target, column) });
    }
    for (const item of items) {
      const span = this.itemSpan(item);
      if (!span) return "replace";
      end = Math.max(end, span.end);
      if (!kept.has(item)) this.edits.push({ start: this.withCommentsAbove(span.start, column), end: span.end, text: "" });
    }
    for (const target of to.items as Node[]) {
      if (!target.range || !byStart.has(target.range[0])) this.edits.push({ start: end, end, text: this.atEnd(end) + this.render(new YAMLSeq(), target, column) });
    }
    return "ok";
  }

  /** A newline to start with when inserting after a last line that has none. */
  private atEnd(offset: number): string {
    return offset === this.text.length && this.text.length > 0 && !this.text.endsWith("\n") ? this.style.newline : "";
  }

  /** Whole lines of a `key: value` pair, when the key starts its line (not `- key:`, the item's first pair). */
  private pairSpan(pair: Pair<Node, Node | null>): { start: number; end: number } | undefined {
    const keyRange = pair.key.range;
    if (!keyRange) return undefined;
    const start = lineStart(this.text, keyRange[0]);
    if (this.text.slice(start, keyRange[0]).trim() !== "") return undefined;
    const valueEnd = isNode(pair.value) && pair.value.range ? pair.value.range[1] : keyRange[1];
    return { start, end: lineEnd(this.text, Math.max(valueEnd, keyRange[1]) - 1) };
  }

  /** Whole lines of a block sequence item, from its dash. */
  private itemSpan(item: Node): { start: number; end: number } | undefined {
    if (!item.range) return undefined;
    const dash = dashBefore(this.text, item.range[0]);
    if (dash === undefined) return undefined;
    const start = lineStart(this.text, dash);
    if (this.text.slice(start, dash).trim() !== "") return undefined;
    return { start, end: lineEnd(this.text, item.range[1] - 1) };
  }

  /** A removed entry takes the comment lines directly above it (same indentation, no blank line between). */
  private withCommentsAbove(start: number, column: number): number {
    let at = start;
    while (at > 0) {
      const above = lineStart(this.text, at - 1);
      const line = this.text.slice(above, at).replace(/\r?\n$/, "");
      if (!line.trimStart().startsWith("#") || line.length - line.trimStart().length !== column) break;
      at = above;
    }
    return at;
  }

  /** One pair or item printed in the file's style at `column`, without the comment lines above it (they stay). */
  private render(container: YAMLMap | YAMLSeq, entry: Pair | Node, column: number): string {
    const copy = entry.clone() as Pair | Node;
    if (copy instanceof Pair) {
      if (isNode(copy.key)) copy.key.commentBefore = undefined;
    } else {
      copy.commentBefore = undefined;
      if (isMap(copy) && copy.items[0] && isNode(copy.items[0].key)) copy.items[0].key.commentBefore = undefined;
    }
    container.items.push(copy as never);
    const doc = new Document();
    doc.contents = container as never;
    const pad = " ".repeat(column);
    const lines = doc.toString(this.options).replace(/\n$/, "").split("\n");
    return lines.map((line) => (line === "" ? "" : pad + line) + this.style.newline).join("");
  }
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** The offset just past the newline ending the line that holds `offset` (or the end of the text). */
function lineEnd(text: string, offset: number): number {
  const newline = text.indexOf("\n", Math.max(offset, 0));
  return newline < 0 ? text.length : newline + 1;
}

/** The `-` introducing the block sequence item whose content starts at `offset`. */
function dashBefore(text: string, offset: number): number | undefined {
  let at = offset - 1;
  while (at >= 0 && (text[at] === " " || text[at] === "\t")) at--;
  return text[at] === "-" ? at : undefined;
}
