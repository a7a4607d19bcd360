import { isDeepStrictEqual } from "node:util";
import { PROMOTABLE_MODEL_KEYS, PROMOTABLE_STACK_KEYS } from "./promotable.js";

/** One change promote would make to the target stack file. Paths are under `config:` in the file. */
export type Change =
  | { readonly kind: "set"; readonly path: readonly (string | number)[]; readonly key: string; readonly model?: string; readonly from: unknown; readonly to: unknown }
  | { readonly kind: "add-model"; readonly model: string; readonly value: Record<string, unknown> }
  | { readonly kind: "remove-model"; readonly model: string };

export interface DiffOptions {
  /** Only these models; stack-wide keys (image pins) are then left alone. @default every model and key */
  readonly only?: readonly string[];
}

type Values = Record<string, unknown>;
type Model = Record<string, unknown> & { name?: unknown };

const configKey = (key: string) => `modelfleet:${key}`;

function modelsOf(values: Values): Model[] {
  const models = values["models"];
  return Array.isArray(models) ? (models.filter((m) => m !== null && typeof m === "object") as Model[]) : [];
}

/** The display path of a change: `images.vllm`, `models[qwen3-8b].vllm`. */
export function changePath(change: Change): string {
  if (change.kind !== "set") return `models[${change.model}]`;
  return change.model === undefined ? change.key : `models[${change.model}].${change.key}`;
}

/**
 * The promotable differences between two stacks' `modelfleet:` values: image pins entry by entry, and per model
 * (matched by name) each promotable key; models only in the source are added with their promotable keys (the target
 * environment's profile fills in the rest), models only in the target are removed.
 */
export function diffStacks(source: Values, target: Values, options: DiffOptions = {}): Change[] {
  const changes: Change[] = [];
  const only = options.only ? new Set(options.only) : undefined;
  if (!only) {
    for (const key of PROMOTABLE_STACK_KEYS) {
      const from = target[key];
      const to = source[key];
      if (to !== null && typeof to === "object" && !Array.isArray(to) && from !== null && typeof from === "object" && !Array.isArray(from)) {
        const entries = new Set([...Object.keys(from), ...Object.keys(to)]);
        for (const entry of [...entries].sort()) {
          const a = (from as Values)[entry];
          const b = (to as Values)[entry];
          if (!isDeepStrictEqual(a, b)) changes.push({ kind: "set", path: [configKey(key), entry], key: `${key}.${entry}`, from: a, to: b });
        }
      } else if (!isDeepStrictEqual(from, to)) {
        changes.push({ kind: "set", path: [configKey(key)], key, from, to });
      }
    }
  }
  const sourceModels = modelsOf(source);
  const targetModels = modelsOf(target);
  for (const model of sourceModels) {
    const name = String(model.name);
    if (only && !only.has(name)) continue;
    const index = targetModels.findIndex((m) => m.name === name);
    if (index < 0) {
      const value: Record<string, unknown> = { name };
      for (const key of PROMOTABLE_MODEL_KEYS) if (model[key] !== undefined) value[key] = model[key];
      changes.push({ kind: "add-model", model: name, value });
      continue;
    }
    const current = targetModels[index] as Model;
    for (const key of PROMOTABLE_MODEL_KEYS) {
      if (!isDeepStrictEqual(current[key], model[key])) {
        changes.push({ kind: "set", path: [configKey("models"), index, key], key, model: name, from: current[key], to: model[key] });
      }
    }
  }
  for (const model of targetModels) {
    const name = String(model.name);
    if (only && !only.has(name)) continue;
    if (!sourceModels.some((m) => m.name === name)) changes.push({ kind: "remove-model", model: name });
  }
  return changes;
}
