import type { K8sObject } from "../components/shared/k8s-object.js";
import type { PathSegment } from "./field-path.js";

/** Plain JSON helpers: manifests are untrusted input, so every field is checked before use. */
export type JsonRecord = Record<string, unknown>;

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
export function asRecord(value: unknown): JsonRecord | undefined {
  return isRecord(value) ? value : undefined;
}
export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
export function asString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isRecord(value)) for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

/** The object's namespace; "" when unset or not a string (untrusted input is never coerced). */
export function namespaceOf(object: K8sObject): string {
  const namespace: unknown = object.metadata?.namespace;
  return typeof namespace === "string" ? namespace : "";
}

const namespaceIndexes = new WeakMap<readonly K8sObject[], Map<string, K8sObject[]>>();

/** Objects of `kind` in `namespace`, indexed once per object list so stack-level rules stay linear. */
export function objectsIn(objects: readonly K8sObject[], namespace: string, kind?: string): readonly K8sObject[] {
  let index = namespaceIndexes.get(objects);
  if (!index) {
    index = new Map();
    for (const object of objects) {
      for (const key of [`${namespaceOf(object)}\u0000`, `${namespaceOf(object)}\u0000${object.kind}`]) {
        const list = index.get(key);
        if (list) list.push(object);
        else index.set(key, [object]);
      }
    }
    namespaceIndexes.set(objects, index);
  }
  return index.get(`${namespace}\u0000${kind ?? ""}`) ?? [];
}

const selectorIndexes = new WeakMap<readonly K8sObject[], Map<string, SelectorIndex>>();

/** Objects of one kind in one namespace, bucketed by the first `matchLabels` pair of their selector. */
interface SelectorIndex {
  /** `key\u0000value` of a selector's first matchLabels entry → the objects whose selector starts with it. */
  readonly byFirstLabel: Map<string, K8sObject[]>;
  /** Objects whose selector has no matchLabels entry (only expressions, or `{}`), judged against every pod. */
  readonly unlabelled: K8sObject[];
}

/**
 * Objects of `kind` in `namespace` whose selector (`selectorOf`, read by `selectorMatches`) selects pods with
 * `labels`. Equivalent to filtering `objectsIn(objects, namespace, kind)` with
 * `selectorMatches` (the same objects, in no set order), but indexed once per object list and `indexKey` (which must name `kind` and `selectorOf`), so
 * a stack-level rule judging every workload against every policy stays linear instead of quadratic.
 */
export function objectsSelecting(
  objects: readonly K8sObject[],
  namespace: string,
  kind: string,
  indexKey: string,
  selectorOf: (object: K8sObject) => unknown,
  labels: Readonly<Record<string, string>>,
): K8sObject[] {
  let indexes = selectorIndexes.get(objects);
  if (!indexes) {
    indexes = new Map();
    selectorIndexes.set(objects, indexes);
  }
  const key = `${namespace}\u0000${kind}\u0000${indexKey}`;
  let index = indexes.get(key);
  if (!index) {
    index = { byFirstLabel: new Map(), unlabelled: [] };
    for (const object of objectsIn(objects, namespace, kind)) {
      const selector = selectorOf(object);
      // A selector that is not a map selects nothing (selectorMatches), so it is in no bucket.
      if (!isRecord(selector)) continue;
      const first = Object.entries(stringMap(selector["matchLabels"]))[0];
      if (first === undefined) {
        index.unlabelled.push(object);
        continue;
      }
      const bucketKey = `${first[0]}\u0000${first[1]}`;
      const bucket = index.byFirstLabel.get(bucketKey);
      if (bucket) bucket.push(object);
      else index.byFirstLabel.set(bucketKey, [object]);
    }
    indexes.set(key, index);
  }
  // A selector selects only pods that carry its first matchLabels pair: those buckets, plus the unlabelled ones.
  const candidates = new Set<K8sObject>(index.unlabelled);
  for (const [k, v] of Object.entries(labels)) for (const object of index.byFirstLabel.get(`${k}\u0000${v}`) ?? []) candidates.add(object);
  return [...candidates].filter((object) => selectorMatches(selectorOf(object), labels));
}

/** A pod template inside a workload object, with where it sits. */
export interface PodTemplate {
  readonly object: K8sObject;
  readonly spec: JsonRecord;
  readonly specPath: readonly PathSegment[];
  readonly labels: Record<string, string>;
  readonly labelsPath: readonly PathSegment[];
}

/** Controllers whose pods run until stopped; Jobs and CronJobs are excluded where a rule needs long-running pods. */
export const LONG_RUNNING_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod"]);
/** Controllers an inference model runs as. */
export const MODEL_KINDS = new Set(["Deployment", "StatefulSet"]);

export function podTemplate(object: K8sObject): PodTemplate | undefined {
  const spec = asRecord(object["spec"]);
  if (!spec) return undefined;
  switch (object.kind) {
    case "Pod":
      return {
        object,
        spec,
        specPath: ["spec"],
        labels: stringMap(object.metadata?.labels),
        labelsPath: ["metadata", "labels"],
      };
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "ReplicationController":
    case "Job":
      return fromTemplate(object, asRecord(spec["template"]), ["spec", "template"]);
    case "CronJob": {
      const jobSpec = asRecord(asRecord(spec["jobTemplate"])?.["spec"]);
      return fromTemplate(object, asRecord(jobSpec?.["template"]), ["spec", "jobTemplate", "spec", "template"]);
    }
    default:
      return undefined;
  }
}

function fromTemplate(object: K8sObject, template: JsonRecord | undefined, path: PathSegment[]): PodTemplate | undefined {
  const spec = asRecord(template?.["spec"]);
  if (!template || !spec) return undefined;
  return {
    object,
    spec,
    specPath: [...path, "spec"],
    labels: stringMap(asRecord(template["metadata"])?.["labels"]),
    labelsPath: [...path, "metadata", "labels"],
  };
}

export interface ContainerRef {
  readonly container: JsonRecord;
  readonly path: readonly PathSegment[];
  readonly name: string;
  readonly init: boolean;
}

/** Regular containers, then init containers (ephemeral debug containers are not part of a workload's spec). */
export function containersOf(template: PodTemplate): ContainerRef[] {
  const out: ContainerRef[] = [];
  for (const field of ["containers", "initContainers"] as const) {
    asArray(template.spec[field]).forEach((container, index) => {
      if (!isRecord(container)) return;
      out.push({
        container,
        path: [...template.specPath, field, index],
        name: asString(container["name"]) ?? `#${index}`,
        init: field === "initContainers",
      });
    });
  }
  return out;
}

/** One word of a container's command line, and the command/args element it came from. */
export interface CommandToken {
  readonly token: string;
  readonly path: readonly PathSegment[];
}

/**
 * The container's command then args, as words. Kubernetes passes each element verbatim, so an element is one word,
 * except the script after `-c` (`sh -c "vllm serve … --api-key x"`), which is split the way a POSIX shell splits
 * plain words and quotes (no expansion), so flags inside shell scripts are seen too.
 */
export function commandTokens(ref: ContainerRef): CommandToken[] {
  const out: CommandToken[] = [];
  let previous: string | undefined;
  for (const field of ["command", "args"] as const) {
    asArray(ref.container[field]).forEach((element, index) => {
      if (typeof element !== "string") return;
      const path = [...ref.path, field, index];
      if (previous === "-c" && /\s/.test(element)) for (const token of shellWords(element)) out.push({ token, path });
      else out.push({ token: element, path });
      previous = element;
    });
  }
  return out;
}

export function shellWords(text: string): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

export type Engine = "vllm" | "llamacpp";

/**
 * Which inference engine a container runs. vLLM: the image names vllm, or the command runs `vllm serve` or
 * `vllm.entrypoints.openai.api_server`. llama.cpp: the image names llama.cpp, or the command is `llama-server`.
 */
export function engineOf(ref: ContainerRef): Engine | undefined {
  const image = (asString(ref.container["image"]) ?? "").toLowerCase();
  const tokens = commandTokens(ref).map((t) => t.token);
  const line = tokens.join(" ");
  if (image.includes("vllm") || line.includes("vllm serve") || line.includes("vllm.entrypoints.openai.api_server")) return "vllm";
  if (image.includes("llama.cpp") || tokens.some((t) => t === "llama-server" || t.endsWith("/llama-server"))) return "llamacpp";
  return undefined;
}

/** The engine containers of a workload (none for anything that is not a pod-bearing object). */
export function engineContainers(object: K8sObject): { template: PodTemplate; ref: ContainerRef; engine: Engine }[] {
  const template = podTemplate(object);
  if (!template) return [];
  const out: { template: PodTemplate; ref: ContainerRef; engine: Engine }[] = [];
  for (const ref of containersOf(template)) {
    if (ref.init) continue;
    const engine = engineOf(ref);
    if (engine) out.push({ template, ref, engine });
  }
  return out;
}

/** A Deployment or StatefulSet running vLLM or llama.cpp. */
export function isInferenceWorkload(object: K8sObject): boolean {
  return MODEL_KINDS.has(object.kind) && engineContainers(object).length > 0;
}

/** A Kubernetes LabelSelector (matchLabels + matchExpressions) against a pod's labels. An empty selector selects all. */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isRecord(selector)) return false;
  for (const [key, value] of Object.entries(stringMap(selector["matchLabels"]))) if (labels[key] !== value) return false;
  for (const expression of asArray(selector["matchExpressions"])) {
    if (!isRecord(expression)) return false;
    const key = asString(expression["key"]) ?? "";
    const values = asArray(expression["values"]).filter((v): v is string => typeof v === "string");
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (expression["operator"]) {
      case "In":
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case "NotIn":
        if (has && values.includes(labels[key]!)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A selector that names at least one label or expression (`{}` selects everything). */
export function isNonEmptySelector(selector: unknown): boolean {
  if (!isRecord(selector)) return false;
  return Object.keys(stringMap(selector["matchLabels"])).length > 0 || asArray(selector["matchExpressions"]).length > 0;
}

/** A Service's plain `spec.selector` map against a pod's labels; a Service without a selector selects nothing. */
export function serviceSelects(service: K8sObject, labels: Readonly<Record<string, string>>): boolean {
  const selector = stringMap(asRecord(service["spec"])?.["selector"]);
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Does this container ask for GPUs? */
export function requestsGpu(container: JsonRecord): boolean {
  const resources = asRecord(container["resources"]);
  return ["limits", "requests"].some((field) => asRecord(resources?.[field])?.[GPU_RESOURCE] !== undefined);
}
export const GPU_RESOURCE = "nvidia.com/gpu";

/** Does the pod target GPU nodes (NVIDIA runtime class, a GPU toleration or node selector)? */
export function targetsGpuNodes(spec: JsonRecord): boolean {
  if ((asString(spec["runtimeClassName"]) ?? "").includes("nvidia")) return true;
  if (Object.keys(stringMap(spec["nodeSelector"])).some((k) => k.includes("nvidia.com/gpu"))) return true;
  return asArray(spec["tolerations"]).some((t) => isRecord(t) && (asString(t["key"]) ?? "").includes("nvidia.com/gpu"));
}
