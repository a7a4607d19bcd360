import { isMap, isScalar, isSeq, type Document, type YAMLMap, type YAMLSeq } from "yaml";
import type { Change } from "./diff.js";

/**
 * Applies changes to the target file's YAML Document in place, touching only the changed keys: comments, key order
 * and formatting elsewhere survive. Objects are merged key by key, so comments inside an engine block survive too.
 */
export function applyChanges(doc: Document, changes: readonly Change[]): void {
  const removals: string[] = [];
  for (const change of changes) {
    switch (change.kind) {
      case "set":
        setDeep(doc, ["config", ...change.path], change.to);
        break;
      case "add-model": {
        const models = doc.getIn(["config", "modelfleet:models"]);
        // No list (or not a list) yet: create one; validation afterwards judges the result like any other.
        if (isSeq(models)) models.add(doc.createNode(change.value));
        else doc.setIn(["config", "modelfleet:models"], doc.createNode([change.value]));
        break;
      }
      case "remove-model":
        removals.push(change.model);
        break;
    }
  }
  // Removals last, so the indexes recorded in `set` changes still point at the right models.
  const models = doc.getIn(["config", "modelfleet:models"]) as YAMLSeq | undefined;
  if (models && removals.length > 0) {
    models.items = models.items.filter((item) => !(isMap(item) && removals.includes(String(item.get("name")))));
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function setDeep(doc: Document, path: readonly (string | number)[], value: unknown): void {
  if (value === undefined) {
    doc.deleteIn(path);
    return;
  }
  const existing = doc.getIn(path, true);
  if (isPlainObject(value) && isMap(existing)) {
    const map = existing as YAMLMap;
    for (const item of [...map.items]) {
      const key = String((item.key as { value?: unknown })?.value ?? item.key);
      if (!(key in value)) map.delete(key);
    }
    for (const [key, child] of Object.entries(value)) setDeep(doc, [...path, key], child);
    return;
  }
  if (isScalar(existing) && (value === null || typeof value !== "object")) {
    // Keeps the scalar's own comment and quoting style.
    existing.value = value;
    return;
  }
  doc.setIn(path, doc.createNode(value));
}
