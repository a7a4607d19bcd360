import type { K8sObject } from "./k8s-object.js";

/**
 * Fields cdk8s-plus writes into every object although nobody asked for them, each equal to the value the Kubernetes
 * API server fills in when the field is absent. A hand-written chart never carries them, so they are dropped where
 * objects leave cdk8s (`renderChart`), which both outputs share: `modelfleet synth` YAML and the objects
 * `pulumi up` registers stay the same objects.
 *
 * Rules for this list: a field is dropped only when its value deep-equals `value` (any other value is kept, so a
 * builder that sets `hostNetwork: true` still gets it); nothing a builder sets on purpose belongs here. Security
 * settings (`automountServiceAccountToken: false`, `privileged: false`, `allowPrivilegeEscalation: false`,
 * `readOnlyRootFilesystem`, `runAsNonRoot`) and values our builders spell out (Service `type: ClusterIP`, port
 * `protocol: TCP`, a StatefulSet's `persistentVolumeClaimRetentionPolicy`, a Job's `restartPolicy: Never`) are not
 * listed and stay. A path segment `*` means every element of an array.
 */
export interface DroppedDefault {
  /** Kinds the entry applies to. */
  readonly kinds: readonly string[];
  /** Path from the object's root; `*` steps into every array element. */
  readonly path: readonly string[];
  /** The Kubernetes default: the field is dropped only when it holds exactly this. */
  readonly value: unknown;
}

const POD_SPEC: Readonly<Record<string, readonly string[]>> = {
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};
const LONG_RUNNING = ["Deployment", "StatefulSet", "DaemonSet"];

/** One entry per kind that has a pod spec at that place. */
function inPodSpec(kinds: readonly string[], rest: readonly string[], value: unknown): DroppedDefault[] {
  return kinds.map((kind) => ({ kinds: [kind], path: [...(POD_SPEC[kind] ?? []), ...rest], value }));
}

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"];

export const DROPPED_DEFAULTS: readonly DroppedDefault[] = [
  // ConfigMap/Secret `immutable` defaults to false; cdk8s-plus writes `immutable: false` on every one.
  { kinds: ["ConfigMap", "Secret"], path: ["immutable"], value: false },
  // `minReadySeconds` defaults to 0.
  { kinds: ["Deployment", "StatefulSet", "DaemonSet"], path: ["spec", "minReadySeconds"], value: 0 },
  // Service `externalIPs` is empty unless set.
  { kinds: ["Service"], path: ["spec", "externalIPs"], value: [] },
  // Pod spec defaults (core/v1 PodSpec): no host network, DNS policy ClusterFirst, hostname not an FQDN.
  ...inPodSpec(Object.keys(POD_SPEC), ["hostNetwork"], false),
  ...inPodSpec(Object.keys(POD_SPEC), ["setHostnameAsFQDN"], false),
  ...inPodSpec(Object.keys(POD_SPEC), ["dnsPolicy"], "ClusterFirst"),
  // `restartPolicy: Always` is the default, and the only value allowed, for long-running workloads; Jobs keep theirs.
  ...inPodSpec(LONG_RUNNING, ["restartPolicy"], "Always"),
  // An HTTP probe's scheme defaults to HTTP; cdk8s-plus writes it on every httpGet probe.
  ...["containers", "initContainers"].flatMap((list) =>
    PROBES.flatMap((probe) => inPodSpec(Object.keys(POD_SPEC), [list, "*", probe, "httpGet", "scheme"], "HTTP")),
  ),
];

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object" || Array.isArray(a) || Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function dropAt(node: unknown, path: readonly string[], value: unknown): void {
  if (node === null || typeof node !== "object") return;
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (head === "*") {
    if (Array.isArray(node)) for (const item of node) dropAt(item, rest, value);
    return;
  }
  if (Array.isArray(node)) return;
  const record = node as Record<string, unknown>;
  if (!(head in record)) return;
  if (rest.length === 0) {
    if (deepEqual(record[head], value)) delete record[head];
  } else dropAt(record[head], rest, value);
}

const BY_KIND = new Map<string, DroppedDefault[]>();
for (const entry of DROPPED_DEFAULTS) for (const kind of entry.kinds) BY_KIND.set(kind, [...(BY_KIND.get(kind) ?? []), entry]);

/**
 * Removes, in place, every field of `obj` listed in {@link DROPPED_DEFAULTS} for its kind whose value equals the
 * Kubernetes default. Returns `obj`. Only for objects the caller owns (fresh from cdk8s).
 */
export function dropDefaults<T extends K8sObject>(obj: T): T {
  for (const entry of BY_KIND.get(obj.kind) ?? []) dropAt(obj, entry.path, entry.value);
  return obj;
}
