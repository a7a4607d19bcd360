import type { Chart } from "cdk8s";
import { cdk8s } from "./cdk8s.js";
import { dropDefaults } from "./defaults.js";
import type { K8sObject } from "./k8s-object.js";

/**
 * Runs a cdk8s build in a fresh App and returns its objects as plain JSON. Name hashes are off: every object gets
 * an explicit, predictable name, because names are part of the API (Service `{model}-{environment}`). Fields
 * cdk8s-plus fills with the Kubernetes default are dropped here (components/shared/defaults.ts), the one place
 * objects leave cdk8s, so synthesized YAML and the objects Pulumi registers stay the same.
 */
export function renderChart(namespace: string | undefined, build: (chart: Chart) => void): K8sObject[] {
  const app = new cdk8s.App();
  const chart = new cdk8s.Chart(app, "modelfleet", { disableResourceNameHashes: true, ...(namespace ? { namespace } : {}) });
  build(chart);
  return (chart.toJson() as K8sObject[]).map((obj) => dropDefaults(stripCdk8sMarks(obj)));
}

const CDK8S_LABEL_PREFIX = "cdk8s.io/";

/** cdk8s-plus tags pod templates with its construct address; that would leak build internals into every pod. */
function stripCdk8sMarks(obj: K8sObject): K8sObject {
  const template = (obj as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }).spec?.template;
  const labels = template?.metadata?.labels;
  if (labels) {
    for (const key of Object.keys(labels)) if (key.startsWith(CDK8S_LABEL_PREFIX)) delete labels[key];
  }
  return obj;
}

const LEADING_KEYS = ["apiVersion", "kind", "metadata"];

/**
 * The object with every map's keys sorted (apiVersion, kind, metadata first at the top), so output does not depend
 * on the order code happened to set fields in. Arrays keep their order: it carries meaning (args, containers).
 */
export function canonical<T extends object>(obj: T): T {
  const sort = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(sort);
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(node).sort()) out[key] = sort((node as Record<string, unknown>)[key]);
    return out;
  };
  const sorted = sort(obj) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of LEADING_KEYS) if (key in sorted) out[key] = sorted[key];
  for (const [key, value] of Object.entries(sorted)) if (!LEADING_KEYS.includes(key)) out[key] = value;
  return out as T;
}
