import { isAlias, isCollection, isDocument, isMap, isNode, isPair, isScalar, isSeq, visit, type Alias, type Document, type Node, type Pair } from "yaml";
import type { Change } from "./diff.js";

/**
 * YAML anchors and aliases in the target file, made safe for promote's edits.
 *
 * An edit made in place on an anchored node (`vllm: &common {...}`) would also change every `*common` alias: with
 * `--only a`, model `b` would silently get `a`'s new settings while the printed diff names only `a`. Promote could
 * refuse such files instead; it EXPANDS the aliases, because refusing leaves the user to do the same expansion by
 * hand, and expanding keeps the rule that matters: the diff promote prints is exactly what changes in the values.
 *
 * - An alias the edit would write THROUGH (`b`'s `vllm: *common` when `b.vllm` changes) is replaced by a copy of
 *   what it points at, and that copy is edited.
 * - An alias pointing INTO something the edit changes (`b`'s `vllm: *common` when `a`'s `vllm: &common` changes) is
 *   replaced by a copy of the values it had, so `b` stays exactly as it was.
 *
 * Values never change by an expansion; the file's lines do (the copy is written out), and promote reports each
 * expansion so the reviewer knows why those lines moved. Anchors themselves stay where they are.
 */

/** One alias written out in full. */
export interface Expansion {
  /** Where the alias was, as a display path (`models[b].vllm`). */
  readonly at: string;
  /** The anchor it referred to, without `&`. */
  readonly anchor: string;
  /**
   * `edited`: promote changes values under the alias, so they now apply to this entry alone; `kept`: the anchor's
   * node changes, and this entry keeps the values it had.
   */
  readonly reason: "edited" | "kept";
}

/**
 * A copy of `node` with no anchors (one definition per name), no comments (they stay with the original) and no
 * source ranges (so splicing treats it as new text).
 */
function detachedCopy(node: Node): Node {
  const copy = node.clone() as Node;
  const detach = (child: Node) => {
    if (!isAlias(child)) child.anchor = undefined;
    child.range = undefined;
    child.comment = undefined;
    child.commentBefore = undefined;
    child.spaceBefore = false;
  };
  visit(copy, { Node: (_, child) => detach(child) });
  detach(copy);
  return copy;
}

type Step = Document | Node | Pair;

/** `models[qwen3-8b].vllm` for a node reached through `ancestors` (as `visit` gives them) and its own key. */
function displayPath(ancestors: readonly Step[], last: unknown): string {
  const parts: string[] = [];
  const chain = [...ancestors];
  for (let i = 0; i < chain.length; i++) {
    const step = chain[i];
    if (isPair(step) && isScalar(step.key)) {
      const key = String(step.key.value);
      if (parts.length === 0 && key === "config") continue;
      parts.push(key.startsWith("modelfleet:") ? key.slice("modelfleet:".length) : key);
    } else if (isSeq(step)) {
      const next = chain[i + 1] ?? last;
      const index = step.items.indexOf(next as never);
      const item = step.items[index];
      const name = isMap(item) ? item.get("name") : undefined;
      parts.push(`[${typeof name === "string" ? name : index}]`);
    }
  }
  return parts.join(".").replace(/\.\[/g, "[");
}

/** The document path (from the root) each change edits in place; adding or removing a model edits the list. */
function editedPaths(changes: readonly Change[]): (string | number)[][] {
  return changes.map((change) => (change.kind === "set" ? ["config", ...change.path] : ["config", "modelfleet:models"]));
}

/** Replaces aliases met while walking down `path`, so the edit lands on a node of its own. */
function expandAlongPath(doc: Document, path: readonly (string | number)[], expansions: Expansion[]): void {
  let parent: unknown = doc.contents;
  const trail: (string | number)[] = [];
  for (const key of path) {
    if (!isCollection(parent)) return;
    const child = parent.get(key, true);
    trail.push(key);
    if (isAlias(child)) {
      const target = child.resolve(doc);
      if (!target) return;
      const copy = detachedCopy(target);
      parent.set(key, copy);
      expansions.push({ at: displayFromKeys(doc, trail), anchor: child.source, reason: "edited" });
      parent = copy;
    } else {
      parent = child;
    }
  }
}

function displayFromKeys(doc: Document, keys: readonly (string | number)[]): string {
  const parts: string[] = [];
  let node: unknown = doc.contents;
  for (const [i, key] of keys.entries()) {
    if (i === 0 && key === "config") {
      node = isCollection(node) ? node.get(key, true) : undefined;
      continue;
    }
    if (typeof key === "number") {
      const item = isSeq(node) ? node.items[key] : undefined;
      const name = isMap(item) ? item.get("name") : undefined;
      parts.push(`[${typeof name === "string" ? name : key}]`);
    } else {
      parts.push(key.startsWith("modelfleet:") ? key.slice("modelfleet:".length) : key);
    }
    node = isCollection(node) ? node.get(key, true) : undefined;
  }
  return parts.join(".").replace(/\.\[/g, "[");
}

/** Adds `node` and everything below it. */
function addSubtree(node: Node, into: Set<Node>): void {
  into.add(node);
  visit(node, { Node: (_, child) => void into.add(child) });
}

/**
 * Every node an edit at `path` may change in place: the collections along the path, and with `deep` the node at
 * the end and all below it (a `set` merges into it key by key).
 */
function touchedNodes(doc: Document, path: readonly (string | number)[], deep: boolean, into: Set<Node>): Node | undefined {
  let node: unknown = doc.contents;
  if (isNode(node)) into.add(node);
  for (const key of path) {
    if (!isCollection(node)) return undefined;
    node = node.get(key, true);
    if (!isNode(node)) return undefined;
    into.add(node);
  }
  if (!isNode(node)) return undefined;
  if (deep) addSubtree(node, into);
  return node;
}

/**
 * Expands the aliases that would let `changes` reach beyond their own paths (see the module comment). Call on the
 * target document before applying the changes; returns what was expanded, in document order.
 */
export function expandSharedAnchors(doc: Document, changes: readonly Change[]): Expansion[] {
  const expansions: Expansion[] = [];
  const paths = editedPaths(changes);
  for (const path of paths) expandAlongPath(doc, path, expansions);
  const touched = new Set<Node>();
  for (const [i, change] of changes.entries()) {
    const node = touchedNodes(doc, paths[i] as (string | number)[], change.kind === "set", touched);
    // A removed model takes its anchors with it: aliases to anything inside it must be written out.
    if (change.kind === "remove-model" && isSeq(node)) {
      for (const item of node.items) if (isMap(item) && item.get("name") === change.model) addSubtree(item, touched);
    }
  }
  visit(doc, {
    Alias(_, alias: Alias, ancestors) {
      const target = alias.resolve(doc);
      if (!target || !touched.has(target)) return undefined;
      expansions.push({ at: displayPath(ancestors.filter((a) => !isDocument(a)), alias), anchor: alias.source, reason: "kept" });
      return detachedCopy(target);
    },
  });
  return expansions;
}
